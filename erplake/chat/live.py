"""Live delivery: new messages reach members' open WebSockets, whichever api process
they are connected to, through one Redis pub/sub channel.

Protocol (JSON text frames on `/chat/ws`):

    client → {"type": "auth", "token": "<access token>",
              "cursors": {"<conversation id>": <last sequence the client has>, ...}}
             first, within 10 s; `cursors` is optional
    server → {"type": "ready", "conversations": {"<conversation id>": <newest sequence>}}
    server → {"type": "message", "message": {…}}          each message once, in sequence
                                                          order per conversation
    server → {"type": "message_updated", "message": {…}}  an edit or a delete
    server → {"type": "conversation_added", "conversation_id": "…", "last_sequence": n}
    client → {"type": "resume", "cursors": {…}}           at any time: send what came after
    client → {"type": "ping"}  → server {"type": "pong"}

Close codes: 4401 not signed in, or the token expired (sign in again, reconnect and
resume); 4403 no `chat:use`; 4400 a frame the server does not understand; 1013 the
client fell too far behind, or live delivery is unavailable (reconnect and resume).

No gap, no duplicate. A message is published only after its transaction commits,
and publishing is best effort: the database is the record. Each socket keeps, per
conversation, the last sequence it sent. An event at or below it is a duplicate
and dropped; the next one is sent; one further ahead means something was not
published (a process died between commit and publish) or is still on its way, so
the gap is read from the database first. Commits to one conversation happen in
sequence order (the trigger's row lock is held to commit), so when sequence n is
committed everything below it is too. A client that reconnects sends its cursors
and gets everything after them from the database. The socket is registered with
the hub before the database is read, so nothing committed in between is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

import jwt
import redis.asyncio as aioredis
import structlog
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from erplake.chat import service
from erplake.chat.schemas import MessageOut
from erplake.core.errors import Unauthorized
from erplake.core.permissions import P
from erplake.core.security import Principal, authenticate
from erplake.models.chat import Conversation, ConversationMember

log = structlog.get_logger(__name__)

CHANNEL = "chat:events"
AUTH_TIMEOUT_SECONDS = 10.0
QUEUE_LIMIT = 2000
RECONNECT_SECONDS = 1.0
SUBSCRIBE_TIMEOUT_SECONDS = 5.0

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_BAD_FRAME = 4400
CLOSE_TOO_SLOW = 1013
CLOSE_TRY_LATER = 1013


def _subscriber_options(redis_url: str) -> dict[str, Any]:
    """TCP keepalive notices a dead Redis on a long-idle subscription; a Unix socket
    (the embedded Redis of `erplake run`) has no such option and refuses it."""
    options: dict[str, Any] = {"socket_connect_timeout": 2}
    if not redis_url.startswith("unix:"):
        options["socket_keepalive"] = True
    return options


# ---- publishing (after the commit: never announce what may still roll back) ----------


async def _publish(redis: aioredis.Redis, event: dict[str, Any]) -> None:
    try:
        await redis.publish(CHANNEL, json.dumps(event, default=str))
    except (RedisError, OSError) as exc:
        # Clients still get it: from the database on their next event or reconnect.
        log.warning("chat_publish_failed", error=type(exc).__name__)


async def publish_message(
    redis: aioredis.Redis, school_id: uuid.UUID, message: MessageOut, kind: str = "message"
) -> None:
    await _publish(
        redis,
        {
            "type": kind,
            "school_id": str(school_id),
            "conversation_id": str(message.conversation_id),
            "sequence": message.sequence,
            "message": message.model_dump(mode="json"),
        },
    )


async def publish_members(
    redis: aioredis.Redis, school_id: uuid.UUID, joined: service.NewMembers
) -> None:
    if joined.user_ids:
        await _publish(
            redis,
            {
                "type": "conversation_added",
                "school_id": str(school_id),
                "conversation_id": str(joined.conversation_id),
                "user_ids": [str(u) for u in joined.user_ids],
                "last_sequence": joined.last_sequence,
            },
        )


# ---- the hub: one subscription per process ------------------------------------------


class ChatHub:
    """Fans the chat channel out to this process's sockets. Listens only while at
    least one socket is open, on a Redis connection of its own (no read timeout)."""

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._sockets: dict[uuid.UUID, set[LiveSocket]] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def join(self, socket: LiveSocket) -> None:
        self._sockets.setdefault(socket.principal.school_id, set()).add(socket)
        if self._task is None or self._task.done():
            self._subscribed.clear()
            self._task = asyncio.get_running_loop().create_task(self._listen())
        # Events published from here on reach the socket's queue.
        await asyncio.wait_for(self._subscribed.wait(), SUBSCRIBE_TIMEOUT_SECONDS)

    async def leave(self, socket: LiveSocket) -> None:
        school = self._sockets.get(socket.principal.school_id)
        if school is not None:
            school.discard(socket)
            if not school:
                del self._sockets[socket.principal.school_id]
        if not self._sockets and self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _listen(self) -> None:
        first = True
        while True:
            client = aioredis.Redis.from_url(
                self._redis_url, **_subscriber_options(self._redis_url)
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                self._subscribed.set()
                if not first:
                    # Events may have been published while we were away.
                    for sockets in self._sockets.values():
                        for socket in sockets:
                            socket.offer({"type": "_resync"})
                first = False
                async for raw in pubsub.listen():
                    self._dispatch(raw["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("chat_subscription_lost", error=type(exc).__name__)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(RECONNECT_SECONDS)

    def _dispatch(self, data: bytes) -> None:
        try:
            event = json.loads(data)
            school_id = uuid.UUID(event["school_id"])
        except (ValueError, KeyError, TypeError):
            return
        for socket in tuple(self._sockets.get(school_id, ())):
            if socket.wants(event):
                socket.offer(event)


def hub_for(app: FastAPI) -> ChatHub:
    hub: ChatHub | None = getattr(app.state, "chat_hub", None)
    if hub is None:
        hub = app.state.chat_hub = ChatHub(app.state.settings.redis_url)
    return hub


# ---- one connection ------------------------------------------------------------------


class BadFrame(Exception):
    pass


def _cursors(raw: Any) -> dict[uuid.UUID, int]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or len(raw) > 10_000:
        raise BadFrame("cursors must be an object of conversation id → sequence")
    try:
        cursors = {uuid.UUID(k): max(0, int(v)) for k, v in raw.items()}
    except (ValueError, TypeError, OverflowError):
        raise BadFrame("cursors must be an object of conversation id → sequence") from None
    if any(v > MAX_SEQUENCE for v in cursors.values()):
        raise BadFrame("a cursor is beyond any sequence")
    return cursors


MAX_SEQUENCE = 2**63 - 1


class LiveSocket:
    def __init__(
        self,
        websocket: WebSocket,
        principal: Principal,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        self.websocket = websocket
        self.principal = principal
        self._sessionmaker = sessionmaker
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._cursors: dict[uuid.UUID, int] = {}
        self._started = False
        self.too_slow = asyncio.Event()

    def wants(self, event: dict[str, Any]) -> bool:
        if not self._started:
            return True  # the cursors are not known yet: keep everything
        if event["type"] == "conversation_added":
            return str(self.principal.user_id) in event.get("user_ids", ())
        try:
            return uuid.UUID(event["conversation_id"]) in self._cursors
        except (KeyError, ValueError, TypeError):
            return False

    def offer(self, event: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.too_slow.set()

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.websocket.send_text(json.dumps(frame, default=str))

    async def _send_message(self, message: MessageOut) -> None:
        await self._send({"type": "message", "message": message.model_dump(mode="json")})
        self._cursors[message.conversation_id] = message.sequence

    async def _catch_up(self, conversation_id: uuid.UUID, up_to: int | None = None) -> None:
        """Send from the database what came after the cursor (up to `up_to`)."""
        while True:
            after = self._cursors[conversation_id]
            async with self._sessionmaker() as session:
                missed = await service.messages_between(
                    session, conversation_id=conversation_id, after=after, up_to=up_to
                )
            for message in missed:
                await self._send_message(message)
            if not missed or (up_to is not None and self._cursors[conversation_id] >= up_to):
                return

    async def _newest(self) -> dict[uuid.UUID, int]:
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(ConversationMember.conversation_id, Conversation.next_message_seq - 1)
                .join(Conversation, Conversation.id == ConversationMember.conversation_id)
                .where(
                    ConversationMember.user_id == self.principal.user_id,
                    Conversation.school_id == self.principal.school_id,
                )
            )
            return {row[0]: int(row[1]) for row in rows}

    async def start(self, cursors: dict[uuid.UUID, int]) -> None:
        newest = await self._newest()
        # A conversation the client does not name starts from now: it loads history
        # over HTTP. Cursors for conversations the user is not in are ignored.
        self._cursors = {cid: min(cursors.get(cid, last), last) for cid, last in newest.items()}
        self._started = True
        await self._send({"type": "ready", "conversations": {str(k): v for k, v in newest.items()}})
        await self._resume({cid: self._cursors[cid] for cid in cursors if cid in self._cursors})

    async def _resume(self, cursors: dict[uuid.UUID, int]) -> None:
        # A cursor past the conversation's newest message (a stale client cache, a
        # restored database) would hide every live message up to it: cap it.
        newest = await self._newest() if cursors else {}
        for conversation_id, cursor in cursors.items():
            if conversation_id in self._cursors:
                self._cursors[conversation_id] = min(cursor, newest.get(conversation_id, 0))
                await self._catch_up(conversation_id)

    async def _resync(self) -> None:
        newest = await self._newest()
        for conversation_id, last in newest.items():
            if conversation_id not in self._cursors:
                self._cursors[conversation_id] = last
            elif self._cursors[conversation_id] < last:
                await self._catch_up(conversation_id)

    async def _handle(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "message":
            conversation_id = uuid.UUID(event["conversation_id"])
            cursor = self._cursors.get(conversation_id)
            sequence = int(event["sequence"])
            if cursor is None or sequence <= cursor:
                return  # not ours, or already sent
            if sequence == cursor + 1:
                await self._send_message(MessageOut.model_validate(event["message"]))
            else:
                await self._catch_up(conversation_id, up_to=sequence)
        elif kind == "message_updated":
            if uuid.UUID(event["conversation_id"]) in self._cursors:
                await self._send({"type": kind, "message": event["message"]})
        elif kind == "conversation_added":
            conversation_id = uuid.UUID(event["conversation_id"])
            if conversation_id not in self._cursors:
                self._cursors[conversation_id] = int(event["last_sequence"])
                await self._send(
                    {
                        "type": kind,
                        "conversation_id": str(conversation_id),
                        "last_sequence": self._cursors[conversation_id],
                    }
                )
                await self._catch_up(conversation_id)
        elif kind == "_resume":
            await self._resume(event["cursors"])
        elif kind == "_resync":
            await self._resync()
        elif kind == "_pong":
            await self._send({"type": "pong"})

    async def deliver(self) -> None:
        while True:
            await self._handle(await self._queue.get())

    async def receive(self) -> None:
        """Client frames go through the same queue, so one task does all sending."""
        while True:
            try:
                frame = await self.websocket.receive_json()
            except (ValueError, KeyError):
                raise BadFrame("frames must be JSON text") from None
            kind = frame.get("type") if isinstance(frame, dict) else None
            if kind == "resume":
                await self._queue.put(
                    {"type": "_resume", "cursors": _cursors(frame.get("cursors"))}
                )
            elif kind == "ping":
                await self._queue.put({"type": "_pong"})
            else:
                raise BadFrame(f"unknown frame type {kind!r}")


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code=code, reason=reason[:120])


def _expiry(token: str) -> float:
    # Already verified by authenticate(); only the expiry is read here.
    claims = jwt.decode(token, options={"verify_signature": False})
    return float(claims["exp"])


async def serve(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        hello = await asyncio.wait_for(websocket.receive_json(), AUTH_TIMEOUT_SECONDS)
    except (TimeoutError, ValueError, KeyError, WebSocketDisconnect):
        await _close(websocket, CLOSE_UNAUTHENTICATED, "send {type: auth, token} first")
        return
    if not isinstance(hello, dict) or hello.get("type") != "auth":
        hello = {}
    token = hello.get("token")
    if not isinstance(token, str):
        await _close(websocket, CLOSE_UNAUTHENTICATED, "send {type: auth, token} first")
        return
    try:
        principal = await authenticate(websocket, token)
        cursors = _cursors(hello.get("cursors"))
    except Unauthorized as exc:
        await _close(websocket, CLOSE_UNAUTHENTICATED, exc.message)
        return
    except BadFrame as exc:
        await _close(websocket, CLOSE_BAD_FRAME, str(exc))
        return
    if not principal.has(P.chat_use):
        await _close(websocket, CLOSE_FORBIDDEN, f"you do not have permission ({P.chat_use})")
        return

    socket = LiveSocket(websocket, principal, websocket.app.state.read_sessionmaker)
    hub = hub_for(websocket.app)
    tasks: list[asyncio.Task[Any]] = []
    try:
        try:
            await hub.join(socket)
        except TimeoutError:
            await _close(websocket, CLOSE_TRY_LATER, "live delivery is unavailable; retry")
            return
        await socket.start(cursors)
        tasks = [
            asyncio.create_task(socket.deliver()),
            asyncio.create_task(socket.receive()),
            asyncio.create_task(socket.too_slow.wait()),
            asyncio.create_task(asyncio.sleep(max(0.0, _expiry(token) - time.time()))),
        ]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finished = done.pop()
        if finished is tasks[2]:
            await _close(websocket, CLOSE_TOO_SLOW, "too far behind; reconnect and resume")
        elif finished is tasks[3]:
            await _close(websocket, CLOSE_UNAUTHENTICATED, "your session has expired")
        elif isinstance(finished.exception(), BadFrame):
            await _close(websocket, CLOSE_BAD_FRAME, str(finished.exception()))
        elif finished.exception() is not None and not isinstance(
            finished.exception(), WebSocketDisconnect
        ):
            log.warning("chat_socket_error", error=type(finished.exception()).__name__)
            await _close(websocket, 1011, "server error; reconnect and resume")
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        await hub.leave(socket)
