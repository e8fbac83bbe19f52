"""Erasing a customer everywhere through the gateway, on every real service (CONTRACT.md §7)."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from shared.ids import customer_id_at
from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.gateway import identity_support as people
from tests.gateway.identity_support import T0, Person, System, problem, publish_person, settled
from tests.support import auth, new_workspace, publish_event, wait_for


def omar(workspace: str) -> Person:
    """Someone else in the same workspace, who must keep everything."""
    return Person(
        workspace,
        "web",
        "visitor-omar",
        "Omar Farouk",
        {"web-1": [("customer", "Can I change the delivery slot of order #9911?"), ("ai", "Yes, pick one.")]},
    )


async def _erase(system: System, customer_id: str) -> dict[str, Any]:
    response = await system.client.delete(
        f"/v1/customers/{customer_id}", headers=auth(system.workspace, role="admin")
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert (body["customer_id"], body["status"]) == (customer_id, "pending")
    return body


async def _erasure(system: System, erasure_id: str) -> dict[str, Any]:
    response = await system.client.get(
        f"/v1/erasures/{erasure_id}", headers=auth(system.workspace, role="admin")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _done(system: System, erasure_id: str) -> dict[str, Any]:
    async def finished() -> dict[str, Any] | None:
        erasure = await _erasure(system, erasure_id)
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


async def test_after_an_erasure_no_service_holds_anything_of_the_customer(system: System) -> None:
    ws, client, headers = system.workspace, system.client, auth(system.workspace)
    target, source, bystander = people.layla(ws), people.dana(ws), omar(ws)
    for start, person in ((T0 + timedelta(days=1), target), (T0, source), (T0, bystander)):
        await publish_person(system.js, person, start)
    for person in (target, source, bystander):
        await system.view_when(person.id, settled(person), f"{person.name} analysed")
    written = {
        target.id: "Called about the broken vase, promised a refund by Friday",
        source.id: "Asked us to hold a blue jacket in size M",
        bystander.id: "Omar prefers morning deliveries",
    }
    for customer, text in written.items():
        added = await client.post(f"/v1/customers/{customer}/notes", json={"text": text}, headers=headers)
        assert added.status_code == 201
    edit = {
        "email": "layla.h@example.com",
        "location": "Jumeirah Beach Residence",
        "agent_instructions": "Arabic",
    }
    assert (await client.patch(f"/v1/customers/{target.id}", json=edit, headers=headers)).status_code == 200
    await system.merge(target, source)
    await system.view_when(target.id, lambda v: v["counts"]["conversations"] == 3, "the merge applied")
    listed = await client.get(f"/v1/customers/{target.id}/conversations", headers=headers)
    summaries = {c["summary"] for c in listed.json()["items"] if c["summary"]}
    assert len(summaries) == 3
    secrets = {*_what_is_said(target), *_what_is_said(source), *edit.values(), *summaries}
    secrets |= {written[target.id], written[source.id]}
    listener, events = await system.listen(target.id)
    started = await _erase(system, target.id)
    await asyncio.wait_for(listener, 15)
    assert [(e["type"], e.get("final")) for e in events][-1:] == [("profile.erasure.requested", True)]
    done = await _done(system, started["erasure_id"])
    assert datetime.fromisoformat(done["completed_at"]) >= datetime.fromisoformat(done["requested_at"])

    for name in system.runtimes:
        assert await _where_found(system.pool(name), secrets) == {}, name
    # The sweep finds what is there: the bystander's data is untouched.
    assert await _where_found(system.pool("timeline"), set(bystander.texts)) == {
        "messages": set(bystander.texts)
    }
    assert (await system.view(bystander.id)).json()["counts"]["notes"] == 1

    for gone in (target, source):
        for path in ("", "/notes", "/conversations", "/escalations", "/history", "/events"):
            response = await client.get(f"/v1/customers/{gone.id}{path}", headers=headers)
            assert "merged_into" not in problem(response, 404), path
        problem(await system.agent_context(gone), 404)
    grid = (await client.get("/v1/customers", headers=headers)).json()["items"]
    assert [item["id"] for item in grid] == [bystander.id]
    for q in ("Layla", "dana.k", "+971 50 123", "layla.h@example.com"):
        assert (await client.get("/v1/customers", params={"q": q}, headers=headers)).json()["items"] == [], q
    problem(await client.delete(f"/v1/customers/{target.id}", headers=auth(ws, role="admin")), 404)


async def test_an_erasure_requested_while_a_service_is_down_completes_when_it_is_back(
    system: System, start_service: Callable[..., Awaitable[ServiceRuntime]]
) -> None:
    person = people.layla(system.workspace)
    await publish_person(system.js, person)
    await system.view_when(person.id, settled(person), "analysed")
    timeline = system.runtimes["timeline"]
    await timeline.stop()

    started = await _erase(system, person.id)

    async def others_confirmed() -> bool:
        services = await system.pool("profile").fetch(
            "SELECT service FROM erasure_confirmations WHERE erasure_id = $1",
            uuid.UUID(started["erasure_id"]),
        )
        return {row["service"] for row in services} == {"notes", "insights"}

    await wait_for(others_confirmed, what="notes and insights done")
    assert (await _erasure(system, started["erasure_id"]))["status"] == "pending"
    problem(await system.view(person.id), 404)

    back = await start_service(
        timeline.definition, type(timeline.settings), database_url=timeline.database_url
    )
    done = await _done(system, started["erasure_id"])
    assert done["completed_at"] is not None
    assert back.pool is not None
    for table in ("conversations", "messages"):
        assert (
            await back.pool.fetchval(f"SELECT count(*) FROM {table} WHERE workspace = $1", system.workspace)
            == 0
        )


async def test_a_contact_after_the_erasure_starts_a_new_empty_customer(system: System) -> None:
    ws, client, headers = system.workspace, system.client, auth(system.workspace)
    person = people.layla(ws)
    await publish_person(system.js, person)
    await system.view_when(person.id, settled(person), "analysed")
    assert (
        await client.post(f"/v1/customers/{person.id}/notes", json={"text": "old"}, headers=headers)
    ).is_success
    started = await _erase(system, person.id)
    await _done(system, started["erasure_id"])

    # A replayed event from before the erasure is dropped; a contact after it starts anew.
    replayed = person.event(T0 + timedelta(days=1), conversation_id="replayed")
    await publish_event(system.js, ws, "conversation.started", replayed)
    now = datetime.now(UTC) + timedelta(seconds=1)
    await publish_event(system.js, ws, "contact.seen", person.event(now, display_name="Layla H."))
    await publish_event(system.js, ws, "conversation.started", person.event(now, conversation_id="fresh"))
    fresh = str(customer_id_at(uuid.UUID(person.id), 1))
    view = await system.view_when(fresh, lambda v: v["counts"]["conversations"] == 1, "the new customer")
    assert fresh != person.id
    assert view["header"]["name"] == "Layla H."
    assert view["counts"] == {"notes": 0, "conversations": 1, "escalations": 0}
    assert view["header"]["sentiment"]["conversations"] == 0
    listed = (await client.get(f"/v1/customers/{fresh}/conversations", headers=headers)).json()
    assert [c["id"] for c in listed["items"]] == ["fresh"]
    problem(await system.view(person.id), 404)
    assert (await system.agent_context(person)).json()["customer_id"] == fresh
    for name in ("profile", "timeline"):
        applied = await system.pool(name).fetchval(
            "SELECT count(*) FROM inbox WHERE event_id = $1", replayed["event_id"]
        )
        assert applied == 1, f"{name} saw the replayed event"
    kept = await system.pool("timeline").fetchval(
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
    start_gateway: Callable[..., Awaitable[RunningGateway]], method: str, path: str
) -> None:
    gateway = await start_gateway()
    response = await gateway.client.request(
        method, path.format(id=uuid.uuid4()), headers=auth(new_workspace(), role="agent")
    )
    problem(response, 403)
