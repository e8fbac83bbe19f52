"""Connector events as CONTRACT.md §5 defines them: one builder per type, plain JSON-ready dicts.

A real connector would fill these from the platform's webhooks; every builder takes the fields
every event carries (event id, when it happened, platform and the customer's id on it) and the
ones of its own type.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Platform = Literal["whatsapp", "instagram", "web"]
Sender = Literal["customer", "ai", "human"]
FollowStatus = Literal["following", "not_following", "unknown"]


@dataclass(frozen=True)
class Identity:
    """A customer on one platform: WhatsApp E.164 number, Instagram username or widget visitor id."""

    platform: Platform
    platform_user_id: str


@dataclass(frozen=True)
class Event:
    """One event to publish on chat.v1.<workspace>.<type>."""

    type: str
    body: dict[str, Any]

    @property
    def event_id(self) -> str:
        """The id that goes into the Nats-Msg-Id header too."""
        return str(self.body["event_id"])


def timestamp(moment: datetime) -> str:
    """RFC 3339 with offset, as the contract wants `occurred_at` (a naive time is refused)."""
    if moment.tzinfo is None:
        raise ValueError("occurred_at needs a timezone")
    return moment.isoformat(timespec="milliseconds")


def _event(event_type: str, event_id: str, occurred_at: datetime, who: Identity, **fields: Any) -> Event:
    body = {
        "event_id": event_id,
        "occurred_at": timestamp(occurred_at),
        "platform": who.platform,
        "platform_user_id": who.platform_user_id,
    }
    body.update({key: value for key, value in fields.items() if value is not None})
    return Event(event_type, body)


def contact_seen(
    event_id: str,
    occurred_at: datetime,
    who: Identity,
    *,
    display_name: str | None = None,
    avatar_url: str | None = None,
    instagram: dict[str, Any] | None = None,
) -> Event:
    """The connector saw the contact; what it knows of them (every field optional)."""
    return _event(
        "contact.seen",
        event_id,
        occurred_at,
        who,
        display_name=display_name,
        avatar_url=avatar_url,
        instagram=instagram,
    )


def instagram_info(username: str, followers: int, follow_status: FollowStatus) -> dict[str, Any]:
    """The `instagram` object of contact.seen: does the customer follow the business account."""
    return {"username": username, "followers": followers, "follow_status": follow_status}


def conversation_started(event_id: str, occurred_at: datetime, who: Identity, conversation_id: str) -> Event:
    """A conversation opened."""
    return _event("conversation.started", event_id, occurred_at, who, conversation_id=conversation_id)


def conversation_message(
    event_id: str,
    occurred_at: datetime,
    who: Identity,
    conversation_id: str,
    *,
    message_id: str,
    sender: Sender,
    sender_name: str | None,
    text: str,
) -> Event:
    """One message, from the customer, the AI or a human agent."""
    return _event(
        "conversation.message",
        event_id,
        occurred_at,
        who,
        conversation_id=conversation_id,
        message_id=message_id,
        sender=sender,
        sender_name=sender_name,
        text=text,
    )


def conversation_escalated(
    event_id: str,
    occurred_at: datetime,
    who: Identity,
    conversation_id: str,
    *,
    escalation_id: str,
    reason: str,
) -> Event:
    """The AI handed the conversation over to a human; `reason` is what triggered it."""
    return _event(
        "conversation.escalated",
        event_id,
        occurred_at,
        who,
        conversation_id=conversation_id,
        escalation_id=escalation_id,
        reason=reason,
    )


def escalation_handled(
    event_id: str,
    occurred_at: datetime,
    who: Identity,
    conversation_id: str,
    *,
    escalation_id: str,
    handled_by: str,
) -> Event:
    """A human took the escalation."""
    return _event(
        "escalation.handled",
        event_id,
        occurred_at,
        who,
        conversation_id=conversation_id,
        escalation_id=escalation_id,
        handled_by=handled_by,
    )


def conversation_closed(
    event_id: str,
    occurred_at: datetime,
    who: Identity,
    conversation_id: str,
    *,
    resolved_by: Literal["ai", "human"],
    resolver_name: str,
) -> Event:
    """The conversation ended, resolved by the AI or by a member of staff."""
    return _event(
        "conversation.closed",
        event_id,
        occurred_at,
        who,
        conversation_id=conversation_id,
        resolved_by={"type": resolved_by, "name": resolver_name},
    )
