"""Per-workspace rate limit: a fixed one-second window shared by every gateway replica via Redis.

A replica's first request of a workspace in a window counts in Redis and learns the replicas'
total; after that it decides locally, from the total last seen in Redis plus what it admitted
since, and adds its own count to Redis every `sync_interval` seconds in the background (Kong's
`sync_rate` model). So almost no request waits on Redis; the price is that replicas may together
admit up to one sync interval's worth of each other's traffic over the limit. Without Redis each
replica still enforces the limit on its own traffic.
"""

import asyncio
import contextlib
import time

import redis.asyncio as aioredis

from shared.logging import get_logger

log = get_logger(__name__)

# Add a replica's count and arm the window's expiry in one atomic round trip; returns the total.
_ADD = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return count
"""


class RateLimiter:
    """Counts each workspace's requests in the current second."""

    def __init__(self, redis: aioredis.Redis, per_second: int, sync_interval: float = 0.05) -> None:
        self.per_second = per_second
        self.sync_interval = sync_interval
        self._add = redis.register_script(_ADD)
        self._window = 0
        self._agreed: dict[str, int] = {}  # count in Redis at the last sync, this replica's included
        self._unsynced: dict[str, int] = {}  # admitted here since the last sync
        self._task: asyncio.Task[None] | None = None
        self._failing = False  # log an outage once, not every sync

    def start(self) -> None:
        """Begin syncing counts with the other replicas."""
        self._task = asyncio.create_task(self._sync_forever())

    async def stop(self) -> None:
        """Stop syncing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def seconds_until_allowed(self, workspace: str) -> int:
        """0 if this request may go ahead (and counts it), else how many seconds to wait."""
        window = self._roll_window()
        if workspace not in self._agreed:
            self._agreed[workspace] = 0  # requests arriving meanwhile decide locally
            try:
                total = int(await self._add(keys=[_key(workspace, window)], args=[1, 2]))
            except Exception as exc:
                log.warning("rate_limit_unavailable", error=repr(exc))
            else:
                if self._window == window:
                    self._agreed[workspace] = max(self._agreed[workspace], total)
                return 1 if total > self.per_second else 0
        unsynced = self._unsynced.get(workspace, 0)
        if self._agreed.get(workspace, 0) + unsynced >= self.per_second:
            return 1
        self._unsynced[workspace] = unsynced + 1
        return 0

    def _roll_window(self) -> int:
        """The current window, forgetting the counts of a past one."""
        window = int(time.time())
        if window != self._window:
            self._window, self._agreed, self._unsynced = window, {}, {}
        return window

    async def sync(self) -> None:
        """Add what this replica admitted to Redis and learn the replicas' totals."""
        window = self._roll_window()
        pending, self._unsynced = self._unsynced, {}
        for workspace, count in pending.items():
            # Counted as agreed at once, so requests admitted while Redis answers see it.
            self._agreed[workspace] = self._agreed.get(workspace, 0) + count
        for workspace, count in pending.items():
            try:
                total = int(await self._add(keys=[_key(workspace, window)], args=[count, 2]))
            except Exception as exc:
                # Limiting on local counts alone beats failing requests for a Redis outage; the
                # other workspaces' counts would only wait for the same timeout.
                if not self._failing:
                    log.warning("rate_limit_sync_failed", error=repr(exc))
                self._failing = True
                return
            if self._failing:
                log.info("rate_limit_sync_recovered")
            self._failing = False
            if self._window == window:
                self._agreed[workspace] = max(self._agreed.get(workspace, 0), total)

    async def _sync_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sync_interval)
            await self.sync()


def _key(workspace: str, window: int) -> str:
    return f"rl:{workspace}:{window}"
