"""Events the services publish, seen by the gateway: cache invalidation and live-update fan-out."""

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import BaseModel, ValidationError

from gateway.cache import SECTIONS, ViewCache
from shared.events import EventKind
from shared.logging import get_logger
from shared.registry import SERVICE_NAMES, SERVICES, event_type
from shared.subjects import event_subjects
from shared.tracing import SpanKind, span

log = get_logger(__name__)

QUEUE_SIZE = 100


def live_event_types() -> list[tuple[str, str]]:
    """(name on a profile's event stream, view section it changes) of every event the stream carries.

    Those are the events that name one customer; the list is read from what each service declares
    it emits, so that the dashboard need not copy it.
    """
    return [
        (f"{service.name}.{kind.name}", service.name)
        for service in SERVICES
        for kind in service.emits
        if not kind.workspace_wide and "customer_id" in kind.data.model_fields
    ]


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
        """Subscribe to every service's events: each changes that service's section of the view."""
        for service in SERVICE_NAMES:
            self._subscriptions.append(await self.nc.subscribe(event_subjects(service), cb=self._on_event))

    async def stop(self) -> None:
        """Stop following events."""
        for sub in self._subscriptions:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _on_event(self, msg: Msg) -> None:
        with span(
            "process live-hub",
            SpanKind.CONSUMER,
            parent=msg.headers or {},
            attributes={"messaging.system": "nats", "messaging.destination.name": msg.subject},
        ):
            await self._apply(msg)

    async def _apply(self, msg: Msg) -> None:
        """Invalidate the cached section the event changes; hand it to whoever watches its customer."""
        service, _, workspace_and_type = msg.subject.partition(".v1.")
        kind = event_type(service, workspace_and_type.partition(".")[2])
        if kind is None:
            log.warning("unknown_event", subject=msg.subject)
            return
        try:
            event = kind.decode(msg.data)
        except (ValidationError, ValueError):
            log.warning("unreadable_event", subject=msg.subject)
            return
        customer_id = getattr(event.data, "customer_id", None)
        if kind.workspace_wide or not isinstance(customer_id, str):
            await self.cache.invalidate(event.workspace, None, service)
            return
        update = {
            "type": f"{service}.{event.type}",
            "customer_id": customer_id,
            "occurred_at": event.occurred_at.isoformat(),
            "data": event.data.model_dump(mode="json"),
        }
        retired = retired_customers(kind, event.data)
        for gone in retired:
            # A merged-away or erased customer: nothing cached of it may be shown again.
            await self.cache.invalidate(event.workspace, gone, *SECTIONS)
            self.publish(event.workspace, gone, {**update, "customer_id": gone, "final": True})
        if customer_id not in retired:
            await self.cache.invalidate(event.workspace, customer_id, service)
            self.publish(event.workspace, customer_id, update)

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


def retired_customers(kind: EventKind, data: BaseModel) -> list[str]:
    """The customers an event says no longer exist (merged away, erased), as strings."""
    ids: list[str] = []
    for name in kind.retires:
        value = getattr(data, name)
        ids += [str(item) for item in value] if isinstance(value, list) else [str(value)]
    return ids
