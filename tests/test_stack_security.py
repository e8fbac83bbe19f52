"""`make run` keeps its secrets and its bus closed (CONTRACT.md §8): files, NATS, PostgreSQL, Redis."""

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pytest
import redis.asyncio as aioredis
import redis.exceptions
from nats.errors import NoServersError

from deploy.embedded import free_port
from deploy.stack import LocalStack
from shared.db import database_url_for
from shared.registry import SERVICE_NAMES
from tests.support import connector_event, new_workspace, publish_event, try_both_workspaces, wait_for


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, dict[str, str]]]:
    """One running stack for the module, as `make run` starts it."""
    environ = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "DEMO")}
    environ.update(GATEWAY_PORT=str(free_port()), DEMO="0")
    running = LocalStack(tmp_path_factory.mktemp("secured") / ".run", environ=environ)
    try:
        yield running, running.start()
    finally:
        running.stop()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_env_file_and_every_secret_are_readable_by_their_owner_only(
    stack: tuple[LocalStack, dict[str, str]],
) -> None:
    run_dir = stack[0].run_dir
    secrets = [run_dir / "env", run_dir / "jwt_secret", *(run_dir / "secrets").iterdir()]
    assert {path.name: _mode(path) for path in secrets} == {path.name: 0o600 for path in secrets}
    assert _mode(run_dir / "secrets") == 0o700
    assert _mode(run_dir) & 0o066 == 0  # others may not list it (as root they may pass through)


def test_logs_are_readable_by_their_owner_only(stack: tuple[LocalStack, dict[str, str]]) -> None:
    logs = stack[0].run_dir / "logs"
    assert _mode(logs) == 0o700
    modes = {path.name: _mode(path) for path in logs.iterdir()}
    assert set(modes) >= {f"{name}.log" for name in (*SERVICE_NAMES, "gateway")}
    assert set(modes.values()) == {0o600}


async def test_nats_refuses_a_connection_without_credentials(
    stack: tuple[LocalStack, dict[str, str]],
) -> None:
    with pytest.raises((nats.errors.Error, NoServersError)):
        await nats.connect(stack[1]["NATS_URL"], max_reconnect_attempts=0, allow_reconnect=False)


async def test_the_connector_url_publishes_events_and_reads_nothing_else(
    stack: tuple[LocalStack, dict[str, str]],
) -> None:
    env = stack[1]
    violations: list[str] = []

    async def on_error(exc: Exception) -> None:
        violations.append(str(exc))

    connector = await nats.connect(
        env["NATS_CONNECTOR_URL"], inbox_prefix="_INBOX.connector", error_cb=on_error
    )
    try:
        workspace = new_workspace()
        await publish_event(connector.jetstream(), workspace, "contact.seen", connector_event("web", "v-1"))
        await connector.subscribe("profile.v1.>")

        async def refused() -> bool:
            return any("profile.v1.>" in violation for violation in violations)

        await wait_for(refused, what="the subscription refused")
    finally:
        await connector.close()
    admin = await asyncpg.connect(database_url_for(env["DATABASE_URL"], "profile"))
    try:

        async def arrived() -> bool:
            return bool(
                await admin.fetchval("SELECT count(*) FROM customers WHERE workspace = $1", workspace)
            )

        await wait_for(arrived, what="the connector's customer")
    finally:
        await admin.close()


def _mint(run_dir: Path, *args: str) -> str:
    minted = subprocess.run(
        [sys.executable, "-m", "deploy.credentials", "connector", "--run-dir", str(run_dir), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return minted.stdout.strip()


async def test_minted_workspace_credentials_publish_only_into_their_workspace(
    stack: tuple[LocalStack, dict[str, str]],
) -> None:
    running, env = stack
    mine, theirs = new_workspace(), new_workspace()
    url = await asyncio.to_thread(_mint, running.run_dir, "--workspace", mine)
    assert url.startswith("nats://connector-") and "@127.0.0.1:" in url
    admin = await asyncpg.connect(database_url_for(env["DATABASE_URL"], "profile"))
    try:

        async def customers(workspace: str) -> int:
            return int(await admin.fetchval("SELECT count(*) FROM customers WHERE workspace = $1", workspace))

        await try_both_workspaces(url, mine, theirs, customers)
    finally:
        await admin.close()


async def test_redis_refuses_a_client_without_the_password(stack: tuple[LocalStack, dict[str, str]]) -> None:
    url = stack[1]["REDIS_URL"]
    assert ":" in url.split("@")[0].removeprefix("redis://")
    anonymous = aioredis.from_url("redis://" + url.split("@", 1)[1])
    try:
        with pytest.raises(redis.exceptions.AuthenticationError):
            await anonymous.ping()
    finally:
        await anonymous.aclose()


async def test_no_service_connects_to_postgresql_as_superuser(
    stack: tuple[LocalStack, dict[str, str]],
) -> None:
    admin = await asyncpg.connect(database_url_for(stack[1]["DATABASE_URL"], "postgres"))
    try:
        rows = await admin.fetch(
            "SELECT DISTINCT a.datname, a.usename, r.rolsuper FROM pg_stat_activity a "
            "JOIN pg_roles r ON r.rolname = a.usename "
            "WHERE a.datname = ANY($1::text[]) AND a.pid <> pg_backend_pid()",
            list(SERVICE_NAMES),
        )
    finally:
        await admin.close()
    assert {(row["datname"], row["usename"], row["rolsuper"]) for row in rows} == {
        (name, name, False) for name in SERVICE_NAMES
    }


def test_the_bus_address_is_bare_and_the_connector_url_signs_in(
    stack: tuple[LocalStack, dict[str, str]],
) -> None:
    env = stack[1]
    assert "@" not in env["NATS_URL"]
    assert env["NATS_CONNECTOR_URL"].startswith("nats://connector:")
