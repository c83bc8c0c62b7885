"""Issue: chat and search, on 1,000,000 messages in 5,000 conversations
(bench/chat_data.py), with two api processes:

- message search through the api against the same two statements run bare on
  asyncpg (interleaved, one at a time, a mix of parents, teachers and the principal
  and of common, rare, two-word, phrase, OR and -exclude queries in both languages);
- 50 clients sending into one conversation against 50 raw asyncpg connections
  inserting into it (the trigger fires for both), then the seed's integrity query;
- a message sent through one api process reaching another member's WebSocket on
  the other;
- the principal's conversation list (200 conversations) with unread counts.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.parse
import uuid
from typing import Any

import asyncpg
from websockets.asyncio.client import connect

from bench import chat_data
from bench.common import Row, Servers, served
from bench.load import build_request, run_load
from erplake.chat import service
from erplake.core import textsearch
from erplake.core.db import libpq_url
from erplake.core.permissions import BUILTIN_ROLES
from erplake.core.security import issue_access_token

SEARCHES = 400
NOTICE = "Reminder: staff meeting at 3 pm in the library"
WEBSOCKET_MESSAGES = 300

COMMON = ["fee", "homework", "exam", "class", "bus", "holiday", "school", "teacher"]
MEDIUM = ["olympiad", "quiz", "scholarship", "uniform", "canteen", "excursion", "debate"]
TWO_WORDS = ["fee receipt", "bus late", "exam result", "homework pending", "sports practice"]
PHRASES = ['"annual function"', '"report card"', '"sports day"', '"fee receipt"']
OPERATORS = ["quiz OR debate", "bus -van", "fee -late", "exam OR test -result"]


class Http:
    """One keep-alive HTTP/1.1 connection, one request at a time (cheap enough that
    the client is not what is measured)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.host = f"127.0.0.1:{port}"

    async def __aenter__(self) -> Http:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.writer.close()

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        self.writer.write(build_request(path, self.host, headers, method=method, body=body))
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:].strip())
        return int(head[9:12]), await self.reader.readexactly(length)


def _token(settings: Any, user_id: uuid.UUID, school_id: uuid.UUID, role: str) -> str:
    token, _ = issue_access_token(
        settings,
        user_id=user_id,
        school_id=school_id,
        roles=[role],
        permissions=sorted(str(p) for p in BUILTIN_ROLES[role][1]),
        epoch=0,
    )
    return token


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def _search_plan(
    data: chat_data.ChatBenchData, rng: random.Random
) -> list[tuple[Any, str, str, str]]:
    """(user, role, query, lang): parents 60 %, teachers 30 %, school-wide staff (in
    200 conversations each) 10 %; nobody past the 30-a-minute limit."""
    parents = rng.sample(data.parent_ids, int(SEARCHES * 0.6) // 2) * 2
    teachers = rng.sample(data.teacher_ids, int(SEARCHES * 0.3) // 2) * 2
    users = [(u, "parent") for u in parents] + [(u, "teacher") for u in teachers]
    staff = SEARCHES - len(users)
    users += [(data.staff_ids[n % len(data.staff_ids)], "staff") for n in range(staff)]
    rng.shuffle(users)
    plan = []
    for user, role in users:
        kind = rng.choice([COMMON, MEDIUM, TWO_WORDS, PHRASES, OPERATORS, None])
        q = rng.choice(kind) if kind is not None else f"zq{rng.randrange(50_000)}"
        plan.append((user, role, q, "simple" if rng.random() < 0.2 else "english"))
    return plan


async def _search(
    port: int, servers: Servers, data: chat_data.ChatBenchData, tokens: dict[Any, str]
) -> list[Row]:
    rng = random.Random(6)
    conn = await asyncpg.connect(libpq_url(servers.database_url))

    async def bare(user: uuid.UUID, q: str, lang: str) -> int:
        """The two statements the api runs, in a transaction, on asyncpg."""
        async with conn.transaction():
            mine = await conn.fetchval(
                service.SEARCH_SETUP_SQL, user, data.school_id, None, service.FEW_CONVERSATIONS
            )
            if not mine:
                return 0
            rows = await conn.fetch(
                service.SEARCH_MESSAGES_SQL[lang],
                q,
                mine,
                50,
                textsearch.MARKERS,
                textsearch.HEADLINE_OPTIONS,
            )
            return len(rows)

    ours_ms: dict[str, list[float]] = {"parent": [], "teacher": [], "staff": []}
    bare_ms: dict[str, list[float]] = {"parent": [], "teacher": [], "staff": []}
    try:
        async with Http(port) as http:

            async def ours(user: uuid.UUID, q: str, lang: str) -> bytes:
                path = "/chat/search/messages?" + urllib.parse.urlencode({"q": q, "lang": lang})
                status, body = await http.request(
                    "GET", path, {"Authorization": f"Bearer {tokens[user]}"}
                )
                assert status == 200, body[:300]
                return body

            # Warm both paths (connections, prepared statements) with other users,
            # and let every user of the plan open the app first, as users do before
            # they search (their session is then known to the api process).
            for user, _, q, lang in _search_plan(data, random.Random(99))[:40]:
                if user not in data.staff_ids:
                    await ours(user, q, lang)
                    await bare(user, q, lang)
            plan = _search_plan(data, rng)
            for user in {user for user, *_ in plan}:
                auth = {"Authorization": f"Bearer {tokens[user]}"}
                status, _ = await http.request("GET", "/chat/conversations?limit=1", auth)
                assert status == 200
            for user, role, q, lang in plan:
                began = time.perf_counter()
                answer = await ours(user, q, lang)
                ours_ms[role].append((time.perf_counter() - began) * 1000)
                began = time.perf_counter()
                found_bare = await bare(user, q, lang)
                bare_ms[role].append((time.perf_counter() - began) * 1000)
                found = len(json.loads(answer))  # outside the timing, like asyncpg's rows
                assert found == found_bare, (q, found, found_bare)
    finally:
        await conn.close()
    everyone_ours = [ms for values in ours_ms.values() for ms in values]
    everyone_bare = [ms for values in bare_ms.values() for ms in values]
    o50, o95 = _percentile(everyone_ours, 50), _percentile(everyone_ours, 95)
    b50, b95 = _percentile(everyone_bare, 50), _percentile(everyone_bare, 95)
    rows = [
        Row(
            f"message search, 1M messages, {SEARCHES} mixed queries (ms)",
            f"p50 {o50:.1f} / p95 {o95:.1f}",
            f"p50 {b50:.1f} / p95 {b95:.1f}",
            f"{o95 / b95:.2f}x at p95 ({o50 / b50:.2f}x at p50)",
            "p95 < 50 ms, <= 1.3x bare",
            o95 < 50 and o95 <= 1.3 * b95,
        )
    ]
    for role, label in (
        ("parent", "parents, ~9 conversations"),
        ("teacher", "teachers, ~27 conversations"),
        ("staff", "school-wide staff, 200 conversations"),
    ):
        ours_role, bare_role = ours_ms[role], bare_ms[role]
        rows.append(
            Row(
                f"  of which {label} ({len(ours_role)})",
                f"p50 {_percentile(ours_role, 50):.1f} / p95 {_percentile(ours_role, 95):.1f}",
                f"p50 {_percentile(bare_role, 50):.1f} / p95 {_percentile(bare_role, 95):.1f}",
                "-",
                "-",
                None,
            )
        )
    return rows


async def _conversation_list(port: int, token: str, seconds: float) -> Row:
    async with Http(port) as http:
        status, body = await http.request(
            "GET", "/chat/conversations?limit=200", {"Authorization": f"Bearer {token}"}
        )
    listed = json.loads(body)
    assert status == 200 and listed["total"] == 200 and len(listed["items"]) == 200
    assert any(item["unread"] for item in listed["items"])
    result = await run_load(
        "127.0.0.1",
        port,
        "/chat/conversations?limit=200",
        connections=1,
        seconds=seconds,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert result.errors == 0
    p99 = result.percentile(99)
    return Row(
        "conversation list, 200 conversations with unread counts (ms)",
        f"p50 {result.p50:.1f} / p99 {p99:.1f} ({result.rps:,.0f} req/s)",
        "-",
        "-",
        "p99 < 30 ms",
        p99 < 30,
    )


async def _websocket(
    sender_port: int,
    receiver_port: int,
    conversation_id: uuid.UUID,
    sender_token: str,
    receiver_token: str,
) -> Row:
    latencies: list[float] = []
    url = f"ws://127.0.0.1:{receiver_port}/chat/ws"
    async with connect(url) as ws, Http(sender_port) as http:
        await ws.send(json.dumps({"type": "auth", "token": receiver_token}))
        assert json.loads(await ws.recv())["type"] == "ready"

        async def arrival(body: str) -> float:
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "message" and frame["message"]["body"] == body:
                    return time.perf_counter()

        path = f"/chat/conversations/{conversation_id}/messages"
        headers = {"Authorization": f"Bearer {sender_token}"}
        for n in range(WEBSOCKET_MESSAGES + 20):
            body = f"live {n}"
            waiting = asyncio.ensure_future(arrival(body))
            began = time.perf_counter()
            status, _ = await http.request(
                "POST", path, headers, json.dumps({"body": body}).encode()
            )
            assert status == 201
            arrived = await asyncio.wait_for(waiting, 5)
            if n >= 20:  # the first ones warm up
                latencies.append((arrived - began) * 1000)
            await asyncio.sleep(0.005)
    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
    return Row(
        "message to another member's WebSocket, across processes (ms)",
        f"p50 {p50:.1f} / p99 {p99:.1f}",
        "-",
        "-",
        "p99 < 100 ms",
        p99 < 100,
    )


async def _send(
    ports: list[int],
    servers: Servers,
    data: chat_data.ChatBenchData,
    token: str,
    seconds: float,
) -> list[Row]:
    """50 clients spread over the api processes (as behind a load balancer) against
    50 raw asyncpg connections, alternating in three rounds each so that whatever
    else the machine does falls on both alike."""
    conversation = data.busy_conversation_id
    sender = data.busy_member_ids[0]
    writers = [await asyncpg.connect(libpq_url(servers.database_url)) for _ in range(50)]

    async def ours(window: float) -> tuple[float, float]:
        results = await asyncio.gather(
            *(
                run_load(
                    "127.0.0.1",
                    port,
                    f"/chat/conversations/{conversation}/messages",
                    connections=50 // len(ports),
                    seconds=window,
                    headers={"Authorization": f"Bearer {token}"},
                    method="POST",
                    body=json.dumps({"body": NOTICE}).encode(),
                    expect=201,
                )
                for port in ports
            )
        )
        assert not any(r.errors for r in results), "a send failed"
        return sum(r.rps for r in results), max(r.percentile(99) for r in results)

    async def raw(window: float) -> float:
        count = 0
        began = time.perf_counter()
        measure_from, stop_at = began + 0.5, began + 0.5 + window

        async def write(conn: Any) -> None:
            nonlocal count
            while (now := time.perf_counter()) < stop_at:
                await conn.execute(
                    "INSERT INTO messages (school_id, conversation_id, sender_id, body) "
                    "VALUES ($1, $2, $3, $4)",
                    data.school_id,
                    conversation,
                    sender,
                    NOTICE,
                )
                if now >= measure_from:
                    count += 1

        await asyncio.gather(*(write(conn) for conn in writers))
        return count / window

    ours_rates: list[float] = []
    ours_p99s: list[float] = []
    raw_rates: list[float] = []
    try:
        for _ in range(3):
            rate, p99 = await ours(seconds / 3)
            ours_rates.append(rate)
            ours_p99s.append(p99)
            raw_rates.append(await raw(seconds / 3))
        integrity = await writers[0].fetchrow(
            """
            select count(*) as messages, max(sequence) as max_seq,
                   bool_and(sequence is not null) as all_have_sequence,
                   (max(sequence) - count(*) + 1) = min(sequence) as contiguous
            from messages where conversation_id = $1
            """,
            conversation,
        )
    finally:
        await asyncio.gather(*(conn.close() for conn in writers))
    ours_rate = sum(ours_rates) / len(ours_rates)
    raw_rate = sum(raw_rates) / len(raw_rates)
    ratio = raw_rate / ours_rate
    return [
        Row(
            f"send: 50 clients into one conversation, {len(ports)} api processes (msg/s)",
            f"{ours_rate:,.0f} (p99 {max(ours_p99s):.0f} ms)",
            f"{raw_rate:,.0f} raw asyncpg INSERTs",
            f"{ratio:.2f}x",
            "<= 2.0x",
            ratio <= 2.0,
        ),
        Row(
            "send: the seed's integrity query afterwards",
            f"{integrity['messages']:,} messages, max {integrity['max_seq']:,}",
            "-",
            "-",
            "contiguous, all have a sequence",
            bool(integrity["contiguous"] and integrity["all_have_sequence"])
            and integrity["max_seq"] == integrity["messages"],
        ),
    ]


async def chat_rows(servers: Servers, *, seconds: float) -> list[Row]:
    print("chat: generating 1,000,000 messages in 5,000 conversations", flush=True)
    data = await chat_data.load(servers.database_url)
    settings = servers.settings()
    tokens = {u: _token(settings, u, data.school_id, "principal") for u in data.staff_ids}
    tokens |= {u: _token(settings, u, data.school_id, "teacher") for u in data.teacher_ids}
    tokens |= {u: _token(settings, u, data.school_id, "parent") for u in data.parent_ids}
    conn = await asyncpg.connect(libpq_url(servers.database_url))
    try:
        direct = await conn.fetchrow(
            """
            SELECT c.id, array_agg(m.user_id ORDER BY u.name LIKE 'Parent %') AS members
            FROM conversations c
            JOIN conversation_members m ON m.conversation_id = c.id
            JOIN users u ON u.id = m.user_id
            WHERE c.school_id = $1 AND c.kind = 'direct'
            GROUP BY c.id ORDER BY c.id LIMIT 1
            """,
            data.school_id,
        )
    finally:
        await conn.close()
    teacher, parent = direct["members"]
    rows: list[Row] = []
    with served("full", servers.env) as first, served("full", servers.env) as second:
        print("chat: search", flush=True)
        rows += await _search(first, servers, data, tokens)
        print("chat: conversation list", flush=True)
        rows.append(await _conversation_list(first, tokens[data.principal_id], seconds))
        print("chat: WebSocket delivery", flush=True)
        rows.append(await _websocket(second, first, direct["id"], tokens[teacher], tokens[parent]))
        print("chat: 50 concurrent senders", flush=True)
        rows += await _send([first, second], servers, data, tokens[data.principal_id], seconds)
    return rows
