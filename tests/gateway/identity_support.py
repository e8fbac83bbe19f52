"""What the merge, erasure and export tests share: the running system, customers with a history."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
from nats.js import JetStreamContext

from shared.ids import customer_id_for
from shared.runtime import ServiceRuntime
from tests.gateway.support import view_when
from tests.support import auth, connector_event, publish_event

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


@dataclass
class System:
    """Every service and a gateway on the test's servers, and the workspace a test works in."""

    runtimes: dict[str, ServiceRuntime]
    client: httpx.AsyncClient  # to the gateway
    js: JetStreamContext
    workspace: str

    def pool(self, service: str) -> asyncpg.Pool:
        """A service's own database."""
        pool = self.runtimes[service].pool
        assert pool is not None
        return pool

    async def view(self, customer_id: str) -> httpx.Response:
        """GET the profile view."""
        return await self.client.get(f"/v1/customers/{customer_id}", headers=auth(self.workspace))

    async def view_when(
        self, customer_id: str, ready: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        """The view once `ready(view)` holds."""
        return await view_when(self.client, self.workspace, customer_id, ready, what)

    async def introduce(self, *people: Person, at: datetime = T0) -> None:
        """Each person's contact details, once the profile service has made them a customer."""
        for person in people:
            await publish_event(
                self.js, person.workspace, "contact.seen", person.event(at, display_name=person.name)
            )
            await view_when(
                self.client, person.workspace, person.id, lambda v: v["header"] is not None, person.name
            )

    async def merge(self, target: Person, source: Person) -> dict[str, Any]:
        """Merge `source` into `target`; the target's view the gateway answers."""
        response = await self.client.post(
            f"/v1/customers/{target.id}/merge", json={"source_id": source.id}, headers=auth(self.workspace)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def listen(self, customer_id: str) -> tuple["asyncio.Task[None]", list[dict[str, Any]]]:
        """Open the customer's live stream: the task reading it (it ends with the stream) and the
        events read so far."""
        events: list[dict[str, Any]] = []
        opened = asyncio.Event()

        async def read() -> None:
            url = f"/v1/customers/{customer_id}/events"
            async with self.client.stream("GET", url, headers=auth(self.workspace), timeout=30) as stream:
                opened.set()
                async for line in stream.aiter_lines():
                    if line.startswith("data: "):
                        events.append(orjson.loads(line[6:]))

        reader = asyncio.create_task(read())
        await asyncio.wait_for(opened.wait(), 10)
        return reader, events

    async def agent_context(self, person: Person) -> httpx.Response:
        """The AI agent's context for a person's identity, through the gateway."""
        params = {"platform": person.platform, "platform_user_id": person.user}
        return await self.client.get("/v1/agent-context", params=params, headers=auth(self.workspace))


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
