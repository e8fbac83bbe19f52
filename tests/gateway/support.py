"""What the gateway tests share: a customer with data in every service, and waiting on the view."""

from collections.abc import Callable
from typing import Any

import httpx
from nats.js import JetStreamContext

from shared.ids import customer_id_for
from tests.support import auth, connector_event, publish_event, wait_for


async def seed_customer(js: JetStreamContext, ws: str, phone: str = "+971501234567") -> str:
    """A WhatsApp customer with one closed, escalated conversation; returns the customer id."""

    def ev(**fields: Any) -> dict[str, Any]:
        return connector_event("whatsapp", phone, **fields)

    await publish_event(js, ws, "contact.seen", ev(display_name="Layla Haddad"))
    await publish_event(js, ws, "conversation.started", ev(conversation_id="c1"))
    for i, (sender, text) in enumerate(
        [
            ("customer", "Hi, my order #1234 arrived broken and I want a refund."),
            ("ai", "I'm sorry to hear that! Let me connect you with a colleague."),
            ("customer", "Thank you, that was quick. Great service!"),
        ]
    ):
        await publish_event(
            js,
            ws,
            "conversation.message",
            ev(conversation_id="c1", message_id=f"m{i}", sender=sender, sender_name="x", text=text),
        )
    await publish_event(
        js,
        ws,
        "conversation.escalated",
        ev(conversation_id="c1", escalation_id="e1", reason="customer asked for a refund"),
    )
    await publish_event(
        js, ws, "escalation.handled", ev(conversation_id="c1", escalation_id="e1", handled_by="Omar")
    )
    await publish_event(
        js,
        ws,
        "conversation.closed",
        ev(conversation_id="c1", resolved_by={"type": "human", "name": "Omar"}),
    )
    return str(customer_id_for(ws, "whatsapp", phone))


async def view_when(
    client: httpx.AsyncClient,
    ws: str,
    customer_id: str,
    ready: Callable[[dict[str, Any]], bool],
    what: str,
) -> dict[str, Any]:
    """The view once `ready(view)` holds."""

    async def probe() -> dict[str, Any] | None:
        response = await client.get(f"/v1/customers/{customer_id}", headers=auth(ws))
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if ready(body) else None

    return await wait_for(probe, timeout=30, what=what)


async def seed_viewable_customer(client: httpx.AsyncClient, js: JetStreamContext, ws: str) -> str:
    """seed_customer, once the profile view shows it; the customer id."""
    customer_id = await seed_customer(js, ws)
    await view_when(client, ws, customer_id, lambda v: v["header"] is not None, "the customer's view")
    return customer_id
