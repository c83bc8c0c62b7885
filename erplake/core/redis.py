"""Redis clients: asyncio for request handling, sync for RQ."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

from erplake.core.settings import Settings


def create_async_redis(settings: Settings) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        settings.redis_url,
        decode_responses=False,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
    )


def create_sync_redis(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
