"""Merging duplicate customers through the gateway, on every real service (CONTRACT.md §7)."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.insights.repository import analyses_of, stored_profile
from services.insights.service import rebuild_profile
from tests.gateway import identity_support as people
from tests.gateway.identity_support import T0, Person, System, problem, publish_person, settled
from tests.support import auth, new_workspace, publish_event


async def _two_customers(system: System) -> tuple[Person, Person]:
    """Layla (WhatsApp, the target) and Dana (Instagram, the source), each fully analysed; Dana
    has a note, an email and a tag, Layla a language."""
    ws, client = system.workspace, system.client
    target, source = people.layla(ws), people.dana(ws)
    await publish_person(system.js, target, T0 + timedelta(days=1))
    await publish_person(system.js, source, T0)
    for person in (target, source):
        await system.view_when(person.id, settled(person), f"{person.name} analysed")
    admin = auth(ws, role="admin")
    tag = (await client.post("/v1/tags", json={"name": "VIP", "color": "#AA0000"}, headers=admin)).json()
    edits = {
        source.id: {"email": "dana@example.com", "language": "en", "tag_ids": [tag["id"]]},
        target.id: {"language": "ar"},
    }
    for customer, edit in edits.items():
        assert (await client.patch(f"/v1/customers/{customer}", json=edit, headers=admin)).status_code == 200
    note = await client.post(
        f"/v1/customers/{source.id}/notes", json={"text": "Prefers Instagram"}, headers=admin
    )
    assert note.status_code == 201
    return target, source


def _both(target: Person, source: Person) -> Callable[[dict[str, Any]], bool]:
    """Whether the target's view counts both customers' notes, conversations and analyses."""
    conversations = len(target.conversations) + len(source.conversations)
    escalations = len(target.escalations) + len(source.escalations)
    return lambda view: (
        view["counts"] == {"notes": 1, "conversations": conversations, "escalations": escalations}
        and view["header"]["sentiment"]["conversations"] == conversations
    )


async def test_the_target_holds_both_customers_after_a_merge(system: System) -> None:
    target, source = await _two_customers(system)
    ws, client = system.workspace, system.client
    answered = await system.merge(target, source)
    assert answered["id"] == target.id
    view = await system.view_when(target.id, _both(target, source), "counts added up")

    header, profile = view["header"], view["profile"]
    assert [(p["platform"], p["platform_user_id"]) for p in header["platforms"]] == [
        ("whatsapp", target.user),
        ("instagram", source.user),
    ]
    assert header["instagram"]["username"] == source.user
    assert datetime.fromisoformat(header["created_at"]) == T0  # the source's, the earlier
    assert (profile["phone"], profile["email"], profile["language"]) == (
        target.user,
        "dana@example.com",
        "ar",
    )
    assert [tag["name"] for tag in profile["tags"]] == ["VIP"]
    assert view["ai_profile"] is not None
    # The AI profile is the one analysing all three conversations builds.
    async with system.pool("insights").acquire() as conn:
        analyses = await analyses_of(conn, ws, target.id)
        stored = await stored_profile(conn, ws, target.id)
    assert {conversation for conversation, _, _ in analyses.facts} == {
        *target.conversations,
        *source.conversations,
    }
    assert stored == rebuild_profile(analyses.facts)

    listed = await client.get(f"/v1/customers/{target.id}/conversations", headers=auth(ws))
    assert {c["id"] for c in listed.json()["items"]} == {*target.conversations, *source.conversations}
    notes = await client.get(f"/v1/customers/{target.id}/notes", headers=auth(ws))
    assert [n["text"] for day in notes.json()["days"] for n in day["notes"]] == ["Prefers Instagram"]
    history = (await client.get(f"/v1/customers/{target.id}/history", headers=auth(ws))).json()
    merge_entry = history["items"][0]
    assert merge_entry["changes"]["merged_from"] == {"old": None, "new": source.id}
    assert merge_entry["changes"]["email"] == {"old": None, "new": "dana@example.com"}
    assert merge_entry["version"] == view["profile"]["version"]

    grid = (await client.get("/v1/customers", headers=auth(ws))).json()["items"]
    assert [(item["id"], item["platforms"]) for item in grid] == [(target.id, ["whatsapp", "instagram"])]
    for query in ({"q": "dana.k"}, {"platform": "instagram"}):
        found = (await client.get("/v1/customers", params=query, headers=auth(ws))).json()
        assert [item["id"] for item in found["items"]] == [target.id], query


async def test_the_source_answers_404_with_merged_into_on_every_route(system: System) -> None:
    target, source = await _two_customers(system)
    await system.merge(target, source)
    await system.view_when(target.id, _both(target, source), "every service applied the merge")
    admin = auth(system.workspace, role="admin")
    gone = f"/v1/customers/{source.id}"
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", gone, None),
        ("PATCH", gone, {"location": "Dubai"}),
        ("DELETE", gone, None),
        ("GET", f"{gone}/history", None),
        ("GET", f"{gone}/notes", None),
        ("POST", f"{gone}/notes", {"text": "too late"}),
        ("DELETE", f"{gone}/notes/{target.id}", None),
        ("GET", f"{gone}/conversations", None),
        ("GET", f"{gone}/escalations", None),
        ("GET", f"{gone}/events", None),
        ("GET", f"{gone}/export", None),
        ("POST", f"{gone}/merge", {"source_id": target.id}),
    ]
    for method, path, body in routes:
        response = await system.client.request(method, path, json=body, headers=admin)
        assert problem(response, 404).get("merged_into") == target.id, f"{method} {path}: {response.text}"
    context = await system.agent_context(source)
    assert context.status_code == 200 and context.json()["customer_id"] == target.id


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("again", 200),
        ("itself", 422),
        ("unknown", 404),
        ("other workspace", 404),
        ("into the merged one", 404),
    ],
)
async def test_merge_requests_that_change_nothing(system: System, case: str, status: int) -> None:
    ws = system.workspace
    target, source, stranger = people.layla(ws), people.dana(ws), people.dana(new_workspace())
    await system.introduce(target, source, stranger)
    await system.merge(target, source)
    before = (await system.view(target.id)).json()
    into, merged = {
        "again": (target.id, source.id),
        "itself": (target.id, target.id),
        "unknown": (target.id, "5d0c8c43-0000-4000-8000-000000000000"),
        "other workspace": (target.id, stranger.id),
        "into the merged one": (source.id, target.id),
    }[case]
    response = await system.client.post(
        f"/v1/customers/{into}/merge", json={"source_id": merged}, headers=auth(ws)
    )
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["profile"]["version"] == before["profile"]["version"]
    else:
        problem(response, status)
    assert (await system.view(target.id)).json()["profile"] == before["profile"]


async def test_events_of_the_sources_identity_apply_to_the_target_whenever_they_come(system: System) -> None:
    ws = system.workspace
    target, source = people.layla(ws), people.dana(ws)
    await system.introduce(target, source, at=T0 + timedelta(days=1))
    await system.merge(target, source)
    # One conversation new, one replayed from before the merge (and before either customer existed).
    for conversation_id, at in (("ig-new", T0 + timedelta(days=2)), ("ig-old", T0)):
        await publish_event(
            system.js, ws, "conversation.started", source.event(at, conversation_id=conversation_id)
        )
    renamed = source.event(T0 + timedelta(days=3), display_name="Dana Khan")
    await publish_event(system.js, ws, "contact.seen", renamed)
    view = await system.view_when(
        target.id, lambda v: v["counts"]["conversations"] == 2, "both conversations"
    )
    assert view["header"]["name"] == "Dana Khan"  # the newest display name of either identity
    assert datetime.fromisoformat(view["header"]["created_at"]) == T0
    problem(await system.view(source.id), 404)


async def test_a_chain_of_merges_ends_at_the_last_target(system: System) -> None:
    ws = system.workspace
    first, second, last = (
        Person(ws, "web", f"visitor-{n}", f"Visitor {n}", {f"c{n}": [("customer", f"hello {n}")]})
        for n in range(3)
    )
    for person in (first, second, last):
        await publish_person(system.js, person)
        await system.view_when(person.id, lambda v: v["counts"]["conversations"] == 1, person.name)
    await system.merge(second, first)
    await system.merge(last, second)
    await system.view_when(last.id, lambda v: v["counts"]["conversations"] == 3, "all three under the last")
    for gone in (first, second):
        assert problem(await system.view(gone.id), 404)["merged_into"] == last.id
        assert (await system.agent_context(gone)).json()["customer_id"] == last.id
    # A late event of the first identity goes to the last customer.
    await publish_event(system.js, ws, "conversation.started", first.event(T0, conversation_id="late"))
    await system.view_when(last.id, lambda v: v["counts"]["conversations"] == 4, "late event applied")


async def test_an_open_profile_of_the_source_is_told_where_it_went(system: System) -> None:
    ws = system.workspace
    target, source = people.layla(ws), people.dana(ws)
    await system.introduce(target, source)
    await system.view(source.id)  # its parts are cached now
    listener, seen = await system.listen(source.id)
    await system.merge(target, source)
    # The stream ends by itself after the final event.
    await asyncio.wait_for(listener, 15)
    assert [(e["type"], e.get("final")) for e in seen] == [("profile.customer.merged", True)]
    assert seen[0]["customer_id"] == source.id and seen[0]["data"]["customer_id"] == target.id
    # Its parts were cached before the merge: none of them is shown again.
    problem(await system.view(source.id), 404)
