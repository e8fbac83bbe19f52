"""The outbox relay on real PostgreSQL and NATS: publish after commit only, never twice."""

import asyncpg
from nats.js import JetStreamContext
from pydantic import BaseModel

from shared.events import EventType
from shared.jsonutil import loads
from shared.outbox import OutboxRelay, enqueue, enqueue_all, outgoing
from shared.runtime import ServiceRuntime
from tests.conftest import ServiceStarter
from tests.support import new_workspace, wait_for


class Thing(BaseModel):
    """What the probe did."""

    n: int


THING_DONE = EventType("probe", "thing.done", Thing, "the probe did a thing")


async def _stream_count(js: JetStreamContext) -> int:
    return (await js.stream_info("PROBE")).state.messages


async def _unpublished(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


async def test_event_is_published_only_when_its_transaction_commits(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    assert runtime.pool is not None
    ws = new_workspace()
    try:
        async with runtime.pool.acquire() as conn, conn.transaction():
            await enqueue(conn, THING_DONE, ws, Thing(n=1))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    async with runtime.pool.acquire() as conn, conn.transaction():
        event_id = await enqueue(conn, THING_DONE, ws, Thing(n=2))

    await wait_for(lambda: _count_is(js, 1), what="one event in the stream")
    stored = await js.get_msg("PROBE", 1)
    assert stored.subject == f"probe.v1.{ws}.thing.done"
    assert stored.headers is not None and stored.headers["Nats-Msg-Id"] == event_id
    body = loads(stored.data or b"")
    assert body["data"] == {"n": 2} and body["workspace"] == ws and body["event_id"] == event_id
    pool = runtime.pool
    await wait_for(lambda: _none_pending(pool), what="row marked published")


async def _count_is(js: JetStreamContext, count: int) -> bool:
    return await _stream_count(js) == count


async def _none_pending(pool: asyncpg.Pool) -> bool:
    return await _unpublished(pool) == 0


async def test_relay_crash_between_publish_and_mark_does_not_double_publish(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    pool = runtime.pool
    assert pool is not None
    ws = new_workspace()
    async with pool.acquire() as conn, conn.transaction():
        for n in range(20):
            await enqueue(conn, THING_DONE, ws, Thing(n=n))
    await wait_for(lambda: _count_is(js, 20), what="twenty events published")
    await wait_for(lambda: _none_pending(pool), what="all marked")

    # A relay that died after publishing but before committing its mark leaves the rows pending.
    await pool.execute("UPDATE outbox SET published_at = NULL")
    relay = OutboxRelay(pool, js)
    assert await relay.publish_pending() == 20
    assert await _stream_count(js) == 20  # Nats-Msg-Id = event id: the stream dropped the copies
    assert await _unpublished(pool) == 0


async def test_two_relays_share_the_backlog_without_duplicates(
    runtime: ServiceRuntime, start_probe: ServiceStarter, js: JetStreamContext
) -> None:
    await start_probe(database_url=runtime.database_url)
    assert runtime.pool is not None
    ws = new_workspace()
    async with runtime.pool.acquire() as conn, conn.transaction():
        for n in range(300):
            await enqueue(conn, THING_DONE, ws, Thing(n=n))
    pool = runtime.pool
    await wait_for(lambda: _none_pending(pool), what="backlog drained")
    assert await _stream_count(js) == 300
    seen = set()
    for seq in range(1, 301):
        seen.add(loads((await js.get_msg("PROBE", seq)).data or b"")["data"]["n"])
    assert seen == set(range(300))


async def test_a_batch_is_published_in_its_order_and_each_event_id_once(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    pool = runtime.pool
    assert pool is not None
    ws = new_workspace()
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, THING_DONE, ws, Thing(n=0), event_id=f"{ws}:0")
    # 0 was recorded before, and 1 comes twice: both are left out, the rest keep their order.
    batch = [outgoing(THING_DONE, ws, Thing(n=n), event_id=f"{ws}:{n}") for n in (3, 1, 0, 2, 1)]
    async with pool.acquire() as conn, conn.transaction():
        await enqueue_all(conn, batch)
    await wait_for(lambda: _none_pending(pool), what="the batch published")
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE event_id LIKE $1", f"{ws}:%") == 4
    assert await _stream_count(js) == 4
    published = [loads((await js.get_msg("PROBE", seq)).data or b"")["data"]["n"] for seq in range(1, 5)]
    assert published == [0, 3, 1, 2]
