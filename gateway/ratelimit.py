"""Per-workspace rate limit in Redis: a fixed one-second window shared by every gateway replica."""

import time

import redis.asyncio as aioredis

from shared.logging import get_logger

log = get_logger(__name__)


async def seconds_until_allowed(redis: aioredis.Redis, workspace: str, per_second: int) -> int:
    """0 if this request may go ahead, else how many seconds to wait; 0 when Redis is down."""
    window = int(time.time())
    key = f"rl:{workspace}:{window}"
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2)
            count, _ = await pipe.execute()
    except Exception as exc:
        # Rate limiting protects the services; losing it for a Redis outage beats failing requests.
        log.warning("rate_limit_unavailable", error=repr(exc))
        return 0
    return 1 if int(count) > per_second else 0
