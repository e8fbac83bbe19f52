"""Daily work on the dashboard (issue 18): deep links, sorting, bulk tags, Arabic and right to left.

Each test opens its own browser session on the module's seeded stack. Orders and contents are
compared with what the API answers, so the tests follow the data rather than copy it.
"""

import re
import uuid
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.e2e.harness import CUSTOMER_ROWS, Demo, NewContext, open_page, screenshot_path

pytestmark = pytest.mark.e2e


async def api_names(demo: Demo, **params: Any) -> list[str]:
    """Names of the grid's first page as the API orders it."""
    async with demo.client(demo.users.me) as api:
        response = await api.get("/v1/customers", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def shown_names(page: Page) -> Any:
    """The names in the grid's rows, as a locator."""
    return page.locator(f"{CUSTOMER_ROWS} .customer-link .name")


async def grid(
    new_context: NewContext, demo: Demo, query: str = "", **options: Any
) -> tuple[Page, list[str]]:
    """A signed-in tab on the grid (with a URL query), once its rows are in."""
    context = await new_context(signed_in_as=demo.users.me, **options)
    page, errors = await open_page(context, f"{demo.url}/#/customers{query}")
    await expect(page.locator(CUSTOMER_ROWS).first).to_be_visible()
    return page, errors


async def test_a_reload_keeps_the_grids_order_page_size_and_page(new_context: NewContext, demo: Demo) -> None:
    by_name = await api_names(demo, sort="name")
    page, errors = await grid(new_context, demo)
    await page.get_by_label("Sort by").select_option("name")
    await page.get_by_label("Rows per page").select_option("10")
    await expect(shown_names(page)).to_have_text(by_name[:10])
    await page.get_by_role("button", name="Next page").click()
    await expect(page).to_have_url(re.compile(r"#/customers\?sort=name&limit=10&cursor=[\w.-]+&page=2$"))

    await page.reload()
    await expect(shown_names(page)).to_have_text(by_name[10:])
    await expect(page.locator(".page-label")).to_have_text(f"Page 2 · {len(by_name) - 10} customers")
    await expect(page.get_by_label("Sort by")).to_have_value("name")
    await expect(page.get_by_label("Rows per page")).to_have_value("10")
    # The way back to page 1 survives the reload too.
    await page.get_by_role("button", name="Previous page").click()
    await expect(shown_names(page)).to_have_text(by_name[:10])
    await expect(page.get_by_role("button", name="Previous page")).to_be_disabled()
    assert errors == []


async def test_back_and_forward_restore_the_grids_filters(new_context: NewContext, demo: Demo) -> None:
    s = demo.seeded
    page, errors = await grid(new_context, demo)
    rows = page.locator(CUSTOMER_ROWS)
    platform = page.get_by_label("Platform")
    await platform.select_option("instagram")
    await expect(rows).to_have_count(1)
    await platform.select_option("whatsapp")
    await expect(shown_names(page)).to_have_text(["Layla Haddad"])

    await page.go_back()
    await expect(platform).to_have_value("instagram")
    await expect(shown_names(page)).to_have_text([s.omar_name])
    await page.go_back()
    await expect(platform).to_have_value("")
    await expect(rows).to_have_count(12)
    await page.go_forward()
    await expect(platform).to_have_value("instagram")
    await expect(shown_names(page)).to_have_text([s.omar_name])
    assert errors == []


async def test_typing_a_search_makes_one_history_entry(new_context: NewContext, demo: Demo) -> None:
    page, errors = await grid(new_context, demo, "?platform=web")
    search = page.get_by_label("Search")
    await search.fill("Visitor")
    await expect(page).to_have_url(re.compile(r"q=Visitor"))
    await search.fill("Visitor 07")
    await expect(page).to_have_url(re.compile(r"q=Visitor\+07"))
    await expect(shown_names(page)).to_have_text(["Visitor 07"])

    await page.go_back()
    await expect(page).to_have_url(re.compile(r"#/customers\?platform=web$"))
    await expect(search).to_have_value("")
    await expect(page.locator(CUSTOMER_ROWS)).to_have_count(10)
    assert errors == []


async def test_a_profiles_open_tab_is_in_the_url(new_context: NewContext, demo: Demo) -> None:
    layla = demo.seeded.layla_id
    context = await new_context(signed_in_as=demo.users.me)
    page, errors = await open_page(context, f"{demo.url}/#/customers/{layla}?tab=escalations")
    escalations = page.get_by_role("tab", name=re.compile(r"^Escalations"))
    conversations = page.get_by_role("tab", name=re.compile(r"^Conversations"))
    await expect(escalations).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#panel-escalations")).to_be_visible()

    await conversations.click()
    await expect(page).to_have_url(re.compile(rf"#/customers/{layla}\?tab=conversations$"))
    await page.reload()
    await expect(conversations).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#panel-conversations .conversation").first).to_be_visible()
    await page.go_back()
    await expect(escalations).to_have_attribute("aria-selected", "true")
    await expect(page.locator("#panel-conversations")).to_be_hidden()
    await page.go_forward()
    await expect(conversations).to_have_attribute("aria-selected", "true")
    assert errors == []


@pytest.mark.parametrize(
    ("header", "clicks", "sort", "aria_sort"),
    [
        ("Customer", 1, "name", "ascending"),
        ("Customer", 2, "-name", "descending"),
        ("Created", 1, "created_at", "ascending"),
        ("Last contact", 1, "-last_contact_at", "descending"),
        ("Last contact", 2, "last_contact_at", "ascending"),
    ],
)
async def test_column_headers_sort_the_grid_as_the_api_orders_it(
    new_context: NewContext, demo: Demo, header: str, clicks: int, sort: str, aria_sort: str
) -> None:
    expected = await api_names(demo, sort=sort)
    page, errors = await grid(new_context, demo)
    button = page.get_by_role("button", name=header, exact=True)
    for _ in range(clicks):
        await button.click()
        await expect(page.locator("th[aria-sort]")).to_have_count(1)
    await expect(page).to_have_url(re.compile(rf"sort={re.escape(sort)}(&|$)"))
    await expect(page.locator("th", has=button)).to_have_attribute("aria-sort", aria_sort)
    await expect(page.get_by_label("Sort by")).to_have_value(sort)
    await expect(shown_names(page)).to_have_text(expected)
    assert errors == []


async def new_tag(demo: Demo) -> tuple[str, str]:
    """A tag no other test uses: (id, name)."""
    name = f"Bulk {uuid.uuid4().hex[:6]}"
    async with demo.client(demo.users.admin) as admin:
        created = await admin.post("/v1/tags", json={"name": name, "color": "#0e7490"})
    assert created.status_code == 201, created.text
    return created.json()["id"], name


async def tag_names_of(demo: Demo, customer_id: str) -> list[str]:
    """The names of a customer's tags, from the API."""
    async with demo.client(demo.users.me) as api:
        view = (await api.get(f"/v1/customers/{customer_id}")).json()
    return [tag["name"] for tag in view["profile"]["tags"]]


async def test_bulk_tags_add_a_tag_to_the_selected_rows(new_context: NewContext, demo: Demo) -> None:
    s = demo.seeded
    tag_id, tag = await new_tag(demo)
    page, errors = await grid(new_context, demo, "?platform=web")
    picked = ["Visitor 01", "Visitor 02", "Visitor 04"]
    for name in picked:
        await page.get_by_role("checkbox", name=f"Select {name}", exact=True).check()
    await expect(page.locator(".bulk-count")).to_have_text("3 customers selected")
    await page.get_by_label("Tag to add or remove").select_option(label=tag)
    await page.screenshot(path=screenshot_path("customer-grid-bulk-tags.png"), full_page=True)
    await page.get_by_role("button", name="Add tag", exact=True).click()

    await expect(page.locator("#status")).to_have_text(f"“{tag}” added to 3 customers.")
    tagged = page.locator(CUSTOMER_ROWS).filter(has=page.locator(".tag", has_text=tag))
    await expect(tagged.locator(".customer-link .name")).to_have_text(sorted(picked, reverse=True))
    await expect(page.locator(".bulk-bar")).to_be_hidden()
    for n in range(10):
        names = await tag_names_of(demo, s.visitor_ids[n])
        assert (tag in names) == (f"Visitor {n:02}" in picked), n
    async with demo.client(demo.users.me) as api:
        history = (await api.get(f"/v1/customers/{s.visitor_ids[1]}/history")).json()["items"]
    assert history[0]["actor"]["name"] == "Amira Staff"
    assert tag_id in history[0]["changes"]["tag_ids"]["new"]
    assert errors == []


async def test_bulk_tags_take_a_tag_off_every_row_of_the_page(new_context: NewContext, demo: Demo) -> None:
    s = demo.seeded
    tag_id, tag = await new_tag(demo)
    async with demo.client(demo.users.me) as api:
        given = await api.post(
            "/v1/customers/bulk-tags", json={"customer_ids": s.visitor_ids[5:8], "add": [tag_id]}
        )
    assert given.status_code == 200, given.text
    page, errors = await grid(new_context, demo, f"?tag={tag_id}")
    await expect(page.locator(CUSTOMER_ROWS)).to_have_count(3)
    await page.get_by_role("checkbox", name="Select every customer on this page").check()
    await expect(page.locator(".bulk-count")).to_have_text("3 customers selected")
    await page.get_by_label("Tag to add or remove").select_option(label=tag)
    await page.get_by_role("button", name="Remove tag", exact=True).click()

    await expect(page.locator(".grid-message")).to_have_text("No customers match.")
    for customer in s.visitor_ids[5:8]:
        assert tag not in await tag_names_of(demo, customer)
    assert errors == []
