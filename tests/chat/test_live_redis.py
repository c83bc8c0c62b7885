"""Live delivery subscribes to Redis over TCP (a deployment) or a Unix socket (the
embedded Redis of `erplake run`): both must accept the subscriber's options."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import redis.asyncio as aioredis

from erplake.chat.live import _subscriber_options
from erplake.core.embedded import EmbeddedRedis


async def _round_trip(url: str) -> bytes:
    client = aioredis.Redis.from_url(url, **_subscriber_options(url))
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe("erplake-live-test")
        await client.publish("erplake-live-test", b"hello")
        async with asyncio.timeout(5):
            while True:
                message = await pubsub.get_message(timeout=1)
                if message is not None:
                    return bytes(message["data"])
    finally:
        await pubsub.aclose()
        await client.aclose()


async def test_the_subscriber_works_over_a_unix_socket_and_over_tcp(tmp_path: Path) -> None:
    embedded = EmbeddedRedis(tmp_path / "redis")
    unix_url = embedded.start()
    try:
        assert unix_url.startswith("unix:")
        assert await _round_trip(unix_url) == b"hello"
    finally:
        embedded.stop()
    assert await _round_trip(os.environ["TEST_REDIS_URL"]) == b"hello"
