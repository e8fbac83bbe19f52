"""Demo data for the dashboard, published as the platform connectors would (CONTRACT.md §5)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from nats.js import JetStreamContext

from shared.ids import customer_id_for
from tests.support import connector_event, publish_event, wait_for


@dataclass(frozen=True)
class Seeded:
    """What the seed created, for the test to look for."""

    workspace: str
    layla_id: str
    omar_id: str
    visitor_ids: list[str]
    closed_conversation: str = "conv-order-late"
    active_conversation: str = "conv-returns"
    escalation_reason: str = "Customer asked to speak to a person"
    resolver: str = "Sara Ali"
    omar_name: str = "Omar <script>window.__xss = 1</script>"


LAYLA_PHONE = "+971501234567"
OMAR_USERNAME = "omar.k"
VISITORS = 10


async def seed(js: JetStreamContext, workspace: str) -> Seeded:
    """Publish customers, a closed and escalated conversation, and an active one."""
    now = datetime.now(UTC)

    def at(minutes_ago: float) -> str:
        return (now - timedelta(minutes=minutes_ago)).isoformat()

    async def send(event_type: str, platform: str, user: str, minutes_ago: float, **fields: Any) -> None:
        await publish_event(
            js, workspace, event_type, connector_event(platform, user, occurred_at=at(minutes_ago), **fields)
        )

    s = Seeded(
        workspace=workspace,
        layla_id=str(customer_id_for(workspace, "whatsapp", LAYLA_PHONE)),
        omar_id=str(customer_id_for(workspace, "instagram", OMAR_USERNAME)),
        visitor_ids=[str(customer_id_for(workspace, "web", f"visitor-{i:02}")) for i in range(VISITORS)],
    )
    for i in range(VISITORS):
        await send("contact.seen", "web", f"visitor-{i:02}", 300 - i, display_name=f"Visitor {i:02}")
    await send(
        "contact.seen",
        "instagram",
        OMAR_USERNAME,
        200,
        display_name=s.omar_name,
        instagram={"username": OMAR_USERNAME, "followers": 1200, "follow_status": "following"},
    )
    await send("contact.seen", "whatsapp", LAYLA_PHONE, 130, display_name="Layla Haddad")

    wa = ("whatsapp", LAYLA_PHONE)
    conv = s.closed_conversation
    await send("conversation.started", *wa, 120, conversation_id=conv)
    messages = [
        ("customer", "Layla", "Hi, my order #1042 has not arrived yet and I am really disappointed."),
        ("ai", "Assistant", "I'm sorry to hear that. Let me check the delivery status of order #1042."),
        ("customer", "Layla", "I need it for a birthday on Friday. Can I talk to a person please?"),
        ("human", s.resolver, "Hi Layla, this is Sara. Your parcel ships today by express delivery."),
        ("customer", "Layla", "Thank you so much, that is great news! Express delivery works for me."),
    ]
    for n, (sender, name, text) in enumerate(messages):
        await send(
            "conversation.message",
            *wa,
            118 - n * 3,
            conversation_id=conv,
            message_id=f"{conv}-m{n}",
            sender=sender,
            sender_name=name,
            text=text,
        )
    await send(
        "conversation.escalated",
        *wa,
        110,
        conversation_id=conv,
        escalation_id="esc-1042",
        reason=s.escalation_reason,
    )
    await send(
        "escalation.handled", *wa, 108, conversation_id=conv, escalation_id="esc-1042", handled_by=s.resolver
    )
    await send(
        "conversation.closed",
        *wa,
        100,
        conversation_id=conv,
        resolved_by={"type": "human", "name": s.resolver},
    )

    await send("conversation.started", *wa, 10, conversation_id=s.active_conversation)
    await send(
        "conversation.message",
        *wa,
        9,
        conversation_id=s.active_conversation,
        message_id=f"{s.active_conversation}-m0",
        sender="customer",
        sender_name="Layla",
        text="Hello again, how do returns work?",
    )
    return s


async def wait_until_seeded(client: httpx.AsyncClient, s: Seeded, *, timeout: float = 90.0) -> dict[str, Any]:
    """Wait until the API shows every customer and the closed conversation's summary; returns it."""

    async def all_customers() -> bool:
        response = await client.get("/v1/customers", params={"limit": 100})
        ids = (
            {item["id"] for item in response.json().get("items", [])}
            if response.status_code == 200
            else set()
        )
        return {s.layla_id, s.omar_id, *s.visitor_ids} <= ids

    await wait_for(all_customers, timeout=timeout, interval=0.25, what="seeded customers in the grid")

    async def summarised() -> dict[str, Any]:
        # An empty dict (falsy) means "not yet".
        response = await client.get(f"/v1/customers/{s.layla_id}/conversations")
        if response.status_code != 200:
            return {}
        items: dict[str, dict[str, Any]] = {c["id"]: c for c in response.json()["items"]}
        closed = items.get(s.closed_conversation)
        if closed and closed["summary"] and s.active_conversation in items:
            return closed
        return {}

    return await wait_for(
        summarised, timeout=timeout, interval=0.25, what="the closed conversation's summary"
    )
