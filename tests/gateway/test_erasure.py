"""Erasing a customer everywhere through the gateway, on every real service (CONTRACT.md §7)."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest
from nats.js import JetStreamContext

from shared.ids import customer_id_at
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
from tests.support import auth, new_workspace, publish_event, wait_for

GatewayStarter = Callable[..., Awaitable[RunningGateway]]
AllStarter = Callable[..., Awaitable[dict[str, ServiceRuntime]]]
ServiceStarter = Callable[..., Awaitable[ServiceRuntime]]


def omar(workspace: str) -> Person:
    """Someone else in the same workspace, who must keep everything."""
    return Person(
        workspace,
        "web",
        "visitor-omar",
        "Omar Farouk",
        {"web-1": [("customer", "Can I change the delivery slot of order #9911?"), ("ai", "Yes, pick one.")]},
    )


async def _erase(gateway: RunningGateway, workspace: str, customer_id: str) -> dict[str, Any]:
    response = await gateway.client.delete(
        f"/v1/customers/{customer_id}", headers=auth(workspace, role="admin")
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert (body["customer_id"], body["status"]) == (customer_id, "pending")
    return body


async def _erasure(gateway: RunningGateway, workspace: str, erasure_id: str) -> dict[str, Any]:
    response = await gateway.client.get(f"/v1/erasures/{erasure_id}", headers=auth(workspace, role="admin"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _done(gateway: RunningGateway, workspace: str, erasure_id: str) -> dict[str, Any]:
    async def finished() -> dict[str, Any] | None:
        erasure = await _erasure(gateway, workspace, erasure_id)
        return erasure if erasure["status"] == "done" else None

    return await wait_for(finished, timeout=45, what="the erasure done")


async def _where_found(pool: asyncpg.Pool, needles: set[str]) -> dict[str, set[str]]:
    """Which of these strings any row of any table of a database holds, by table."""
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    found: dict[str, set[str]] = {}
    for table in tables:
        name = table["table_name"]
        for row in await pool.fetch(f'SELECT t::text AS row FROM "{name}" t'):
            hits = {needle for needle in needles if needle in row["row"]}
            if hits:
                found.setdefault(name, set()).update(hits)
    return found


def _what_is_said(person: Person) -> set[str]:
    """The strings that are this person's own: names, contact fields, what was said, written."""
    return {person.name, person.user, *person.texts, *(reason for _, reason in person.escalations)}


async def test_after_an_erasure_no_service_holds_anything_of_the_customer(
    start_all_services: AllStarter, start_gateway: GatewayStarter, js: JetStreamContext
) -> None:
    runtimes = await start_all_services()
    gateway = await start_gateway()
    ws = new_workspace()
    client, headers = gateway.client, auth(ws)
    target, source, bystander = layla(ws), dana(ws), omar(ws)
    for start, person in ((T0 + timedelta(days=1), target), (T0, source), (T0, bystander)):
        await publish_person(js, person, start)
    for person in (target, source, bystander):
        await view_when(client, ws, person.id, settled(person), f"{person.name} analysed")
    written = {
        target.id: "Called about the broken vase, promised a refund by Friday",
        source.id: "Asked us to hold a blue jacket in size M",
        bystander.id: "Omar prefers morning deliveries",
    }
    for customer, text in written.items():
        assert (
            await client.post(f"/v1/customers/{customer}/notes", json={"text": text}, headers=headers)
        ).is_success
    edit = {
        "email": "layla.h@example.com",
        "location": "Jumeirah Beach Residence",
        "agent_instructions": "Speak Arabic",
    }
    assert (await client.patch(f"/v1/customers/{target.id}", json=edit, headers=headers)).status_code == 200
    merge = await client.post(
        f"/v1/customers/{target.id}/merge", json={"source_id": source.id}, headers=headers
    )
    assert merge.status_code == 200
    await view_when(client, ws, target.id, lambda v: v["counts"]["conversations"] == 3, "the merge applied")
    listed = await client.get(f"/v1/customers/{target.id}/conversations", headers=headers)
    summaries = {c["summary"] for c in listed.json()["items"] if c["summary"]}
    assert len(summaries) == 3
    secrets = {
        *_what_is_said(target),
        *_what_is_said(source),
        *edit.values(),
        written[target.id],
        written[source.id],
    }
    secrets |= summaries
    events: list[dict[str, Any]] = []
    opened = asyncio.Event()

    async def listen() -> None:
        async with client.stream(
            "GET", f"/v1/customers/{target.id}/events", headers=headers, timeout=30
        ) as stream:
            opened.set()
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    events.append(orjson.loads(line[6:]))

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(opened.wait(), 10)

    started = await _erase(gateway, ws, target.id)
    await asyncio.wait_for(listener, 15)
    assert [(e["type"], e.get("final")) for e in events][-1:] == [("profile.erasure.requested", True)]
    done = await _done(gateway, ws, started["erasure_id"])
    assert datetime.fromisoformat(done["completed_at"]) >= datetime.fromisoformat(done["requested_at"])

    for name, runtime in runtimes.items():
        assert runtime.pool is not None
        assert await _where_found(runtime.pool, secrets) == {}, name
    # The sweep finds what is there: the bystander's data is untouched.
    assert runtimes["timeline"].pool is not None
    assert await _where_found(runtimes["timeline"].pool, set(bystander.texts)) == {
        "messages": set(bystander.texts)
    }
    assert (await view_of(client, ws, bystander.id)).json()["counts"]["notes"] == 1

    for gone in (target, source):
        for path in ("", "/notes", "/conversations", "/escalations", "/history", "/events"):
            response = await client.get(f"/v1/customers/{gone.id}{path}", headers=headers)
            assert "merged_into" not in problem(response, 404), path
        context = await client.get(
            "/v1/agent-context",
            params={"platform": gone.platform, "platform_user_id": gone.user},
            headers=headers,
        )
        problem(context, 404)
    grid = (await client.get("/v1/customers", headers=headers)).json()["items"]
    assert [item["id"] for item in grid] == [bystander.id]
    for q in ("Layla", "dana.k", "+971 50 123", "layla.h@example.com"):
        assert (await client.get("/v1/customers", params={"q": q}, headers=headers)).json()["items"] == [], q
    again = await client.delete(f"/v1/customers/{target.id}", headers=auth(ws, role="admin"))
    problem(again, 404)


async def test_an_erasure_requested_while_a_service_is_down_completes_when_it_is_back(
    start_all_services: AllStarter,
    start_gateway: GatewayStarter,
    start_service: ServiceStarter,
    js: JetStreamContext,
) -> None:
    runtimes = await start_all_services()
    gateway = await start_gateway()
    ws = new_workspace()
    person = layla(ws)
    await publish_person(js, person)
    await view_when(gateway.client, ws, person.id, settled(person), "analysed")
    timeline = runtimes["timeline"]
    await timeline.stop()

    started = await _erase(gateway, ws, person.id)
    profile = runtimes["profile"].pool
    assert profile is not None

    async def others_confirmed() -> bool:
        services = await profile.fetch(
            "SELECT service FROM erasure_confirmations WHERE erasure_id = $1",
            uuid.UUID(started["erasure_id"]),
        )
        return {row["service"] for row in services} == {"notes", "insights"}

    await wait_for(others_confirmed, what="notes and insights done")
    assert (await _erasure(gateway, ws, started["erasure_id"]))["status"] == "pending"
    assert (await view_of(gateway.client, ws, person.id)).status_code == 404

    back = await start_service(
        timeline.definition, type(timeline.settings), database_url=timeline.database_url
    )
    done = await _done(gateway, ws, started["erasure_id"])
    assert done["completed_at"] is not None
    assert back.pool is not None
    assert await back.pool.fetchval("SELECT count(*) FROM conversations WHERE workspace = $1", ws) == 0
    assert await back.pool.fetchval("SELECT count(*) FROM messages WHERE workspace = $1", ws) == 0


async def test_a_contact_after_the_erasure_starts_a_new_empty_customer(
    start_all_services: AllStarter, start_gateway: GatewayStarter, js: JetStreamContext
) -> None:
    runtimes = await start_all_services()
    gateway = await start_gateway()
    ws = new_workspace()
    client, headers = gateway.client, auth(ws)
    person = layla(ws)
    await publish_person(js, person)
    await view_when(client, ws, person.id, settled(person), "analysed")
    assert (
        await client.post(f"/v1/customers/{person.id}/notes", json={"text": "old"}, headers=headers)
    ).is_success
    started = await _erase(gateway, ws, person.id)
    await _done(gateway, ws, started["erasure_id"])

    # A replayed event from before the erasure is dropped; a contact after it starts anew.
    replayed = person.event(T0 + timedelta(days=1), conversation_id="replayed")
    await publish_event(js, ws, "conversation.started", replayed)
    now = datetime.now(UTC) + timedelta(seconds=1)
    await publish_event(js, ws, "contact.seen", person.event(now, display_name="Layla H."))
    await publish_event(js, ws, "conversation.started", person.event(now, conversation_id="fresh"))
    fresh = str(customer_id_at(uuid.UUID(person.id), 1))
    view = await view_when(client, ws, fresh, lambda v: v["counts"]["conversations"] == 1, "the new customer")
    assert fresh != person.id
    assert view["header"]["name"] == "Layla H."
    assert view["counts"] == {"notes": 0, "conversations": 1, "escalations": 0}
    assert view["header"]["sentiment"]["conversations"] == 0
    listed = (await client.get(f"/v1/customers/{fresh}/conversations", headers=headers)).json()
    assert [c["id"] for c in listed["items"]] == ["fresh"]
    problem(await view_of(client, ws, person.id), 404)
    context = await client.get(
        "/v1/agent-context",
        params={"platform": person.platform, "platform_user_id": person.user},
        headers=headers,
    )
    assert context.json()["customer_id"] == fresh
    for name in ("profile", "timeline"):
        pool = runtimes[name].pool
        assert pool is not None
        applied = await pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", replayed["event_id"])
        assert applied == 1, f"{name} saw the replayed event"
    assert runtimes["timeline"].pool is not None
    kept = await runtimes["timeline"].pool.fetchval(
        "SELECT count(*) FROM conversations WHERE conversation_id = 'replayed'"
    )
    assert kept == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/customers/{id}"),
        ("GET", "/v1/customers/{id}/export"),
        ("GET", "/v1/erasures/{id}"),
    ],
)
async def test_only_admins_erase_export_and_follow_erasures(
    start_gateway: GatewayStarter, method: str, path: str
) -> None:
    gateway = await start_gateway()
    response = await gateway.client.request(
        method, path.format(id=uuid.uuid4()), headers=auth(new_workspace(), role="agent")
    )
    problem(response, 403)
