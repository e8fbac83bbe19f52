"""The one way a service process starts: database, migrations, streams, consumers, RPC, outbox relay."""

import asyncio
import contextlib
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
from nats.aio.client import Client as NATS
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

from shared.config import ServiceSettings
from shared.consumer import Consumer, ConsumerSpec
from shared.db import create_pool, database_url_for, ensure_database, migrate
from shared.logging import configure_logging, get_logger
from shared.nats import StreamSpec, connect, declare_stream, wait_for_stream
from shared.outbox import OutboxRelay
from shared.rpc import RpcHandler, serve
from shared.subjects import (
    dead_letter_stream,
    dead_letter_subjects,
    event_stream,
    event_subjects,
    rpc_queue,
    rpc_subject,
)

log = get_logger(__name__)


@dataclass(frozen=True)
class RpcRoute:
    """One request/reply operation a service answers."""

    subject: str
    handler: RpcHandler
    envelope: bool = True
    queue: str | None = None


@dataclass(frozen=True)
class Deps:
    """What handlers are built with: the service's pool, NATS and settings."""

    pool: asyncpg.Pool
    nc: NATS
    js: JetStreamContext
    settings: Any


@dataclass(frozen=True)
class Wiring:
    """What a service consumes and answers, built once its dependencies exist."""

    consumers: list[ConsumerSpec] = field(default_factory=list)
    routes: list[RpcRoute] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything the runtime needs to know about one service."""

    name: str
    migrations: Path
    build: Callable[[Deps], Wiring]
    # Streams of other services (or the connector stream) this service consumes.
    binds: tuple[str, ...] = ()
    # Streams this service declares besides its own event and dead-letter streams.
    declares: tuple[StreamSpec, ...] = ()


def own_streams(name: str) -> list[StreamSpec]:
    """The event stream and dead-letter stream every service declares for itself."""
    return [
        StreamSpec(event_stream(name), [event_subjects(name)]),
        StreamSpec(dead_letter_stream(name), [dead_letter_subjects(name)], max_age_seconds=90 * 24 * 3600),
    ]


class ServiceRuntime:
    """Starts and stops one replica of a service."""

    def __init__(self, definition: ServiceDefinition, settings: ServiceSettings) -> None:
        self.definition = definition
        self.settings = settings
        self.stop_event = asyncio.Event()
        self.pool: asyncpg.Pool | None = None
        self.nc: NATS | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._subscriptions: list[Subscription] = []

    @property
    def database_url(self) -> str:
        """This service's own database."""
        return self.settings.service_database_url or database_url_for(
            self.settings.database_url, self.definition.name
        )

    async def start(self) -> Deps:
        """Bring the replica up; returns once it consumes and answers."""
        name = self.definition.name
        await ensure_database(self.database_url)
        await migrate(self.definition.migrations, self.database_url)
        self.pool = await create_pool(self.database_url)
        self.nc = await connect(self.settings.nats_url, name)
        js = self.nc.jetstream()
        for stream_spec in [*own_streams(name), *self.definition.declares]:
            await declare_stream(js, stream_spec)
        for stream in self.definition.binds:
            await wait_for_stream(js, stream, self.settings.stream_wait_seconds)
        deps = Deps(pool=self.pool, nc=self.nc, js=js, settings=self.settings)
        wiring = self.definition.build(deps)

        async def ping(_payload: dict[str, Any], _subject: str) -> dict[str, str]:
            return {"service": name}

        for route in [RpcRoute(rpc_subject(name, "ping"), ping), *wiring.routes]:
            self._subscriptions.append(
                await serve(
                    self.nc,
                    route.subject,
                    route.queue or rpc_queue(name),
                    route.handler,
                    envelope=route.envelope,
                )
            )
        ready: list[asyncio.Event] = []
        for spec in wiring.consumers:
            consumer = Consumer(
                service=name,
                spec=spec,
                pool=self.pool,
                nc=self.nc,
                js=js,
                batch=self.settings.consumer_batch,
                max_deliver=self.settings.max_deliver,
                backoff=self.settings.retry_backoff,
            )
            event = asyncio.Event()
            ready.append(event)
            self._tasks.append(asyncio.create_task(consumer.run(self.stop_event, event)))
        relay = OutboxRelay(self.pool, js)
        self._tasks.append(asyncio.create_task(relay.run(self.stop_event)))
        for event in ready:
            await event.wait()
        log.info("service_started", database=self.definition.name)
        return deps

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
        if self.pool is not None:
            await self.pool.close()
        log.info("service_stopped")

    async def run_until_signalled(self) -> None:
        """Run until SIGINT or SIGTERM."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        await stop.wait()
        await self.stop()


def run_service(definition: ServiceDefinition, settings: ServiceSettings) -> None:
    """Entry point body of `python -m services.<name>`."""
    configure_logging(definition.name, settings.log_level)
    # uvloop: the event loop and its sockets in C, a third less CPU per event than asyncio's.
    uvloop.run(ServiceRuntime(definition, settings).run_until_signalled())
