"""Rate limits on Redis moving windows (the `limits` library), shared by all replicas."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from erplake.core.errors import TooManyRequests


def _limits_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


class RateLimiter:
    def __init__(self, redis_url: str) -> None:
        self._storage = RedisStorage(_limits_uri(redis_url), implementation="redispy")
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def hit(self, limit: str | RateLimitItem, *identifiers: str, message: str) -> None:
        """Count one hit; over the limit raise 429 with Retry-After."""
        item = parse(limit) if isinstance(limit, str) else limit
        if await self._limiter.hit(item, *identifiers):
            return
        stats = await self._limiter.get_window_stats(item, *identifiers)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise TooManyRequests(message, retry_after=retry_after)
