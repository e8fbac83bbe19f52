"""Real servers for the suite: embedded NATS, PostgreSQL and Redis on free ports (or *_URL)."""

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import asyncpg
import bcrypt
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from deploy.credentials import with_credentials
from deploy.embedded import EmbeddedNats, EmbeddedPostgres, EmbeddedRedis, EmbeddedServer, free_port
from deploy.nats_auth import CONNECTOR, GATEWAY, Permissions, accounts_conf, roles
from gateway.app import create_app
from gateway.config import GatewaySettings
from shared.db import database_url_for, provision
from shared.registry import definitions
from shared.runtime import Deployable, ServiceRuntime
from tests.support import (
    JWT_SECRET,
    SUITE_USER,
    connect_suite,
    declare_streams_bound_by,
    suite_password,
    wait_for,
)


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    """Scratch space for server data, removed after the session."""
    path = Path(tempfile.mkdtemp(prefix="cp-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _session_server(variable: str, server: EmbeddedServer) -> Iterator[str]:
    """The server's URL from the environment, else the embedded one started for the session."""
    if os.environ.get(variable):
        yield os.environ[variable]
        return
    yield server.start().url
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(tmp_root: Path) -> Iterator[str]:
    """The administrator's URL of a PostgreSQL server for the session (password required)."""
    yield from _session_server(
        "DATABASE_URL", EmbeddedPostgres(tmp_root / "postgres", password="postgres-password-for-the-suite")
    )


@pytest.fixture(scope="session")
def redis_url(tmp_root: Path) -> Iterator[str]:
    """A Redis server for the session (password required)."""
    yield from _session_server(
        "REDIS_URL", EmbeddedRedis(tmp_root / "redis", password="redis-password-for-the-suite")
    )


def _hash(password: str) -> str:
    # Four rounds: the suite's servers need a real bcrypt hash, not a slow one.
    return json.dumps(bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode())


@dataclass
class NatsAccounts:
    """The users a test's NATS server admits; more can be added while it runs."""

    users: dict[str, tuple[str, Permissions]]

    def render(self) -> str:
        """The server's accounts block."""
        return accounts_conf(self.users)


@pytest.fixture(scope="session")
def nats_accounts() -> NatsAccounts:
    """The NATS users of the suite's servers: every role of the system, the probe, and the suite."""
    from tests.shared import probe

    users = {
        name: (_hash(suite_password(name)), rules)
        for name, rules in roles([*definitions(), probe.definition]).items()
    }
    users[SUITE_USER] = (_hash(suite_password(SUITE_USER)), Permissions((">",), (">",), replies=True))
    return NatsAccounts(users)


@pytest.fixture
def nats_server(tmp_root: Path, nats_accounts: NatsAccounts) -> Iterator[EmbeddedNats | None]:
    """A fresh NATS server per test that admits only its users (None for an external NATS_URL)."""
    if os.environ.get("NATS_URL"):
        yield None
        return
    server = EmbeddedNats(tmp_root / f"nats-{uuid.uuid4().hex[:8]}", accounts=nats_accounts.render())
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture
def add_nats_user(
    nats_server: EmbeddedNats | None, nats_accounts: NatsAccounts
) -> Callable[[str, Permissions], str]:
    """Adds a user to this test's running NATS server (a reload, as deploy.credentials does); its URL."""

    def add(user: str, permissions: Permissions) -> str:
        if nats_server is None:
            pytest.skip("an external NATS server: the suite cannot add users to it")
        users = {**nats_accounts.users, user: (_hash(suite_password(user)), permissions)}
        nats_server.reload(accounts_conf(users))
        return f"nats://{user}:{suite_password(user)}@127.0.0.1:{nats_server.port}"

    return add


@pytest.fixture
async def nats_url(nats_server: EmbeddedNats | None) -> str:
    """URL of this test's NATS; an external server is wiped of streams first."""
    if nats_server is not None:
        return nats_server.url
    url = os.environ["NATS_URL"]
    nc = await connect_suite(url, "test-reset")
    js = nc.jetstream()
    for info in await js.streams_info():
        if info.config.name:
            await js.delete_stream(info.config.name)
    await nc.close()
    return url


@pytest.fixture
def connector_url(nats_url: str) -> str:
    """This test's NATS with a platform connector's credentials (CONTRACT.md §8)."""
    return with_credentials(nats_url, CONNECTOR, suite_password(CONNECTOR))


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    """A client connection for the test itself, as the suite's own NATS user."""
    client = await connect_suite(nats_url, "test")
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
        created.append(name)
        # A role of its own owns it, as every service's database: no service runs as superuser.
        return await provision(postgres_url, name, suite_password(name))

    yield make
    admin = await asyncpg.connect(database_url_for(postgres_url, "postgres"))
    try:
        for name in created:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{name}"')
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
            nats_user=definition.name,
            nats_password=suite_password(definition.name),
            service_database_url=url,
            stream_wait_seconds=15,
            # Its admin port on any free port: runtime.admin.url.
            **{"admin_port": 0, **overrides},
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
            "nats_user": GATEWAY,
            "nats_password": suite_password(GATEWAY),
            "redis_url": redis_url,
            "jwt_secret": JWT_SECRET,
            "gateway_port": port,
            # Its admin port on any free port: gateway.app.state.admin.url.
            "admin_port": 0,
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


@dataclass
class ServiceStack:
    """A service and a gateway on the test's own servers, with the test's connection to them."""

    runtime: ServiceRuntime
    gateway: RunningGateway
    nc: NATS
    js: JetStreamContext


StackT = TypeVar("StackT", bound=ServiceStack)


class StackStarter(Protocol):
    """The start_stack factory."""

    async def __call__(
        self, stack: type[StackT], service: Deployable, *others: Deployable, **overrides: Any
    ) -> StackT: ...


@pytest.fixture
def start_stack(
    start_service: ServiceStarter,
    start_gateway: Callable[..., Awaitable[RunningGateway]],
    nc: NATS,
    js: JetStreamContext,
) -> StackStarter:
    """Factory of a `stack`: the streams its services bind, the `others` first, then `service`
    (with `overrides`), and a gateway."""

    async def start(
        stack: type[StackT], service: Deployable, *others: Deployable, **overrides: Any
    ) -> StackT:
        await declare_streams_bound_by(js, service, *others)
        for other in others:
            await start_service(other, other.settings)
        runtime = await start_service(service, service.settings, **overrides)
        return stack(runtime=runtime, gateway=await start_gateway(), nc=nc, js=js)

    return start


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


@pytest.fixture
async def system(
    start_all_services: Callable[..., Awaitable[dict[str, ServiceRuntime]]],
    start_gateway: Callable[..., Awaitable[RunningGateway]],
) -> RunningGateway:
    """Every service and a gateway on the test's servers (its rate limit out of the way)."""
    await start_all_services()
    return await start_gateway(rate_limit_per_second=1_000_000)
