"""What the dashboard's end-to-end tests share: browser settings, the demo stack's users, helpers."""

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect

from deploy.stack import LocalStack
from tests.e2e.seed import Seeded

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Test runs keep their screenshots out of the tree; `make docs` points this at docs/screenshots.
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOTS_DIR") or Path(__file__).resolve().parents[2] / ".run" / "screenshots"
)
TIMEZONE = "Asia/Dubai"
CUSTOMER_ROWS = "table.customers tbody tr"
TAGS = {"VIP": "#7c3aed", "Wholesale": "#fde68a", "Complaint": "#dc2626"}


@dataclass
class Users:
    """Tokens of the staff the tests act as."""

    me: str  # the user driving the browser
    other: str  # another agent, whose changes must show up live
    admin: str  # manages the tag catalog
    secret: str


@dataclass
class Demo:
    """A running, seeded stack."""

    url: str
    stack: LocalStack
    users: Users
    seeded: Seeded
    tags: dict[str, str]  # name → id
    summary: str  # the closed conversation's summary, as the API shows it

    def client(self, bearer: str) -> httpx.AsyncClient:
        """An API client acting as the holder of `bearer`."""
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {bearer}"}, timeout=15)


def require_chromium() -> str:
    """The Chromium executable; fails the test with the fix when it is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: `make install` installs it (apt-get install chromium)"
        )
    return CHROMIUM


def watch_for_page_errors(page: Page) -> list[str]:
    """Collect uncaught script errors, so that a test can assert there were none."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def screenshot_path(name: str) -> str:
    """Where a screenshot for the README goes."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / name)


NewContext = Callable[..., Awaitable[BrowserContext]]


async def open_page(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    """A new tab at `url`, collecting uncaught script errors."""
    page = await context.new_page()
    errors = watch_for_page_errors(page)
    await page.goto(url)
    return page, errors


async def open_profile(
    new_context: NewContext, demo: Demo, customer_id: str, **options: Any
) -> tuple[Page, list[str]]:
    """A signed-in tab on one customer's profile, once its header has rendered."""
    context = await new_context(signed_in_as=demo.users.me, **options)
    page, errors = await open_page(context, f"{demo.url}/#/customers/{customer_id}")
    await expect(page.locator(".header-card .facts")).to_be_visible()
    return page, errors
