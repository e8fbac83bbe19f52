"""Events the services publish, seen by the gateway: cache invalidation and live-update fan-out."""

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from gateway.cache import ViewCache
from shared.events import parse_internal_event
from shared.logging import get_logger
from shared.subjects import event_subjects

log = get_logger(__name__)

# Services whose events change a section of the profile view (section name = service name).
WATCHED = ("profile", "notes", "timeline", "insights")
# Events that change every customer of the workspace (a tag is embedded in many profiles).
WORKSPACE_WIDE = {("profile", "tag.updated"), ("profile", "tag.deleted")}
QUEUE_SIZE = 100


@dataclass
class LiveHub:
    """One per gateway process: follows the services' events, invalidates, fans out to listeners."""

    nc: NATS
    cache: ViewCache
    _listeners: dict[tuple[str, str], set[asyncio.Queue[dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(set)
    )
    _subscriptions: list[Subscription] = field(default_factory=list)

    async def start(self) -> None:
        """Subscribe to every watched service's events."""
        for service in WATCHED:
            self._subscriptions.append(await self.nc.subscribe(event_subjects(service), cb=self._on_event))

    async def stop(self) -> None:
        """Stop following events."""
        for sub in self._subscriptions:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _on_event(self, msg: Msg) -> None:
        try:
            event = parse_internal_event(msg.data)
        except ValueError:
            log.warning("unreadable_event", subject=msg.subject)
            return
        service = msg.subject.split(".", 1)[0]
        customer_id = event.data.get("customer_id")
        if (service, event.type) in WORKSPACE_WIDE or not isinstance(customer_id, str):
            await self.cache.invalidate(event.workspace, None, service)
            return
        await self.cache.invalidate(event.workspace, customer_id, service)
        self.publish(
            event.workspace,
            customer_id,
            {
                "type": f"{service}.{event.type}",
                "customer_id": customer_id,
                "occurred_at": event.occurred_at.isoformat(),
                "data": event.data,
            },
        )

    def publish(self, workspace: str, customer_id: str, update: dict[str, Any]) -> None:
        """Hand an update to everyone watching this customer; a listener too slow to keep up loses it."""
        for queue in list(self._listeners.get((workspace, customer_id), ())):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(update)

    def listen(self, workspace: str, customer_id: str) -> asyncio.Queue[dict[str, Any]]:
        """A queue of this customer's updates until `unlisten`."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._listeners[(workspace, customer_id)].add(queue)
        return queue

    def unlisten(self, workspace: str, customer_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop delivering to `queue`."""
        listeners = self._listeners.get((workspace, customer_id))
        if listeners is not None:
            listeners.discard(queue)
            if not listeners:
                del self._listeners[(workspace, customer_id)]
