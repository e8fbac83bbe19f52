"""Event ingestion: chat events/s from JetStream publish to committed timeline rows, beside the floor.

    python -m bench.ingestion [--events 20000] [--per-conversation 100] [--batches 100,500]

Starts its own embedded NATS and PostgreSQL, runs the timeline service in-process
(shared.runtime.ServiceRuntime), publishes conversation histories (started, messages, closed)
the way connectors do and times until every event is committed: acknowledged by the service's
durable consumer, which acknowledges only after its transaction commits. The floor is measured
in the same run and process: the same events, the same publisher, consumed by a bare pull
consumer that acknowledges each fetched batch. Each is measured live (publishing and consuming
together) and on a backlog (published first, only consumption timed), once per `consumer_batch`.

A second table times the operations on one conversation of 10,000 messages: closing it, listing
the customer's conversations, reading its transcript, counting.
"""

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from deploy.embedded import EmbeddedNats, EmbeddedPostgres
from services.timeline.app import definition
from services.timeline.config import Settings
from shared.db import database_url_for, ensure_database, migrate
from shared.events import utcnow
from shared.ids import customer_id_for
from shared.jsonutil import dumps
from shared.logging import configure_logging
from shared.messages import insights, timeline
from shared.nats import StreamSpec, connect, declare_stream
from shared.rpc import request
from shared.runtime import ServiceRuntime
from shared.subjects import (
    CHAT_STREAM,
    CHAT_SUBJECTS,
    chat_subject,
    event_stream,
    event_subjects,
    rpc_subject,
)

WORKSPACE = "bench"
PUBLISH_WINDOW = 500
FLOOR_STREAM = "FLOOR"
TARGET_EVENTS_PER_SECOND = 5_000


@dataclass(frozen=True)
class Event:
    """One connector event ready to publish."""

    subject: str
    data: bytes
    event_id: str


def _event(event_type: str, user: str, **fields: Any) -> Event:
    event_id = uuid.uuid4().hex
    body = {
        "event_id": event_id,
        "occurred_at": utcnow().isoformat(),
        "platform": "whatsapp",
        "platform_user_id": user,
        **fields,
    }
    return Event(chat_subject(WORKSPACE, event_type), dumps(body), event_id)


def conversation_events(total: int, per_conversation: int) -> list[Event]:
    """`total` events of many conversations running side by side, mostly messages, as chat traffic is."""
    conversations = max(1, total // per_conversation)
    histories: list[list[Event]] = []
    for c in range(conversations):
        user = f"+9715{c:08d}"
        conversation_id = f"conv-{c}"
        events = [_event("conversation.started", user, conversation_id=conversation_id)]
        events += [
            _event(
                "conversation.message",
                user,
                conversation_id=conversation_id,
                message_id=f"m{m}",
                sender="customer" if m % 2 == 0 else "ai",
                text=f"message {m} of conversation {c}: where is my order, and when will it arrive?",
            )
            for m in range(per_conversation - 2)
        ]
        events.append(
            _event("conversation.closed", user, conversation_id=conversation_id, resolved_by={"type": "ai"})
        )
        histories.append(events)
    # Round robin: the n-th event of every conversation, then the next, as concurrent chats interleave.
    interleaved = [h[i] for i in range(max(len(h) for h in histories)) for h in histories if i < len(h)]
    return interleaved[:total]


async def publish_all(js: JetStreamContext, events: list[Event], subject_of: Callable[[Event], str]) -> None:
    """Publish with a window of acks in flight, as a busy connector fleet would."""
    for start in range(0, len(events), PUBLISH_WINDOW):
        window = events[start : start + PUBLISH_WINDOW]
        await asyncio.gather(
            *(js.publish(subject_of(e), e.data, headers={"Nats-Msg-Id": e.event_id}) for e in window)
        )


async def measure_floor(js: JetStreamContext, events: list[Event], batch: int, *, backlog: bool) -> float:
    """Seconds for a bare pull consumer acking each fetched batch to take the events.

    Live: from the first publish, publishing and consuming together. Backlog: the events are
    published first, and only their consumption is timed.
    """
    await declare_stream(js, StreamSpec(FLOOR_STREAM, ["floor.>"]))
    await js.add_consumer(
        FLOOR_STREAM,
        ConsumerConfig(durable_name="floor", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=10_000),
    )
    sub = await js.pull_subscribe_bind(durable="floor", stream=FLOOR_STREAM)
    consumed = 0

    async def consume() -> None:
        nonlocal consumed
        while consumed < len(events):
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except (NatsTimeoutError, TimeoutError):
                continue
            await asyncio.gather(*(m.ack() for m in msgs))
            consumed += len(msgs)

    if backlog:
        await publish_all(js, events, lambda e: "floor." + e.subject)
    started = time.perf_counter()
    consumer = asyncio.create_task(consume())
    if not backlog:
        await publish_all(js, events, lambda e: "floor." + e.subject)
    await consumer
    elapsed = time.perf_counter() - started
    await sub.unsubscribe()
    await js.delete_stream(FLOOR_STREAM)
    return elapsed


async def _settled(js: JetStreamContext) -> bool:
    info = await js.consumer_info(CHAT_STREAM, "timeline-chat")
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def _until(condition: Callable[[], Awaitable[bool]], timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark did not finish in time")
        await asyncio.sleep(0.01)


async def timeline_runtime(
    js: JetStreamContext, nats_url: str, postgres_url: str, batch: int
) -> ServiceRuntime:
    """A timeline replica (not started) on a fresh, migrated database; CHAT and INSIGHTS declared."""
    await declare_stream(js, StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS]))
    await declare_stream(js, StreamSpec(event_stream(insights.SERVICE), [event_subjects(insights.SERVICE)]))
    database_url = database_url_for(postgres_url, f"bench_timeline_{uuid.uuid4().hex[:8]}")
    await ensure_database(database_url)
    await migrate(definition.migrations, database_url)
    settings = Settings(
        nats_url=nats_url, database_url=postgres_url, service_database_url=database_url, consumer_batch=batch
    )
    return ServiceRuntime(definition, settings)


async def measure_timeline(
    js: JetStreamContext, nats_url: str, postgres_url: str, events: list[Event], batch: int, *, backlog: bool
) -> tuple[float, int]:
    """Seconds until every event is committed by the timeline, and the number of messages stored.

    Live: from the first publish, with the service running. Backlog: the events are published
    first, and the time runs from starting the service (its database already migrated).
    """
    runtime = await timeline_runtime(js, nats_url, postgres_url, batch)
    try:
        if backlog:
            await publish_all(js, events, lambda e: e.subject)
            started = time.perf_counter()
            await runtime.start()
        else:
            await runtime.start()
            started = time.perf_counter()
            await publish_all(js, events, lambda e: e.subject)
        await _until(lambda: _settled(js))
        elapsed = time.perf_counter() - started
        assert runtime.pool is not None
        stored = int(await runtime.pool.fetchval("SELECT count(*) FROM messages"))
    finally:
        await runtime.stop()
        await js.delete_stream(CHAT_STREAM)
    return elapsed, stored


async def measure_long_conversation(
    js: JetStreamContext, nats_url: str, postgres_url: str, messages: int
) -> list[tuple[str, float]]:
    """Milliseconds of each operation on one conversation holding `messages` messages."""
    runtime = await timeline_runtime(js, nats_url, postgres_url, 500)
    await runtime.start()
    user = "+971599999999"
    customer_id = str(customer_id_for(WORKSPACE, "whatsapp", user))
    pool = runtime.pool
    assert pool is not None and runtime.nc is not None
    nc = runtime.nc
    try:
        history = [_event("conversation.started", user, conversation_id="long")]
        history += [
            _event(
                "conversation.message",
                user,
                conversation_id="long",
                message_id=f"m{m}",
                sender="customer",
                text=f"message {m} " + "x" * 80,
            )
            for m in range(messages)
        ]
        await publish_all(js, history, lambda e: e.subject)
        await _until(lambda: _settled(js))
        await pool.execute("VACUUM ANALYZE messages")
        timings: list[tuple[str, float]] = []

        async def closed() -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT ended_at IS NOT NULL FROM conversations WHERE conversation_id = 'long'"
                )
            )

        started = time.perf_counter()
        await publish_all(
            js,
            [_event("conversation.closed", user, conversation_id="long", resolved_by={"type": "ai"})],
            lambda e: e.subject,
        )
        await _until(closed)
        timings.append(("close (publish → committed)", (time.perf_counter() - started) * 1000))
        for label, operation, payload in (
            ("list conversations", timeline.OP_CONVERSATIONS_LIST, {"customer_id": customer_id}),
            ("counts", timeline.OP_CUSTOMER_COUNTS, {"customer_id": customer_id}),
            (
                "transcript, 60,000 chars",
                timeline.OP_TRANSCRIPT,
                {"conversation_id": "long", "max_chars": 60_000},
            ),
        ):
            subject = rpc_subject(timeline.SERVICE, operation)
            await request(nc, subject, {"workspace": WORKSPACE, **payload}, timeout=10)
            rounds = 20
            started = time.perf_counter()
            for _ in range(rounds):
                await request(nc, subject, {"workspace": WORKSPACE, **payload}, timeout=10)
            timings.append((label, (time.perf_counter() - started) * 1000 / rounds))
    finally:
        await runtime.stop()
        await js.delete_stream(CHAT_STREAM)
    return timings


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A plain-text table, columns right-aligned but the first."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


async def run(total: int, per_conversation: int, batches: list[int], long_messages: int) -> None:
    """Start the servers, measure, print the tables."""
    root = Path(tempfile.mkdtemp(prefix="bench-ingestion-"))
    nats_server = EmbeddedNats(root / "nats")
    postgres = EmbeddedPostgres(root / "postgres")
    nats_server.start()
    postgres.start()
    try:
        nc = await connect(nats_server.url, "bench")
        js = nc.jetstream()
        rows: list[list[str]] = []
        events = conversation_events(total, per_conversation)
        expected = sum(e.subject.endswith("conversation.message") for e in events)
        for backlog in (False, True):
            what = "backlog" if backlog else "live"
            for batch in batches:
                floor = await measure_floor(js, events, batch, backlog=backlog)
                elapsed, stored = await measure_timeline(
                    js, nats_server.url, postgres.url, events, batch, backlog=backlog
                )
                if stored != expected:
                    raise AssertionError(f"stored {stored} messages, expected {expected}")
                rows.append(
                    [
                        f"floor (bare pull consumer), {what}, fetch {batch}",
                        str(len(events)),
                        f"{floor:.2f}",
                        f"{len(events) / floor:,.0f}",
                        "1.00",
                    ]
                )
                rows.append(
                    [
                        f"timeline, {what}, consumer_batch {batch}",
                        str(len(events)),
                        f"{elapsed:.2f}",
                        f"{len(events) / elapsed:,.0f}",
                        f"{floor / elapsed:.2f}",
                    ]
                )
        target = f"target {TARGET_EVENTS_PER_SECOND:,} events/s"
        print(f"\nEvent ingestion ({target}; {per_conversation} events per conversation)")
        print_table(["measurement", "events", "seconds", "events/s", "ratio to floor"], rows)
        print(
            "live: publishing and consuming together, timed from the first publish to the last commit"
            " (timeline) or acknowledgement (floor); backlog: published first, only consumption timed."
        )
        if long_messages:
            timings = await measure_long_conversation(js, nats_server.url, postgres.url, long_messages)
            print(f"\nOne conversation of {long_messages:,} messages")
            print_table(["operation", "ms"], [[label, f"{ms:.1f}"] for label, ms in timings])
        await nc.close()
    finally:
        postgres.stop()
        nats_server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingestion", description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--per-conversation", type=int, default=100)
    parser.add_argument("--batches", default="100,500", help="consumer_batch values to try, comma-separated")
    parser.add_argument("--long-conversation", type=int, default=10_000, help="messages; 0 to skip")
    # Under `python -m bench`, sys.argv holds the benchmark names chosen, not these options.
    args, _ = parser.parse_known_args()
    configure_logging("bench", "WARNING")
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    asyncio.run(run(args.events, max(3, args.per_conversation), batches, args.long_conversation))


if __name__ == "__main__":
    main()
