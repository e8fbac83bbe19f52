"""Merge, export and erase in the dashboard, in headless Chromium against the whole running system.

The module runs its own seeded stack (the `demo` fixture is per module): these tests merge and
erase the seeded customers.
"""

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.e2e.harness import Demo, screenshot_path, watch_for_page_errors

pytestmark = pytest.mark.e2e

NewContext = Callable[..., Awaitable[BrowserContext]]


async def profile(
    new_context: NewContext, demo: Demo, bearer: str, customer_id: str
) -> tuple[Page, list[str]]:
    """A signed-in tab on a customer's profile, once its header has rendered."""
    context = await new_context(signed_in_as=bearer)
    page = await context.new_page()
    errors = watch_for_page_errors(page)
    await page.goto(f"{demo.url}/#/customers/{customer_id}")
    await expect(page.locator(".header-card .facts")).to_be_visible()
    return page, errors


async def test_merge_finds_the_duplicate_previews_what_moves_and_moves_open_pages(
    new_context: NewContext, demo: Demo
) -> None:
    s = demo.seeded
    page, errors = await profile(new_context, demo, demo.users.me, s.layla_id)
    # Someone else has the duplicate open: it follows the merge to the customer that remains.
    watcher, _ = await profile(new_context, demo, demo.users.other, s.omar_id)

    await page.get_by_role("button", name="Merge with…").click()
    dialog = page.get_by_role("dialog", name="Merge a duplicate into Layla Haddad")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Find the duplicate").fill("omar")
    candidate = dialog.get_by_role("radio", name=re.compile(r"^Omar"))
    await candidate.check()
    preview = dialog.locator(".merge-preview")
    await expect(preview.get_by_role("heading")).to_have_text(
        f"What moves from {s.omar_name} to Layla Haddad"
    )
    await expect(preview).to_contain_text("Instagram omar.k")
    await expect(preview).to_contain_text("0 notes")
    await page.screenshot(path=screenshot_path("customer-merge.png"))
    await dialog.get_by_role("button", name="Merge", exact=True).click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#status")).to_have_text(f"{s.omar_name} was merged into Layla Haddad.")

    # Both identities in the header, without reloading (the live stream refreshes the view).
    links = page.locator(".platform-links .platform-id")
    await expect(links).to_have_text(["+971501234567", "omar.k"])
    await expect(watcher).to_have_url(re.compile(f"#/customers/{s.layla_id}$"))
    await expect(watcher.get_by_role("heading", level=1)).to_have_text("Layla Haddad")
    # A link to the duplicate leads to the customer it became.
    stale = await (await new_context(signed_in_as=demo.users.me)).new_page()
    await stale.goto(f"{demo.url}/#/customers/{s.omar_id}")
    await expect(stale).to_have_url(re.compile(f"#/customers/{s.layla_id}$"))
    await expect(stale.get_by_role("heading", level=1)).to_have_text("Layla Haddad")
    assert errors == []


async def test_export_downloads_everything_for_admins_only(new_context: NewContext, demo: Demo) -> None:
    s = demo.seeded
    agent, _ = await profile(new_context, demo, demo.users.me, s.layla_id)
    actions = agent.get_by_role("group", name="Customer actions")
    await expect(actions.get_by_role("button")).to_have_text(["Merge with…"])

    page, errors = await profile(new_context, demo, demo.users.admin, s.layla_id)
    async with page.expect_download() as started:
        await page.get_by_role("button", name="Export").click()
    download = await started.value
    assert download.suggested_filename == f"customer-{s.layla_id}.json"
    saved = await download.path()
    exported: dict[str, Any] = json.loads(await asyncio.to_thread(saved.read_text))
    assert exported["customer"]["id"] == s.layla_id
    conversations = {c["id"]: c for c in exported["conversations"]}
    closed = conversations[s.closed_conversation]
    assert closed["summary"] == demo.summary
    assert [m["id"] for m in closed["messages"]] == [f"{s.closed_conversation}-m{n}" for n in range(5)]
    assert [e["reason"] for e in exported["escalations"]] == [s.escalation_reason]
    await expect(page.locator("#status")).to_have_text("The export was downloaded.")
    assert errors == []


async def test_erase_asks_for_the_name_then_shows_progress_until_done(
    new_context: NewContext, demo: Demo
) -> None:
    gone = demo.seeded.visitor_ids[5]
    page, errors = await profile(new_context, demo, demo.users.admin, gone)
    watcher, _ = await profile(new_context, demo, demo.users.other, gone)

    await page.get_by_role("button", name="Erase").click()
    dialog = page.get_by_role("dialog", name="Erase Visitor 05")
    confirm = dialog.get_by_role("button", name="Erase everywhere")
    name = dialog.get_by_label("Type the customer's name, Visitor 05, to confirm")
    await expect(confirm).to_be_disabled()
    await name.fill("visitor 05")
    await expect(confirm).to_be_disabled()
    await name.fill("Visitor 05")
    await expect(confirm).to_be_enabled()
    await confirm.click()
    progress = dialog.get_by_role("status")
    await expect(progress).to_have_text(re.compile(r"^Erased everywhere \("))
    await page.screenshot(path=screenshot_path("customer-erased.png"))

    # The other open profile says so.
    await expect(watcher.get_by_role("heading", level=1)).to_have_text("This customer was erased.")
    await dialog.get_by_role("button", name="Back to all customers").click()
    await expect(page).to_have_url(re.compile("#/customers$"))
    await expect(page.locator("table.customers tbody tr").first).to_be_visible()
    await expect(page.get_by_role("link", name="Visitor 05", exact=True)).to_have_count(0)
    assert errors == []
