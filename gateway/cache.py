"""Redis cache of each service's part of the profile view, invalidated by generation counters.

A part is stored under a key that embeds the customer's and the workspace's generation for that
section. Invalidating bumps a generation, so every later read misses, and a reader that fetched
before the bump can only write under the old, never-read-again key: no stale read after the
write that caused the bump. Redis trouble degrades to uncached reads, never to errors.
"""

from typing import Any

import orjson
import redis.asyncio as aioredis

from shared.logging import get_logger

log = get_logger(__name__)

SECTIONS = ("profile", "notes", "timeline", "insights")
TTL_SECONDS = 300


def _gen_key(workspace: str, customer_id: str) -> str:
    return f"gen:{workspace}:{customer_id}"


def _ws_gen_key(workspace: str) -> str:
    return f"gen:{workspace}"


class ViewCache:
    """Per-section cache of the profile view."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def read(self, workspace: str, customer_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        """(cached parts by section, key each section should be stored under); empty on Redis trouble."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(_gen_key(workspace, customer_id))
                pipe.hgetall(_ws_gen_key(workspace))
                gens, ws_gens = await pipe.execute()
            keys = {
                section: f"view:{workspace}:{customer_id}:{section}:"
                f"{_gen(ws_gens, section)}:{_gen(gens, section)}"
                for section in SECTIONS
            }
            values = await self.redis.mget(list(keys.values()))
        except Exception as exc:
            log.warning("cache_unavailable", error=repr(exc))
            return {}, {}
        parts = {
            section: orjson.loads(value)
            for section, value in zip(SECTIONS, values, strict=True)
            if value is not None
        }
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


def _gen(gens: dict[bytes, bytes], section: str) -> str:
    value = gens.get(section.encode())
    return value.decode() if value else "0"
