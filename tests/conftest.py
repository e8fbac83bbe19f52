"""Real servers for the suite: embedded NATS, PostgreSQL and Redis on free ports (or *_URL)."""

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from deploy.embedded import EmbeddedNats, EmbeddedPostgres, EmbeddedRedis, free_port
from gateway.app import create_app
from gateway.config import GatewaySettings
from shared.db import database_url_for
from shared.nats import connect
from shared.runtime import Deployable, ServiceRuntime
from tests.support import JWT_SECRET, wait_for


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    """Scratch space for server data, removed after the session."""
    path = Path(tempfile.mkdtemp(prefix="cp-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(tmp_root: Path) -> Iterator[str]:
    """A PostgreSQL server for the session."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    server = EmbeddedPostgres(tmp_root / "postgres").start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_root: Path) -> Iterator[str]:
    """A Redis server for the session."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis(tmp_root / "redis").start()
    yield server.url
    server.stop()


@pytest.fixture
def nats_server(tmp_root: Path) -> Iterator[EmbeddedNats | None]:
    """A fresh NATS server per test (None when NATS_URL points at an external one)."""
    if os.environ.get("NATS_URL"):
        yield None
        return
    server = EmbeddedNats(tmp_root / f"nats-{uuid.uuid4().hex[:8]}")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture
async def nats_url(nats_server: EmbeddedNats | None) -> str:
    """URL of this test's NATS; an external server is wiped of streams first."""
    if nats_server is not None:
        return nats_server.url
    url = os.environ["NATS_URL"]
    nc = await connect(url, "test-reset")
    js = nc.jetstream()
    for info in await js.streams_info():
        if info.config.name:
            await js.delete_stream(info.config.name)
    await nc.close()
    return url


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    """A client connection for the test itself."""
    client = await connect(nats_url, "test")
    yield client
    await client.drain()


@pytest.fixture
def js(nc: NATS) -> JetStreamContext:
    """JetStream of the test's connection."""
    return nc.jetstream()


@pytest.fixture
async def fresh_database(postgres_url: str) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Factory of empty databases, dropped after the test."""
    created: list[str] = []

    async def make(label: str) -> str:
        name = f"t_{label}_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(database_url_for(postgres_url, "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        created.append(name)
        return database_url_for(postgres_url, name)

    yield make
    admin = await asyncpg.connect(database_url_for(postgres_url, "postgres"))
    try:
        for name in created:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


ServiceStarter = Callable[..., Awaitable[ServiceRuntime]]


@pytest.fixture
async def start_service(
    nats_url: str, postgres_url: str, fresh_database: Callable[[str], Awaitable[str]]
) -> AsyncIterator[ServiceStarter]:
    """Factory that runs a service replica in-process on the test's servers; stopped afterwards.

    Pass `database_url=` to start a second replica on the same database.
    """
    runtimes: list[ServiceRuntime] = []

    async def start(
        definition: Deployable, settings_cls: Any, *, database_url: str | None = None, **overrides: Any
    ) -> ServiceRuntime:
        url = database_url or await fresh_database(definition.name)
        settings = settings_cls(
            nats_url=nats_url,
            database_url=postgres_url,
            service_database_url=url,
            stream_wait_seconds=15,
            **overrides,
        )
        runtime = ServiceRuntime(definition, settings)
        runtimes.append(runtime)
        await runtime.start()
        return runtime

    yield start
    for runtime in reversed(runtimes):
        await runtime.stop()


class RunningGateway:
    """A gateway served by uvicorn on a free port, with an HTTP client pointed at it."""

    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None], url: str, app: FastAPI) -> None:
        self.app = app
        self.server = server
        self.task = task
        self.url = url
        self.client = httpx.AsyncClient(base_url=url, timeout=15)

    async def stop(self) -> None:
        """Shut the server down."""
        await self.client.aclose()
        self.server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 10)


@pytest.fixture
async def start_gateway(
    nats_url: str, redis_url: str
) -> AsyncIterator[Callable[..., Awaitable[RunningGateway]]]:
    """Factory that serves the gateway over real HTTP on the test's servers."""
    gateways: list[RunningGateway] = []

    async def start(**overrides: Any) -> RunningGateway:
        port = free_port()
        values: dict[str, Any] = {
            "nats_url": nats_url,
            "redis_url": redis_url,
            "jwt_secret": JWT_SECRET,
            "gateway_port": port,
            **overrides,
        }
        settings = GatewaySettings(**values)
        app = create_app(settings)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())

        async def started() -> bool:
            if task.done():
                task.result()  # a gateway that failed to start raises here
            return bool(server.started)

        await wait_for(started, interval=0.01, what="the gateway started")
        gateway = RunningGateway(server, task, f"http://127.0.0.1:{port}", app)
        gateways.append(gateway)
        return gateway

    yield start
    for gateway in gateways:
        await gateway.stop()


@pytest.fixture
async def start_all_services(
    start_service: ServiceStarter,
) -> Callable[..., Awaitable[dict[str, ServiceRuntime]]]:
    """Factory that starts one replica of every service, together (they bind each other's streams)."""
    from shared.registry import definitions

    async def start(**overrides: Any) -> dict[str, ServiceRuntime]:
        every = definitions()
        runtimes = await asyncio.gather(
            *(start_service(definition, definition.settings, **overrides) for definition in every)
        )
        return {definition.name: runtime for definition, runtime in zip(every, runtimes, strict=True)}

    return start
