"""The dashboard in headless Chromium against the whole running system (issue 8).

Each test opens its own browser session on the module's seeded stack and drives the page as a
user would: through labels, roles and the keyboard.
"""

import asyncio
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, Route, expect

from tests.e2e.harness import (
    CUSTOMER_ROWS,
    TIMEZONE,
    Demo,
    NewContext,
    open_page,
    open_profile,
    screenshot_path,
)
from tests.support import token, wait_for

pytestmark = pytest.mark.e2e


def note_item(page: Page, text: str) -> Any:
    """The note whose text contains `text`."""
    return page.locator(".note").filter(has=page.locator(".note-text", has_text=text))


async def test_grid_searches_filters_pages_and_opens_profiles(new_context: NewContext, demo: Demo) -> None:
    s = demo.seeded
    async with demo.client(demo.users.admin) as admin:
        tagged = await admin.patch(
            f"/v1/customers/{s.visitor_ids[3]}", json={"tag_ids": [demo.tags["Wholesale"]]}
        )
        assert tagged.status_code == 200, tagged.text
    context = await new_context(signed_in_as=demo.users.me)
    page, errors = await open_page(context, f"{demo.url}/")

    rows = page.locator(CUSTOMER_ROWS)
    await expect(rows).to_have_count(12)
    await expect(page.locator(".page-label")).to_have_text("Page 1 · 12 customers")
    # A name holding markup is shown as text, never run.
    await expect(page.get_by_role("link", name=s.omar_name, exact=True)).to_be_visible()
    assert await page.evaluate("window.__xss") is None
    visitor_row = rows.filter(has_text="Visitor 03")
    await expect(visitor_row.locator(".tag")).to_have_text("Wholesale")
    await page.screenshot(path=screenshot_path("customer-grid.png"), full_page=True)

    # The Instagram customer's header: username, followers, follow status; the name still inert.
    await page.get_by_role("link", name=s.omar_name, exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(s.omar_name)
    await expect(page.locator(".instagram")).to_have_text("@omar.k · 1,200 followers · Follows your account")
    assert await page.evaluate("window.__xss") is None
    await page.get_by_role("link", name="All customers").click()
    await expect(rows).to_have_count(12)

    await page.get_by_label("Search").fill("Layla")
    await expect(rows).to_have_count(1)
    await expect(rows.first.get_by_role("link")).to_have_accessible_name(re.compile(r"^Layla"))
    await page.get_by_label("Search").fill("")
    await expect(rows).to_have_count(12)

    await page.get_by_label("Platform").select_option("instagram")
    await expect(rows).to_have_count(1)
    await expect(rows.first.get_by_role("link")).to_have_accessible_name(s.omar_name)
    await page.get_by_label("Platform").select_option("")

    await page.get_by_label("Tag").select_option(label="Wholesale")
    await expect(rows).to_have_count(1)
    await expect(rows.first.get_by_role("link")).to_have_accessible_name("Visitor 03")
    await page.get_by_label("Tag").select_option("")

    await page.get_by_label("Rows per page").select_option("10")
    await expect(rows).to_have_count(10)
    first_page = await rows.locator(".customer-link .name").all_text_contents()
    await page.get_by_role("button", name="Next page").click()
    await expect(rows).to_have_count(2)
    await expect(page.locator(".page-label")).to_have_text("Page 2 · 2 customers")
    await expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    second_page = await rows.locator(".customer-link .name").all_text_contents()
    assert not set(first_page) & set(second_page)
    assert len(set(first_page) | set(second_page)) == 12

    # A name opens the profile; the way back keeps the page the user was on.
    await rows.first.get_by_role("link").click()
    name = second_page[0]
    await expect(page.get_by_role("heading", level=1)).to_have_text(name)
    assert re.search(r"#/customers/[0-9a-f-]{36}$", page.url)
    await page.get_by_role("link", name="All customers").click()
    await expect(page.locator(".page-label")).to_have_text("Page 2 · 2 customers")
    await page.get_by_role("button", name="Previous page").click()
    await expect(rows).to_have_count(10)
    assert errors == []


async def test_profile_fields_are_edited_in_place_and_saved(new_context: NewContext, demo: Demo) -> None:
    s = demo.seeded
    page, errors = await open_profile(new_context, demo, s.layla_id)
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text("Layla Haddad")
    # The header: the platform icon opens the chat; created date; average sentiment.
    chat = page.get_by_role("link", name="Open WhatsApp chat (+971501234567)")
    await expect(chat).to_have_attribute("href", f"{demo.url}/chats/whatsapp/%2B971501234567")
    await expect(page.locator(".avg-sentiment")).to_contain_text(
        re.compile(r"(Positive|Neutral|Negative) \([+-]?\d")
    )

    edit = page.get_by_role("button", name="Edit profile")
    await edit.click()
    await expect(page.get_by_role("button", name="Done editing")).to_have_attribute("aria-pressed", "true")
    name = page.get_by_label("Name", exact=True)
    await expect(name).to_be_focused()

    await name.fill("Layla H. Haddad")
    await name.press("Enter")
    await expect(page.locator("#field-name-status")).to_have_text("Saved")
    await expect(heading).to_have_text("Layla H. Haddad")

    # A phone number the server rejects: its own message, at the field.
    async with demo.client(demo.users.me) as api:
        refused = await api.patch(f"/v1/customers/{s.layla_id}", json={"phone": "12345"})
    assert refused.status_code == 422
    message = next(e["message"] for e in refused.json()["errors"] if e["field"] == "phone")
    phone = page.get_by_label("Phone")
    await phone.fill("12345")
    await phone.press("Tab")
    await expect(page.locator("#field-phone-error")).to_have_text(message)
    await expect(phone).to_have_attribute("aria-invalid", "true")
    await expect(phone).to_have_accessible_description(re.compile(re.escape(message)))
    await page.screenshot(path=screenshot_path("customer-profile-editing.png"), full_page=True)

    await phone.fill("+971 50 765 4321")
    await phone.press("Enter")
    await expect(phone).to_have_value("+971507654321")  # stored as E.164
    await expect(page.locator("#field-phone-error")).to_have_text("")
    await expect(phone).not_to_have_attribute("aria-invalid", "true")

    email = page.get_by_label("Email")
    await email.fill("Layla@Example.COM")
    await email.press("Enter")
    await expect(email).to_have_value("Layla@example.com")

    await page.get_by_label("Language").select_option("ar")
    await expect(page.locator("#field-language-status")).to_have_text("Saved")
    await page.get_by_label("Country").select_option("AE")
    await expect(page.locator("#field-country-status")).to_have_text("Saved")

    location = page.get_by_label("Location")
    await location.fill("Dubai Marina")
    await location.press("Enter")
    await expect(page.locator("#field-location-status")).to_have_text("Saved")

    # Tags: checkboxes in the tag's colour, toggled from the keyboard.
    vip = page.get_by_role("checkbox", name="VIP")
    await vip.press(" ")
    await expect(vip).to_be_checked()
    await expect(page.locator("#field-tags-status")).to_have_text("Saved")
    await page.get_by_role("checkbox", name="Wholesale").press(" ")
    await expect(page.locator("#field-tags-status")).to_have_text("Saved")

    # The counter counts code points as the server does: "𝟐" is one character (two UTF-16 units).
    instructions = page.get_by_label("Agent instructions")
    text = "Keep replies short and warm — she prefers Arabic, at most 𝟐 lines."
    await instructions.fill(text)
    await expect(page.locator("#field-agent_instructions-count")).to_have_text(f"{len(text)} / 2,000")
    await instructions.press("Tab")
    await expect(page.locator("#field-agent_instructions-status")).to_have_text("Saved")

    async with demo.client(demo.users.me) as api:
        stored = (await api.get(f"/v1/customers/{s.layla_id}")).json()["profile"]
    assert {k: stored[k] for k in ("name", "phone", "email", "language", "country", "location")} == {
        "name": "Layla H. Haddad",
        "phone": "+971507654321",
        "email": "Layla@example.com",
        "language": "ar",
        "country": "AE",
        "location": "Dubai Marina",
    }
    assert sorted(t["name"] for t in stored["tags"]) == ["VIP", "Wholesale"]
    assert stored["agent_instructions"] == text

    # Back to reading: names from the reference lists, chips readable on their colour.
    await page.get_by_role("button", name="Done editing").click()
    card = page.locator(".profile-card")
    await expect(card.locator(".row-language dd")).to_have_text("Arabic (ar)")
    await expect(card.locator(".row-country dd")).to_have_text("United Arab Emirates (AE)")
    vip_chip = card.locator(".row-tags .tag", has_text="VIP")
    await expect(vip_chip).to_have_css("background-color", "rgb(124, 58, 237)")
    await expect(vip_chip).to_have_css("color", "rgb(255, 255, 255)")
    await expect(card.locator(".row-tags .tag", has_text="Wholesale")).to_have_css("color", "rgb(17, 17, 17)")

    # Another user's edit shows without a reload.
    async with demo.client(demo.users.other) as other:
        moved = await other.patch(f"/v1/customers/{s.layla_id}", json={"location": "Jumeirah"})
        assert moved.status_code == 200, moved.text
    await expect(card.locator(".row-location dd")).to_have_text("Jumeirah")

    # The change history names who changed what.
    await page.get_by_text("Change history").click()
    await expect(page.locator(".history-list li").first).to_contain_text("Sam Other")
    await expect(page.locator(".history-list")).to_contain_text("Location: Dubai Marina → Jumeirah")
    assert errors == []


async def test_notes_added_with_ctrl_enter_deleted_and_seen_live(new_context: NewContext, demo: Demo) -> None:
    s = demo.seeded
    page, errors = await open_profile(new_context, demo, s.layla_id)
    notes_tab = page.get_by_role("tab", name=re.compile(r"^Notes"))
    await expect(notes_tab).to_have_attribute("aria-selected", "true")

    text = "Called about order #1042 <b>not bold</b> <script>window.__xss = 2</script>"
    box = page.get_by_label("Add a note")
    await box.fill(text)
    await expect(page.locator("#note-count")).to_have_text(f"{len(text)} / 2,000")
    await box.press("Control+Enter")

    mine = note_item(page, "Called about order #1042")
    await expect(mine).to_have_count(1)
    await expect(mine.locator(".note-text")).to_have_text(text)
    await expect(mine.locator(".author")).to_have_text("Amira Staff")
    await expect(page.locator(".note-day", has=mine).get_by_role("heading")).to_have_text("Today")
    await expect(box).to_have_value("")
    assert await page.evaluate("window.__xss") is None

    async with demo.client(demo.users.me) as api:
        listed = (await api.get(f"/v1/customers/{s.layla_id}/notes", params={"tz": TIMEZONE})).json()
    assert listed["days"][0]["date"] == datetime.now(ZoneInfo(TIMEZONE)).date().isoformat()
    assert [n["text"] for d in listed["days"] for n in d["notes"]] == [text]

    # Only one's own notes can be deleted; deleting asks once, in place.
    await mine.get_by_role("button", name=re.compile(r"^Delete your note")).click()
    await mine.get_by_role("button", name="Delete note", exact=True).click()
    await expect(mine).to_have_count(0)
    await expect(box).to_be_focused()
    async with demo.client(demo.users.me) as api:
        listed = (await api.get(f"/v1/customers/{s.layla_id}/notes")).json()
    assert listed["days"] == []

    # Another user's note appears without a reload, without a delete button.
    await expect(page.locator(".live-status")).to_have_attribute("data-state", "live")
    async with demo.client(demo.users.other) as other:
        posted = await other.post(
            f"/v1/customers/{s.layla_id}/notes", json={"text": "Sam here: refund approved."}
        )
        assert posted.status_code == 201, posted.text
    theirs = note_item(page, "Sam here: refund approved.")
    await expect(theirs).to_have_count(1)
    await expect(theirs.locator(".author")).to_have_text("Sam Other")
    await expect(theirs.get_by_role("button")).to_have_count(0)
    await expect(notes_tab).to_contain_text("1")
    assert errors == []


async def test_conversations_and_escalations_tabs(new_context: NewContext, demo: Demo) -> None:
    s = demo.seeded
    page, errors = await open_profile(new_context, demo, s.layla_id)

    # Tabs work from the keyboard: arrows move between them.
    notes_tab = page.get_by_role("tab", name=re.compile(r"^Notes"))
    await notes_tab.focus()
    await page.keyboard.press("ArrowRight")
    conversations_tab = page.get_by_role("tab", name=re.compile(r"^Conversations"))
    await expect(conversations_tab).to_be_focused()
    await expect(conversations_tab).to_have_attribute("aria-selected", "true")
    await expect(conversations_tab).to_contain_text("2")

    closed = page.locator(f'[data-conversation-id="{s.closed_conversation}"]')
    await expect(closed.locator(".summary")).to_have_text(demo.summary)
    await expect(closed.locator(".sentiment")).to_have_text(re.compile(r"(Positive|Neutral|Negative)$"))
    await expect(closed.locator(".resolution")).to_contain_text(f"Resolved by {s.resolver}")
    async with demo.client(demo.users.me) as api:
        listed = (await api.get(f"/v1/customers/{s.layla_id}/conversations")).json()["items"]
    api_closed = next(c for c in listed if c["id"] == s.closed_conversation)
    await expect(closed.locator(".topic")).to_have_text(api_closed["topics"])
    active = page.locator(f'[data-conversation-id="{s.active_conversation}"]')
    await expect(active.locator(".badge.active")).to_have_text("Active")
    open_link = closed.get_by_role("link", name=re.compile(r"^Open"))
    await expect(open_link).to_have_attribute("href", demo.url + api_closed["chat_url"])

    await page.keyboard.press("ArrowRight")
    escalations_tab = page.get_by_role("tab", name=re.compile(r"^Escalations"))
    await expect(escalations_tab).to_have_attribute("aria-selected", "true")
    row = page.locator("table.escalations tbody tr")
    await expect(row).to_have_count(1)
    await expect(row.locator('[data-label="Reason"]')).to_have_text(s.escalation_reason)
    await expect(row.locator('[data-label="Handled by"]')).to_contain_text(s.resolver)
    await expect(row.locator('[data-label="Platform"]')).to_have_text("WhatsApp")

    await conversations_tab.click()
    await page.screenshot(path=screenshot_path("customer-profile.png"), full_page=True)
    await page.set_viewport_size({"width": 420, "height": 900})
    # Narrow screens: the sidebar stacks above the tabs.
    sidebar = await page.locator(".sidebar").bounding_box()
    tabs = await page.locator(".activity").bounding_box()
    assert sidebar and tabs and tabs["y"] >= sidebar["y"] + sidebar["height"]
    await page.screenshot(path=screenshot_path("customer-profile-narrow.png"), full_page=True)

    # "Open" leads to the chat (the Chats page itself is out of scope: a placeholder names it).
    await open_link.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Chats")
    await expect(page.locator("dl")).to_contain_text("+971501234567")
    assert errors == []


async def test_a_stale_edit_is_refused_and_the_latest_version_shown(
    new_context: NewContext, demo: Demo
) -> None:
    s = demo.seeded
    context = await new_context(signed_in_as=demo.users.me)

    async def no_live_updates(route: Route) -> None:
        await route.abort()

    # Without the event stream the page cannot learn of the other edit before its own save.
    await context.route(re.compile(r"/events\?"), no_live_updates)
    customer = s.visitor_ids[7]
    page, errors = await open_page(context, f"{demo.url}/#/customers/{customer}")
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text("Visitor 07")
    await page.get_by_role("button", name="Edit profile").click()

    async with demo.client(demo.users.other) as other:
        renamed = await other.patch(f"/v1/customers/{customer}", json={"name": "Visitor Seven"})
        assert renamed.status_code == 200, renamed.text
    location = page.get_by_label("Location")
    await location.fill("Abu Dhabi")
    await location.press("Enter")
    await expect(page.locator("#field-location-error")).to_contain_text("Someone else changed this profile")
    await expect(heading).to_have_text("Visitor Seven")
    await expect(page.get_by_label("Name", exact=True)).to_have_value("Visitor Seven")
    await expect(location).to_have_value("")
    async with demo.client(demo.users.me) as api:
        assert (await api.get(f"/v1/customers/{customer}")).json()["profile"]["location"] is None

    # With the latest version loaded, the same edit goes through.
    await location.fill("Abu Dhabi")
    await location.press("Enter")
    await expect(page.locator("#field-location-status")).to_have_text("Saved")
    await expect(page.locator("#field-location-error")).to_have_text("")
    assert errors == []


async def test_sign_in_sign_out_and_expired_sessions(new_context: NewContext, demo: Demo) -> None:
    s = demo.seeded
    context = await new_context()
    page, errors = await open_page(context, f"{demo.url}/#/customers/{s.layla_id}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    field = page.get_by_label("Access token")
    button = page.get_by_role("button", name="Sign in")

    await field.fill("not a token")
    await button.click()
    await expect(page.locator("#token-error")).to_contain_text("does not look like an access token")
    forged = token(s.workspace, secret="not-the-secret-of-this-stack-0123456789")
    await field.fill(forged)
    await button.click()
    await expect(page.locator("#token-error")).to_contain_text("did not accept this token")

    await field.fill(demo.users.me)
    await button.click()
    # Back where the user was going, signed in for this tab only.
    await expect(page.locator(".header-card .facts")).to_be_visible()
    assert page.url.endswith(f"#/customers/{s.layla_id}")
    await expect(page.locator(".account")).to_contain_text("Signed in as Amira Staff")
    assert await page.evaluate("sessionStorage.getItem('cp.token')") == demo.users.me

    await page.get_by_role("link", name="Sign out").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    await expect(page.get_by_text("You have signed out.")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('cp.token')") is None

    # A token the gateway stops accepting (401) returns to sign-in.
    await page.evaluate("token => sessionStorage.setItem('cp.token', token)", forged)
    await page.evaluate("location.hash = '#/customers'")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    await expect(page.get_by_text("Your session has ended")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('cp.token')") is None
    assert errors == []


async def test_sections_of_a_silent_service_show_a_quiet_notice(new_context: NewContext, demo: Demo) -> None:
    s = demo.seeded
    silent = ("notes", "insights")
    for name in silent:
        await asyncio.to_thread(demo.stack.processes[name].stop)
    try:
        page, errors = await open_profile(new_context, demo, s.visitor_ids[5])
        await expect(page.get_by_role("heading", level=1)).to_have_text("Visitor 05")
        await expect(page.locator(".ai-card .notice p")).to_have_text(
            "The AI profile is unavailable right now."
        )
        await expect(page.locator(".avg-sentiment")).to_have_text("Unavailable right now")
        notes_notice = page.locator("#panel-notes .notice")
        await expect(notes_notice).to_contain_text("Notes are unavailable right now.")
        await expect(page.locator("#tab-notes .count")).to_be_hidden()
        # The rest of the page works as usual.
        await expect(page.locator(".profile-card .row-name dd")).to_have_text("Visitor 05")
        await expect(page.locator("#tab-conversations .count")).to_have_text("0")
        await expect(page.get_by_role("button", name="Edit profile")).to_be_enabled()
    finally:
        for name in silent:
            demo.stack.processes[name].start()

    async with demo.client(demo.users.me) as api:

        async def ready() -> bool:
            return (await api.get("/readyz")).status_code == 200

        await wait_for(ready, timeout=60, interval=0.2, what="notes and insights back")
    await notes_notice.get_by_role("button", name="Try again").click()
    await expect(page.locator("#panel-notes .empty")).to_contain_text("No notes yet")
    assert errors == []
