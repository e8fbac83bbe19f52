"""The timeline service's events and operations."""

from datetime import datetime

from pydantic import BaseModel

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


class Transcript(BaseModel):
    """The most recent part of a conversation that fits in `max_chars`."""

    conversation_id: str
    customer_id: str
    platform: str
    messages: list[TranscriptMessage]
    truncated: bool
