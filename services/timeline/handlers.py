"""NATS side of the timeline: connector and insights events in, request/reply operations out."""

from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ValidationError

from services.timeline import repository, service
from services.timeline.repository import Subject
from shared.consumer import ConsumerSpec, DeadLetterError, Delivery, parse_internal
from shared.db import Connection
from shared.events import (
    ConversationClosed,
    ConversationEscalated,
    ConversationMessage,
    ConversationStarted,
    EscalationHandled,
)
from shared.logging import get_logger
from shared.messages import insights, timeline
from shared.outbox import enqueue
from shared.rpc import RpcError
from shared.runtime import RpcRoute
from shared.subjects import CHAT_STREAM, event_stream, event_subject, rpc_subject

log = get_logger(__name__)

ConversationEvent = (
    ConversationStarted | ConversationMessage | ConversationEscalated | EscalationHandled | ConversationClosed
)


async def _announce(conn: Connection, workspace: str, event_type: str, data: BaseModel) -> None:
    await enqueue(
        conn,
        service=timeline.SERVICE,
        workspace=workspace,
        event_type=event_type,
        data=data.model_dump(mode="json"),
    )


async def _announce_closed(
    conn: Connection, subject: Subject, customer_id: str, platform: str, closed_at: datetime
) -> None:
    await _announce(
        conn,
        subject.workspace,
        timeline.CONVERSATION_CLOSED,
        timeline.ConversationClosed(
            conversation_id=subject.conversation_id,
            customer_id=customer_id,
            platform=platform,
            closed_at=closed_at,
        ),
    )


def _subject(workspace: str, event: ConversationEvent) -> Subject:
    return Subject(
        workspace=workspace,
        conversation_id=event.conversation_id,
        customer_id=event.customer_id(workspace),
        platform=event.platform,
        platform_user_id=event.platform_user_id,
        occurred_at=event.occurred_at,
    )


async def apply_chat_event(conn: Connection, delivery: Delivery) -> None:
    """Apply one connector event of a conversation or escalation (inside the inbox transaction)."""
    event = delivery.event
    if not isinstance(event, ConversationEvent):
        # Only reachable if the consumer's subject filter and the event types drift apart.
        raise DeadLetterError(f"the timeline does not handle {type(event).__name__}")
    subject = _subject(delivery.workspace, event)
    created = False
    match event:
        case ConversationStarted():
            created = await repository.record_started(conn, subject)
        case ConversationMessage():
            created = await _apply_message(conn, subject, event)
        case ConversationClosed():
            created = await _apply_close(conn, subject, event)
        case ConversationEscalated() | EscalationHandled():
            created = await _apply_escalation(conn, subject, event)
    if created:
        await _announce(
            conn,
            subject.workspace,
            timeline.CONVERSATION_STARTED,
            timeline.ConversationStarted(
                conversation_id=subject.conversation_id,
                customer_id=subject.customer_id,
                platform=subject.platform,
            ),
        )


async def _apply_message(conn: Connection, subject: Subject, event: ConversationMessage) -> bool:
    text, truncated = service.clip_message(event.text)
    stored = await repository.record_message(
        conn,
        subject,
        message_id=event.message_id,
        sender=event.sender,
        sender_name=event.sender_name,
        text=text,
        text_truncated=truncated,
    )
    if stored.inserted and stored.ended_at is not None:
        # A message after the close: the analysis must be redone, unless a close announcement
        # still waits in the outbox (insights will read the transcript, this message included).
        closed_subject = event_subject(timeline.SERVICE, subject.workspace, timeline.CONVERSATION_CLOSED)
        if not await repository.close_announcement_pending(conn, closed_subject, subject.conversation_id):
            await _announce_closed(conn, subject, stored.customer_id, stored.platform, stored.ended_at)
    return stored.conversation_created


async def _apply_close(conn: Connection, subject: Subject, event: ConversationClosed) -> bool:
    closed = await repository.record_closed(
        conn,
        subject,
        resolved_type=event.resolved_by.type,
        resolved_name=event.resolved_by.name,
        event_id=event.event_id,
    )
    if closed.applied:
        await _announce_closed(conn, subject, closed.customer_id, closed.platform, closed.ended_at)
    return closed.conversation_created


async def _apply_escalation(
    conn: Connection, subject: Subject, event: ConversationEscalated | EscalationHandled
) -> bool:
    if isinstance(event, ConversationEscalated):
        outcome = await repository.record_escalated(
            conn, subject, escalation_id=event.escalation_id, reason=event.reason, event_id=event.event_id
        )
    else:
        outcome = await repository.record_handled(
            conn,
            subject,
            escalation_id=event.escalation_id,
            handled_by=event.handled_by,
            event_id=event.event_id,
        )
    await _announce(
        conn,
        subject.workspace,
        timeline.ESCALATION_CHANGED,
        timeline.EscalationChanged(
            escalation_id=event.escalation_id,
            conversation_id=outcome.conversation_id,
            customer_id=outcome.customer_id,
            handled=isinstance(event, EscalationHandled),
        ),
    )
    return outcome.conversation_created


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
