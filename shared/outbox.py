"""Transactional outbox: write an event with the state change, a relay publishes it to JetStream."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import asyncpg
from nats.js import JetStreamContext
from pydantic import BaseModel

from shared import metrics
from shared.db import Connection, columns, transaction
from shared.events import EventType, utcnow
from shared.jsonutil import dumps
from shared.logging import get_logger
from shared.tracing import SpanKind, inject, span

log = get_logger(__name__)


D = TypeVar("D", bound=BaseModel)


def envelope(
    event_type: EventType[D], workspace: str, data: D, *, event_id: str, occurred_at: datetime | None = None
) -> dict[str, object]:
    """The JSON of an internal event as the relay publishes it."""
    return {
        "event_id": event_id,
        "occurred_at": (occurred_at or utcnow()).isoformat(),
        "workspace": workspace,
        "type": event_type.name,
        "data": data.model_dump(mode="json"),
    }


async def publish_now(
    js: JetStreamContext, event_type: EventType[D], workspace: str, data: D, *, event_id: str
) -> None:
    """Publish an event straight to its stream, for a tool with no state change to commit with it.

    JetStream acknowledges it before this returns; a retry with the same id is not stored twice.
    """
    body = envelope(event_type, workspace, data, event_id=event_id)
    await js.publish(event_type.subject(workspace), dumps(body), headers={"Nats-Msg-Id": event_id})


@dataclass(frozen=True)
class Outgoing:
    """An event to record in the outbox: its id, the subject it goes to and its JSON."""

    event_id: str
    subject: str
    payload: dict[str, object]


def outgoing(
    event_type: EventType[D],
    workspace: str,
    data: D,
    *,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Outgoing:
    """An event of `event_type`, with a new id unless given one."""
    event_id = event_id or str(uuid.uuid4())
    payload = envelope(event_type, workspace, data, event_id=event_id, occurred_at=occurred_at)
    return Outgoing(event_id, event_type.subject(workspace), payload)


async def enqueue_all(
    conn: Connection, events: Sequence[Outgoing], *, headers: Mapping[str, str] | None = None
) -> None:
    """Record events, in order, in the caller's transaction; published only if that transaction commits.

    One statement for them all: a consumer applying a batch announces its changes at once. Each
    row keeps the trace context of the work that wrote it: its consumers continue that trace. An
    event id already recorded is left as it is, so an announcement made twice is published once.
    """
    if not events:
        return
    await conn.execute(
        "INSERT INTO outbox (event_id, subject, payload, headers) "
        "SELECT u.event_id, u.subject, u.payload, $4 "
        "FROM unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY "
        "AS u (event_id, subject, payload, n) ORDER BY u.n ON CONFLICT (event_id) DO NOTHING",
        *columns(events, "event_id", "subject", "payload"),
        inject(dict(headers or {})),
    )


async def enqueue(
    conn: Connection,
    event_type: EventType[D],
    workspace: str,
    data: D,
    *,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """Record one event in the caller's transaction (see enqueue_all); its id."""
    event = outgoing(event_type, workspace, data, event_id=event_id, occurred_at=occurred_at)
    await enqueue_all(conn, [event], headers=headers)
    return event.event_id


class OutboxRelay:
    """Publishes unpublished outbox rows with Nats-Msg-Id = event id, marking them only after the ack."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        *,
        batch: int = 500,
        poll_seconds: float = 1.0,
        keep_published_hours: int = 24,
    ) -> None:
        self._pool = pool
        self._js = js
        self._batch = batch
        self._poll_seconds = poll_seconds
        self._keep_hours = keep_published_hours
        self._wake = asyncio.Event()

    async def publish_pending(self) -> int:
        """Publish one batch of pending events; returns how many were published."""
        async with self._pool.acquire() as conn, transaction(conn):
            # SKIP LOCKED lets several relay replicas share the backlog without double work.
            rows = await conn.fetch(
                "SELECT id, event_id, subject, payload, headers, "
                "extract(epoch FROM clock_timestamp() - created_at) AS waited FROM outbox "
                "WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch,
            )
            if not rows:
                return 0
            started = time.monotonic()
            await asyncio.gather(*(self._publish(row) for row in rows))
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                [row["id"] for row in rows],
            )
        publishing = time.monotonic() - started
        metrics.outbox_published(float(row["waited"]) + publishing for row in rows)
        return len(rows)

    async def _publish(self, row: asyncpg.Record) -> None:
        """One event, in a span that continues the trace of the transaction that wrote it."""
        stored: dict[str, str] = row["headers"]
        with span(
            "outbox publish",
            SpanKind.PRODUCER,
            parent=stored,
            attributes={"messaging.system": "nats", "messaging.destination.name": row["subject"]},
        ):
            headers = inject({**stored, "Nats-Msg-Id": row["event_id"]})
            await self._js.publish(row["subject"], dumps(row["payload"]), headers=headers)

    async def _forget_published(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM outbox WHERE published_at < now() - make_interval(hours => $1)",
                self._keep_hours,
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; woken by NOTIFY on insert, polling as a fallback."""
        listener = await self._pool.acquire()

        def wake(*_: object) -> None:
            self._wake.set()

        await listener.add_listener("outbox", wake)
        failures = 0
        rounds = 0
        try:
            while not stop.is_set():
                try:
                    published = await self.publish_pending()
                    failures = 0
                except Exception as exc:
                    failures += 1
                    log.warning("outbox_publish_failed", error=repr(exc), failures=failures)
                    await asyncio.sleep(min(0.2 * 2**failures, 5.0))
                    continue
                rounds += 1
                if rounds % 1000 == 0:
                    await self._forget_published()
                if published:
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener("outbox", wake)
            await self._pool.release(listener)
