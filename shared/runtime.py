"""The one way a service process starts: database, migrations, streams, consumers, RPC, outbox relay."""

import asyncio
import contextlib
import inspect
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import asyncpg
import uvloop
from nats.aio.client import Client as NATS
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from pydantic import BaseModel

from shared import metrics
from shared.admin import AdminServer
from shared.config import ServiceSettings
from shared.consumer import ConsumerEnv, Runnable, Subscribing, SubscriptionInfo
from shared.db import Connection, create_pool, database_url_for, ensure_database, migrate, transaction
from shared.errors import FieldError
from shared.events import ServiceInterface
from shared.heap import freeze_startup_heap
from shared.logging import configure_logging, get_logger
from shared.nats import StreamSpec, connect, declare_stream, wait_for_stream
from shared.outbox import OutboxRelay
from shared.rpc import Empty, Operation, OperationInfo, Ping, ping_operation, serve
from shared.subjects import dead_letter_stream, dead_letter_subjects, event_stream, event_subjects
from shared.tracing import configure_tracing

log = get_logger(__name__)

S = TypeVar("S", bound=ServiceSettings)
C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)
Req = TypeVar("Req", bound=BaseModel)
Rep = TypeVar("Rep", bound=BaseModel)


@dataclass(frozen=True)
class Deps(Generic[S]):
    """What a replica's handlers work with: its pool, NATS and settings."""

    pool: asyncpg.Pool
    nc: NATS
    js: JetStreamContext
    settings: S


class RouteInfo(Protocol):
    """What documents and permissions need of a route."""

    @property
    def operation(self) -> OperationInfo: ...


@dataclass(frozen=True)
class Route(Generic[C_contra]):
    """One operation a service answers, with the handler that answers it."""

    operation: OperationInfo
    serve: Callable[[NATS, C_contra], Awaitable[Subscription]]


def route(operation: Operation[Req, Rep], handler: Callable[[C, Req], Awaitable[Rep]]) -> Route[C]:
    """Answer `operation` with `handler(context, request)`."""

    async def start(nc: NATS, ctx: C) -> Subscription:
        async def answer(request: Req) -> Rep:
            return await handler(ctx, request)

        return await serve(nc, operation, answer)

    return Route(operation, start)


class WithPool(Protocol):
    """A context that reaches the service's database."""

    @property
    def pool(self) -> asyncpg.Pool: ...


# A use case: given a connection (its caller owns the transaction) and a request, the reply.
UseCase = Callable[[Connection, Req], Awaitable[Rep]]


def reading(operation: Operation[Req, Rep], use_case: UseCase[Req, Rep]) -> Route[WithPool]:
    """Answer `operation` with a use case that only reads, on a connection of the pool."""

    async def handler(ctx: WithPool, request: Req) -> Rep:
        async with ctx.pool.acquire() as conn:
            return await use_case(conn, request)

    return route(operation, handler)


def writing(operation: Operation[Req, Rep], use_case: UseCase[Req, Rep]) -> Route[WithPool]:
    """Answer `operation` with a use case run in one transaction: its changes and events together."""

    async def handler(ctx: WithPool, request: Req) -> Rep:
        async with ctx.pool.acquire() as conn, transaction(conn):
            return await use_case(conn, request)

    return route(operation, handler)


@dataclass(frozen=True)
class Wiring:
    """A replica's routes and consumers, bound to its context."""

    routes: Sequence[Callable[[NATS], Awaitable[Subscription]]]
    consumers: Sequence[Callable[[ConsumerEnv], Runnable]]


@dataclass(frozen=True)
class ServiceDefinition(Generic[S, C]):
    """Everything the runtime needs to know about one service."""

    interface: ServiceInterface
    settings: type[S]
    # The handlers' context, built once per replica from its dependencies.
    context: Callable[[Deps[S]], C]
    routes: Sequence[Route[C]] = ()
    consumers: Sequence[Subscribing[C]] = ()
    # Streams this service declares besides its own event and dead-letter streams.
    declares: tuple[StreamSpec, ...] = ()
    # Operations of other services its handlers call.
    calls: tuple[OperationInfo, ...] = ()
    # Alembic folder; by default `migrations/` beside the module of the service's settings.
    migrations_folder: Path | None = None

    @property
    def name(self) -> str:
        """The service's name: its database, streams, subjects and queue group."""
        return self.interface.name

    @property
    def migrations(self) -> Path:
        """The service's Alembic migrations."""
        return self.migrations_folder or Path(inspect.getfile(self.settings)).parent / "migrations"

    @property
    def binds(self) -> tuple[str, ...]:
        """Streams of other services (or the connector stream) its consumers read, in their order."""
        # What the service does not declare itself, another must: the consumers say what it reads.
        own = {event_stream(self.name), *(spec.name for spec in self.declares)}
        return tuple(dict.fromkeys(spec.stream for spec in self.consumers if spec.stream not in own))

    def wire(self, pool: asyncpg.Pool, nc: NATS, js: JetStreamContext, settings: ServiceSettings) -> Wiring:
        """The replica's routes (ping first) and consumers over one context."""
        if not isinstance(settings, self.settings):
            raise TypeError(f"{self.name} runs with {self.settings.__name__}, not {type(settings).__name__}")
        ctx = self.context(Deps(pool=pool, nc=nc, js=js, settings=settings))
        name = self.name

        async def ping(_ctx: C, _request: Empty) -> Ping:
            return Ping(service=name)

        return Wiring(
            routes=[
                _bound_route(served, ctx) for served in [route(ping_operation(name), ping), *self.routes]
            ],
            consumers=[_bound_consumer(spec, ctx) for spec in self.consumers],
        )


def _bound_route(served: Route[C], ctx: C) -> Callable[[NATS], Awaitable[Subscription]]:
    async def start(nc: NATS) -> Subscription:
        return await served.serve(nc, ctx)

    return start


def _bound_consumer(spec: Subscribing[C], ctx: C) -> Callable[[ConsumerEnv], Runnable]:
    def build(env: ConsumerEnv) -> Runnable:
        return spec.consumer(ctx, env)

    return build


class Deployable(Protocol):
    """A service definition as the runtime and the tooling see it, whatever its context type."""

    @property
    def name(self) -> str: ...

    @property
    def interface(self) -> ServiceInterface: ...

    @property
    def settings(self) -> type[ServiceSettings]: ...

    @property
    def migrations(self) -> Path: ...

    @property
    def binds(self) -> tuple[str, ...]: ...

    @property
    def declares(self) -> tuple[StreamSpec, ...]: ...

    @property
    def calls(self) -> tuple[OperationInfo, ...]: ...

    @property
    def routes(self) -> Sequence[RouteInfo]: ...

    @property
    def consumers(self) -> Sequence[SubscriptionInfo]: ...

    def wire(self, pool: asyncpg.Pool, nc: NATS, js: JetStreamContext, settings: ServiceSettings) -> Wiring:
        """The replica's routes and consumers."""


def plain_context(deps: Deps[S]) -> Deps[S]:
    """The context of a service whose handlers need nothing beyond its dependencies."""
    return deps


def own_streams(name: str) -> list[StreamSpec]:
    """The event stream and dead-letter stream every service declares for itself."""
    return [
        StreamSpec(event_stream(name), [event_subjects(name)]),
        StreamSpec(dead_letter_stream(name), [dead_letter_subjects(name)], max_age_seconds=90 * 24 * 3600),
    ]


class ServiceRuntime:
    """Starts and stops one replica of a service."""

    def __init__(self, definition: Deployable, settings: ServiceSettings) -> None:
        self.definition = definition
        self.settings = settings
        self.stop_event = asyncio.Event()
        self.pool: asyncpg.Pool | None = None
        self.nc: NATS | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._subscriptions: list[Subscription] = []
        self._consumers: list[Runnable] = []
        self.admin = AdminServer(
            definition.name, self.not_ready, sample=self.sample, interval=settings.metrics_interval_seconds
        )

    @property
    def database_url(self) -> str:
        """This service's own database."""
        return self.settings.service_database_url or database_url_for(
            self.settings.database_url, self.definition.name
        )

    async def start(self) -> None:
        """Bring the replica up; returns once it consumes and answers (its admin port answers first)."""
        name = self.definition.name
        await self.admin.start(self.settings.admin_host, self.settings.admin_port)
        if not self.settings.service_database_url:
            # A database of its own on a server it administers (a deployment provisions roles).
            await ensure_database(self.database_url)
        await migrate(self.definition.migrations, self.database_url)
        self.pool = await create_pool(self.database_url)
        self.nc = await connect(
            self.settings.nats_url, name, self.settings.nats_user, self.settings.nats_password
        )
        js = self.nc.jetstream()
        for stream_spec in [*own_streams(name), *self.definition.declares]:
            await declare_stream(
                js, stream_spec, self.settings.stream_replicas, self.settings.stream_wait_seconds
            )
        for stream in self.definition.binds:
            await wait_for_stream(js, stream, self.settings.stream_wait_seconds)
        wiring = self.definition.wire(self.pool, self.nc, js, self.settings)
        for start_route in wiring.routes:
            self._subscriptions.append(await start_route(self.nc))
        env = ConsumerEnv(
            service=name,
            pool=self.pool,
            nc=self.nc,
            js=js,
            batch=self.settings.consumer_batch,
            max_deliver=self.settings.max_deliver,
            backoff=self.settings.retry_backoff,
        )
        ready: list[asyncio.Event] = []
        for build in wiring.consumers:
            event = asyncio.Event()
            ready.append(event)
            consumer = build(env)
            self._consumers.append(consumer)
            self._tasks.append(asyncio.create_task(consumer.run(self.stop_event, event)))
        relay = OutboxRelay(self.pool, js)
        self._tasks.append(asyncio.create_task(relay.run(self.stop_event)))
        for event in ready:
            await event.wait()
        log.info("service_started", database=self.definition.name)

    async def stop(self) -> None:
        """Stop consuming and answering, finish in-flight work, close connections."""
        self.stop_event.set()
        for sub in self._subscriptions:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.drain()
        # Before the pool closes: its readiness checks borrow connections from it.
        await self.admin.stop()
        if self.pool is not None:
            await self.pool.close()
        log.info("service_stopped")

    async def not_ready(self) -> list[FieldError]:
        """What keeps this replica from being ready: its database, NATS, each consumer not bound."""
        missing = []
        if not await self._database_answers():
            missing.append(FieldError(field="database", message="did not answer"))
        if self.nc is None or not self.nc.is_connected:
            missing.append(FieldError(field="nats", message="not connected"))
        bound = {consumer.durable for consumer in self._consumers if consumer.bound}
        missing += [
            FieldError(field=f"consumer {spec.durable}", message="not bound")
            for spec in self.definition.consumers
            if spec.durable not in bound
        ]
        return missing

    async def _database_answers(self) -> bool:
        if self.pool is None:
            return False
        try:
            async with asyncio.timeout(self.settings.readiness_timeout), self.pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except Exception:
            return False
        return True

    async def sample(self) -> None:
        """What is measured by asking: each consumer's backlog, the dead letters, the outbox backlog."""
        if self.nc is None or self.pool is None:
            return
        js = self.nc.jetstream()
        name = self.definition.name
        pool = self.pool

        async def backlog(consumer: Runnable) -> None:
            info = await js.consumer_info(consumer.stream, consumer.durable)
            metrics.consumer_pending(consumer.durable, (info.num_pending or 0) + (info.num_ack_pending or 0))

        async def dead_letters() -> None:
            metrics.dead_letters(name, (await js.stream_info(dead_letter_stream(name))).state.messages)

        async def outbox() -> None:
            pending = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            metrics.outbox_pending(name, int(pending))

        # Each on its own: one that cannot be asked (NATS away) leaves the others current.
        results = await asyncio.gather(
            *(backlog(consumer) for consumer in self._consumers),
            dead_letters(),
            outbox(),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, Exception):
                raise result

    async def run_until_signalled(self) -> None:
        """Run until SIGINT or SIGTERM."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        freeze_startup_heap()
        await stop.wait()
        await self.stop()


def run_service(definition: Deployable) -> None:
    """Entry point body of `python -m services.<name>`: settings from the environment."""
    settings = definition.settings()
    configure_logging(definition.name, settings.log_level)
    metrics.record(settings.telemetry)
    configure_tracing(definition.name, settings)
    # uvloop: the event loop and its sockets in C, a third less CPU per event than asyncio's.
    uvloop.run(ServiceRuntime(definition, settings).run_until_signalled())
