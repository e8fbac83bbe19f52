"""The one consumer base: durable pull consumer, inbox dedup, bounded retries, dead-letter path."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import asyncpg
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import BaseModel

from shared import metrics
from shared.db import Connection, transaction
from shared.events import EVENT_MODELS, ConnectorEvent, Event, EventType, InvalidEvent, parse_connector_event
from shared.jsonutil import loads
from shared.logging import get_logger, log_context
from shared.rpc import ServiceUnavailable
from shared.subjects import CHAT_STREAM, chat_subject, dead_letter_subject, event_stream
from shared.tracing import SpanKind, links_to, span

log = get_logger(__name__)

C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)
E = TypeVar("E")
D = TypeVar("D", bound=BaseModel)


@dataclass
class Delivery(Generic[E]):
    """One event handed to a handler: the validated event and where it came from.

    `prepared` holds what the spec's `prepare` step returned for it (None without one).
    """

    msg: Msg
    workspace: str
    event_id: str
    event: E
    prepared: object = None


# (workspace, event id, event) of a message; raises for one that is not valid.
Decoder = Callable[[str, bytes], tuple[str, str, E]]
Handler = Callable[[C, Connection, Delivery[E]], Awaitable[None]]
BatchHandler = Callable[[C, Connection, list[Delivery[E]]], Awaitable[None]]
Prepare = Callable[[C, Delivery[E]], Awaitable[object]]


def decode_connector(subject: str, data: bytes) -> tuple[str, str, ConnectorEvent]:
    """Decoder of connector events (chat.v1.*)."""
    workspace, event = parse_connector_event(subject, data)
    return workspace, event.event_id, event


@dataclass(frozen=True)
class Channel:
    """What a consumer reads from one subject, for the service's AsyncAPI document."""

    address: str
    model: type[BaseModel]
    # Internal events come wrapped in the outbox envelope; connector events do not.
    enveloped: bool


@dataclass(frozen=True)
class ConsumerEnv:
    """What every consumer of a replica runs with."""

    service: str
    pool: asyncpg.Pool
    nc: NATS
    js: JetStreamContext
    batch: int = 100
    max_deliver: int = 10
    backoff: tuple[float, ...] = (0.5, 2.0, 5.0, 15.0, 30.0)


class Runnable(Protocol):
    """A consumer ready to run until stopped."""

    @property
    def durable(self) -> str:
        """The durable consumer's name."""

    @property
    def stream(self) -> str:
        """The stream it reads."""

    @property
    def bound(self) -> bool:
        """Whether it is bound to its durable consumer and its last fetch reached JetStream."""

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        """Fetch and apply until `stop` is set; `ready` once bound."""


class SubscriptionInfo(Protocol):
    """What documents and permissions need of a consumer: where it reads, under which name."""

    @property
    def durable(self) -> str: ...

    @property
    def stream(self) -> str: ...

    @property
    def subjects(self) -> tuple[str, ...]: ...

    @property
    def channels(self) -> tuple[Channel, ...]: ...


class Subscribing(SubscriptionInfo, Protocol[C_contra]):
    """What the runtime needs of a consumer spec, whatever its event type."""

    def consumer(self, ctx: C_contra, env: ConsumerEnv) -> Runnable:
        """A consumer of this spec over the replica's context."""


@dataclass(frozen=True)
class Tuning:
    """How many events a consumer fetches at once, and how long one may go unacknowledged."""

    batch: int | None = None
    ack_wait_seconds: float = 30.0


@dataclass(frozen=True)
class ConsumerSpec(Generic[C, E]):
    """A durable consumer of one stream: what it reads and how it applies each event.

    `handle` runs inside the transaction that records the event id in the inbox, so an event
    is applied exactly once however often it is delivered. `prepare`, if given, runs before
    that transaction (for slow work such as an LLM call) while the message is kept alive.

    `handle_batch`, if given, applies a whole fetched batch in one transaction with the inbox
    rows of all its events: it receives each event not applied before exactly once (a second
    copy in the batch and events already in the inbox are left out, the rest keep their
    delivery order) and must leave the state `handle` would leave applying them one by one.
    If it raises, the batch is applied again event by event with `handle`, so retries and dead
    letters stay per event. A spec with `prepare` applies its events one by one and ignores it.
    """

    durable: str
    stream: str
    subjects: tuple[str, ...]
    channels: tuple[Channel, ...]
    decode: Decoder[E]
    handle: Handler[C, E]
    prepare: Prepare[C, E] | None = None
    handle_batch: BatchHandler[C, E] | None = None
    # Fetch size and seconds without an ack before redelivery, if the context decides them.
    tuning: Callable[[C], "Tuning"] | None = None
    max_ack_pending: int = 10_000

    def consumer(self, ctx: C, env: ConsumerEnv) -> "Consumer[C, E]":
        """A consumer of this spec over the replica's context."""
        return Consumer(spec=self, ctx=ctx, env=env)


def connector_consumer(
    durable: str,
    types: Sequence[str],
    handle: Handler[C, ConnectorEvent],
    *,
    handle_batch: BatchHandler[C, ConnectorEvent] | None = None,
) -> ConsumerSpec[C, ConnectorEvent]:
    """A consumer of these connector event types of every workspace (CONTRACT.md §5)."""
    return ConsumerSpec(
        durable=durable,
        stream=CHAT_STREAM,
        subjects=tuple(chat_subject("*", kind) for kind in types),
        channels=tuple(
            Channel(chat_subject("{workspace}", kind), EVENT_MODELS[kind], enveloped=False) for kind in types
        ),
        decode=decode_connector,
        handle=handle,
        handle_batch=handle_batch,
    )


def event_consumer(
    durable: str,
    event_type: EventType[D],
    handle: Handler[C, Event[D]],
    *,
    prepare: Prepare[C, Event[D]] | None = None,
    tuning: Callable[[C], Tuning] | None = None,
) -> ConsumerSpec[C, Event[D]]:
    """A consumer of one internal event type of every workspace, on its publisher's stream."""

    def decode(_subject: str, data: bytes) -> tuple[str, str, Event[D]]:
        event = event_type.decode(data)
        return event.workspace, event.event_id, event

    return ConsumerSpec(
        durable=durable,
        stream=event_stream(event_type.service),
        subjects=(event_type.subjects,),
        channels=(Channel(event_type.subject("{workspace}"), event_type.data, enveloped=True),),
        decode=decode,
        handle=handle,
        prepare=prepare,
        tuning=tuning,
    )


class DeadLetterError(Exception):
    """Raised by a handler for an event that can never succeed: set aside without retries."""


# Failures that say a dependency is down, not that the event is bad.
_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset: the database or NATS is not there
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    ServiceUnavailable,
)


def is_outage(exc: BaseException) -> bool:
    """Whether `exc`, or what caused it, is a dependency being unavailable."""
    seen: BaseException | None = exc
    while seen is not None:
        # A timeout (an OSError too) may as well be this event's own slow query: it keeps its
        # bounded retries.
        if isinstance(seen, _OUTAGES) and not isinstance(seen, TimeoutError):
            return True
        # asyncpg's word for a connection that died under a transaction (PostgreSQL killed).
        if isinstance(seen, asyncpg.InterfaceError) and "connection is closed" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass
class Consumer(Generic[C, E]):
    """Runs one ConsumerSpec of one service replica until stopped."""

    spec: ConsumerSpec[C, E]
    ctx: C
    env: ConsumerEnv
    _advisories: Subscription | None = field(default=None, init=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _held: list[Msg] = field(default_factory=list, init=False)  # the batch being processed
    _tuning: Tuning = field(default_factory=Tuning, init=False)
    _bound: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.spec.tuning is not None:
            self._tuning = self.spec.tuning(self.ctx)

    @property
    def service(self) -> str:
        """The service this consumer belongs to."""
        return self.env.service

    @property
    def durable(self) -> str:
        """The durable consumer's name."""
        return self.spec.durable

    @property
    def stream(self) -> str:
        """The stream it reads."""
        return self.spec.stream

    @property
    def bound(self) -> bool:
        """Whether it is bound to its durable consumer and its last fetch reached JetStream."""
        return self._bound

    @property
    def pool(self) -> asyncpg.Pool:
        """The service's database."""
        return self.env.pool

    @property
    def js(self) -> JetStreamContext:
        """JetStream of the service's connection."""
        return self.env.js

    @property
    def max_deliver(self) -> int:
        """Deliveries of a failing event before it is set aside."""
        return self.env.max_deliver

    def consumer_config(self) -> ConsumerConfig:
        """The durable consumer this spec needs (created idempotently by every replica)."""
        return ConsumerConfig(
            durable_name=self.spec.durable,
            filter_subjects=list(self.spec.subjects),
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._tuning.ack_wait_seconds,
            max_deliver=self.max_deliver,
            max_ack_pending=self.spec.max_ack_pending,
        )

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        """Fetch and apply batches until `stop` is set."""
        self._stop = stop
        await self.js.add_consumer(self.spec.stream, self.consumer_config())
        sub = await self.js.pull_subscribe_bind(durable=self.spec.durable, stream=self.spec.stream)
        self._advisories = await self.env.nc.subscribe(
            f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{self.spec.stream}.{self.spec.durable}",
            queue=f"{self.service}-{self.spec.durable}-dlq",
            cb=self._on_max_deliveries,
        )
        self._bound = True
        metrics.consumer_started(self.spec.durable)
        if ready is not None:
            ready.set()
        batch = self._tuning.batch or self.env.batch
        try:
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(batch, timeout=1.0)
                except (NatsTimeoutError, TimeoutError):
                    self._bound = True
                    continue
                except Exception as exc:
                    self._bound = False
                    log.warning("fetch_failed", durable=self.spec.durable, error=repr(exc))
                    await asyncio.sleep(0.5)
                    continue
                self._bound = True
                await self.process(msgs)
        finally:
            self._bound = False
            with contextlib.suppress(Exception):
                if self._advisories is not None:
                    await self._advisories.unsubscribe()
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def process(self, msgs: list[Msg]) -> None:
        """Apply a fetched batch: one transaction for all, or one by one if any of them fails."""
        self._held = msgs
        deliveries: list[Delivery[E]] = []
        for msg in msgs:
            try:
                workspace, event_id, event = self.spec.decode(msg.subject, msg.data)
            except Exception as exc:
                await self._dead_letter(
                    msg, str(exc) if isinstance(exc, InvalidEvent) else f"invalid event: {exc}"
                )
                await msg.ack()
                continue
            deliveries.append(Delivery(msg=msg, workspace=workspace, event_id=event_id, event=event))
        if not deliveries:
            return
        if self.spec.prepare is not None:
            # Slow work runs side by side, each message kept alive by its own in-progress acks.
            await asyncio.gather(*(self._process_one(delivery) for delivery in deliveries))
            return
        if len(deliveries) == 1:
            await self._process_one(deliveries[0])
            return
        try:
            # One span for the batch, linked to the trace of each of its events.
            with span(
                f"process {self.spec.durable}",
                SpanKind.CONSUMER,
                links=links_to(delivery.msg.headers for delivery in deliveries),
                attributes={**self._span_attributes, "messaging.batch.message_count": len(deliveries)},
            ):
                async with self.pool.acquire() as conn, transaction(conn):
                    if self.spec.handle_batch is not None:
                        applied = await self._apply_batch(conn, deliveries)
                    else:
                        applied = 0
                        for delivery in deliveries:
                            applied += await self._apply(conn, delivery)
        except Exception as exc:
            # Someone in the batch failed: retry individually so it cannot hold back the rest.
            log.info("batch_failed", durable=self.spec.durable, events=len(deliveries), error=repr(exc))
            for delivery in deliveries:
                await self._process_one(delivery)
            return
        # In turn, not gathered: an ack only queues a few bytes for the flusher, a task costs more.
        for delivery in deliveries:
            await delivery.msg.ack()
        metrics.events_processed(self.spec.durable, "applied", applied)
        metrics.events_processed(self.spec.durable, "duplicate", len(deliveries) - applied)

    @property
    def _span_attributes(self) -> dict[str, str]:
        return {"messaging.system": "nats", "messaging.consumer.group.name": self.spec.durable}

    async def _apply(self, conn: Connection, delivery: Delivery[E]) -> bool:
        """Apply an event unless the inbox says it was; whether it was applied now."""
        with log_context(workspace=delivery.workspace, event_id=delivery.event_id):
            first_time = await conn.fetchval(
                "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING RETURNING true",
                self.spec.durable,
                delivery.event_id,
            )
            if first_time:
                await self.spec.handle(self.ctx, conn, delivery)
            return bool(first_time)

    async def _apply_batch(self, conn: Connection, deliveries: list[Delivery[E]]) -> int:
        """Apply the events of a batch not applied before; how many that was."""
        assert self.spec.handle_batch is not None
        # Sorted: replicas recording overlapping ids then wait on each other instead of deadlocking.
        ids = sorted({delivery.event_id for delivery in deliveries})
        rows = await conn.fetch(
            "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::text[]) "
            "ON CONFLICT DO NOTHING RETURNING event_id",
            self.spec.durable,
            ids,
        )
        fresh = {row["event_id"] for row in rows}
        first_copies: list[Delivery[E]] = []
        for delivery in deliveries:
            if delivery.event_id in fresh:
                fresh.discard(delivery.event_id)
                first_copies.append(delivery)
        if first_copies:
            await self.spec.handle_batch(self.ctx, conn, first_copies)
        return len(first_copies)

    async def _already_applied(self, delivery: Delivery[E]) -> bool:
        async with self.pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT true FROM inbox WHERE consumer = $1 AND event_id = $2",
                    self.spec.durable,
                    delivery.event_id,
                )
            )

    async def _prepare(self, delivery: Delivery[E]) -> None:
        assert self.spec.prepare is not None
        task = asyncio.ensure_future(self.spec.prepare(self.ctx, delivery))
        # Slow work: tell JetStream we are alive so it does not redeliver to another replica.
        while True:
            done, _ = await asyncio.wait({task}, timeout=self._tuning.ack_wait_seconds / 3)
            if done:
                delivery.prepared = task.result()
                return
            with contextlib.suppress(Exception):
                await delivery.msg.in_progress()

    async def _process_one(self, delivery: Delivery[E]) -> None:
        """Apply one event in a span that continues the trace it was published in."""
        with span(
            f"process {self.spec.durable}",
            SpanKind.CONSUMER,
            parent=delivery.msg.headers or {},
            attributes={
                **self._span_attributes,
                "messaging.destination.name": delivery.msg.subject,
                "messaging.message.id": delivery.event_id,
            },
        ):
            await self._settle(delivery)

    async def _settle(self, delivery: Delivery[E]) -> None:
        """Apply, retry or set aside one event, and acknowledge it when done with it."""
        msg = delivery.msg
        outage_rounds = 0
        while True:
            try:
                applied = await self._attempt(delivery)
            except DeadLetterError as exc:
                await self._dead_letter(msg, str(exc))
                await msg.ack()
                return
            except Exception as exc:
                if not is_outage(exc):
                    await self._failed(delivery, exc)
                    return
                if self._stop.is_set():
                    # Shutting down mid-outage: leave it to redelivery, not to the retry budget.
                    return
                # Not the event's fault: keep it and wait here, so that an outage of any
                # length cannot use up its deliveries and send a good event to dead letters.
                outage_rounds += 1
                metrics.events_processed(self.spec.durable, "retried")
                await self._wait_out_outage(delivery, exc, outage_rounds)
                continue
            await msg.ack()
            metrics.events_processed(self.spec.durable, "applied" if applied else "duplicate")
            return

    async def _attempt(self, delivery: Delivery[E]) -> bool:
        if self.spec.prepare is not None:
            if await self._already_applied(delivery):
                return False
            await self._prepare(delivery)
        async with self.pool.acquire() as conn, transaction(conn):
            return await self._apply(conn, delivery)

    async def _wait_out_outage(self, delivery: Delivery[E], exc: Exception, rounds: int) -> None:
        if rounds == 1:
            with log_context(workspace=delivery.workspace, event_id=delivery.event_id):
                log.warning("dependency_unavailable", durable=self.spec.durable, error=repr(exc))
        # The whole fetched batch waits behind this event: keep all of it from redelivery.
        for msg in self._held:
            with contextlib.suppress(Exception):
                await msg.in_progress()
        backoff = self.env.backoff
        pause = min(backoff[min(rounds, len(backoff)) - 1], self._tuning.ack_wait_seconds / 3)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), pause)

    async def _failed(self, delivery: Delivery[E], exc: Exception) -> None:
        msg = delivery.msg
        attempt = msg.metadata.num_delivered or 1
        with log_context(workspace=delivery.workspace, event_id=delivery.event_id):
            log.warning("event_failed", durable=self.spec.durable, attempt=attempt, error=repr(exc))
        if attempt >= self.max_deliver:
            await self._dead_letter(msg, f"failed {attempt} times: {exc!r}")
            await msg.ack()
        else:
            backoff = self.env.backoff
            await msg.nak(delay=backoff[min(attempt, len(backoff)) - 1])
            metrics.events_processed(self.spec.durable, "retried")

    async def _dead_letter(self, msg: Msg, reason: str) -> None:
        meta = msg.metadata
        await self._publish_dead_letter(
            msg.data,
            original_subject=msg.subject,
            stream_seq=meta.sequence.stream,
            deliveries=meta.num_delivered or 1,
            reason=reason,
        )

    async def _publish_dead_letter(
        self, data: bytes, *, original_subject: str, stream_seq: int, deliveries: int, reason: str
    ) -> None:
        log.error(
            "event_dead_lettered",
            durable=self.spec.durable,
            subject=original_subject,
            stream_seq=stream_seq,
            reason=reason[:500],
        )
        ack = await self.js.publish(
            dead_letter_subject(self.service, self.spec.durable),
            data,
            headers={
                # One dead letter per stream message and consumer, however often this runs.
                "Nats-Msg-Id": f"dlq:{self.spec.stream}:{self.spec.durable}:{stream_seq}",
                "Dlq-Original-Subject": original_subject,
                "Dlq-Stream": self.spec.stream,
                "Dlq-Stream-Seq": str(stream_seq),
                "Dlq-Consumer": self.spec.durable,
                "Dlq-Deliveries": str(deliveries),
                "Dlq-Reason": reason[:2000].replace("\r", " ").replace("\n", " "),
            },
        )
        if not ack.duplicate:
            metrics.events_processed(self.spec.durable, "dead_lettered")

    async def _on_max_deliveries(self, advisory: Msg) -> None:
        # The process died or timed out on every delivery: JetStream gave up, we keep the event.
        try:
            seq = int(loads(advisory.data)["stream_seq"])
            stored = await self.js.get_msg(self.spec.stream, seq)
            await self._publish_dead_letter(
                stored.data or b"",
                original_subject=stored.subject or "",
                stream_seq=seq,
                deliveries=self.max_deliver,
                reason="maximum deliveries reached without an acknowledgement",
            )
        except Exception as exc:
            log.error("max_deliveries_advisory_failed", error=repr(exc))
