"""Customers from connector events on real NATS and PostgreSQL: creation, races, duplicates, order."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.js import JetStreamContext

from services.profile.app import definition
from services.profile.config import Settings
from services.profile.usecases import apply_connector_events
from shared.deadletter import list_dead_letters
from shared.events import ConversationStarted
from shared.runtime import ServiceRuntime
from tests.profile.support import EXTRA_FIELDS, ProfileStack, eventually
from tests.shared.holding import consumer_held, transactions_applying
from tests.support import (
    auth,
    connector_event,
    customer_id,
    declare_streams_bound_by,
    new_workspace,
    publish_event,
    wait_for,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PLATFORM_IDS = {"whatsapp": "+971501234{n:03}", "instagram": "user.{n}", "web": "visitor-{n}"}


async def test_first_event_of_any_type_creates_the_customer(stack: ProfileStack) -> None:
    ws = new_workspace()
    expected: dict[str, tuple[str, str, str, datetime]] = {}
    for n, (event_type, platform) in enumerate(
        (t, p) for t in EXTRA_FIELDS for p in ("whatsapp", "instagram", "web")
    ):
        pid = PLATFORM_IDS[platform].format(n=n)
        occurred_at = T0 + timedelta(minutes=n)
        await stack.publish(
            ws, event_type, platform, pid, occurred_at=occurred_at.isoformat(), **EXTRA_FIELDS[event_type]
        )
        expected[customer_id(ws, platform, pid)] = (event_type, platform, pid, occurred_at)
    assert len(expected) == 18

    for cid, (event_type, platform, pid, occurred_at) in expected.items():
        view = await stack.wait_view(ws, cid)
        header, profile = view["header"], view["profile"]
        name = "Seen Person" if event_type == "contact.seen" else pid
        assert header["platforms"] == [
            {
                "platform": platform,
                "platform_user_id": pid,
                "chat_url": f"/chats/{platform}/{pid.replace('+', '%2B')}",
            }
        ], event_type
        assert (header["name"], profile["name"]) == (name, name)
        assert datetime.fromisoformat(header["created_at"]) == occurred_at
        assert profile["phone"] == (pid if platform == "whatsapp" else None)
        if platform == "instagram":
            assert header["instagram"] == {"username": pid, "followers": None, "follow_status": "unknown"}
        else:
            assert header["instagram"] is None
        assert profile["version"] == 1 and profile["tags"] == []

    created = await eventually(
        lambda: _events_if(stack, "customer.created", 18), what="customer.created for each customer"
    )
    assert {e["data"]["customer_id"] for e in created} == set(expected)
    assert {e["event_id"] for e in created} == {f"customer.created:{cid}" for cid in expected}
    grid = (await stack.http.get("/v1/customers", params={"limit": 100}, headers=auth(ws))).json()["items"]
    assert len(grid) == 18
    assert grid[0]["created_at"] == grid[0]["last_contact_at"]


async def _events_if(stack: ProfileStack, event_type: str, count: int) -> list[dict[str, Any]] | None:
    events = await stack.profile_events(event_type)
    return events if len(events) >= count else None


async def test_two_transactions_racing_for_a_new_identity_create_one_customer(
    start_service: Callable[..., Awaitable[ServiceRuntime]], js: JetStreamContext
) -> None:
    await declare_streams_bound_by(js, definition)
    runtime = await start_service(definition, Settings)
    assert runtime.pool is not None
    ws = new_workspace()
    later, earlier = (
        ConversationStarted.model_validate(
            connector_event("web", "racer", occurred_at=at.isoformat(), conversation_id="c")
        )
        for at in (T0 + timedelta(seconds=5), T0)
    )
    async with runtime.pool.acquire() as first, runtime.pool.acquire() as second:
        first_tx = first.transaction()
        await first_tx.start()
        await apply_connector_events(first, [(ws, later)])
        second_tx = second.transaction()
        await second_tx.start()
        racing = asyncio.create_task(apply_connector_events(second, [(ws, earlier)]))
        # The second insert waits on the first transaction's uncommitted row.
        await wait_for(
            lambda: _waits_on_a_lock(runtime, second.get_server_pid()), what="second insert blocked"
        )
        assert not racing.done()
        await first_tx.commit()
        await racing
        await second_tx.commit()
    cid = uuid.UUID(customer_id(ws, "web", "racer"))
    rows = await runtime.pool.fetch(
        "SELECT created_at, a.last_contact_at FROM customers c "
        "JOIN customer_activity a ON a.customer_id = c.id WHERE c.workspace = $1",
        ws,
    )
    assert [(r["created_at"], r["last_contact_at"]) for r in rows] == [(T0, T0 + timedelta(seconds=5))]
    announced = await runtime.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE event_id = $1", f"customer.created:{cid}"
    )
    assert announced == 1


async def _waits_on_a_lock(runtime: ServiceRuntime, pid: int) -> bool:
    assert runtime.pool is not None
    state = await runtime.pool.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid)
    return bool(state == "Lock")


async def test_a_burst_on_two_replicas_creates_each_customer_once(
    stack: ProfileStack, start_service: Callable[..., Awaitable[ServiceRuntime]]
) -> None:
    await start_service(definition, Settings, database_url=stack.runtime.database_url)
    ws = new_workspace()
    identities = [f"burst-{n}" for n in range(40)]
    # Every identity's events interleaved, so both replicas see each new identity at once.
    for round_ in range(4):
        for pid in identities:
            body = connector_event("web", pid, occurred_at=(T0 + timedelta(seconds=round_)).isoformat())
            await publish_event(
                stack.js, ws, "conversation.started", {**body, "conversation_id": f"c{round_}"}
            )
    await stack.wait_drained()
    assert stack.runtime.pool is not None
    rows = await stack.runtime.pool.fetch(
        "SELECT platform_user_id, created_at, a.last_contact_at FROM customers c "
        "JOIN customer_activity a ON a.customer_id = c.id WHERE c.workspace = $1",
        ws,
    )
    assert sorted(r["platform_user_id"] for r in rows) == sorted(identities)
    assert {(r["created_at"], r["last_contact_at"]) for r in rows} == {(T0, T0 + timedelta(seconds=3))}
    created = await eventually(lambda: _events_if(stack, "customer.created", 40), what="customer.created")
    assert len(created) == 40


async def test_duplicates_and_any_arrival_order_converge(stack: ProfileStack) -> None:
    """The same events, in order in one workspace and reversed with duplicates in another."""
    pid = "dana.q"
    script: list[tuple[str, dict[str, Any]]] = [
        ("conversation.started", {"conversation_id": "c1"}),
        (
            "contact.seen",
            {"display_name": "Dana", "avatar_url": "https://a/1", "instagram": {"followers": 10}},
        ),
        (
            "conversation.message",
            {"conversation_id": "c1", "message_id": "m1", "sender": "customer", "text": "hi"},
        ),
        ("contact.seen", {"instagram": {"follow_status": "following", "followers": 12}}),
        ("contact.seen", {"display_name": "Dana Q", "instagram": {"username": "dana.q"}}),
        ("contact.seen", {"avatar_url": "https://a/2"}),
        ("conversation.closed", {"conversation_id": "c1", "resolved_by": {"type": "ai"}}),
    ]
    in_order, shuffled = new_workspace(), new_workspace()
    events = [
        (
            event_type,
            connector_event("instagram", pid, occurred_at=(T0 + timedelta(minutes=n)).isoformat(), **fields),
        )
        for n, (event_type, fields) in enumerate(script)
    ]
    for event_type, body in events:
        await publish_event(stack.js, in_order, event_type, body)
    await stack.wait_drained()
    replayed = [*reversed(events), events[1], events[4], events[0]]
    assert stack.runtime.pool is not None
    elsewhere = connector_event("web", "elsewhere", conversation_id="c")
    # Held, the reversed copy is fetched and applied as one batch, its duplicates included.
    async with consumer_held(
        stack.runtime.pool,
        lambda: publish_event(stack.js, new_workspace(), "conversation.started", elsewhere),
    ):
        for i, (event_type, body) in enumerate(replayed):
            # Fresh event ids per workspace (they are unique system-wide), redeliveries past the dedup window.
            await publish_event(
                stack.js,
                shuffled,
                event_type,
                {**body, "event_id": f"s-{body['event_id']}"},
                msg_id=f"redelivery-{i}",
            )
    await stack.wait_drained()
    assert (
        await transactions_applying(stack.runtime.pool, [f"s-{body['event_id']}" for _, body in events]) == 1
    )

    first = await stack.wait_view(in_order, customer_id(in_order, "instagram", pid))
    second = await stack.wait_view(shuffled, customer_id(shuffled, "instagram", pid))
    assert first["header"] == second["header"]
    assert first["profile"] == second["profile"]
    assert first["header"]["name"] == "Dana Q"
    assert first["header"]["avatar_url"] == "https://a/2"
    assert first["header"]["instagram"] == {
        "username": "dana.q",
        "followers": 12,
        "follow_status": "following",
    }
    assert datetime.fromisoformat(first["header"]["created_at"]) == T0
    assert first["profile"]["version"] == 1
    grids = [
        (await stack.http.get("/v1/customers", headers=auth(ws))).json()["items"]
        for ws in (in_order, shuffled)
    ]
    assert [len(g) for g in grids] == [1, 1]
    assert grids[0][0]["last_contact_at"] == grids[1][0]["last_contact_at"]
    assert datetime.fromisoformat(grids[0][0]["last_contact_at"]) == T0 + timedelta(minutes=6)


async def test_staff_names_stick_while_connectors_keep_refreshing_the_rest(stack: ProfileStack) -> None:
    ws = new_workspace()
    cid = customer_id(ws, "web", "visitor-9")
    await stack.publish(
        ws, "contact.seen", "web", "visitor-9", display_name="Visitor", occurred_at=T0.isoformat()
    )
    assert (await stack.wait_view(ws, cid))["profile"]["name"] == "Visitor"
    edited = await stack.http.patch(f"/v1/customers/{cid}", json={"name": "Real Name"}, headers=auth(ws))
    assert edited.status_code == 200, edited.text
    later = (T0 + timedelta(hours=1)).isoformat()
    await stack.publish(
        ws,
        "contact.seen",
        "web",
        "visitor-9",
        display_name="Renamed",
        avatar_url="https://a/v",
        occurred_at=later,
    )
    await stack.wait_drained()
    view = await stack.view(ws, cid)
    assert view is not None
    assert (view["profile"]["name"], view["header"]["avatar_url"]) == ("Real Name", "https://a/v")
    # Connector refreshes are announced (caches let go) without an actor and without a new version.
    refreshes = await eventually(lambda: _connector_updates(stack, 2), what="connector refreshes announced")
    assert [e["data"]["changes"] for e in refreshes] == [
        {"name": {"old": "visitor-9", "new": "Visitor"}},
        {"avatar_url": {"old": None, "new": "https://a/v"}},
    ]
    assert [e["data"]["version"] for e in refreshes] == [1, 2]
    assert view["profile"]["version"] == 2


async def _connector_updates(stack: ProfileStack, count: int) -> list[dict[str, Any]] | None:
    events = [e for e in await stack.profile_events("customer.updated") if e["data"]["actor"] is None]
    return events if len(events) >= count else None


async def test_invalid_events_are_set_aside_without_blocking_the_rest(stack: ProfileStack) -> None:
    ws = new_workspace()
    await stack.publish(ws, "contact.seen", "whatsapp", "0501234567", display_name="Not E.164")
    await publish_event(stack.js, ws, "conversation.started", b"{not json", msg_id="broken")
    await stack.publish(ws, "conversation.started", "web", "after-the-bad-ones", conversation_id="c")
    await stack.wait_view(ws, customer_id(ws, "web", "after-the-bad-ones"))
    letters = await eventually(lambda: _letters_if(stack, 2), what="two dead letters")
    assert {letter.consumer for letter in letters} == {"profile-chat"}
    assert await stack.view(ws, customer_id(ws, "whatsapp", "0501234567")) is None


async def _letters_if(stack: ProfileStack, count: int) -> list[Any] | None:
    letters = await list_dead_letters(stack.js, "profile")
    return letters if len(letters) >= count else None


async def test_a_message_moves_the_last_contact_and_leaves_the_customer_row_alone(
    stack: ProfileStack,
) -> None:
    """Nearly every event moves its customer's last contact: migration 0007 keeps that write off
    the wide, many-indexed customers row, so the row version stays the one its creation wrote."""
    ws = new_workspace()
    cid = customer_id(ws, "web", "regular")
    await stack.publish(
        ws, "conversation.started", "web", "regular", occurred_at=T0.isoformat(), conversation_id="c1"
    )
    await stack.wait_view(ws, cid)
    assert stack.runtime.pool is not None
    row_version = "SELECT xmin::text FROM customers WHERE workspace = $1"
    created = await stack.runtime.pool.fetchval(row_version, ws)

    later = T0 + timedelta(minutes=9)
    await stack.publish(
        ws,
        "conversation.message",
        "web",
        "regular",
        occurred_at=later.isoformat(),
        **{"conversation_id": "c1", "message_id": "m1", "sender": "customer", "text": "still there?"},
    )
    await stack.wait_drained()
    grid = await stack.grid_pages(ws, 25)
    assert datetime.fromisoformat(grid[0]["last_contact_at"]) == later
    assert await stack.runtime.pool.fetchval(row_version, ws) == created


# How the release before profile's migration 0007 stored a connector event's customer: replicas
# of it keep running beside this release during a rollout.
_UPSERT_BEFORE_0007 = (
    "INSERT INTO customers AS c (id, workspace, platform, platform_user_id, name, search, created_at, "
    "last_contact_at, name_key) VALUES ($1, $2, 'web', $3, $3, $3, $4, $4, $3) "
    "ON CONFLICT (id) DO UPDATE SET created_at = LEAST(c.created_at, EXCLUDED.created_at), "
    "last_contact_at = GREATEST(c.last_contact_at, EXCLUDED.last_contact_at) "
    "WHERE c.created_at > EXCLUDED.created_at OR c.last_contact_at < EXCLUDED.last_contact_at"
)


async def _grid_contacts(stack: ProfileStack, ws: str) -> dict[str, datetime]:
    items = await stack.grid_pages(ws, 25, sort="-last_contact_at")
    return {item["id"]: datetime.fromisoformat(item["last_contact_at"]) for item in items}


async def test_a_customer_the_release_before_creates_is_in_the_grid(stack: ProfileStack) -> None:
    ws = new_workspace()
    cid = customer_id(ws, "web", "visitor-old")
    assert stack.runtime.pool is not None
    await stack.runtime.pool.execute(_UPSERT_BEFORE_0007, uuid.UUID(cid), ws, "visitor-old", T0)
    assert await _grid_contacts(stack, ws) == {cid: T0}


async def test_a_last_contact_the_release_before_moves_is_the_one_shown(stack: ProfileStack) -> None:
    ws = new_workspace()
    cid = customer_id(ws, "web", "visitor-old")
    await stack.publish(
        ws, "conversation.started", "web", "visitor-old", occurred_at=T0.isoformat(), conversation_id="c1"
    )
    await stack.wait_view(ws, cid)
    pool = stack.runtime.pool
    assert pool is not None
    later, earlier = T0 + timedelta(minutes=9), T0 + timedelta(minutes=1)
    await pool.execute(_UPSERT_BEFORE_0007, uuid.UUID(cid), ws, "visitor-old", later)
    await pool.execute(_UPSERT_BEFORE_0007, uuid.UUID(cid), ws, "visitor-old", earlier)
    assert await _grid_contacts(stack, ws) == {cid: later}
