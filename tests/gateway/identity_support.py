"""What the merge, erasure and export tests share: customers with a history, waiting on the view."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from nats.js import JetStreamContext

from shared.ids import customer_id_for
from tests.support import auth, connector_event, publish_event, wait_for

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Person:
    """A customer as a connector reports it: one identity and what was said on it."""

    workspace: str
    platform: str
    user: str
    name: str
    conversations: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    escalations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        """Its customer id (before any erasure)."""
        return str(customer_id_for(self.workspace, self.platform, self.user))

    def event(self, at: datetime, **fields: Any) -> dict[str, Any]:
        """A connector event of this identity."""
        return connector_event(self.platform, self.user, occurred_at=at.isoformat(), **fields)

    @property
    def texts(self) -> list[str]:
        """Every message text it sent or received."""
        return [text for messages in self.conversations.values() for _, text in messages]


async def publish_person(js: JetStreamContext, person: Person, start: datetime = T0) -> None:
    """The person's contact details, then each conversation: messages, an escalation, a close."""
    at = start
    await publish_event(js, person.workspace, "contact.seen", person.event(at, display_name=person.name))
    for conversation_id, messages in person.conversations.items():
        at += timedelta(minutes=1)
        await publish_event(
            js, person.workspace, "conversation.started", person.event(at, conversation_id=conversation_id)
        )
        for n, (sender, text) in enumerate(messages):
            at += timedelta(seconds=10)
            message = person.event(
                at,
                conversation_id=conversation_id,
                message_id=f"{conversation_id}-m{n}",
                sender=sender,
                sender_name=person.name if sender == "customer" else "Assistant",
                text=text,
            )
            await publish_event(js, person.workspace, "conversation.message", message)
        for escalation_id, reason in person.escalations:
            if escalation_id.startswith(conversation_id):
                at += timedelta(seconds=10)
                escalated = person.event(
                    at, conversation_id=conversation_id, escalation_id=escalation_id, reason=reason
                )
                await publish_event(js, person.workspace, "conversation.escalated", escalated)
        at += timedelta(seconds=10)
        closed = person.event(
            at, conversation_id=conversation_id, resolved_by={"type": "ai", "name": "Assistant"}
        )
        await publish_event(js, person.workspace, "conversation.closed", closed)


def layla(workspace: str) -> Person:
    """A WhatsApp customer: two conversations, one escalated."""
    return Person(
        workspace,
        "whatsapp",
        "+971501234567",
        "Layla Haddad",
        {
            "wa-1": [
                ("customer", "Hi, my order #1234 arrived broken and I want a refund."),
                ("ai", "I'm sorry to hear that! Let me connect you with a colleague."),
                ("customer", "Thank you, that was quick. Great service!"),
            ],
            "wa-2": [("customer", "Where is my parcel for order #5678?"), ("ai", "It arrives tomorrow.")],
        },
        [("wa-1-esc", "customer asked for a refund")],
    )


def dana(workspace: str) -> Person:
    """The same person on Instagram: one conversation."""
    return Person(
        workspace,
        "instagram",
        "dana.k",
        "Dana K",
        {
            "ig-1": [
                ("customer", "Do you have the blue jacket in size M in the Dubai Mall store?"),
                ("ai", "Yes, two are left in size M."),
                ("customer", "I love it, I will come by today!"),
            ]
        },
        [("ig-1-esc", "customer wants to reserve the jacket")],
    )


async def view_of(client: httpx.AsyncClient, workspace: str, customer_id: str) -> httpx.Response:
    """GET the profile view."""
    return await client.get(f"/v1/customers/{customer_id}", headers=auth(workspace))


async def view_when(
    client: httpx.AsyncClient,
    workspace: str,
    customer_id: str,
    ready: Callable[[dict[str, Any]], bool],
    what: str,
) -> dict[str, Any]:
    """The view once `ready(view)` holds."""

    async def probe() -> dict[str, Any] | None:
        response = await view_of(client, workspace, customer_id)
        body: dict[str, Any] = response.json() if response.status_code == 200 else {}
        return body if body and ready(body) else None

    return await wait_for(probe, timeout=45, what=what)


def settled(person: Person) -> Callable[[dict[str, Any]], bool]:
    """Whether a view shows all of one person's history, analysed."""
    conversations = len(person.conversations)
    return lambda view: (
        view["header"] is not None
        and view["counts"]["conversations"] == conversations
        and view["counts"]["escalations"] == len(person.escalations)
        and (view["header"]["sentiment"] or {}).get("conversations") == conversations
    )


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem+json body of a response that must have `status`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    return body
