"""`make run`'s stack: every process up, .run/env written, data kept across a restart."""

import asyncio
import os
from pathlib import Path

import asyncpg
import httpx

from connectors.simulator.people import PLATFORMS
from deploy.embedded import free_port
from deploy.stack import ADMIN_URL_KEYS, LocalStack
from gateway.auth import TokenCache, TokenRules
from shared.db import database_url_for
from shared.nats import connect
from shared.registry import SERVICE_NAMES
from tests.support import connector_event, publish_event, wait_for


def _read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


async def test_stack_comes_up_ready_and_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "JWT_SECRET"}
    environ["GATEWAY_PORT"] = str(free_port())
    stack = LocalStack(tmp_path / ".run", environ=environ)
    try:
        env = await asyncio.to_thread(stack.start)
        written = _read_env(tmp_path / ".run" / "env")
        assert written == env
        assert set(env) == {
            "GATEWAY_URL",
            "NATS_URL",
            "NATS_CONNECTOR_URL",
            "NATS_USER",
            "NATS_PASSWORD",
            "DATABASE_URL",
            "REDIS_URL",
            "JWT_SECRET",
            "DEV_TOKEN",
            *ADMIN_URL_KEYS,
        }
        principal = TokenCache(TokenRules(env["JWT_SECRET"])).principal(env["DEV_TOKEN"])
        assert (principal.workspace, principal.role) == ("demo", "admin")
        async with httpx.AsyncClient(base_url=env["GATEWAY_URL"]) as client:
            assert (await client.get("/readyz")).status_code == 200
            answered = await client.get(
                "/v1/reference/countries", headers={"Authorization": f"Bearer {env['DEV_TOKEN']}"}
            )
            assert answered.status_code == 200
        assert all(stack.processes[name].alive() for name in (*SERVICE_NAMES, "gateway"))
        for name in SERVICE_NAMES:
            conn = await asyncpg.connect(database_url_for(env["DATABASE_URL"], name))
            assert await conn.fetchval("SELECT count(*) FROM inbox") == 0
            await conn.close()
        nc = await connect(env["NATS_URL"], "stack-test", env["NATS_USER"], env["NATS_PASSWORD"])
        await publish_event(nc.jetstream(), "demo", "contact.seen", connector_event("web", "kept-visitor"))
        before = (await nc.jetstream().stream_info("CHAT")).state.messages
        await nc.close()
    finally:
        stack.stop()

    assert not any(p.alive() for p in stack.processes.values())
    again = LocalStack(tmp_path / ".run", environ=environ)
    try:
        env2 = await asyncio.to_thread(again.start)
        assert env2["JWT_SECRET"] == env["JWT_SECRET"]  # earlier DEV_TOKENs stay valid
        nc = await connect(env2["NATS_URL"], "stack-test", env2["NATS_USER"], env2["NATS_PASSWORD"])
        assert (await nc.jetstream().stream_info("CHAT")).state.messages == before
        await nc.close()
    finally:
        again.stop()


def test_demo_data_is_off_with_demo_0(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path / ".run", environ={"DEMO": "0"})
    said = stack.start_demo({"GATEWAY_URL": f"http://127.0.0.1:{free_port()}", "DEV_TOKEN": "unused"})
    assert (said, stack.demo) == ("off (DEMO=0)", None)


async def test_an_empty_demo_workspace_is_seeded_once_by_the_reference_connector(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "DEMO")}
    environ["GATEWAY_PORT"] = str(free_port())
    stack = LocalStack(tmp_path / ".run", environ=environ)
    try:
        env = await asyncio.to_thread(stack.start)
        assert stack.start_demo(env, customers=4).startswith("seeding workspace demo with 4 customers")

        async def seeded() -> str | None:
            return stack.demo_outcome()

        assert await wait_for(seeded, timeout=60, what="the seeding to end") == (
            "published; the services analyse its conversations in the background"
        )
        headers = {"Authorization": f"Bearer {env['DEV_TOKEN']}"}
        async with httpx.AsyncClient(base_url=env["GATEWAY_URL"], headers=headers) as client:

            async def every_platform() -> bool:
                items = (await client.get("/v1/customers", params={"limit": 100})).json()["items"]
                return {platform for item in items for platform in item["platforms"]} == set(PLATFORMS)

            await wait_for(every_platform, timeout=30, what="demo customers on every platform")
        assert stack.start_demo(env) == "workspace demo already has customers; not seeding it"
        assert "simulator" not in stack.processes  # a finished seeding is never restarted
    finally:
        stack.stop()
