"""SQL of the timeline service. Every statement is scoped by workspace.

Applying connector events is a set of commutative upserts, so any arrival order and any number
of duplicates converge to the state of in-order, exactly-once delivery:
- a conversation row is created by whichever of its events comes first; `first_seen_at` keeps
  the least `occurred_at` seen and `announced_at` the one of conversation.started, and the
  listed `started_at` prefers the latter;
- the closing fields come from the close with the greatest (occurred_at, event id);
- messages are keyed by (workspace, conversation_id, message_id) and inserted once;
- an escalation keeps its earliest escalation and earliest handling, whichever arrives first.
"""

from dataclasses import dataclass
from datetime import datetime

from services.timeline.service import ConversationRow, EscalationRow
from shared.db import Connection
from shared.messages.insights import ConversationAnalysed
from shared.messages.timeline import TranscriptMessage

# $1 workspace, $2 conversation_id, $3 customer_id, $4 platform, $5 platform_user_id, $6 occurred_at.
_CONVERSATION_VALUES = "($1, $2, $3, $4, $5, $6"
_CONVERSATION_COLUMNS = "(workspace, conversation_id, customer_id, platform, platform_user_id, first_seen_at"
_SEEN = "first_seen_at = LEAST(c.first_seen_at, EXCLUDED.first_seen_at)"

_STARTED = f"""
INSERT INTO conversations AS c {_CONVERSATION_COLUMNS}, announced_at)
VALUES {_CONVERSATION_VALUES}, $6)
ON CONFLICT (workspace, conversation_id) DO UPDATE SET
    {_SEEN},
    announced_at = LEAST(c.announced_at, EXCLUDED.announced_at)
RETURNING (xmax = 0) AS created
"""

# One round trip per message: the conversation upsert locks its row, so `ended_at` is the
# latest committed close even when another replica closed it a moment ago.
_MESSAGE = f"""
WITH conv AS (
    INSERT INTO conversations AS c {_CONVERSATION_COLUMNS})
    VALUES {_CONVERSATION_VALUES})
    ON CONFLICT (workspace, conversation_id) DO UPDATE SET {_SEEN}
    RETURNING (xmax = 0) AS created, c.customer_id, c.platform, c.ended_at
), msg AS (
    INSERT INTO messages (workspace, conversation_id, message_id, sender, sender_name, text,
                          text_chars, text_truncated, sent_at)
    VALUES ($1, $2, $7, $8, $9, $10, $11, $12, $6)
    ON CONFLICT DO NOTHING
    RETURNING true
)
SELECT conv.created, conv.customer_id, conv.platform, conv.ended_at,
       EXISTS (SELECT 1 FROM msg) AS inserted
FROM conv
"""

_CLOSE_WINS = (
    "(c.ended_at IS NULL OR (EXCLUDED.ended_at, EXCLUDED.close_event_id) > (c.ended_at, c.close_event_id))"
)
_CLOSED = f"""
INSERT INTO conversations AS c {_CONVERSATION_COLUMNS}, ended_at, resolved_type, resolved_name,
                                close_event_id)
VALUES {_CONVERSATION_VALUES}, $6, $7, $8, $9)
ON CONFLICT (workspace, conversation_id) DO UPDATE SET
    {_SEEN},
    ended_at = CASE WHEN {_CLOSE_WINS} THEN EXCLUDED.ended_at ELSE c.ended_at END,
    resolved_type = CASE WHEN {_CLOSE_WINS} THEN EXCLUDED.resolved_type ELSE c.resolved_type END,
    resolved_name = CASE WHEN {_CLOSE_WINS} THEN EXCLUDED.resolved_name ELSE c.resolved_name END,
    close_event_id = CASE WHEN {_CLOSE_WINS} THEN EXCLUDED.close_event_id ELSE c.close_event_id END
RETURNING (xmax = 0) AS created, c.close_event_id = $9 AS applied, c.customer_id, c.platform, c.ended_at
"""

_ESCALATION_CONVERSATION = f"""
WITH conv AS (
    INSERT INTO conversations AS c {_CONVERSATION_COLUMNS})
    VALUES {_CONVERSATION_VALUES})
    ON CONFLICT (workspace, conversation_id) DO UPDATE SET {_SEEN}
    RETURNING (xmax = 0) AS created
)
"""

_ESCALATION_WINS = (
    "(e.escalated_at IS NULL OR (EXCLUDED.escalated_at, EXCLUDED.escalated_event_id)"
    " < (e.escalated_at, e.escalated_event_id))"
)
_ESCALATED = f"""
{_ESCALATION_CONVERSATION}
INSERT INTO escalations AS e (workspace, escalation_id, conversation_id, customer_id, platform,
                              escalated_at, reason, escalated_event_id)
VALUES ($1, $7, $2, $3, $4, $6, $8, $9)
ON CONFLICT (workspace, escalation_id) DO UPDATE SET
    escalated_at = CASE WHEN {_ESCALATION_WINS} THEN EXCLUDED.escalated_at ELSE e.escalated_at END,
    reason = CASE WHEN {_ESCALATION_WINS} THEN EXCLUDED.reason ELSE e.reason END,
    escalated_event_id = CASE WHEN {_ESCALATION_WINS}
                              THEN EXCLUDED.escalated_event_id ELSE e.escalated_event_id END
RETURNING (SELECT created FROM conv) AS created, e.conversation_id, e.customer_id
"""

_HANDLING_WINS = (
    "(e.handled_at IS NULL OR (EXCLUDED.handled_at, EXCLUDED.handled_event_id)"
    " < (e.handled_at, e.handled_event_id))"
)
_HANDLED = f"""
{_ESCALATION_CONVERSATION}
INSERT INTO escalations AS e (workspace, escalation_id, conversation_id, customer_id, platform,
                              handled_at, handled_by, handled_event_id)
VALUES ($1, $7, $2, $3, $4, $6, $8, $9)
ON CONFLICT (workspace, escalation_id) DO UPDATE SET
    handled_at = CASE WHEN {_HANDLING_WINS} THEN EXCLUDED.handled_at ELSE e.handled_at END,
    handled_by = CASE WHEN {_HANDLING_WINS} THEN EXCLUDED.handled_by ELSE e.handled_by END,
    handled_event_id = CASE WHEN {_HANDLING_WINS}
                            THEN EXCLUDED.handled_event_id ELSE e.handled_event_id END
RETURNING (SELECT created FROM conv) AS created, e.conversation_id, e.customer_id
"""


@dataclass(frozen=True)
class Subject:
    """Who and what a connector event is about: the conversation row's key and owner."""

    workspace: str
    conversation_id: str
    customer_id: str
    platform: str
    platform_user_id: str
    occurred_at: datetime

    def values(self) -> tuple[str, str, str, str, str, datetime]:
        """The first six parameters of every conversation upsert."""
        return (
            self.workspace,
            self.conversation_id,
            self.customer_id,
            self.platform,
            self.platform_user_id,
            self.occurred_at,
        )


@dataclass(frozen=True)
class MessageOutcome:
    """What storing a message changed."""

    conversation_created: bool
    inserted: bool
    customer_id: str
    platform: str
    ended_at: datetime | None


@dataclass(frozen=True)
class CloseOutcome:
    """What applying a close changed; `applied` if it is now the conversation's close."""

    conversation_created: bool
    applied: bool
    customer_id: str
    platform: str
    ended_at: datetime


@dataclass(frozen=True)
class EscalationOutcome:
    """What applying an escalation event changed."""

    conversation_created: bool
    conversation_id: str
    customer_id: str


async def record_started(conn: Connection, subject: Subject) -> bool:
    """Apply conversation.started; True if it created the conversation."""
    return bool(await conn.fetchval(_STARTED, *subject.values()))


async def record_message(
    conn: Connection,
    subject: Subject,
    *,
    message_id: str,
    sender: str,
    sender_name: str | None,
    text: str,
    text_truncated: bool,
) -> MessageOutcome:
    """Apply conversation.message (a message id already stored changes nothing)."""
    row = await conn.fetchrow(
        _MESSAGE, *subject.values(), message_id, sender, sender_name, text, len(text), text_truncated
    )
    assert row is not None
    return MessageOutcome(
        conversation_created=row["created"],
        inserted=row["inserted"],
        customer_id=str(row["customer_id"]),
        platform=row["platform"],
        ended_at=row["ended_at"],
    )


async def record_closed(
    conn: Connection, subject: Subject, *, resolved_type: str, resolved_name: str | None, event_id: str
) -> CloseOutcome:
    """Apply conversation.closed."""
    row = await conn.fetchrow(_CLOSED, *subject.values(), resolved_type, resolved_name, event_id)
    assert row is not None
    return CloseOutcome(
        conversation_created=row["created"],
        applied=row["applied"],
        customer_id=str(row["customer_id"]),
        platform=row["platform"],
        ended_at=row["ended_at"],
    )


async def record_escalated(
    conn: Connection, subject: Subject, *, escalation_id: str, reason: str, event_id: str
) -> EscalationOutcome:
    """Apply conversation.escalated."""
    row = await conn.fetchrow(_ESCALATED, *subject.values(), escalation_id, reason, event_id)
    assert row is not None
    return EscalationOutcome(row["created"], row["conversation_id"], str(row["customer_id"]))


async def record_handled(
    conn: Connection, subject: Subject, *, escalation_id: str, handled_by: str, event_id: str
) -> EscalationOutcome:
    """Apply escalation.handled (kept even if its conversation.escalated has not arrived yet)."""
    row = await conn.fetchrow(_HANDLED, *subject.values(), escalation_id, handled_by, event_id)
    assert row is not None
    return EscalationOutcome(row["created"], row["conversation_id"], str(row["customer_id"]))


async def close_announcement_pending(conn: Connection, subject: str, conversation_id: str) -> bool:
    """Whether a conversation.closed of this conversation waits in the outbox, not yet being sent.

    The row is locked until our transaction ends, so the relay cannot send it before the
    message we are storing is committed; a row the relay is sending right now is skipped.
    """
    found = await conn.fetchval(
        "SELECT true FROM outbox WHERE published_at IS NULL AND subject = $1 "
        "AND payload -> 'data' ->> 'conversation_id' = $2 LIMIT 1 FOR UPDATE SKIP LOCKED",
        subject,
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


async def conversations_page(
    conn: Connection, workspace: str, customer_id: str, limit: int, after: tuple[datetime, str] | None
) -> list[ConversationRow]:
    """Up to `limit` conversations of a customer after the cursor position, newest first."""
    if after is None:
        rows = await conn.fetch(
            f"SELECT {_CONVERSATION_FIELDS} FROM conversations "
            "WHERE workspace = $1 AND customer_id = $2 "
            "ORDER BY started_at DESC, conversation_id DESC LIMIT $3",
            workspace,
            customer_id,
            limit,
        )
    else:
        rows = await conn.fetch(
            f"SELECT {_CONVERSATION_FIELDS} FROM conversations "
            "WHERE workspace = $1 AND customer_id = $2 AND (started_at, conversation_id) < ($3, $4) "
            "ORDER BY started_at DESC, conversation_id DESC LIMIT $5",
            workspace,
            customer_id,
            after[0],
            after[1],
            limit,
        )
    return [ConversationRow(**dict(row)) for row in rows]


_ESCALATION_FIELDS = "escalation_id, conversation_id, platform, escalated_at, reason, handled_by, handled_at"


async def escalations_page(
    conn: Connection, workspace: str, customer_id: str, limit: int, after: tuple[datetime, str] | None
) -> list[EscalationRow]:
    """Up to `limit` escalations of a customer after the cursor position, newest first."""
    if after is None:
        rows = await conn.fetch(
            f"SELECT {_ESCALATION_FIELDS} FROM escalations "
            "WHERE workspace = $1 AND customer_id = $2 AND escalated_at IS NOT NULL "
            "ORDER BY escalated_at DESC, escalation_id DESC LIMIT $3",
            workspace,
            customer_id,
            limit,
        )
    else:
        rows = await conn.fetch(
            f"SELECT {_ESCALATION_FIELDS} FROM escalations "
            "WHERE workspace = $1 AND customer_id = $2 AND escalated_at IS NOT NULL "
            "AND (escalated_at, escalation_id) < ($3, $4) "
            "ORDER BY escalated_at DESC, escalation_id DESC LIMIT $5",
            workspace,
            customer_id,
            after[0],
            after[1],
            limit,
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
