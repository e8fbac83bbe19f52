"""The whole system as `make run` starts it, seeded like a connector would, and headless Chromium."""

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright, expect

from deploy.embedded import free_port
from deploy.stack import LocalStack
from shared.nats import connect
from tests.e2e.harness import CHROMIUM_ARGS, TAGS, TIMEZONE, Demo, Users, require_chromium
from tests.e2e.seed import seed, wait_until_seeded
from tests.support import new_workspace, token


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Demo]:
    """Every service and the gateway as separate processes (deploy.stack), with demo data."""
    environ = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "GATEWAY_PORT")}
    environ["GATEWAY_PORT"] = str(free_port())
    stack = LocalStack(tmp_path_factory.mktemp("e2e") / ".run", environ=environ)
    try:
        env = await asyncio.to_thread(stack.start)
        secret = env["JWT_SECRET"]
        workspace = new_workspace()
        users = Users(
            me=token(workspace, sub="agent-amira", name="Amira Staff", secret=secret),
            other=token(workspace, sub="agent-sam", name="Sam Other", secret=secret),
            admin=token(workspace, role="admin", sub="admin-1", name="Admin", secret=secret),
            secret=secret,
        )
        nc = await connect(env["NATS_CONNECTOR_URL"], "e2e-seed")
        try:
            seeded = await seed(nc.jetstream(), workspace)
        finally:
            await nc.close()
        async with httpx.AsyncClient(
            base_url=env["GATEWAY_URL"], headers={"Authorization": f"Bearer {users.admin}"}, timeout=15
        ) as admin:
            tags = {}
            for name, color in TAGS.items():
                created = await admin.post("/v1/tags", json={"name": name, "color": color})
                assert created.status_code == 201, created.text
                tags[name] = created.json()["id"]
            closed = await wait_until_seeded(admin, seeded)
        yield Demo(env["GATEWAY_URL"], stack, users, seeded, tags, closed["summary"])
    finally:
        await asyncio.to_thread(stack.stop)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium driven by Playwright (no browser download: the machine is offline)."""
    expect.set_options(timeout=20_000)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def new_context(browser: Browser) -> AsyncIterator[Callable[..., Awaitable[BrowserContext]]]:
    """Factory of isolated browser sessions (en-GB, Dubai time), optionally already signed in."""
    contexts: list[BrowserContext] = []

    async def make(signed_in_as: str | None = None, **options: Any) -> BrowserContext:
        settings: dict[str, Any] = {
            "viewport": {"width": 1280, "height": 860},
            "locale": "en-GB",
            "timezone_id": TIMEZONE,
            **options,
        }
        context = await browser.new_context(**settings)
        contexts.append(context)
        if signed_in_as is not None:
            # As the sign-in form leaves it: the token in this tab's sessionStorage.
            await context.add_init_script(f"sessionStorage.setItem('cp.token', {json.dumps(signed_in_as)});")
        return context

    yield make
    for context in contexts:
        await context.close()
