"""SQL of the timeline service. Every statement is scoped by workspace.

Applying connector events is a set of commutative upserts, so any arrival order and any number
of duplicates converge to the state of in-order, exactly-once delivery:
- a conversation row is created by whichever of its events comes first; `first_seen_at` keeps
  the least `occurred_at` seen and `announced_at` the one of conversation.started, and the
  listed `started_at` prefers the latter;
- the closing fields come from the close with the greatest (occurred_at, event id);
- messages are keyed by (workspace, conversation_id, message_id) and inserted once;
- an escalation keeps its earliest escalation and earliest handling, whichever arrives first;
  without a handling, the close of its conversation is read with it and decides (at read time,
  so a close before or after the escalation, in any order, gives the same answer).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.timeline.service import (
    ConversationChange,
    ConversationRow,
    EscalationChange,
    EscalationRow,
    LateConversation,
    NewMessage,
)
from shared.cursors import END_OF_TIME, decode_cursor
from shared.db import Connection, columns
from shared.identity import delete_rows
from shared.messages.insights import ConversationAnalysed
from shared.messages.timeline import (
    CONVERSATION_CLOSED,
    ListConversations,
    MessageItem,
    TranscriptMessage,
)

# Each statement applies a whole batch's folded changes, one row per key (an upsert may not touch
# a row twice). Rows go in key order: transactions of several replicas touching the same rows
# then lock them in one order and wait for each other instead of deadlocking.

_CLOSE_WINS = (
    "(EXCLUDED.close_event_id IS NOT NULL AND (c.ended_at IS NULL"
    " OR (EXCLUDED.ended_at, EXCLUDED.close_event_id) > (c.ended_at, c.close_event_id)))"
)
_CONVERSATIONS = f"""
INSERT INTO conversations AS c (workspace, conversation_id, customer_id, platform, platform_user_id,
                                first_seen_at, announced_at, ended_at, resolved_type, resolved_name,
                                close_event_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[],
                     $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], $11::text[])
ORDER BY 1, 2
ON CONFLICT (workspace, conversation_id) DO UPDATE SET
    first_seen_at = LEAST(c.first_seen_at, EXCLUDED.first_seen_at),
    announced_at = LEAST(c.announced_at, EXCLUDED.announced_at),
    ended_at = CASE WHEN {_CLOSE_WINS} THEN EXCLUDED.ended_at ELSE c.ended_at END,
    resolved_type = CASE WHEN {_CLOSE_WINS} THEN EXCLUDED.resolved_type ELSE c.resolved_type END,
    resolved_name = CASE WHEN {_CLOSE_WINS} THEN EXCLUDED.resolved_name ELSE c.resolved_name END,
    close_event_id = CASE WHEN {_CLOSE_WINS} THEN EXCLUDED.close_event_id ELSE c.close_event_id END
RETURNING (xmax = 0) AS created, c.workspace, c.conversation_id, c.customer_id, c.platform,
          c.ended_at, c.close_event_id
"""

_MESSAGES = """
INSERT INTO messages (workspace, conversation_id, message_id, sender, sender_name, text, text_chars,
                      text_truncated, sent_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::integer[], $8::boolean[], $9::timestamptz[])
ORDER BY 1, 2, 3
ON CONFLICT DO NOTHING
RETURNING workspace, conversation_id
"""

_ESCALATION_WINS = (
    "(EXCLUDED.escalated_event_id IS NOT NULL AND (e.escalated_at IS NULL"
    " OR (EXCLUDED.escalated_at, EXCLUDED.escalated_event_id) < (e.escalated_at, e.escalated_event_id)))"
)
_HANDLING_WINS = (
    "(EXCLUDED.handled_event_id IS NOT NULL AND (e.handled_at IS NULL"
    " OR (EXCLUDED.handled_at, EXCLUDED.handled_event_id) < (e.handled_at, e.handled_event_id)))"
)
_ESCALATIONS = f"""
INSERT INTO escalations AS e (workspace, escalation_id, conversation_id, customer_id, platform,
                              escalated_at, escalated_event_id, reason,
                              handled_at, handled_event_id, handled_by)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[],
                     $6::timestamptz[], $7::text[], $8::text[],
                     $9::timestamptz[], $10::text[], $11::text[])
ORDER BY 1, 2
ON CONFLICT (workspace, escalation_id) DO UPDATE SET
    escalated_at = CASE WHEN {_ESCALATION_WINS} THEN EXCLUDED.escalated_at ELSE e.escalated_at END,
    reason = CASE WHEN {_ESCALATION_WINS} THEN EXCLUDED.reason ELSE e.reason END,
    escalated_event_id = CASE WHEN {_ESCALATION_WINS}
                              THEN EXCLUDED.escalated_event_id ELSE e.escalated_event_id END,
    handled_at = CASE WHEN {_HANDLING_WINS} THEN EXCLUDED.handled_at ELSE e.handled_at END,
    handled_by = CASE WHEN {_HANDLING_WINS} THEN EXCLUDED.handled_by ELSE e.handled_by END,
    handled_event_id = CASE WHEN {_HANDLING_WINS}
                            THEN EXCLUDED.handled_event_id ELSE e.handled_event_id END
RETURNING e.workspace, e.escalation_id, e.conversation_id, e.customer_id
"""


@dataclass(frozen=True)
class StoredConversation:
    """A conversation row as a batch left it; `created` if the batch created it."""

    created: bool
    customer_id: str
    platform: str
    ended_at: datetime | None
    close_event_id: str | None


@dataclass(frozen=True)
class StoredEscalation:
    """Whose an escalation row is (its first event's conversation and customer)."""

    conversation_id: str
    customer_id: str


async def apply_conversations(
    conn: Connection, changes: Sequence[ConversationChange]
) -> dict[tuple[str, str], StoredConversation]:
    """Upsert one change per conversation; every row as it now stands, by (workspace, conversation_id).

    The upsert locks each row until the transaction ends, so the `ended_at` returned is the
    latest committed close even when another replica closed the conversation a moment ago.
    """
    rows = await conn.fetch(
        _CONVERSATIONS,
        *columns(
            changes,
            "workspace",
            "conversation_id",
            "customer_id",
            "platform",
            "platform_user_id",
            "first_seen_at",
            "announced_at",
            "close.ended_at",
            "close.resolved_type",
            "close.resolved_name",
            "close.event_id",
        ),
    )
    return {
        (row["workspace"], row["conversation_id"]): StoredConversation(
            created=row["created"],
            customer_id=str(row["customer_id"]),
            platform=row["platform"],
            ended_at=row["ended_at"],
            close_event_id=row["close_event_id"],
        )
        for row in rows
    }


async def insert_messages(conn: Connection, messages: Sequence[NewMessage]) -> set[tuple[str, str]]:
    """Store the messages not stored yet; the (workspace, conversation_id) pairs that got one."""
    if not messages:
        return set()
    rows = await conn.fetch(
        _MESSAGES,
        *columns(
            messages,
            "workspace",
            "conversation_id",
            "message_id",
            "sender",
            "sender_name",
            "text",
            "text_chars",
            "text_truncated",
            "sent_at",
        ),
    )
    return {(row["workspace"], row["conversation_id"]) for row in rows}


async def apply_escalations(
    conn: Connection, changes: Sequence[EscalationChange]
) -> dict[tuple[str, str], StoredEscalation]:
    """Upsert one change per escalation; whose each row is, by (workspace, escalation_id).

    A row created by escalation.handled alone keeps its handling and waits for its escalation.
    """
    if not changes:
        return {}
    rows = await conn.fetch(
        _ESCALATIONS,
        *columns(
            changes,
            "workspace",
            "escalation_id",
            "conversation_id",
            "customer_id",
            "platform",
            "escalated.at",
            "escalated.event_id",
            "escalated.value",
            "handled.at",
            "handled.event_id",
            "handled.value",
        ),
    )
    return {
        (row["workspace"], row["escalation_id"]): StoredEscalation(
            row["conversation_id"], str(row["customer_id"])
        )
        for row in rows
    }


async def close_announcement_pending(conn: Connection, workspace: str, conversation_id: str) -> bool:
    """Whether a conversation.closed of this conversation waits in the outbox, not yet being sent.

    The row is locked until our transaction ends, so the relay cannot send it before the
    message we are storing is committed; a row the relay is sending right now is skipped.
    """
    found = await conn.fetchval(
        "SELECT true FROM outbox WHERE published_at IS NULL AND subject = $1 "
        "AND payload -> 'data' ->> 'conversation_id' = $2 LIMIT 1 FOR UPDATE SKIP LOCKED",
        CONVERSATION_CLOSED.subject(workspace),
        conversation_id,
    )
    return bool(found)


async def store_analysis(conn: Connection, workspace: str, analysed: ConversationAnalysed) -> str | None:
    """Keep an analysis unless a newer one is stored; the conversation's customer id if kept."""
    customer_id = await conn.fetchval(
        """
        UPDATE conversations
        SET summary = $3, sentiment = $4, sentiment_score = $5, topics = $6, analysed_at = $7
        WHERE workspace = $1 AND conversation_id = $2 AND (analysed_at IS NULL OR analysed_at < $7)
        RETURNING customer_id
        """,
        workspace,
        analysed.conversation_id,
        analysed.summary,
        analysed.sentiment,
        analysed.sentiment_score,
        analysed.topics,
        analysed.analysed_at,
    )
    return None if customer_id is None else str(customer_id)


_CONVERSATION_FIELDS = (
    "conversation_id, platform, platform_user_id, started_at, ended_at, resolved_type, "
    "resolved_name, summary, sentiment, topics"
)


@dataclass(frozen=True)
class PageQuery:
    """One page of a customer's list: after a position, at most `limit` rows (one more than shown)."""

    workspace: str
    customer_id: str
    after: tuple[datetime, str]
    limit: int

    @classmethod
    def of(cls, request: ListConversations) -> "PageQuery":
        """The query of a page request; the cursor read back (Rejected if it was not issued)."""
        after = decode_cursor(request.cursor) if request.cursor else (END_OF_TIME, "")
        return cls(request.workspace, str(request.customer_id), after, request.limit + 1)


async def conversations_page(conn: Connection, query: PageQuery) -> list[ConversationRow]:
    """Conversations of a customer after the query's position, newest first."""
    rows = await conn.fetch(
        f"SELECT {_CONVERSATION_FIELDS} FROM conversations "
        "WHERE workspace = $1 AND customer_id = $2 AND (started_at, conversation_id) < ($3, $4) "
        "ORDER BY started_at DESC, conversation_id DESC LIMIT $5",
        query.workspace,
        query.customer_id,
        *query.after,
        query.limit,
    )
    return [ConversationRow(**dict(row)) for row in rows]


# Each escalation with its conversation's close (service.escalation_item derives the handling).
_ESCALATIONS_WITH_CLOSE = (
    "SELECT e.escalation_id, e.conversation_id, e.platform, e.escalated_at, e.reason, e.handled_by, "
    "e.handled_at, c.ended_at, c.resolved_type, c.resolved_name "
    "FROM escalations e LEFT JOIN conversations c "
    "ON c.workspace = e.workspace AND c.conversation_id = e.conversation_id "
)


async def escalations_page(conn: Connection, query: PageQuery) -> list[EscalationRow]:
    """Escalations of a customer after the query's position, newest first, with their conversation's close."""
    rows = await conn.fetch(
        f"{_ESCALATIONS_WITH_CLOSE}"
        "WHERE e.workspace = $1 AND e.customer_id = $2 AND e.escalated_at IS NOT NULL "
        "AND (e.escalated_at, e.escalation_id) < ($3, $4) "
        "ORDER BY e.escalated_at DESC, e.escalation_id DESC LIMIT $5",
        query.workspace,
        query.customer_id,
        *query.after,
        query.limit,
    )
    return [EscalationRow(**dict(row)) for row in rows]


async def customer_counts(conn: Connection, workspace: str, customer_id: str) -> tuple[int, int, int]:
    """(conversations, escalations, conversations escalated at least once) of a customer."""
    row = await conn.fetchrow(
        """
        SELECT (SELECT count(*) FROM conversations WHERE workspace = $1 AND customer_id = $2),
               count(*),
               count(DISTINCT conversation_id)
        FROM escalations
        WHERE workspace = $1 AND customer_id = $2 AND escalated_at IS NOT NULL
        """,
        workspace,
        customer_id,
    )
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def conversation_owner(
    conn: Connection, workspace: str, conversation_id: str
) -> tuple[str, str] | None:
    """(customer id, platform) of a conversation, None if the workspace has no such conversation."""
    row = await conn.fetchrow(
        "SELECT customer_id, platform FROM conversations WHERE workspace = $1 AND conversation_id = $2",
        workspace,
        conversation_id,
    )
    return None if row is None else (str(row["customer_id"]), row["platform"])


async def transcript_candidates(
    conn: Connection, workspace: str, conversation_id: str, max_chars: int
) -> list[TranscriptMessage]:
    """Newest first: every message that fits in max_chars, and the first one that does not.

    Lengths are summed over the (workspace, conversation, time) index, which carries them, and only
    the picked messages are read, so a long conversation's older texts are never fetched.
    """
    rows = await conn.fetch(
        """
        WITH picked AS (
            SELECT message_id
            FROM (
                SELECT message_id, text_chars,
                       sum(text_chars) OVER (ORDER BY sent_at DESC, message_id DESC
                                             ROWS UNBOUNDED PRECEDING) AS running
                FROM messages
                WHERE workspace = $1 AND conversation_id = $2
            ) m
            WHERE running - text_chars <= $3
        )
        SELECT m.sender, m.sender_name, m.text, m.text_truncated, m.sent_at
        FROM picked JOIN messages m
          ON m.workspace = $1 AND m.conversation_id = $2 AND m.message_id = picked.message_id
        ORDER BY m.sent_at DESC, m.message_id DESC
        """,
        workspace,
        conversation_id,
        max_chars,
    )
    return [TranscriptMessage(**dict(row)) for row in rows]


_MESSAGES_PAGE = """
WITH candidates AS (
    SELECT message_id, text_chars,
           sum(text_chars) OVER (ORDER BY sent_at, message_id ROWS UNBOUNDED PRECEDING) AS running
    FROM messages
    WHERE workspace = $1 AND conversation_id = $2 AND (sent_at, message_id) > ($3, $4)
    ORDER BY sent_at, message_id
    LIMIT $5
)
SELECT m.message_id AS id, m.sender, m.sender_name, m.text, m.sent_at,
       (SELECT count(*) FROM candidates) AS candidates
FROM candidates c
JOIN messages m ON m.workspace = $1 AND m.conversation_id = $2 AND m.message_id = c.message_id
WHERE c.running - c.text_chars < $6
ORDER BY m.sent_at, m.message_id
"""


async def messages_page(
    conn: Connection,
    workspace: str,
    conversation_id: str,
    after: tuple[datetime, str],
    limit: int,
    chars: int,
) -> tuple[list[MessageItem], bool]:
    """Up to `limit` messages of a conversation after a position, oldest first, stopping once their
    texts reach `chars` characters (the first is always included); and whether more follow."""
    rows = await conn.fetch(_MESSAGES_PAGE, workspace, conversation_id, *after, limit + 1, chars)
    kept = [MessageItem.model_validate(dict(row)) for row in rows[:limit]]
    return kept, bool(rows) and len(kept) < rows[0]["candidates"]


# --- merges and erasures -------------------------------------------------------------------------


async def conversations_since(
    conn: Connection, workspace: str, customer_ids: Sequence[uuid.UUID], since: datetime
) -> list[LateConversation]:
    """Conversations of these customers whose every event occurred at or after `since`."""
    rows = await conn.fetch(
        "SELECT conversation_id, platform, platform_user_id, ended_at FROM conversations "
        "WHERE workspace = $1 AND customer_id = ANY($2::uuid[]) AND first_seen_at >= $3 "
        "ORDER BY conversation_id",
        workspace,
        list(customer_ids),
        since,
    )
    return [LateConversation(**dict(row)) for row in rows]


async def reassign_conversations(
    conn: Connection, workspace: str, owners: Sequence[tuple[LateConversation, uuid.UUID]]
) -> None:
    """Give each conversation, with its escalations, to the customer beside it."""
    for table in ("conversations", "escalations"):
        await conn.execute(
            f"UPDATE {table} t SET customer_id = o.customer_id "
            "FROM unnest($2::text[], $3::uuid[]) AS o (conversation_id, customer_id) "
            "WHERE t.workspace = $1 AND t.conversation_id = o.conversation_id",
            workspace,
            [conversation.conversation_id for conversation, _ in owners],
            [customer_id for _, customer_id in owners],
        )


async def delete_customers(conn: Connection, workspace: str, customer_ids: Sequence[uuid.UUID]) -> None:
    """Delete these customers' conversations with their messages and escalations."""
    await conn.execute(
        "DELETE FROM messages m USING conversations c "
        "WHERE c.workspace = $1 AND c.customer_id = ANY($2::uuid[]) "
        "AND m.workspace = c.workspace AND m.conversation_id = c.conversation_id",
        workspace,
        list(customer_ids),
    )
    await delete_rows(conn, workspace, ("escalations", "conversations"), customer_ids)
