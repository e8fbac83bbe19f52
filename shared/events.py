"""Connector events of CONTRACT.md §5 as pydantic models; internal event types and their envelope."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Generic, Literal, Protocol, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.ids import customer_id_for
from shared.subjects import event_subject, parse_chat_subject
from shared.validation import Text

Platform = Literal["whatsapp", "instagram", "web"]


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


def _printable(value: str | None) -> str | None:
    # Control characters (escapes, bells) have no place in a name shown to staff; a line break or
    # tab still separates words.
    if value is None:
        return None
    return "".join(" " if c.isspace() else c for c in value if unicodedata.category(c) != "Cc" or c.isspace())


def _web_address(value: str | None) -> str | None:
    # Only http(s) ever reaches an <img src>: a javascript: or data: URL is dropped, the event kept.
    if value is None:
        return None
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


class ContactSeen(ConnectorEvent):
    """The connector saw the contact: refreshes display name, avatar and Instagram info.

    A display name loses its control characters; an avatar URL that is not http(s) is dropped.
    """

    display_name: Annotated[Text, Field(max_length=1000), AfterValidator(_printable)] | None = None
    avatar_url: Annotated[Text, Field(max_length=2048), AfterValidator(_web_address)] | None = None
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


class InvalidEvent(ValueError):
    """A message that is not a valid event of its subject: it can never be applied."""


def parse_connector_event(subject: str, data: bytes) -> tuple[str, ConnectorEvent]:
    """(workspace, event) from a connector message; InvalidEvent if it is not one."""
    try:
        workspace, event_type = parse_chat_subject(subject)
        return workspace, EVENT_MODELS[event_type].model_validate_json(data)
    except ValueError as exc:
        raise InvalidEvent(f"invalid event: {exc}") from None


T_co = TypeVar("T_co", covariant=True)
D = TypeVar("D", bound=BaseModel)


class Event(BaseModel, Generic[T_co]):
    """Envelope of every event a service publishes through its outbox."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Id
    occurred_at: AwareDatetime
    workspace: Id
    type: Id
    data: T_co


# An event before its data is read as its type's model.
_Envelope = Event[dict[str, object]]


@dataclass(frozen=True)
class EventType(Generic[D]):
    """One kind of internal event: who publishes it, under what name, with which data."""

    service: str
    name: str
    data: type[D]
    summary: str
    # The event changes every customer of the workspace (a tag shown on many profiles).
    workspace_wide: bool = False
    # Fields of its data naming customers (an id, or a list of ids) that no longer exist after it.
    retires: tuple[str, ...] = ()

    def subject(self, workspace: str) -> str:
        """Subject of this event in one workspace."""
        return event_subject(self.service, workspace, self.name)

    @property
    def subjects(self) -> str:
        """Subject filter of this event in every workspace."""
        return event_subject(self.service, "*", self.name)

    def decode(self, data: bytes) -> Event[D]:
        """The event in a message; InvalidEvent if the envelope or its data is malformed."""
        try:
            envelope = _Envelope.model_validate_json(data)
            if envelope.type != self.name:
                raise ValueError(f"it is a {envelope.type!r} event")
            content = self.data.model_validate(envelope.data)
        except ValueError as exc:
            raise InvalidEvent(f"invalid {self.name} event: {exc}") from None
        return Event(
            event_id=envelope.event_id,
            occurred_at=envelope.occurred_at,
            workspace=envelope.workspace,
            type=envelope.type,
            data=content,
        )


class EventKind(Protocol):
    """What the registry, the gateway and the documents need of an event type, whatever its data."""

    @property
    def service(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def data(self) -> type[BaseModel]: ...

    @property
    def summary(self) -> str: ...

    @property
    def workspace_wide(self) -> bool: ...

    @property
    def retires(self) -> tuple[str, ...]: ...

    def subject(self, workspace: str) -> str:
        """Subject of this event in one workspace."""

    def decode(self, data: bytes) -> Event[BaseModel]:
        """The event in a message."""


@dataclass(frozen=True)
class ServiceInterface:
    """What crosses a service's boundary besides its operations: its name and the events it emits."""

    name: str
    description: str
    emits: tuple[EventKind, ...]

    def event_type(self, name: str) -> EventKind | None:
        """The event type this service emits under `name`."""
        return next((kind for kind in self.emits if kind.name == name), None)


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)
