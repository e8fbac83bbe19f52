"""What the timeline tests share: a connector stand-in, RPC calls, waiting for the consumers."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from shared.events import EventKind
from shared.messages import insights
from shared.rpc import OperationInfo
from tests.support import call_json, connector_event, customer_id, publish_event, publish_internal, published

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """A fixed instant, `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


@dataclass
class Connector:
    """Publishes connector events of one platform user in one workspace, as a connector would."""

    js: JetStreamContext
    workspace: str
    platform: str = "whatsapp"
    user: str = "+971501234567"

    @property
    def customer_id(self) -> str:
        """This user's customer id in this workspace."""
        return customer_id(self.workspace, self.platform, self.user)

    async def send(self, event_type: str, when: datetime, **fields: Any) -> dict[str, Any]:
        """Publish one event; its body is returned."""
        body = connector_event(self.platform, self.user, occurred_at=when.isoformat(), **fields)
        await publish_event(self.js, self.workspace, event_type, body)
        return body

    async def started(self, conversation_id: str, when: datetime) -> dict[str, Any]:
        """conversation.started"""
        return await self.send("conversation.started", when, conversation_id=conversation_id)

    async def message(
        self, conversation_id: str, when: datetime, text: str, *, sender: str = "customer", **fields: Any
    ) -> dict[str, Any]:
        """conversation.message (a fresh message id unless given)."""
        return await self.send(
            "conversation.message",
            when,
            conversation_id=conversation_id,
            message_id=fields.pop("message_id", None) or uuid.uuid4().hex,
            sender=sender,
            text=text,
            **fields,
        )

    async def escalated(self, conversation_id: str, escalation_id: str, when: datetime, reason: str) -> None:
        """conversation.escalated"""
        await self.send(
            "conversation.escalated",
            when,
            conversation_id=conversation_id,
            escalation_id=escalation_id,
            reason=reason,
        )

    async def handled(self, conversation_id: str, escalation_id: str, when: datetime, by: str) -> None:
        """escalation.handled"""
        await self.send(
            "escalation.handled",
            when,
            conversation_id=conversation_id,
            escalation_id=escalation_id,
            handled_by=by,
        )

    async def closed(
        self, conversation_id: str, when: datetime, *, by: str = "ai", name: str | None = "Assistant"
    ) -> None:
        """conversation.closed"""
        await self.send(
            "conversation.closed",
            when,
            conversation_id=conversation_id,
            resolved_by={"type": by, "name": name},
        )


async def call(nc: NATS, operation: OperationInfo, payload: dict[str, Any]) -> Any:
    """Call a timeline operation as the gateway or insights would."""
    return await call_json(nc, operation, payload)


async def listed(
    nc: NATS, operation: OperationInfo, workspace: str, customer_id: str
) -> list[dict[str, Any]]:
    """The items of a customer's first page of conversations or escalations, 100 to a page."""
    page = await call(nc, operation, {"workspace": workspace, "customer_id": customer_id, "limit": 100})
    items: list[dict[str, Any]] = page["items"]
    return items


async def consumer_settled(
    js: JetStreamContext, durable: str = "timeline-chat", stream: str = "CHAT"
) -> bool:
    """Every event published so far was delivered to the consumer and acknowledged (committed)."""
    info = await js.consumer_info(stream, durable)
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def timeline_events(
    js: JetStreamContext, workspace: str, event_type: EventKind
) -> list[dict[str, Any]]:
    """Envelopes the timeline published (through its outbox) of one type in one workspace, in order."""
    return await published(js, event_type, workspace)


async def events_at_least(
    js: JetStreamContext, workspace: str, event_type: EventKind, count: int
) -> list[dict[str, Any]]:
    """timeline_events once there are at least `count` of them, else [] (for wait_for)."""
    events = await timeline_events(js, workspace, event_type)
    return events if len(events) >= count else []


async def publish_analysis(
    js: JetStreamContext,
    workspace: str,
    analysed: insights.ConversationAnalysed,
    *,
    event_id: str | None = None,
) -> str:
    """Publish conversation.analysed on the INSIGHTS stream, as the insights service's outbox would."""
    event_id = event_id or str(uuid.uuid4())
    await publish_internal(js, insights.CONVERSATION_ANALYSED, workspace, analysed, event_id=event_id)
    return event_id
