"""Auth epochs cached per process stay fresh across processes through pub/sub."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis

from erplake.core.authcache import EpochCache, epoch_key


async def _live(cache: EpochCache) -> None:
    cache.ensure_listening()
    for _ in range(200):
        if cache.live:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never went live")


async def test_a_bump_in_one_replica_reaches_the_others_cache(settings) -> None:
    one, two = (EpochCache(aioredis.Redis.from_url(settings.redis_url)) for _ in range(2))
    user = uuid.uuid4()
    try:
        await _live(one)
        await _live(two)
        await one.publish(user, 3, True)
        assert await two.get(user) == (3, True)  # read from Redis, now cached in two
        await one.publish(user, 4, False)  # deactivated in replica one
        for _ in range(200):
            if await two.get(user) == (4, False):
                break
            await asyncio.sleep(0.01)
        assert await two.get(user) == (4, False)
    finally:
        await one.close()
        await two.close()
        await one.redis.aclose()
        await two.redis.aclose()


async def test_an_older_epoch_never_replaces_a_newer_one(settings) -> None:
    cache = EpochCache(aioredis.Redis.from_url(settings.redis_url))
    user = uuid.uuid4()
    try:
        await _live(cache)
        await cache.publish(user, 5, True)
        cache._remember(user, (4, True))  # a slow reader arriving late
        assert await cache.get(user) == (5, True)
        await cache.fill(user, 2, True)  # a late database read must not overwrite
        assert await cache.redis.get(epoch_key(user)) == b"5:1"
    finally:
        await cache.close()
        await cache.redis.aclose()


async def test_without_a_live_subscription_every_read_asks_redis(settings) -> None:
    cache = EpochCache(aioredis.Redis.from_url(settings.redis_url))
    user = uuid.uuid4()
    try:
        await cache.redis.set(epoch_key(user), "7:1")
        cache._live = False  # as while reconnecting
        cache._remember(user, (1, True))
        assert await cache.get(user) == (7, True)
        await cache.redis.set(epoch_key(user), "garbage")
        assert await cache.get(user) is None  # unreadable: the database decides
        assert await cache.redis.get(epoch_key(user)) is None
    finally:
        await cache.close()
        await cache.redis.aclose()


async def test_a_quiet_subscription_stays_live_past_the_socket_timeout(settings) -> None:
    cache = EpochCache(aioredis.Redis.from_url(settings.redis_url, socket_timeout=0.3))
    try:
        await _live(cache)
        generation = cache._generation
        await asyncio.sleep(1.2)  # four socket timeouts without a message
        assert cache.live
        assert cache._generation == generation  # never dropped and re-subscribed
    finally:
        await cache.close()
        await cache.redis.aclose()
