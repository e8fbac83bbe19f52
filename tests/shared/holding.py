"""Holding a service's consumers still while a test publishes, so that what it publishes is one batch."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg

from tests.support import wait_for


async def _inbox_insert_waits(pool: asyncpg.Pool) -> bool:
    waiting = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO inbox%'"
    )
    return bool(waiting)


@contextlib.asynccontextmanager
async def consumer_held(
    pool: asyncpg.Pool, send_first: Callable[[], Awaitable[object]]
) -> AsyncIterator[None]:
    """Keep the consumers of a service's database waiting while the body publishes.

    `send_first` publishes an event of no interest to the test; it is fetched on its own and its
    inbox insert waits on a lock of the inbox table. What the body publishes meanwhile is all
    pending when the lock goes, so a consumer fetches it in as few batches as its batch size allows.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE inbox IN EXCLUSIVE MODE")
        await send_first()
        await wait_for(lambda: _inbox_insert_waits(pool), what="a consumer waiting on the inbox")
        yield


async def transactions_applying(pool: asyncpg.Pool, event_ids: list[str]) -> int:
    """How many transactions recorded these event ids in the inbox."""
    # processed_at defaults to now(), the time its transaction started: one value per transaction.
    count = await pool.fetchval(
        "SELECT count(DISTINCT processed_at) FROM inbox WHERE event_id = ANY($1::text[])", event_ids
    )
    return int(count)
