"""The consumer base on real NATS and PostgreSQL: exactly-once effect, dead letters, replay."""

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from nats.js import JetStreamContext

from shared.deadletter import list_dead_letters, replay
from shared.rpc import Empty, Operation, serve
from shared.runtime import ServiceRuntime
from tests.conftest import ServiceStarter
from tests.shared import probe
from tests.shared.holding import consumer_held, transactions_applying
from tests.support import connect_suite, connector_event, new_workspace, publish_event, wait_for


@pytest.fixture
def probe_settings() -> dict[str, object]:
    """Quick retries: a failing event is set aside after three deliveries 50 ms apart."""
    return {"retry_backoff": (0.05,), "max_deliver": 3}


async def _applied(runtime: ServiceRuntime, workspace: str) -> list[asyncpg.Record]:
    assert runtime.pool is not None
    return await runtime.pool.fetch(
        "SELECT event_id, name FROM applied WHERE workspace = $1 ORDER BY name", workspace
    )


async def test_duplicate_event_id_is_applied_once(runtime: ServiceRuntime, js: JetStreamContext) -> None:
    ws = new_workspace()
    event = connector_event("web", "visitor-1", display_name="Dana")
    # Different Nats-Msg-Ids get past the stream's dedup window: only the inbox stands in the way.
    await publish_event(js, ws, "contact.seen", event, msg_id="first")
    await publish_event(js, ws, "contact.seen", event, msg_id="second")
    await publish_event(js, ws, "contact.seen", connector_event("web", "visitor-2", display_name="Zed"))

    await wait_for(lambda: _rows_if(runtime, ws, 2), what="two events applied")
    assert [r["name"] for r in await _applied(runtime, ws)] == ["Dana", "Zed"]
    # The second copy was delivered and acknowledged without a second effect.
    info = await js.consumer_info("CHAT", "probe-contacts")
    await wait_for(lambda: _acked(js, 3), what="all three acked")
    assert info.config.max_deliver == 3
    assert len(await _applied(runtime, ws)) == 2


async def _rows_if(runtime: ServiceRuntime, ws: str, count: int) -> list[asyncpg.Record] | None:
    rows = await _applied(runtime, ws)
    return rows if len(rows) >= count else None


async def _acked(js: JetStreamContext, count: int) -> bool:
    info = await js.consumer_info("CHAT", "probe-contacts")
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    return (floor or 0) >= count and info.num_ack_pending == 0


async def test_poison_event_is_dead_lettered_after_max_deliveries_while_others_flow(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    ws = new_workspace()
    await publish_event(js, ws, "contact.seen", connector_event("web", "v-poison", display_name="poison"))
    for i in range(5):
        await publish_event(js, ws, "contact.seen", connector_event("web", f"v-{i}", display_name=f"ok-{i}"))

    await wait_for(lambda: _rows_if(runtime, ws, 5), what="healthy events applied")
    letters = await wait_for(lambda: list_dead_letters(js, "probe"), what="poison dead-lettered")
    assert len(letters) == 1
    letter = letters[0]
    assert letter.consumer == "probe-contacts"
    assert letter.deliveries == 3
    assert letter.original_subject == f"chat.v1.{ws}.contact.seen"
    assert "poison" in letter.reason
    assert {r["name"] for r in await _applied(runtime, ws)} == {f"ok-{i}" for i in range(5)}

    # The operator fixes the cause and replays: the event is applied, the dead letter is gone.
    probe.healed.add("poison")
    try:
        await replay(js, "probe", letter.seq)
        await wait_for(lambda: _rows_if(runtime, ws, 6), what="replayed event applied")
        assert await list_dead_letters(js, "probe") == []
    finally:
        probe.healed.discard("poison")


async def test_an_outage_of_a_dependency_does_not_use_up_deliveries(
    runtime: ServiceRuntime, js: JetStreamContext, nats_url: str
) -> None:
    ws = new_workspace()
    name = f"needs:{uuid.uuid4().hex[:8]}"
    await publish_event(js, ws, "contact.seen", connector_event("web", "v-needy", display_name=name))
    await publish_event(js, ws, "contact.seen", connector_event("web", "v-other", display_name="other"))

    # The helper it needs is down for longer than max_deliver (3) attempts would last.
    await wait_for(lambda: _at_least(probe.attempts[name], 6), what="attempts while the helper is down")
    assert await list_dead_letters(js, "probe") == []

    helper = await connect_suite(nats_url, "helper")
    try:
        needed = Operation("helper", name.removeprefix("needs:"), Empty, Empty, "a dependency")
        await serve(helper, needed, _nothing)
        rows = await wait_for(lambda: _rows_if(runtime, ws, 2), what="applied once the helper is up")
    finally:
        await helper.drain()
    assert sorted(r["name"] for r in rows) == sorted([name, "other"])
    assert await list_dead_letters(js, "probe") == []


async def _at_least(value: int, count: int) -> bool:
    return value >= count


async def _nothing(_request: Empty) -> Empty:
    return Empty()


def _sender(js: JetStreamContext) -> Callable[[], Awaitable[None]]:
    """Publishes the event a held consumer waits on, in a workspace of its own."""
    body = connector_event("web", "elsewhere", display_name="elsewhere")
    return lambda: publish_event(js, new_workspace(), "contact.seen", body)


async def test_a_batch_applies_each_new_event_once_in_one_transaction(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    assert runtime.pool is not None
    ws = new_workspace()
    before = connector_event("web", "v-before", display_name="before")
    await publish_event(js, ws, "contact.seen", before)
    await wait_for(lambda: _rows_if(runtime, ws, 1), what="first event applied")

    twice = connector_event("web", "v-twice", display_name="twice")
    fresh = [connector_event("web", f"v-{i}", display_name=f"fresh-{i}") for i in range(3)]
    async with consumer_held(runtime.pool, _sender(js)):
        # One fetch: an event applied already, one event twice, three new ones.
        await publish_event(js, ws, "contact.seen", before, msg_id="before-again")
        await publish_event(js, ws, "contact.seen", twice, msg_id="twice-1")
        for body in fresh:
            await publish_event(js, ws, "contact.seen", body)
        await publish_event(js, ws, "contact.seen", twice, msg_id="twice-2")
    await wait_for(lambda: _acked(js, 8), what="every delivery acknowledged")

    rows = await runtime.pool.fetch(
        "SELECT name, batch_size FROM applied WHERE workspace = $1 ORDER BY name", ws
    )
    # The first event alone went through `handle`; the batch handler got the four new ones once each.
    assert [(r["name"], r["batch_size"]) for r in rows] == [
        ("before", None),
        ("fresh-0", 4),
        ("fresh-1", 4),
        ("fresh-2", 4),
        ("twice", 4),
    ]
    assert (
        await transactions_applying(runtime.pool, [twice["event_id"], *(b["event_id"] for b in fresh)]) == 1
    )
    announced = await runtime.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE payload -> 'data' ->> 'source_event_id' = ANY($1::text[])",
        [before["event_id"], twice["event_id"], *(b["event_id"] for b in fresh)],
    )
    assert announced == 5


async def test_a_failing_event_in_a_batch_is_dead_lettered_while_the_rest_is_applied(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    assert runtime.pool is not None
    ws = new_workspace()
    async with consumer_held(runtime.pool, _sender(js)):
        for name in ("ok-0", "ok-1", "poison", "ok-2", "ok-3"):
            await publish_event(
                js, ws, "contact.seen", connector_event("web", f"v-{name}", display_name=name)
            )

    letters = await wait_for(lambda: list_dead_letters(js, "probe"), what="poison dead-lettered")
    assert [(letter.deliveries, letter.original_subject) for letter in letters] == [
        (3, f"chat.v1.{ws}.contact.seen")
    ]
    assert "poison" in letters[0].reason
    await wait_for(lambda: _acked(js, 6), what="every delivery acknowledged")
    rows = await runtime.pool.fetch(
        "SELECT name, batch_size FROM applied WHERE workspace = $1 ORDER BY name", ws
    )
    # The failed batch left nothing behind; each healthy event was then applied once, on its own.
    assert [(r["name"], r["batch_size"]) for r in rows] == [(f"ok-{i}", None) for i in range(4)]


async def test_invalid_events_are_dead_lettered_at_once(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    ws = new_workspace()
    await publish_event(js, ws, "contact.seen", b"{not json", msg_id="bad-json")
    await publish_event(js, ws, "contact.seen", {"event_id": "x"}, msg_id="missing-fields")
    await publish_event(
        js, ws, "contact.seen", connector_event("fax", "123", display_name="nope"), msg_id="bad-platform"
    )
    await publish_event(js, ws, "contact.seen", connector_event("web", "v1", display_name="fine"))

    await wait_for(lambda: _rows_if(runtime, ws, 1), what="valid event applied")
    await wait_for(lambda: _dead_letters_at_least(js, 3), what="three invalid events dead-lettered")
    letters = await list_dead_letters(js, "probe")
    assert len(letters) == 3
    assert all(letter.deliveries == 1 for letter in letters)
    assert all(letter.reason.startswith("invalid event") for letter in letters)


async def _dead_letters_at_least(js: JetStreamContext, count: int) -> bool:
    return len(await list_dead_letters(js, "probe")) >= count


async def test_a_burst_is_applied_exactly_once_by_two_replicas(
    start_probe: ServiceStarter, js: JetStreamContext
) -> None:
    first = await start_probe()
    assert first.database_url
    await start_probe(database_url=first.database_url)
    ws = new_workspace()
    ids = [uuid.uuid4().hex for _ in range(400)]
    for i, event_id in enumerate(ids):
        await publish_event(
            js,
            ws,
            "contact.seen",
            connector_event("web", f"v{i}", display_name=f"n{i:03}", event_id=event_id),
        )
    # Redeliver a hundred of them under new message ids, as a connector retrying would.
    for i, event_id in enumerate(ids[:100]):
        await publish_event(
            js,
            ws,
            "contact.seen",
            connector_event("web", f"v{i}", display_name=f"n{i:03}", event_id=event_id),
            msg_id=f"retry-{event_id}",
        )
    await wait_for(lambda: _acked(js, 500), what="every delivery acknowledged")
    rows = await _applied(first, ws)
    assert sorted(r["event_id"] for r in rows) == sorted(ids)
