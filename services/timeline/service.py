"""Domain rules of the timeline: plain functions over plain data (no NATS, no SQL)."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, cast

from shared.events import (
    ConversationClosed,
    ConversationEscalated,
    ConversationMessage,
    ConversationStarted,
    EscalationHandled,
)
from shared.identity import Routed
from shared.ids import customer_id_for
from shared.links import chat_url
from shared.messages.insights import ConversationAnalysed
from shared.messages.profile import ErasedIdentity
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

ConversationEvent = (
    ConversationStarted | ConversationMessage | ConversationEscalated | EscalationHandled | ConversationClosed
)


def clip_message(text: str) -> tuple[str, bool]:
    """The text to store and whether it was cut to MAX_MESSAGE_CHARS."""
    if len(text) > MAX_MESSAGE_CHARS:
        return text[:MAX_MESSAGE_CHARS], True
    return text, False


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
    """A stored escalation (one whose conversation.escalated has arrived), with its own handling
    (escalation.handled) and its conversation's close."""

    escalation_id: str
    conversation_id: str
    platform: str
    escalated_at: datetime
    reason: str
    handled_by: str | None
    handled_at: datetime | None
    ended_at: datetime | None = None
    resolved_type: str | None = None
    resolved_name: str | None = None


# handled_by of an escalation whose conversation a human closed without naming them.
UNNAMED_HUMAN = "a team member"


def resolution(
    ended_at: datetime | None, resolved_type: str | None, resolved_name: str | None
) -> Resolution | None:
    """Who closed a conversation and when; None while it is open."""
    if ended_at is None or resolved_type not in ("ai", "human"):
        return None
    return Resolution(
        resolved_by=ResolvedBy(type=cast(Literal["ai", "human"], resolved_type), name=resolved_name),
        resolved_at=ended_at,
    )


def conversation_item(row: ConversationRow) -> ConversationItem:
    """One item of the Conversations tab (CONTRACT.md §4)."""
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
        resolution=resolution(row.ended_at, row.resolved_type, row.resolved_name),
        chat_url=chat_url(row.platform, row.platform_user_id, row.conversation_id),
    )


def escalation_item(row: EscalationRow) -> EscalationItem:
    """One item of the Escalations tab (CONTRACT.md §4).

    Its escalation.handled says who took it. Without one, a conversation a human closed counts as
    handled by that human at the close; one the AI closed stays unhandled (handled_by null), and
    its `resolution` tells the dashboard that no human took it. Both inputs converge under any
    event order (the earliest handling, the latest close), so this does too.
    """
    closed = resolution(row.ended_at, row.resolved_type, row.resolved_name)
    handled_by, handled_at = row.handled_by, row.handled_at
    if handled_at is None and closed is not None and closed.resolved_by.type == "human":
        handled_by, handled_at = closed.resolved_by.name or UNNAMED_HUMAN, closed.resolved_at
    return EscalationItem(
        id=row.escalation_id,
        conversation_id=row.conversation_id,
        platform=row.platform,
        escalated_at=row.escalated_at,
        reason=row.reason,
        handled_by=handled_by,
        handled_at=handled_at,
        resolution=closed,
    )


@dataclass(frozen=True)
class LateConversation:
    """A conversation of an erased customer made only of events from after the erasure."""

    conversation_id: str
    platform: str
    platform_user_id: str
    ended_at: datetime | None


def new_owners(
    workspace: str, conversations: Sequence[LateConversation], identities: Sequence[ErasedIdentity]
) -> list[tuple[LateConversation, uuid.UUID]]:
    """Each conversation of an erased customer that only holds events from after the erasure, with
    the customer its identity's next contact starts (one of an identity the erasure does not name
    has none, and is left out)."""
    starts = {identity.identity_key: identity.customer_id for identity in identities}
    owners = []
    for conversation in conversations:
        key = customer_id_for(workspace, conversation.platform, conversation.platform_user_id)
        if key in starts:
            owners.append((conversation, starts[key]))
    return owners


def conversation_position(row: ConversationRow) -> tuple[datetime, str]:
    """Where the next page of conversations starts: after this one."""
    return row.started_at, row.conversation_id


def escalation_position(row: EscalationRow) -> tuple[datetime, str]:
    """Where the next page of escalations starts: after this one."""
    return row.escalated_at, row.escalation_id


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


# --- folding a batch of connector events ----------------------------------------------------------
#
# Every rule that applies connector events commutes: a conversation keeps the least time seen and
# the least conversation.started time, the close with the greatest (occurred_at, event id); an
# escalation its least (time, event id) escalation and handling; a message its first copy. So a
# batch folds into one change per row, and upserting the folded change leaves the state that
# applying its events one by one would leave.


@dataclass(frozen=True)
class Close:
    """The close a conversation row keeps: the one with the greatest (ended_at, event_id)."""

    ended_at: datetime
    event_id: str
    resolved_type: str
    resolved_name: str | None


@dataclass
class ConversationChange:
    """What a batch does to one conversation row; the owner fields come from its first event."""

    workspace: str
    conversation_id: str
    customer_id: str
    platform: str
    platform_user_id: str
    first_seen_at: datetime
    announced_at: datetime | None = None
    close: Close | None = None


@dataclass(frozen=True)
class NewMessage:
    """A message row to store unless its (workspace, conversation_id, message_id) is stored."""

    workspace: str
    conversation_id: str
    message_id: str
    sender: str
    sender_name: str | None
    text: str
    text_truncated: bool
    sent_at: datetime

    @property
    def text_chars(self) -> int:
        """Characters (code points) of the stored text."""
        return len(self.text)


@dataclass(frozen=True)
class Stamped:
    """An escalation's escalation or handling: when, by which event, and what it says."""

    at: datetime
    event_id: str
    value: str

    def precedes(self, other: "Stamped | None") -> bool:
        """Whether this one is kept over `other` (the earliest wins; the event id breaks ties)."""
        return other is None or (self.at, self.event_id) < (other.at, other.event_id)


@dataclass
class EscalationChange:
    """What a batch does to one escalation row; the owner fields come from its first event."""

    workspace: str
    escalation_id: str
    conversation_id: str
    customer_id: str
    platform: str
    escalated: Stamped | None = None
    handled: Stamped | None = None


@dataclass(frozen=True)
class EscalationNotice:
    """One escalation event, announced as escalation.changed once the batch is applied."""

    workspace: str
    escalation_id: str
    handled: bool


@dataclass
class BatchChanges:
    """A batch of connector events folded into one change per row, in order of first appearance."""

    conversations: dict[tuple[str, str], ConversationChange] = field(default_factory=dict)
    messages: dict[tuple[str, str, str], NewMessage] = field(default_factory=dict)
    escalations: dict[tuple[str, str], EscalationChange] = field(default_factory=dict)
    notices: list[EscalationNotice] = field(default_factory=list)


def _conversation(
    changes: BatchChanges, workspace: str, customer_id: str, event: ConversationEvent
) -> ConversationChange:
    key = (workspace, event.conversation_id)
    change = changes.conversations.get(key)
    if change is None:
        change = changes.conversations[key] = ConversationChange(
            workspace=workspace,
            conversation_id=event.conversation_id,
            customer_id=customer_id,
            platform=event.platform,
            platform_user_id=event.platform_user_id,
            first_seen_at=event.occurred_at,
        )
    change.first_seen_at = min(change.first_seen_at, event.occurred_at)
    return change


def _escalation(
    changes: BatchChanges, workspace: str, customer_id: str, event: ConversationEscalated | EscalationHandled
) -> EscalationChange:
    key = (workspace, event.escalation_id)
    change = changes.escalations.get(key)
    if change is None:
        change = changes.escalations[key] = EscalationChange(
            workspace=workspace,
            escalation_id=event.escalation_id,
            conversation_id=event.conversation_id,
            customer_id=customer_id,
            platform=event.platform,
        )
    changes.notices.append(
        EscalationNotice(workspace, event.escalation_id, handled=isinstance(event, EscalationHandled))
    )
    return change


def fold_events(events: Iterable[Routed[ConversationEvent]]) -> BatchChanges:
    """(workspace, customer id, event) triples, each applied once, as one change per conversation,
    message and escalation; a row keeps the customer of its first event."""
    changes = BatchChanges()
    for workspace, customer_uuid, event in events:
        customer_id = str(customer_uuid)
        conversation = _conversation(changes, workspace, customer_id, event)
        match event:
            case ConversationStarted():
                if conversation.announced_at is None or event.occurred_at < conversation.announced_at:
                    conversation.announced_at = event.occurred_at
            case ConversationMessage():
                text, truncated = clip_message(event.text)
                changes.messages.setdefault(
                    (workspace, event.conversation_id, event.message_id),
                    NewMessage(
                        workspace=workspace,
                        conversation_id=event.conversation_id,
                        message_id=event.message_id,
                        sender=event.sender,
                        sender_name=event.sender_name,
                        text=text,
                        text_truncated=truncated,
                        sent_at=event.occurred_at,
                    ),
                )
            case ConversationClosed():
                close = Close(
                    event.occurred_at, event.event_id, event.resolved_by.type, event.resolved_by.name
                )
                current = conversation.close
                if current is None or (close.ended_at, close.event_id) > (current.ended_at, current.event_id):
                    conversation.close = close
            case ConversationEscalated():
                escalation = _escalation(changes, workspace, customer_id, event)
                escalated = Stamped(event.occurred_at, event.event_id, event.reason)
                if escalated.precedes(escalation.escalated):
                    escalation.escalated = escalated
            case EscalationHandled():
                escalation = _escalation(changes, workspace, customer_id, event)
                handled = Stamped(event.occurred_at, event.event_id, event.handled_by)
                if handled.precedes(escalation.handled):
                    escalation.handled = handled
    return changes
