"""Chat fixtures on top of the shared small school (tests/school_records.py):

    6-A  class teacher Sunita; Aarav (mother Neha), Diya (father Vikram), Kabir
    6-B  class teacher Ravi; Ishaan (father Kiran), Meera
    7-A  no teacher; Rohan (father Vikram)

Neha and Kiran get parent logins here (Vikram has one already).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from erplake.core.settings import Settings
from erplake.integrations.fakes import ServedApp, serve_in_thread
from erplake.services.roles import create_app
from tests.school_records import SchoolRecords, records

__all__ = ["records"]


@dataclass
class ChatSchool:
    records: SchoolRecords
    admin: Any
    sunita: Any  # class teacher of 6-A
    ravi: Any  # class teacher of 6-B
    vikram: Any  # parent of Diya (6-A) and Rohan (7-A)
    neha: Any  # parent of Aarav (6-A)
    kiran: Any  # parent of Ishaan (6-B)


@pytest.fixture
async def chat_school(records: SchoolRecords, make_user: Any) -> ChatSchool:
    neha = await make_user("parent", phone="+919810000001", name="Neha Sharma")
    kiran = await make_user("parent", phone="+919810000004", name="Kiran Patel")
    return ChatSchool(
        records, records.admin, records.sunita, records.ravi, records.parent, neha, kiran
    )


async def start_direct(api: httpx.AsyncClient, who: Any, other: Any) -> uuid.UUID:
    answer = await api.post(
        "/chat/conversations/direct", json={"user_id": str(other.user_id)}, headers=who.headers
    )
    assert answer.status_code in (200, 201), answer.text
    return uuid.UUID(answer.json()["id"])


async def send(
    api: httpx.AsyncClient, who: Any, conversation_id: uuid.UUID, body: str
) -> dict[str, Any]:
    answer = await api.post(
        f"/chat/conversations/{conversation_id}/messages", json={"body": body}, headers=who.headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


@pytest.fixture
def serve_api(settings: Settings) -> Iterator[Callable[[], ServedApp]]:
    """`serve_api()` → a separate api "process": uvicorn on a loopback port in a
    thread, with its own connections and its own chat hub."""
    servers: list[ServedApp] = []

    def _serve() -> ServedApp:
        served = serve_in_thread(create_app("api", settings), lifespan="on")
        servers.append(served)
        return served

    yield _serve
    for served in servers:
        served.stop()


class LiveClient:
    """A WebSocket client of /chat/ws."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(
        cls, base_url: str, token: str, cursors: dict[uuid.UUID, int] | None = None
    ) -> tuple[LiveClient, dict[str, Any]]:
        connection = await connect(base_url.replace("http://", "ws://") + "/chat/ws")
        client = cls(connection)
        hello: dict[str, Any] = {"type": "auth", "token": token}
        if cursors is not None:
            hello["cursors"] = {str(k): v for k, v in cursors.items()}
        await connection.send(json.dumps(hello))
        ready = await client.next()
        assert ready["type"] == "ready", ready
        return client, ready

    async def next(self, wait: float = 5.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.connection.recv(), wait))  # type: ignore[no-any-return]

    async def sequences_until(
        self, conversation_id: uuid.UUID, last: int, wait: float = 5.0
    ) -> list[int]:
        """Sequences of the message frames received for a conversation, up to and
        including `last` (anything else received on the way is kept out)."""
        seen: list[int] = []
        while not seen or seen[-1] < last:
            frame = await self.next(wait)
            if frame["type"] == "message":
                message = frame["message"]
                if message["conversation_id"] == str(conversation_id):
                    seen.append(message["sequence"])
        return seen

    async def close(self) -> None:
        await self.connection.close()


@pytest.fixture
async def live_clients() -> AsyncIterator[list[LiveClient]]:
    """Collects clients so a failing test still closes them."""
    clients: list[LiveClient] = []
    yield clients
    for client in clients:
        await client.close()
