"""Domain rules of the timeline: plain functions over plain data (no NATS, no SQL)."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from shared.links import chat_url
from shared.messages.insights import ConversationAnalysed
from shared.messages.timeline import (
    ConversationItem,
    EscalationItem,
    Resolution,
    ResolvedBy,
    TranscriptMessage,
)

# A longer message is kept, cut to this many characters and flagged, never rejected.
MAX_MESSAGE_CHARS = 10_000

Sentiment = Literal["positive", "neutral", "negative"]


class InvalidCursor(ValueError):
    """A raw cursor this service could not have issued."""


def clip_message(text: str) -> tuple[str, bool]:
    """The text to store and whether it was cut to MAX_MESSAGE_CHARS."""
    if len(text) > MAX_MESSAGE_CHARS:
        return text[:MAX_MESSAGE_CHARS], True
    return text, False


def encode_cursor(position: datetime, key: str) -> str:
    """The raw cursor after the row at (position, key) of a newest-first list."""
    return json.dumps([position.isoformat(), key], separators=(",", ":"))


def decode_cursor(raw: str) -> tuple[datetime, str]:
    """(position, key) of a raw cursor; InvalidCursor if it is not one encode_cursor made."""
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidCursor("malformed cursor") from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise InvalidCursor("malformed cursor")
    try:
        position = datetime.fromisoformat(value[0])
    except ValueError:
        raise InvalidCursor("malformed cursor position") from None
    if position.tzinfo is None:
        raise InvalidCursor("cursor position has no offset")
    return position, value[1]


@dataclass(frozen=True)
class ConversationRow:
    """A stored conversation as the Conversations tab needs it."""

    conversation_id: str
    platform: str
    platform_user_id: str
    started_at: datetime
    ended_at: datetime | None
    resolved_type: str | None
    resolved_name: str | None
    summary: str | None
    sentiment: str | None
    topics: list[str]


@dataclass(frozen=True)
class EscalationRow:
    """A stored escalation (one whose conversation.escalated has arrived)."""

    escalation_id: str
    conversation_id: str
    platform: str
    escalated_at: datetime
    reason: str
    handled_by: str | None
    handled_at: datetime | None


def conversation_item(row: ConversationRow) -> ConversationItem:
    """One item of the Conversations tab (CONTRACT.md §4)."""
    resolution = None
    if row.ended_at is not None and row.resolved_type in ("ai", "human"):
        resolution = Resolution(
            resolved_by=ResolvedBy(
                type=cast(Literal["ai", "human"], row.resolved_type), name=row.resolved_name
            ),
            resolved_at=row.ended_at,
        )
    sentiment = (
        cast(Sentiment, row.sentiment) if row.sentiment in ("positive", "neutral", "negative") else None
    )
    return ConversationItem(
        id=row.conversation_id,
        platform=row.platform,
        started_at=row.started_at,
        ended_at=row.ended_at,
        status="closed" if row.ended_at is not None else "active",
        summary=row.summary,
        sentiment=sentiment,
        topics=list(row.topics),
        resolution=resolution,
        chat_url=chat_url(row.platform, row.platform_user_id, row.conversation_id),
    )


def escalation_item(row: EscalationRow) -> EscalationItem:
    """One item of the Escalations tab (CONTRACT.md §4)."""
    return EscalationItem(
        id=row.escalation_id,
        conversation_id=row.conversation_id,
        platform=row.platform,
        escalated_at=row.escalated_at,
        reason=row.reason,
        handled_by=row.handled_by,
        handled_at=row.handled_at,
    )


def next_conversations_cursor(rows: Sequence[ConversationRow], limit: int) -> str | None:
    """The cursor after a page, given up to limit + 1 rows (the extra one says there is more)."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor(last.started_at, last.conversation_id)


def next_escalations_cursor(rows: Sequence[EscalationRow], limit: int) -> str | None:
    """The cursor after a page, given up to limit + 1 rows (the extra one says there is more)."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor(last.escalated_at, last.escalation_id)


def escalation_rate(conversations: int, escalated_conversations: int) -> float:
    """Share of a customer's conversations that were handed to a human (0 without conversations)."""
    if conversations <= 0:
        return 0.0
    return round(min(escalated_conversations, conversations) / conversations, 4)


def fit_transcript(
    newest_first: Sequence[TranscriptMessage], max_chars: int
) -> tuple[list[TranscriptMessage], bool]:
    """The most recent messages whose texts fit in max_chars, oldest first, and whether any was left out.

    If even the newest message alone is too long, its beginning is kept (cut to max_chars) so a
    non-empty conversation never yields an empty transcript.
    """
    kept: list[TranscriptMessage] = []
    used = 0
    for message in newest_first:
        if used + len(message.text) > max_chars:
            break
        kept.append(message)
        used += len(message.text)
    truncated = len(kept) < len(newest_first)
    if not kept and newest_first:
        newest = newest_first[0]
        kept = [newest.model_copy(update={"text": newest.text[:max_chars], "text_truncated": True})]
    kept.reverse()
    return kept, truncated


def without_nul(text: str) -> str:
    """Text PostgreSQL can store (an analyser's output is not trusted to be free of U+0000)."""
    return text.replace("\x00", "")


def clean_analysis(analysed: ConversationAnalysed) -> ConversationAnalysed:
    """The analysis as stored: no U+0000, no blank or repeated topics."""
    topics: list[str] = []
    for topic in analysed.topics:
        cleaned = without_nul(topic).strip()
        if cleaned and cleaned not in topics:
            topics.append(cleaned)
    summary = without_nul(analysed.summary) if analysed.summary is not None else None
    return analysed.model_copy(update={"summary": summary, "topics": topics})
