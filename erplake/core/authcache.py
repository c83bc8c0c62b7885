"""Each user's auth epoch, cached in the process and kept fresh by Redis pub/sub.

The epoch decides whether an access token still counts (see security.py). Asking
Redis on every request costs a network round trip, which on this class of
machine is most of a small request's cost. Instead each process keeps the epochs
it has seen, and a subscription to `auth:epochs` updates them the moment any
replica bumps one. While the subscription is not live (starting, reconnecting)
the cache is not trusted and every request asks Redis, as before.

Epochs only grow (deactivation and reactivation bump them too), so an update
never replaces a newer value with an older one, whatever order they arrive in.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import redis.asyncio as aioredis
import structlog

log = structlog.get_logger(__name__)

CHANNEL = "auth:epochs"
KEY_TTL_SECONDS = 3600
MAX_ENTRIES = 200_000
RECONNECT_SECONDS = 1.0

State = tuple[int, bool]  # (epoch, active)


def epoch_key(user_id: uuid.UUID) -> str:
    return f"auth:epoch:{user_id}"


def _encode(epoch: int, active: bool) -> str:
    return f"{epoch}:{int(active)}"


def _decode(raw: bytes | str) -> State | None:
    text = raw.decode() if isinstance(raw, bytes) else raw
    epoch, sep, active = text.partition(":")
    if not sep or not epoch.lstrip("-").isdigit():
        return None
    return int(epoch), active == "1"


class EpochCache:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._known: dict[uuid.UUID, State] = {}
        self._live = False
        # Bumped whenever the subscription (re)starts: a value read from Redis while
        # a different subscription was current may predate an update it missed.
        self._generation = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def live(self) -> bool:
        return self._live

    def _remember(self, user_id: uuid.UUID, state: State) -> None:
        current = self._known.get(user_id)
        if current is None or state[0] >= current[0]:
            if len(self._known) >= MAX_ENTRIES:
                self._known.clear()
            self._known[user_id] = state

    def ensure_listening(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                while True:
                    # Polled with a timeout of its own: the client's socket timeout
                    # would otherwise end a quiet subscription every few seconds.
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        # Whatever was cached may have missed updates while we
                        # were not subscribed: start again from Redis.
                        self._known.clear()
                        self._generation += 1
                        self._live = True
                    elif message["type"] == "message":
                        user, _, value = message["data"].decode().partition("=")
                        if (state := _decode(value)) is not None:
                            self._remember(uuid.UUID(user), state)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("auth_epoch_subscription_lost", error=type(exc).__name__)
            finally:
                self._live = False
                self._generation += 1
                self._known.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def get(self, user_id: uuid.UUID) -> State | None:
        """The user's (epoch, active), or None when Redis does not know it."""
        self.ensure_listening()
        if self._live and (known := self._known.get(user_id)) is not None:
            return known
        # Cache what Redis says only if one live subscription covered the whole
        # read: then any bump after it reaches the cache through that subscription.
        live_from = self._generation if self._live else None
        raw = await self.redis.get(epoch_key(user_id))
        state = None if raw is None else _decode(raw)
        if state is None:
            if raw is not None:  # unreadable: drop it, the database decides
                await self.redis.delete(epoch_key(user_id))
            return None
        if live_from is not None and self._live and self._generation == live_from:
            self._remember(user_id, state)
        return state

    async def publish(self, user_id: uuid.UUID, epoch: int, active: bool) -> None:
        """A bump: store it, tell every process, and know it here at once."""
        value = _encode(epoch, active)
        await self.redis.set(epoch_key(user_id), value, ex=KEY_TTL_SECONDS)
        await self.redis.publish(CHANNEL, f"{user_id}={value}")
        self._remember(user_id, (epoch, active))

    async def fill(self, user_id: uuid.UUID, epoch: int, active: bool) -> None:
        """Store a value read from the database, unless a bump got there first
        (SET NX): a slow reader never overwrites a newer epoch."""
        await self.redis.set(
            epoch_key(user_id), _encode(epoch, active), ex=KEY_TTL_SECONDS, nx=True
        )
