"""Live delivery over /chat/ws across api processes: each message once, in order, and
nothing lost across a reconnect or a publish that never happened."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from erplake.chat import live, service
from erplake.core.db import transaction
from erplake.core.security import ALGORITHM, ISSUER, Principal
from erplake.storage import get_storage
from tests.chat.conftest import ChatSchool, LiveClient, send, start_direct


async def commit_without_publishing(
    resources: Any, settings: Any, who: Any, conversation_id: uuid.UUID, body: str
) -> Any:
    """What a process that dies between its commit and its publish leaves behind."""
    principal = Principal(who.user_id, who.school_id, ("teacher",), frozenset({"chat:use"}), 0)
    async with transaction(resources.sessionmaker) as session:
        return await service.send_message(
            session,
            lambda: get_storage(settings),
            principal,
            conversation_id=conversation_id,
            body=body,
            attachment_keys=[],
            turns=service.ConversationTurns(),
        )


async def close_code(base_url: str, *frames: dict[str, Any]) -> int:
    async with connect(base_url.replace("http://", "ws://") + "/chat/ws") as ws:
        for frame in frames:
            await ws.send(json.dumps(frame))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_a_message_reaches_a_member_connected_to_another_process(
    serve_api, chat_school: ChatSchool, live_clients: list[LiveClient]
) -> None:
    s = chat_school
    first, second = serve_api(), serve_api()
    async with httpx.AsyncClient(base_url=first.url) as api:
        conversation = await start_direct(api, s.vikram, s.sunita)
        vikram, ready = await LiveClient.open(second.url, s.vikram.token)
        neha, _ = await LiveClient.open(second.url, s.neha.token)
        live_clients += [vikram, neha]
        sent = await send(api, s.sunita, conversation, "PTM tomorrow at 10")
        received = await vikram.next()
        edited = await api.patch(
            f"/chat/messages/{sent['id']}",
            json={"body": "PTM tomorrow at 11"},
            headers=s.sunita.headers,
        )
        updated = await vikram.next()
        await neha.connection.send(json.dumps({"type": "ping"}))
        neha_next = await neha.next()
    assert ready == {"type": "ready", "conversations": {str(conversation): 0}}
    assert received == {"type": "message", "message": sent}
    assert updated == {"type": "message_updated", "message": edited.json()}
    assert neha_next == {"type": "pong"}  # not a member: nothing of theirs


async def test_reconnect_with_the_last_sequence_gets_what_was_missed_once_each(
    serve_api,
    chat_school: ChatSchool,
    live_clients: list[LiveClient],
    resources: Any,
    settings: Any,
) -> None:
    s = chat_school
    first, second = serve_api(), serve_api()
    async with (
        httpx.AsyncClient(base_url=first.url) as api_a,
        httpx.AsyncClient(base_url=second.url) as api_b,
    ):
        conversation = await start_direct(api_a, s.vikram, s.sunita)
        vikram, _ = await LiveClient.open(second.url, s.vikram.token)
        live_clients.append(vikram)
        for n in (1, 2, 3):
            await send(api_a, s.sunita, conversation, f"message {n}")
        before = await vikram.sequences_until(conversation, 3)
        await vikram.close()

        # While Vikram is away: two sent normally, one committed but never published.
        await send(api_a, s.sunita, conversation, "message 4")
        await send(api_b, s.sunita, conversation, "message 5")
        await commit_without_publishing(resources, settings, s.sunita, conversation, "message 6")

        vikram, ready = await LiveClient.open(first.url, s.vikram.token, {conversation: 3})
        live_clients.append(vikram)
        caught_up = await vikram.sequences_until(conversation, 6)

        # Live again: a duplicate of an old event, a message whose publish is lost,
        # then a normal one. The lost one is read from the database, the duplicate
        # dropped.
        old = service.MessageOut.model_validate(
            (
                await api_a.get(
                    f"/chat/conversations/{conversation}/messages?after_sequence=4&limit=1",
                    headers=s.vikram.headers,
                )
            ).json()["items"][0]
        )
        await live.publish_message(resources.redis, s.sunita.school_id, old)
        await commit_without_publishing(resources, settings, s.sunita, conversation, "message 7")
        await send(api_b, s.sunita, conversation, "message 8")
        live_tail = await vikram.sequences_until(conversation, 8)
        await vikram.connection.send(json.dumps({"type": "ping"}))
        after = await vikram.next()
    assert before == [1, 2, 3]
    assert ready["conversations"] == {str(conversation): 6}
    assert caught_up == [4, 5, 6]
    assert live_tail == [7, 8]
    assert after == {"type": "pong"}  # and nothing else queued


async def test_resume_at_any_time_and_new_conversations_arrive(
    serve_api, chat_school: ChatSchool, live_clients: list[LiveClient]
) -> None:
    s = chat_school
    server = serve_api()
    async with httpx.AsyncClient(base_url=server.url) as api:
        direct = await start_direct(api, s.vikram, s.sunita)
        await send(api, s.sunita, direct, "one")
        await send(api, s.sunita, direct, "two")
        vikram, ready = await LiveClient.open(server.url, s.vikram.token)
        live_clients.append(vikram)
        await vikram.connection.send(
            json.dumps({"type": "resume", "cursors": {str(direct): 0, str(uuid.uuid4()): 0}})
        )
        resumed = await vikram.sequences_until(direct, 2)
        group = await api.put(
            f"/chat/sections/{s.records.sections['6-A']}/group",
            json={"announcements_only": True},
            headers=s.sunita.headers,
        )
        added = await vikram.next()
        notice = await send(api, s.sunita, uuid.UUID(group.json()["id"]), "Holiday on Monday")
        announced = await vikram.next()
    assert ready["conversations"] == {str(direct): 2}
    assert resumed == [1, 2]
    assert added == {
        "type": "conversation_added",
        "conversation_id": group.json()["id"],
        "last_sequence": 0,
    }
    assert announced == {"type": "message", "message": notice}


async def test_sockets_refuse_strangers(serve_api, chat_school: ChatSchool, make_user) -> None:
    s = chat_school
    server = serve_api()
    nobody = await make_user()  # signed in, no chat:use
    assert await close_code(server.url, {"type": "hello"}) == 4401
    assert await close_code(server.url, {"type": "auth", "token": "not-a-token"}) == 4401
    assert await close_code(server.url, {"type": "auth", "token": nobody.token}) == 4403
    assert (
        await close_code(server.url, {"type": "auth", "token": s.vikram.token, "cursors": ["nope"]})
        == 4400
    )


async def test_the_socket_closes_when_the_token_expires(
    serve_api, chat_school: ChatSchool, settings: Any
) -> None:
    s = chat_school
    server = serve_api()
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": ISSUER,
            "sub": str(s.vikram.user_id),
            "sch": str(s.vikram.school_id),
            "roles": ["parent"],
            "perms": ["chat:use"],
            "epc": 0,
            "iat": now,
            "exp": now + 2,
            "jti": uuid.uuid4().hex,
        },
        settings.jwt_secret,
        algorithm=ALGORITHM,
    )
    code = await close_code(server.url, {"type": "auth", "token": token})
    assert code == 4401
