"""The dashboard in Arabic, right to left, and axe-core's accessibility checks in both languages.

axe-core comes from the folder `make node-tools` installs into (never a CDN); Playwright injects
its file into the page, which needs the page's script policy bypassed for that one inline script.
"""

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.e2e.harness import CUSTOMER_ROWS, Demo, NewContext, open_page, screenshot_path

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / ".tools" / "node" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


async def in_language(
    new_context: NewContext, demo: Demo, language: str, url: str, as_admin: bool = False, **options: Any
) -> tuple[Page, list[str]]:
    """A signed-in tab at `url` with the dashboard's language chosen (as the switch leaves it)."""
    context = await new_context(signed_in_as=demo.users.admin if as_admin else demo.users.me, **options)
    await context.add_init_script(f"localStorage.setItem('cp.lang', {json.dumps(language)});")
    return await open_page(context, f"{demo.url}/{url}")


async def lang_and_dir(page: Page) -> list[str]:
    """The lang and dir of the page's <html>."""
    result: list[str] = await page.evaluate("[document.documentElement.lang, document.documentElement.dir]")
    return result


async def run_axe(page: Page) -> dict[str, Any]:
    """axe-core's full run over the page as it is now."""
    await page.add_script_tag(path=AXE)
    results: dict[str, Any] = await page.evaluate("() => axe.run(document)")
    return results


async def test_an_arabic_browser_gets_the_grid_in_arabic_right_to_left(
    new_context: NewContext, demo: Demo
) -> None:
    context = await new_context(signed_in_as=demo.users.me, locale="ar-AE")
    page, errors = await open_page(context, f"{demo.url}/#/customers")
    rows = page.locator(CUSTOMER_ROWS)
    await expect(rows).to_have_count(12)
    assert await lang_and_dir(page) == ["ar", "rtl"]
    await expect(page.get_by_role("heading", level=1)).to_have_text("العملاء")
    await expect(page.locator(".page-label")).to_have_text(
        await page.evaluate("`الصفحة ${(1).toLocaleString('ar-AE')} · ${(12).toLocaleString('ar-AE')} عميلًا`")
    )
    # The table reads from the right: the selection column is the rightmost.
    select = await page.locator("th.select").bounding_box()
    customer = await page.locator("th.sortable").first.bounding_box()
    assert select and customer and select["x"] > customer["x"]
    # Dates through Intl in the chosen locale.
    created = rows.first.locator("td time").first
    stamp = await created.get_attribute("datetime")
    expected = await page.evaluate(
        "iso => new Intl.DateTimeFormat('ar-AE', { dateStyle: 'medium' }).format(new Date(iso))", stamp
    )
    await expect(created).to_have_text(expected)
    await page.screenshot(path=screenshot_path("customer-grid-ar.png"), full_page=True)
    assert errors == []


async def test_the_arabic_profile_mirrors_its_layout_icons_and_tab_keys(
    new_context: NewContext, demo: Demo
) -> None:
    page, errors = await in_language(new_context, demo, "ar", f"#/customers/{demo.seeded.layla_id}")
    await expect(page.locator(".header-card .facts")).to_be_visible()
    await expect(page.locator(".profile-card h2")).to_have_text("الملف الشخصي")
    sidebar = await page.locator(".sidebar").bounding_box()
    activity = await page.locator(".activity").bounding_box()
    assert sidebar and activity and sidebar["x"] > activity["x"]
    back_icon = page.locator(".back .icon")
    await expect(back_icon).to_have_css("transform", "matrix(-1, 0, 0, 1, 0, 0)")
    # Right to left, the left arrow moves to the next tab.
    notes = page.locator("#tab-notes")
    await notes.focus()
    await page.keyboard.press("ArrowLeft")
    await expect(page.locator("#tab-conversations")).to_be_focused()
    await expect(page.locator("#tab-conversations")).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#panel-conversations .conversation").first).to_be_visible()
    await page.screenshot(path=screenshot_path("customer-profile-ar.png"), full_page=True)
    assert errors == []


async def test_the_language_switch_is_remembered(new_context: NewContext, demo: Demo) -> None:
    context = await new_context(signed_in_as=demo.users.me)
    page, errors = await open_page(context, f"{demo.url}/#/customers")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    await page.get_by_role("button", name="العربية").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("العملاء")
    await expect(page.get_by_role("button", name="English")).to_be_focused()
    await page.reload()
    await expect(page.get_by_role("heading", level=1)).to_have_text("العملاء")
    assert await lang_and_dir(page) == ["ar", "rtl"]
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    assert await lang_and_dir(page) == ["en", "ltr"]
    assert errors == []


async def grid_view(page: Page) -> None:
    await expect(page.locator(CUSTOMER_ROWS)).to_have_count(12)


async def grid_with_selection(page: Page) -> None:
    await grid_view(page)
    await page.locator(f"{CUSTOMER_ROWS} input[type=checkbox]").first.check()
    await expect(page.locator(".bulk-bar")).to_be_visible()


async def profile_view(page: Page) -> None:
    await expect(page.locator(".header-card .facts")).to_be_visible()
    await expect(page.locator(".ai-card .ai-section").first).to_be_visible()
    await expect(page.locator("#panel-notes .notes-list > *").first).to_be_visible()


async def profile_editing(page: Page) -> None:
    await profile_view(page)
    await page.locator(".profile-card .card-head button").click()
    await expect(page.locator(".fields.editing")).to_be_visible()


async def merge_dialog(page: Page) -> None:
    """The merge dialog with a duplicate found and what moves from it previewed (names vary by language)."""
    await profile_view(page)
    await page.locator(".identity-actions button").first.click()
    dialog = page.get_by_role("dialog")
    await dialog.locator("#merge-search").fill("omar")
    await dialog.get_by_role("radio").first.check()
    await expect(dialog.locator(".merge-preview h3")).to_be_visible()


async def erase_dialog(page: Page) -> None:
    """The erase dialog (admins) with the name typed, so that the confirm button is enabled."""
    await profile_view(page)
    await page.locator(".identity-actions .danger-button").click()
    dialog = page.get_by_role("dialog")
    await dialog.locator("#erase-name").fill("Layla Haddad")
    await expect(dialog.locator(".danger-button")).to_be_enabled()


# Each view: its URL, what makes it ready, and whether an admin (who sees Export and Erase) looks.
VIEWS: dict[str, tuple[str, Callable[[Page], Awaitable[None]], bool]] = {
    "grid": ("#/customers", grid_view, False),
    "grid with a selection": ("#/customers", grid_with_selection, False),
    "profile": ("#/customers/{layla}", profile_view, False),
    "profile while editing": ("#/customers/{layla}", profile_editing, False),
    "profile of an admin": ("#/customers/{layla}", profile_view, True),
    "merge dialog": ("#/customers/{layla}", merge_dialog, False),
    "erase dialog": ("#/customers/{layla}", erase_dialog, True),
}


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("view", list(VIEWS))
async def test_axe_finds_no_serious_or_critical_violation(
    new_context: NewContext, demo: Demo, view: str, language: str
) -> None:
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: `make node-tools` installs it")
    url, ready, as_admin = VIEWS[view]
    page, errors = await in_language(
        new_context, demo, language, url.format(layla=demo.seeded.layla_id), as_admin, bypass_csp=True
    )
    await ready(page)
    results = await run_axe(page)
    found = [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']]}"
        for v in results["violations"]
    ]
    unsure = [i["id"] for i in results["incomplete"]]
    print(
        f"axe {view} [{language}]: {len(results['passes'])} rules passed, "
        f"violations: {found or 'none'}, needs review: {unsure or 'none'}"
    )
    assert [line for line in found if line.startswith(BLOCKING)] == []
    assert errors == []


async def test_the_axe_run_reports_a_violation_planted_in_the_page(
    new_context: NewContext, demo: Demo
) -> None:
    page, _ = await in_language(new_context, demo, "en", "#/customers", bypass_csp=True)
    await grid_view(page)
    # A button with no name: what the check above must catch if the dashboard ever renders one.
    await page.evaluate("document.querySelector('.pager').append(document.createElement('button'))")
    results = await run_axe(page)
    assert {v["id"]: v["impact"] for v in results["violations"]}.get("button-name") == "critical"
