"""Merging duplicate customers through the gateway, on every real service (CONTRACT.md §7)."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from nats.js import JetStreamContext

from services.insights.repository import analyses_of, stored_profile
from services.insights.service import rebuild_profile
from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.gateway.identity_support import (
    T0,
    Person,
    dana,
    layla,
    problem,
    publish_person,
    settled,
    view_of,
    view_when,
)
from tests.support import auth, new_workspace, publish_event

GatewayStarter = Callable[..., Awaitable[RunningGateway]]
AllStarter = Callable[..., Awaitable[dict[str, ServiceRuntime]]]


async def _two_customers(
    start_all_services: AllStarter, start_gateway: GatewayStarter, js: JetStreamContext
) -> tuple[dict[str, ServiceRuntime], RunningGateway, Person, Person]:
    """Layla (WhatsApp, the target) and Dana (Instagram, the source), each fully analysed; Dana
    has a note, an email and a tag, Layla a language."""
    runtimes = await start_all_services()
    gateway = await start_gateway()
    ws = new_workspace()
    target, source = layla(ws), dana(ws)
    await publish_person(js, target, T0 + timedelta(days=1))
    await publish_person(js, source, T0)
    for person in (target, source):
        await view_when(gateway.client, ws, person.id, settled(person), f"{person.name} analysed")
    client, admin = gateway.client, auth(ws, role="admin")
    tag = (await client.post("/v1/tags", json={"name": "VIP", "color": "#AA0000"}, headers=admin)).json()
    edit = {"email": "dana@example.com", "language": "en", "tag_ids": [tag["id"]]}
    assert (await client.patch(f"/v1/customers/{source.id}", json=edit, headers=auth(ws))).status_code == 200
    assert (
        await client.patch(f"/v1/customers/{target.id}", json={"language": "ar"}, headers=auth(ws))
    ).is_success
    note = await client.post(
        f"/v1/customers/{source.id}/notes", json={"text": "Prefers Instagram"}, headers=auth(ws)
    )
    assert note.status_code == 201
    return runtimes, gateway, target, source


async def _merge(gateway: RunningGateway, target: Person, source: Person) -> dict[str, Any]:
    response = await gateway.client.post(
        f"/v1/customers/{target.id}/merge", json={"source_id": source.id}, headers=auth(target.workspace)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _both(target: Person, source: Person) -> Callable[[dict[str, Any]], bool]:
    """Whether the target's view counts both customers' notes, conversations and analyses."""
    conversations = len(target.conversations) + len(source.conversations)
    return lambda view: (
        view["counts"]
        == {
            "notes": 1,
            "conversations": conversations,
            "escalations": len(target.escalations) + len(source.escalations),
        }
        and view["header"]["sentiment"]["conversations"] == conversations
    )


async def test_the_target_holds_both_customers_after_a_merge(
    start_all_services: AllStarter, start_gateway: GatewayStarter, js: JetStreamContext
) -> None:
    runtimes, gateway, target, source = await _two_customers(start_all_services, start_gateway, js)
    ws = target.workspace
    answered = await _merge(gateway, target, source)
    assert answered["id"] == target.id
    view = await view_when(gateway.client, ws, target.id, _both(target, source), "counts added up")

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
    insights = runtimes["insights"].pool
    assert insights is not None
    async with insights.acquire() as conn:
        analyses = await analyses_of(conn, ws, target.id)
        stored = await stored_profile(conn, ws, target.id)
    assert {conversation for conversation, _, _ in analyses.facts} == {
        *target.conversations,
        *source.conversations,
    }
    assert stored == rebuild_profile(analyses.facts)

    listed = await gateway.client.get(f"/v1/customers/{target.id}/conversations", headers=auth(ws))
    assert {c["id"] for c in listed.json()["items"]} == {*target.conversations, *source.conversations}
    notes = await gateway.client.get(f"/v1/customers/{target.id}/notes", headers=auth(ws))
    assert [n["text"] for day in notes.json()["days"] for n in day["notes"]] == ["Prefers Instagram"]
    history = (await gateway.client.get(f"/v1/customers/{target.id}/history", headers=auth(ws))).json()
    merge_entry = history["items"][0]
    assert merge_entry["changes"]["merged_from"] == {"old": None, "new": source.id}
    assert merge_entry["changes"]["email"] == {"old": None, "new": "dana@example.com"}
    assert merge_entry["version"] == view["profile"]["version"]

    grid = (await gateway.client.get("/v1/customers", headers=auth(ws))).json()["items"]
    assert [(item["id"], item["platforms"]) for item in grid] == [(target.id, ["whatsapp", "instagram"])]
    found = (await gateway.client.get("/v1/customers", params={"q": "dana.k"}, headers=auth(ws))).json()
    assert [item["id"] for item in found["items"]] == [target.id]
    by_platform = await gateway.client.get(
        "/v1/customers", params={"platform": "instagram"}, headers=auth(ws)
    )
    assert [item["id"] for item in by_platform.json()["items"]] == [target.id]


async def test_the_source_answers_404_with_merged_into_on_every_route(
    start_all_services: AllStarter, start_gateway: GatewayStarter, js: JetStreamContext
) -> None:
    _, gateway, target, source = await _two_customers(start_all_services, start_gateway, js)
    ws, client = target.workspace, gateway.client
    await _merge(gateway, target, source)
    await view_when(client, ws, target.id, _both(target, source), "every service applied the merge")
    admin = auth(ws, role="admin")
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
        response = await client.request(method, path, json=body, headers=admin)
        assert problem(response, 404).get("merged_into") == target.id, f"{method} {path}: {response.text}"

    context = await client.get(
        "/v1/agent-context",
        params={"platform": source.platform, "platform_user_id": source.user},
        headers=admin,
    )
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
async def test_merge_requests_that_change_nothing(
    start_all_services: AllStarter,
    start_gateway: GatewayStarter,
    js: JetStreamContext,
    case: str,
    status: int,
) -> None:
    await start_all_services()
    gateway = await start_gateway()
    ws = new_workspace()
    target, source, stranger = layla(ws), dana(ws), dana(new_workspace())
    for person in (target, source, stranger):
        await publish_event(js, person.workspace, "contact.seen", person.event(T0, display_name=person.name))
        await view_when(
            gateway.client, person.workspace, person.id, lambda v: v["header"] is not None, person.name
        )
    await _merge(gateway, target, source)
    before = (await view_of(gateway.client, ws, target.id)).json()
    into, merged = {
        "again": (target.id, source.id),
        "itself": (target.id, target.id),
        "unknown": (target.id, "5d0c8c43-0000-4000-8000-000000000000"),
        "other workspace": (target.id, stranger.id),
        "into the merged one": (source.id, target.id),
    }[case]
    response = await gateway.client.post(
        f"/v1/customers/{into}/merge", json={"source_id": merged}, headers=auth(ws)
    )
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["profile"]["version"] == before["profile"]["version"]
    else:
        problem(response, status)
    after = (await view_of(gateway.client, ws, target.id)).json()
    assert after["profile"] == before["profile"]


async def test_events_of_the_sources_identity_apply_to_the_target_whenever_they_come(
    start_all_services: AllStarter, start_gateway: GatewayStarter, js: JetStreamContext
) -> None:
    await start_all_services()
    gateway = await start_gateway()
    ws = new_workspace()
    target, source = layla(ws), dana(ws)
    for person in (target, source):
        await publish_event(
            js, ws, "contact.seen", person.event(T0 + timedelta(days=1), display_name=person.name)
        )
        await view_when(gateway.client, ws, person.id, lambda v: v["header"] is not None, person.name)
    await _merge(gateway, target, source)
    # One conversation new, one replayed from before the merge (and before either customer existed).
    for conversation_id, at in (("ig-new", T0 + timedelta(days=2)), ("ig-old", T0)):
        await publish_event(js, ws, "conversation.started", source.event(at, conversation_id=conversation_id))
    await publish_event(
        js, ws, "contact.seen", source.event(T0 + timedelta(days=3), display_name="Dana Khan")
    )
    view = await view_when(
        gateway.client,
        ws,
        target.id,
        lambda v: v["counts"]["conversations"] == 2,
        "both conversations listed",
    )
    assert view["header"]["name"] == "Dana Khan"  # the newest display name of either identity
    assert view["header"]["created_at"].startswith("2026-03-01T09:00:00")
    assert (await view_of(gateway.client, ws, source.id)).status_code == 404


async def test_a_chain_of_merges_ends_at_the_last_target(
    start_all_services: AllStarter, start_gateway: GatewayStarter, js: JetStreamContext
) -> None:
    await start_all_services()
    gateway = await start_gateway()
    ws = new_workspace()
    first, second, last = (
        Person(ws, "web", f"visitor-{n}", f"Visitor {n}", {f"c{n}": [("customer", f"hello {n}")]})
        for n in range(3)
    )
    for person in (first, second, last):
        await publish_person(js, person)
        await view_when(
            gateway.client, ws, person.id, lambda v: v["counts"]["conversations"] == 1, person.name
        )
    await _merge(gateway, second, first)
    await _merge(gateway, last, second)
    await view_when(
        gateway.client, ws, last.id, lambda v: v["counts"]["conversations"] == 3, "all three under the last"
    )
    for gone in (first, second):
        assert problem(await view_of(gateway.client, ws, gone.id), 404)["merged_into"] == last.id
        context = await gateway.client.get(
            "/v1/agent-context", params={"platform": "web", "platform_user_id": gone.user}, headers=auth(ws)
        )
        assert context.json()["customer_id"] == last.id
    # A late event of the first identity goes to the last customer.
    await publish_event(js, ws, "conversation.started", first.event(T0, conversation_id="late"))
    await view_when(
        gateway.client, ws, last.id, lambda v: v["counts"]["conversations"] == 4, "late event applied"
    )


async def test_an_open_profile_of_the_source_is_told_where_it_went(
    start_all_services: AllStarter, start_gateway: GatewayStarter, js: JetStreamContext
) -> None:
    await start_all_services()
    gateway = await start_gateway()
    ws = new_workspace()
    target, source = layla(ws), dana(ws)
    for person in (target, source):
        await publish_event(js, ws, "contact.seen", person.event(T0, display_name=person.name))
        await view_when(gateway.client, ws, person.id, lambda v: v["header"] is not None, person.name)
    await view_of(gateway.client, ws, source.id)  # its parts are cached now
    seen: list[dict[str, Any]] = []
    opened = asyncio.Event()

    async def listen() -> None:
        async with gateway.client.stream(
            "GET", f"/v1/customers/{source.id}/events", headers=auth(ws), timeout=30
        ) as response:
            opened.set()
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    seen.append(orjson.loads(line[6:]))

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(opened.wait(), 10)
    await _merge(gateway, target, source)
    # The stream ends by itself after the final event.
    await asyncio.wait_for(listener, 15)
    assert [(e["type"], e.get("final")) for e in seen] == [("profile.customer.merged", True)]
    assert seen[0]["customer_id"] == source.id and seen[0]["data"]["customer_id"] == target.id
    # Its parts were cached before the merge: none of them is shown again.
    assert (await view_of(gateway.client, ws, source.id)).status_code == 404
