"""What the dashboard's end-to-end tests share: browser settings, the demo stack's users, helpers."""

import os
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page

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
