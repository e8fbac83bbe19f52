"""Use cases of the timeline over a connection the caller gives (and owns the transaction of)."""

import uuid
from collections.abc import Sequence

from services.timeline import repository, service
from services.timeline.repository import StoredConversation
from services.timeline.service import ConversationEvent
from shared import identity
from shared.cursors import BEGINNING_OF_TIME, decode_cursor, encode_cursor, page_of
from shared.db import Connection
from shared.errors import NotFound
from shared.logging import get_logger
from shared.messages.insights import ConversationAnalysed
from shared.messages.profile import CustomerMerged, ErasureRequested
from shared.messages.timeline import (
    CONVERSATION_CLOSED,
    CONVERSATION_STARTED,
    CONVERSATION_UPDATED,
    CUSTOMER_ERASED,
    CUSTOMER_MERGED,
    ESCALATION_CHANGED,
    MESSAGE_PAGE_CHARS,
    ConversationClosed,
    ConversationPage,
    ConversationStarted,
    ConversationUpdated,
    CountTimeline,
    CustomerCounts,
    EscalationChanged,
    EscalationPage,
    GetTranscript,
    ListConversations,
    ListEscalations,
    ListMessages,
    MessagePage,
    Transcript,
)
from shared.outbox import Outgoing, enqueue, enqueue_all, outgoing

log = get_logger(__name__)


def _closed(workspace: str, conversation_id: str, row: StoredConversation) -> Outgoing:
    assert row.ended_at is not None
    return outgoing(
        CONVERSATION_CLOSED,
        workspace,
        ConversationClosed(
            conversation_id=conversation_id,
            customer_id=row.customer_id,
            platform=row.platform,
            closed_at=row.ended_at,
        ),
    )


def _started(workspace: str, conversation_id: str, row: StoredConversation) -> Outgoing:
    return outgoing(
        CONVERSATION_STARTED,
        workspace,
        ConversationStarted(
            conversation_id=conversation_id, customer_id=row.customer_id, platform=row.platform
        ),
    )


async def apply_chat_events(conn: Connection, events: Sequence[tuple[str, ConversationEvent]]) -> None:
    """Apply connector events of conversations and escalations (inside their inbox transaction).

    Each event applies to the customer its identity belongs to (shared/identity.py), or is
    dropped. The batch is folded into one change per row and written with one statement per
    table; the announcements are those applying the events one by one would make, except that a
    conversation closed (or reopened by a late message) in the batch is announced closed once.
    """
    changes = service.fold_events(await identity.route(conn, events))
    conversations = await repository.apply_conversations(conn, list(changes.conversations.values()))
    with_new_messages = await repository.insert_messages(conn, list(changes.messages.values()))
    escalations = await repository.apply_escalations(conn, list(changes.escalations.values()))

    announcements = [
        _started(*key, conversations[key]) for key in changes.conversations if conversations[key].created
    ]
    for notice in changes.notices:
        stored = escalations[(notice.workspace, notice.escalation_id)]
        announcements.append(
            outgoing(
                ESCALATION_CHANGED,
                notice.workspace,
                EscalationChanged(
                    escalation_id=notice.escalation_id,
                    conversation_id=stored.conversation_id,
                    customer_id=stored.customer_id,
                    handled=notice.handled,
                ),
            )
        )
    for key, change in changes.conversations.items():
        row = conversations[key]
        workspace, conversation_id = key
        if (change.close is not None and row.close_event_id == change.close.event_id) or (
            key in with_new_messages
            and row.ended_at is not None
            and not await repository.close_announcement_pending(conn, workspace, conversation_id)
        ):
            announcements.append(_closed(workspace, conversation_id, row))
    await enqueue_all(conn, announcements)


async def apply_analysis(conn: Connection, workspace: str, analysed: ConversationAnalysed) -> None:
    """Store an insights analysis on its conversation; the newest `analysed_at` wins."""
    analysed = service.clean_analysis(analysed)
    customer_id = await repository.store_analysis(conn, workspace, analysed)
    if customer_id is None:
        log.info("analysis_not_stored", conversation_id=analysed.conversation_id, reason="older or unknown")
        return
    await enqueue(
        conn,
        CONVERSATION_UPDATED,
        workspace,
        ConversationUpdated(
            conversation_id=analysed.conversation_id,
            customer_id=customer_id,
            analysed_at=analysed.analysed_at,
        ),
    )


async def conversations(conn: Connection, request: ListConversations) -> ConversationPage:
    """A page of a customer's conversations, newest first (empty for an unknown customer)."""
    rows = await repository.conversations_page(conn, repository.PageQuery.of(request))
    items, cursor = page_of(rows, request.limit, service.conversation_item, service.conversation_position)
    return ConversationPage(items=items, next_cursor=cursor)


async def escalations(conn: Connection, request: ListEscalations) -> EscalationPage:
    """A page of a customer's escalations, newest first (empty for an unknown customer)."""
    rows = await repository.escalations_page(conn, repository.PageQuery.of(request))
    items, cursor = page_of(rows, request.limit, service.escalation_item, service.escalation_position)
    return EscalationPage(items=items, next_cursor=cursor)


async def counts(conn: Connection, request: CountTimeline) -> CustomerCounts:
    """A customer's conversation and escalation counts (zeros for an unknown customer)."""
    conversations_count, escalations_count, escalated = await repository.customer_counts(
        conn, request.workspace, str(request.customer_id)
    )
    return CustomerCounts(
        conversations=conversations_count,
        escalations=escalations_count,
        escalation_rate=service.escalation_rate(conversations_count, escalated),
    )


async def transcript(conn: Connection, request: GetTranscript) -> Transcript:
    """The most recent messages of a conversation that fit in max_chars, oldest first."""
    owner = await repository.conversation_owner(conn, request.workspace, request.conversation_id)
    if owner is None:
        raise NotFound("conversation not found")
    candidates = await repository.transcript_candidates(
        conn, request.workspace, request.conversation_id, request.max_chars
    )
    messages, truncated = service.fit_transcript(candidates, request.max_chars)
    return Transcript(
        conversation_id=request.conversation_id,
        customer_id=owner[0],
        platform=owner[1],
        messages=messages,
        truncated=truncated,
    )


async def messages(conn: Connection, request: ListMessages) -> MessagePage:
    """A page of a conversation's messages, oldest first (empty for an unknown conversation)."""
    after = decode_cursor(request.cursor) if request.cursor else (BEGINNING_OF_TIME, "")
    rows, more = await repository.messages_page(
        conn, request.workspace, request.conversation_id, after, request.limit, MESSAGE_PAGE_CHARS
    )
    last = rows[-1] if rows else None
    return MessagePage(
        items=rows, next_cursor=encode_cursor(last.sent_at, last.id) if more and last is not None else None
    )


async def _move_timeline(conn: Connection, workspace: str, merged: CustomerMerged, target: uuid.UUID) -> None:
    await identity.move_rows(
        conn, workspace, ("conversations", "escalations"), uuid.UUID(merged.source_id), target
    )


async def _delete_timeline(
    conn: Connection, workspace: str, customer_ids: Sequence[uuid.UUID], erasure: ErasureRequested | None
) -> None:
    """Delete the customers' conversations, messages and escalations.

    A conversation made only of events from after the erasure was requested, which reached the
    timeline before the erasure did, is the new customer's its identity starts: it is given to
    that customer (and announced again) instead of deleted.
    """
    if erasure is not None:
        late = await repository.conversations_since(conn, workspace, customer_ids, erasure.requested_at)
        owners = service.new_owners(workspace, late, erasure.identities)
        await repository.reassign_conversations(conn, workspace, owners)
        announcements: list[Outgoing] = []
        for conversation, customer_id in owners:
            row = StoredConversation(
                created=True,
                customer_id=str(customer_id),
                platform=conversation.platform,
                ended_at=conversation.ended_at,
                close_event_id=None,
            )
            announcements.append(_started(workspace, conversation.conversation_id, row))
            if row.ended_at is not None:
                announcements.append(_closed(workspace, conversation.conversation_id, row))
        await enqueue_all(conn, announcements)
    await repository.delete_customers(conn, workspace, customer_ids)


# Merges move a customer's conversations and escalations, and its identities' later events, to the
# target; erasures delete them (CONTRACT.md §7).
CUSTOMER_DATA = identity.CustomerData(
    CUSTOMER_MERGED, CUSTOMER_ERASED, _move_timeline, _delete_timeline, routes=True
)
