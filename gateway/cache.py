"""Redis cache of each service's part of the profile view, invalidated by generation counters.

A part is stored under a key that embeds the customer's and the workspace's generation for that
section. Invalidating bumps a generation, so every later read misses, and a reader that fetched
before the bump can only write under the old, never-read-again key: no stale read after the
write that caused the bump. Redis trouble degrades to uncached reads, never to errors.
"""

from typing import Any

import orjson
import redis.asyncio as aioredis

from shared import metrics
from shared.logging import get_logger
from shared.registry import SERVICE_NAMES

log = get_logger(__name__)

# One section of the view per service.
SECTIONS = SERVICE_NAMES
TTL_SECONDS = 300


def _gen_key(workspace: str, customer_id: str) -> str:
    return f"gen:{workspace}:{customer_id}"


def _ws_gen_key(workspace: str) -> str:
    return f"gen:{workspace}"


# One round trip for a read: each section's key is built from the customer's and the
# workspace's generation (missing = 0), then read. Returns key, value, key, value, ...
_READ = """
local gens = redis.call('HMGET', KEYS[1], unpack(ARGV, 2))
local workspace_gens = redis.call('HMGET', KEYS[2], unpack(ARGV, 2))
local out = {}
for i = 2, #ARGV do
  local key = ARGV[1] .. ARGV[i] .. ':' .. (workspace_gens[i - 1] or '0') .. ':' .. (gens[i - 1] or '0')
  out[#out + 1] = key
  out[#out + 1] = redis.call('GET', key)
end
return out
"""


class ViewCache:
    """Per-section cache of the profile view."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._read = redis.register_script(_READ)

    async def read(self, workspace: str, customer_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        """(cached parts by section, key each section should be stored under); empty on Redis trouble."""
        try:
            reply = await self._read(
                keys=[_gen_key(workspace, customer_id), _ws_gen_key(workspace)],
                args=[f"view:{workspace}:{customer_id}:", *SECTIONS],
            )
        except Exception as exc:
            log.warning("cache_unavailable", error=repr(exc))
            metrics.view_cache_unavailable()
            return {}, {}
        keys = {section: key.decode() for section, key in zip(SECTIONS, reply[::2], strict=True)}
        parts = {
            section: orjson.loads(value)
            for section, value in zip(SECTIONS, reply[1::2], strict=True)
            if value is not None
        }
        metrics.view_cache_looked_up(len(parts), [section for section in SECTIONS if section not in parts])
        return parts, keys

    async def store(self, keys: dict[str, str], parts: dict[str, Any]) -> None:
        """Keep freshly fetched parts under the keys `read` handed out."""
        if not keys or not parts:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for section, part in parts.items():
                    pipe.set(keys[section], orjson.dumps(part), ex=TTL_SECONDS)
                await pipe.execute()
        except Exception as exc:
            log.warning("cache_unavailable", error=repr(exc))

    async def invalidate(self, workspace: str, customer_id: str | None, *sections: str) -> None:
        """Make the next read of these sections miss (customer_id None: every customer of the workspace)."""
        key = _ws_gen_key(workspace) if customer_id is None else _gen_key(workspace, customer_id)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for section in sections:
                    pipe.hincrby(key, section, 1)
                pipe.expire(key, 7 * 24 * 3600)
                await pipe.execute()
        except Exception as exc:
            log.warning("cache_invalidation_failed", error=repr(exc))
