"""The timeline service's events and operations."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from shared.subjects import WORKSPACE_PATTERN
from shared.validation import Text

SERVICE = "timeline"

CONVERSATION_STARTED = "conversation.started"
CONVERSATION_CLOSED = "conversation.closed"  # insights analyses on this
CONVERSATION_UPDATED = "conversation.updated"  # analysis stored, message after close, ...
ESCALATION_CHANGED = "escalation.changed"

OP_CONVERSATIONS_LIST = "conversations.list"
OP_ESCALATIONS_LIST = "escalations.list"
OP_CUSTOMER_COUNTS = "customer.counts"  # {customer_id} → {"conversations": int, "escalations": int}
OP_TRANSCRIPT = "conversation.transcript"  # {conversation_id, max_chars} → Transcript


class ConversationClosed(BaseModel):
    """A conversation ended (published again if messages arrive after the close)."""

    conversation_id: str
    customer_id: str
    platform: str
    closed_at: datetime


class TranscriptMessage(BaseModel):
    """One message of a transcript, oldest first."""

    sender: str
    sender_name: str | None = None
    text: str
    sent_at: datetime
    text_truncated: bool = False


class Transcript(BaseModel):
    """The most recent part of a conversation that fits in `max_chars`."""

    conversation_id: str
    customer_id: str
    platform: str
    messages: list[TranscriptMessage]
    truncated: bool


# Requests of the operations above: every one is scoped by workspace.
Workspace = Annotated[str, Field(pattern=WORKSPACE_PATTERN.pattern)]
ConversationId = Annotated[Text, Field(min_length=1, max_length=256)]
PAGE_DEFAULT = 25
PAGE_MAX = 100
TRANSCRIPT_MAX_CHARS = 1_000_000


class CustomerPageRequest(BaseModel):
    """One page of a customer's conversations or escalations; `cursor` as the last page returned it."""

    workspace: Workspace
    customer_id: uuid.UUID
    limit: Annotated[int, Field(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT
    cursor: Annotated[str, Field(max_length=2048)] | None = None


class CustomerCountsRequest(BaseModel):
    """The Conversations and Escalations tab counts of one customer."""

    workspace: Workspace
    customer_id: uuid.UUID


class TranscriptRequest(BaseModel):
    """The most recent part of a conversation, at most `max_chars` characters of text."""

    workspace: Workspace
    conversation_id: ConversationId
    max_chars: Annotated[int, Field(ge=1, le=TRANSCRIPT_MAX_CHARS)]


class CustomerCounts(BaseModel):
    """Counts for the profile view; `escalation_rate` is the share of conversations escalated."""

    conversations: int
    escalations: int
    escalation_rate: float


# Items and pages (CONTRACT.md §4 Conversation and Escalation).
class ResolvedBy(BaseModel):
    """Who resolved a conversation."""

    type: Literal["ai", "human"]
    name: str | None


class Resolution(BaseModel):
    """How and when a conversation was resolved."""

    resolved_by: ResolvedBy
    resolved_at: datetime


class ConversationItem(BaseModel):
    """One row of the Conversations tab."""

    id: str
    platform: str
    started_at: datetime
    ended_at: datetime | None
    status: Literal["active", "closed"]
    summary: str | None
    sentiment: Literal["positive", "neutral", "negative"] | None
    topics: list[str]
    resolution: Resolution | None
    chat_url: str


class ConversationPage(BaseModel):
    """A page of conversations, newest first."""

    items: list[ConversationItem]
    next_cursor: str | None


class EscalationItem(BaseModel):
    """One row of the Escalations tab."""

    id: str
    conversation_id: str
    platform: str
    escalated_at: datetime
    reason: str
    handled_by: str | None
    handled_at: datetime | None


class EscalationPage(BaseModel):
    """A page of escalations, newest first."""

    items: list[EscalationItem]
    next_cursor: str | None


# Events besides ConversationClosed; each names the customer so the gateway can refresh its view.
class ConversationStarted(BaseModel):
    """The timeline learned of a conversation (the customer's conversation count changed)."""

    conversation_id: str
    customer_id: str
    platform: str


class ConversationUpdated(BaseModel):
    """A conversation's analysis was stored."""

    conversation_id: str
    customer_id: str
    analysed_at: datetime


class EscalationChanged(BaseModel):
    """An escalation was raised or handled."""

    escalation_id: str
    conversation_id: str
    customer_id: str
    handled: bool
