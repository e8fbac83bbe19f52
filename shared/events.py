"""Connector events of CONTRACT.md §5 as pydantic models, and the envelope of internal events."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from shared.ids import customer_id_for
from shared.subjects import parse_chat_subject
from shared.validation import Text

Platform = Literal["whatsapp", "instagram", "web"]
PLATFORMS: tuple[Platform, ...] = ("whatsapp", "instagram", "web")


Id = Annotated[Text, Field(min_length=1, max_length=256)]

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_INSTAGRAM_USERNAME = re.compile(r"^[a-z0-9._]{1,30}$")


class ConnectorEvent(BaseModel):
    """Fields every connector event carries."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    event_id: Id
    occurred_at: AwareDatetime
    platform: Platform
    platform_user_id: Id

    @model_validator(mode="after")
    def _platform_user_id_shape(self) -> "ConnectorEvent":
        # The id is the identity key: normalise here so every service derives the same customer id.
        if self.platform == "instagram":
            object.__setattr__(self, "platform_user_id", self.platform_user_id.lower().lstrip("@"))
            if not _INSTAGRAM_USERNAME.match(self.platform_user_id):
                raise ValueError("instagram platform_user_id must be an Instagram username")
        elif self.platform == "whatsapp" and not _E164.match(self.platform_user_id):
            raise ValueError("whatsapp platform_user_id must be an E.164 number")
        return self

    def customer_id(self, workspace: str) -> str:
        """Id of the customer this event is about."""
        return str(customer_id_for(workspace, self.platform, self.platform_user_id))


class InstagramInfo(BaseModel):
    """What a connector knows of the customer's Instagram account."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    username: Annotated[Text, Field(min_length=1, max_length=64)] | None = None
    followers: Annotated[int, Field(ge=0)] | None = None
    follow_status: Literal["following", "not_following", "unknown"] | None = None


class ContactSeen(ConnectorEvent):
    """The connector saw the contact: refreshes display name, avatar and Instagram info."""

    display_name: Annotated[Text, Field(max_length=1000)] | None = None
    avatar_url: Annotated[Text, Field(max_length=2048)] | None = None
    instagram: InstagramInfo | None = None


class ConversationStarted(ConnectorEvent):
    """A conversation opened."""

    conversation_id: Id


class ConversationMessage(ConnectorEvent):
    """One message in a conversation."""

    conversation_id: Id
    message_id: Id
    sender: Literal["customer", "ai", "human"]
    sender_name: Annotated[Text, Field(max_length=1000)] | None = None
    text: Text


class ConversationEscalated(ConnectorEvent):
    """The AI handed the conversation over to a human."""

    conversation_id: Id
    escalation_id: Id
    reason: Annotated[Text, Field(max_length=10_000)]


class EscalationHandled(ConnectorEvent):
    """A human took an escalation."""

    conversation_id: Id
    escalation_id: Id
    handled_by: Annotated[Text, Field(min_length=1, max_length=1000)]


class Resolver(BaseModel):
    """Who resolved a conversation."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Literal["ai", "human"]
    name: Annotated[Text, Field(max_length=1000)] | None = None


class ConversationClosed(ConnectorEvent):
    """A conversation ended."""

    conversation_id: Id
    resolved_by: Resolver


EVENT_MODELS: dict[str, type[ConnectorEvent]] = {
    "contact.seen": ContactSeen,
    "conversation.started": ConversationStarted,
    "conversation.message": ConversationMessage,
    "conversation.escalated": ConversationEscalated,
    "escalation.handled": EscalationHandled,
    "conversation.closed": ConversationClosed,
}


def parse_connector_event(subject: str, data: bytes) -> tuple[str, ConnectorEvent]:
    """(workspace, event) from a connector message; ValueError/ValidationError if invalid."""
    workspace, event_type = parse_chat_subject(subject)
    return workspace, EVENT_MODELS[event_type].model_validate_json(data)


class InternalEvent(BaseModel):
    """Envelope of every event a service publishes through its outbox."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Id
    occurred_at: AwareDatetime
    workspace: Id
    type: Id
    data: dict[str, Any]


_internal_adapter = TypeAdapter(InternalEvent)


def parse_internal_event(data: bytes) -> InternalEvent:
    """The envelope of an internal event; ValidationError if malformed."""
    return _internal_adapter.validate_json(data)


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)
