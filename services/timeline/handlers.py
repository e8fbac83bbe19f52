"""NATS side of the timeline: connector and insights events in, request/reply operations out."""

from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ValidationError

from services.timeline import repository, service
from services.timeline.repository import StoredConversation
from services.timeline.service import ConversationEvent
from shared.consumer import ConsumerSpec, DeadLetterError, Delivery, parse_internal
from shared.db import Connection
from shared.logging import get_logger
from shared.messages import insights, timeline
from shared.outbox import enqueue
from shared.rpc import RpcError
from shared.runtime import RpcRoute
from shared.subjects import CHAT_STREAM, event_stream, event_subject, rpc_subject

log = get_logger(__name__)


async def _announce(conn: Connection, workspace: str, event_type: str, data: BaseModel) -> None:
    await enqueue(
        conn,
        service=timeline.SERVICE,
        workspace=workspace,
        event_type=event_type,
        data=data.model_dump(mode="json"),
    )


async def _announce_closed(
    conn: Connection, workspace: str, conversation_id: str, row: StoredConversation
) -> None:
    assert row.ended_at is not None
    await _announce(
        conn,
        workspace,
        timeline.CONVERSATION_CLOSED,
        timeline.ConversationClosed(
            conversation_id=conversation_id,
            customer_id=row.customer_id,
            platform=row.platform,
            closed_at=row.ended_at,
        ),
    )


async def apply_chat_events(conn: Connection, deliveries: list[Delivery]) -> None:
    """Apply connector events of conversations and escalations (inside their inbox transaction).

    The batch is folded into one change per row and written with one statement per table; the
    announcements are those applying the events one by one would make, except that a
    conversation closed (or reopened by a late message) in the batch is announced closed once.
    """
    events: list[tuple[str, ConversationEvent]] = []
    for delivery in deliveries:
        if not isinstance(delivery.event, ConversationEvent):
            # Only reachable if the consumer's subject filter and the event types drift apart.
            raise DeadLetterError(f"the timeline does not handle {type(delivery.event).__name__}")
        events.append((delivery.workspace, delivery.event))
    changes = service.fold_events(events)
    conversations = await repository.apply_conversations(conn, list(changes.conversations.values()))
    with_new_messages = await repository.insert_messages(conn, list(changes.messages.values()))
    escalations = await repository.apply_escalations(conn, list(changes.escalations.values()))

    for workspace, conversation_id in changes.conversations:
        row = conversations[(workspace, conversation_id)]
        if row.created:
            await _announce(
                conn,
                workspace,
                timeline.CONVERSATION_STARTED,
                timeline.ConversationStarted(
                    conversation_id=conversation_id, customer_id=row.customer_id, platform=row.platform
                ),
            )
    for notice in changes.notices:
        stored = escalations[(notice.workspace, notice.escalation_id)]
        await _announce(
            conn,
            notice.workspace,
            timeline.ESCALATION_CHANGED,
            timeline.EscalationChanged(
                escalation_id=notice.escalation_id,
                conversation_id=stored.conversation_id,
                customer_id=stored.customer_id,
                handled=notice.handled,
            ),
        )
    for key, change in changes.conversations.items():
        row = conversations[key]
        workspace, conversation_id = key
        if change.close is not None and row.close_event_id == change.close.event_id:
            await _announce_closed(conn, workspace, conversation_id, row)
        elif key in with_new_messages and row.ended_at is not None:
            # A message after the close: the analysis must be redone, unless a close announcement
            # still waits in the outbox (insights will read the transcript, this message included).
            closed_subject = event_subject(timeline.SERVICE, workspace, timeline.CONVERSATION_CLOSED)
            if not await repository.close_announcement_pending(conn, closed_subject, conversation_id):
                await _announce_closed(conn, workspace, conversation_id, row)


async def apply_chat_event(conn: Connection, delivery: Delivery) -> None:
    """Apply one connector event: a batch of one, so both paths share every rule."""
    await apply_chat_events(conn, [delivery])


async def apply_analysis(conn: Connection, delivery: Delivery) -> None:
    """Store an insights analysis on its conversation; the newest `analysed_at` wins."""
    try:
        analysed = insights.ConversationAnalysed.model_validate(delivery.event.data)
    except ValidationError as exc:
        raise DeadLetterError(f"invalid conversation.analysed data: {exc}") from None
    analysed = service.clean_analysis(analysed)
    customer_id = await repository.store_analysis(conn, delivery.workspace, analysed)
    if customer_id is None:
        log.info("analysis_not_stored", conversation_id=analysed.conversation_id, reason="older or unknown")
        return
    await _announce(
        conn,
        delivery.workspace,
        timeline.CONVERSATION_UPDATED,
        timeline.ConversationUpdated(
            conversation_id=analysed.conversation_id,
            customer_id=customer_id,
            analysed_at=analysed.analysed_at,
        ),
    )


def consumers() -> list[ConsumerSpec]:
    """The connector events and the insights analyses the timeline applies."""
    return [
        ConsumerSpec(
            durable="timeline-chat",
            stream=CHAT_STREAM,
            subjects=["chat.v1.*.conversation.>", "chat.v1.*.escalation.>"],
            handle=apply_chat_event,
            handle_batch=apply_chat_events,
        ),
        ConsumerSpec(
            durable="timeline-insights",
            stream=event_stream(insights.SERVICE),
            subjects=[f"{insights.SERVICE}.v1.*.{insights.CONVERSATION_ANALYSED}"],
            handle=apply_analysis,
            parse=parse_internal,
        ),
    ]


def _page_position(raw: str | None) -> tuple[datetime, str] | None:
    if raw is None:
        return None
    try:
        return service.decode_cursor(raw)
    except service.InvalidCursor as exc:
        raise RpcError("invalid", "invalid cursor", [{"field": "cursor", "message": str(exc)}]) from None


class TimelineOperations:
    """The request/reply operations of the timeline, over its pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def conversations(self, payload: dict[str, Any], _subject: str) -> timeline.ConversationPage:
        """A page of a customer's conversations, newest first (empty for an unknown customer)."""
        request = timeline.CustomerPageRequest.model_validate(payload)
        after = _page_position(request.cursor)
        async with self.pool.acquire() as conn:
            rows = await repository.conversations_page(
                conn, request.workspace, str(request.customer_id), request.limit + 1, after
            )
        return timeline.ConversationPage(
            items=[service.conversation_item(row) for row in rows[: request.limit]],
            next_cursor=service.next_conversations_cursor(rows, request.limit),
        )

    async def escalations(self, payload: dict[str, Any], _subject: str) -> timeline.EscalationPage:
        """A page of a customer's escalations, newest first (empty for an unknown customer)."""
        request = timeline.CustomerPageRequest.model_validate(payload)
        after = _page_position(request.cursor)
        async with self.pool.acquire() as conn:
            rows = await repository.escalations_page(
                conn, request.workspace, str(request.customer_id), request.limit + 1, after
            )
        return timeline.EscalationPage(
            items=[service.escalation_item(row) for row in rows[: request.limit]],
            next_cursor=service.next_escalations_cursor(rows, request.limit),
        )

    async def counts(self, payload: dict[str, Any], _subject: str) -> timeline.CustomerCounts:
        """A customer's conversation and escalation counts (zeros for an unknown customer)."""
        request = timeline.CustomerCountsRequest.model_validate(payload)
        async with self.pool.acquire() as conn:
            conversations, escalations, escalated = await repository.customer_counts(
                conn, request.workspace, str(request.customer_id)
            )
        return timeline.CustomerCounts(
            conversations=conversations,
            escalations=escalations,
            escalation_rate=service.escalation_rate(conversations, escalated),
        )

    async def transcript(self, payload: dict[str, Any], _subject: str) -> timeline.Transcript:
        """The most recent messages of a conversation that fit in max_chars, oldest first."""
        request = timeline.TranscriptRequest.model_validate(payload)
        async with self.pool.acquire() as conn:
            owner = await repository.conversation_owner(conn, request.workspace, request.conversation_id)
            if owner is None:
                raise RpcError("not_found", "conversation not found")
            candidates = await repository.transcript_candidates(
                conn, request.workspace, request.conversation_id, request.max_chars
            )
        messages, truncated = service.fit_transcript(candidates, request.max_chars)
        return timeline.Transcript(
            conversation_id=request.conversation_id,
            customer_id=owner[0],
            platform=owner[1],
            messages=messages,
            truncated=truncated,
        )

    def routes(self) -> list[RpcRoute]:
        """Every operation on its subject."""
        return [
            RpcRoute(rpc_subject(timeline.SERVICE, timeline.OP_CONVERSATIONS_LIST), self.conversations),
            RpcRoute(rpc_subject(timeline.SERVICE, timeline.OP_ESCALATIONS_LIST), self.escalations),
            RpcRoute(rpc_subject(timeline.SERVICE, timeline.OP_CUSTOMER_COUNTS), self.counts),
            RpcRoute(rpc_subject(timeline.SERVICE, timeline.OP_TRANSCRIPT), self.transcript),
        ]
