"""The timeline service's events and operations."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from shared.events import EventType, ServiceInterface
from shared.messages import WorkspaceRequest, identity_events
from shared.rpc import Operation
from shared.validation import Text

SERVICE = "timeline"


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


# Requests: every one is scoped by workspace.
ConversationId = Annotated[Text, Field(min_length=1, max_length=256)]
PAGE_DEFAULT = 25
PAGE_MAX = 100
TRANSCRIPT_MAX_CHARS = 1_000_000


class ListConversations(WorkspaceRequest):
    """One page of a customer's conversations; `cursor` as the last page returned it."""

    customer_id: uuid.UUID
    limit: Annotated[int, Field(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT
    cursor: Annotated[str, Field(max_length=2048)] | None = None


class ListEscalations(ListConversations):
    """One page of a customer's escalations; `cursor` as the last page returned it."""


class CountTimeline(WorkspaceRequest):
    """The Conversations and Escalations tab counts of one customer."""

    customer_id: uuid.UUID


class GetTranscript(WorkspaceRequest):
    """The most recent part of a conversation, at most `max_chars` characters of text."""

    conversation_id: ConversationId
    max_chars: Annotated[int, Field(ge=1, le=TRANSCRIPT_MAX_CHARS)]


MESSAGES_PAGE_MAX = 500
# Texts of at most 10,000 characters each: a page stays well under NATS's 1 MB reply limit.
MESSAGE_PAGE_CHARS = 100_000


class ListMessages(WorkspaceRequest):
    """A page of a conversation's messages, oldest first; a page also ends where its texts reach
    about MESSAGE_PAGE_CHARS characters, so that it fits in one reply."""

    conversation_id: ConversationId
    limit: Annotated[int, Field(ge=1, le=MESSAGES_PAGE_MAX)] = MESSAGES_PAGE_MAX
    cursor: Annotated[str, Field(max_length=2048)] | None = None


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


class MessageItem(BaseModel):
    """One message of a conversation (CONTRACT.md §7 export)."""

    id: str
    sender: str
    sender_name: str | None
    text: str
    sent_at: datetime


class MessagePage(BaseModel):
    """A page of messages, oldest first."""

    items: list[MessageItem]
    next_cursor: str | None


class EscalationItem(BaseModel):
    """One row of the Escalations tab.

    `handled_by` and `handled_at` come from the escalation's `escalation.handled` event. Without
    one, an escalation whose conversation a human closed counts as handled by that human at the
    close (`handled_by` is the closer's name, "a team member" if the close names nobody;
    `handled_at` the close time). One whose conversation the AI closed keeps `handled_by` and
    `handled_at` null: no human took it, and `resolution` (the conversation's, null while it is
    open) says the AI closed it. The result is the same whatever order the events arrive in.
    """

    id: str
    conversation_id: str
    platform: str
    escalated_at: datetime
    reason: str
    handled_by: str | None = Field(
        description="Who handled it: the escalation.handled event's handled_by, else the human who "
        "closed the conversation; null while no human has taken it (also when the AI closed it)."
    )
    handled_at: datetime | None = Field(
        description="When: the escalation.handled event's time, else the human close's time; null "
        "with handled_by."
    )
    resolution: Resolution | None = Field(
        default=None,
        description="The conversation's resolution (who closed it and when), null while it is open. "
        "With handled_by null and resolution.resolved_by.type 'ai', the AI closed it and no human took it.",
    )


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


LIST_CONVERSATIONS = Operation(
    SERVICE, "conversations.list", ListConversations, ConversationPage, "conversations tab"
)
LIST_ESCALATIONS = Operation(SERVICE, "escalations.list", ListEscalations, EscalationPage, "escalations tab")
COUNT_TIMELINE = Operation(SERVICE, "customer.counts", CountTimeline, CustomerCounts, "counts for the view")
GET_TRANSCRIPT = Operation(
    SERVICE,
    "conversation.transcript",
    GetTranscript,
    Transcript,
    "most recent part of a transcript, for insights",
    internal=True,
)
LIST_MESSAGES = Operation(
    SERVICE, "conversation.messages", ListMessages, MessagePage, "a conversation's messages, for exports"
)

CONVERSATION_STARTED = EventType(
    SERVICE, "conversation.started", ConversationStarted, "the customer's conversation count changed"
)
# insights analyses on this
CONVERSATION_CLOSED = EventType(
    SERVICE, "conversation.closed", ConversationClosed, "a conversation ended (again after a late message)"
)
CONVERSATION_UPDATED = EventType(
    SERVICE, "conversation.updated", ConversationUpdated, "a conversation's analysis was stored"
)
ESCALATION_CHANGED = EventType(
    SERVICE, "escalation.changed", EscalationChanged, "an escalation was raised or handled"
)

CUSTOMER_MERGED, CUSTOMER_ERASED = identity_events(SERVICE)

INTERFACE = ServiceInterface(
    SERVICE,
    "Conversations, messages and escalations from connector events; stores analyses.",
    emits=(
        CONVERSATION_STARTED,
        CONVERSATION_CLOSED,
        CONVERSATION_UPDATED,
        ESCALATION_CHANGED,
        CUSTOMER_MERGED,
        CUSTOMER_ERASED,
    ),
)
