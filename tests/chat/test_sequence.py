"""The database numbers messages per conversation: 1, 2, 3 … with no gap and no
duplicate, whoever writes, however many at once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from erplake.core.db import libpq_url, transaction
from erplake.core.security import Principal
from erplake.storage import get_storage

# The seed's integrity query.
INTEGRITY = """
select conversation_id, count(*) as messages,
       max(sequence) as max_seq,
       bool_and(sequence is not null) as all_have_sequence,
       (max(sequence) - count(*) + 1) = min(sequence) as contiguous
from messages group by 1 limit 20
"""


@pytest.fixture
async def db(database_url: str) -> Any:
    conn = await asyncpg.connect(libpq_url(database_url))
    yield conn
    await conn.close()


@pytest.fixture
async def conversation(db: Any, make_user: Any, school: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """(conversation id, a member's user id) of a staff group."""
    teacher = await make_user("teacher")
    conversation_id = await db.fetchval(
        "INSERT INTO conversations (school_id, kind, title) VALUES ($1, 'staff', 'Staff room') "
        "RETURNING id",
        school.id,
    )
    await db.execute(
        "INSERT INTO conversation_members (conversation_id, user_id, school_id) "
        "VALUES ($1, $2, $3)",
        conversation_id,
        teacher.user_id,
        school.id,
    )
    return conversation_id, teacher.user_id


async def test_fifty_concurrent_writers_get_one_to_ten_thousand(
    database_url: str, db: Any, school: Any, conversation: tuple[uuid.UUID, uuid.UUID]
) -> None:
    conversation_id, sender = conversation
    writers = [await asyncpg.connect(libpq_url(database_url)) for _ in range(50)]

    async def write(conn: Any, writer: int) -> None:
        for n in range(200):
            await conn.execute(
                "INSERT INTO messages (school_id, conversation_id, sender_id, body) "
                "VALUES ($1, $2, $3, $4)",
                school.id,
                conversation_id,
                sender,
                f"writer {writer} message {n}",
            )

    try:
        await asyncio.gather(*(write(conn, i) for i, conn in enumerate(writers)))
    finally:
        await asyncio.gather(*(conn.close() for conn in writers))

    (row,) = await db.fetch(INTEGRITY)
    assert row["messages"] == 10_000
    assert row["all_have_sequence"] is True
    assert row["contiguous"] is True
    sequences = [
        r[0]
        for r in await db.fetch(
            "SELECT sequence FROM messages WHERE conversation_id = $1 ORDER BY sequence",
            conversation_id,
        )
    ]
    assert sequences == list(range(1, 10_001))
    assert (
        await db.fetchval(
            "SELECT next_message_seq FROM conversations WHERE id = $1", conversation_id
        )
        == 10_001
    )
    # Each writer's own messages come out in the order it wrote them.
    order = await db.fetch(
        "SELECT body FROM messages WHERE body LIKE 'writer 7 %' ORDER BY sequence"
    )
    assert [r["body"] for r in order] == [f"writer 7 message {n}" for n in range(200)]


async def test_concurrent_sends_through_the_service_stay_contiguous(
    resources: Any, settings: Any, school: Any, make_user: Any, db: Any
) -> None:
    from erplake.chat import service

    teacher = await make_user("teacher")
    conversation_id = await db.fetchval(
        "INSERT INTO conversations (school_id, kind, title) VALUES ($1, 'staff', 'Staff room') "
        "RETURNING id",
        school.id,
    )
    await db.execute(
        "INSERT INTO conversation_members (conversation_id, user_id, school_id) "
        "VALUES ($1, $2, $3)",
        conversation_id,
        teacher.user_id,
        school.id,
    )
    principal = Principal(teacher.user_id, school.id, ("teacher",), frozenset({"chat:use"}), 0)
    storage = get_storage(settings)

    async def writer(n: int) -> list[int]:
        # Its own turns: as if each writer were a process of its own, so the
        # database, not the process, is what serialises them.
        turns = service.ConversationTurns()
        got = []
        for i in range(10):
            async with transaction(resources.sessionmaker) as session:
                sent = await service.send_message(
                    session,
                    lambda: storage,
                    principal,
                    conversation_id=conversation_id,
                    body=f"{n}/{i}",
                    attachment_keys=[],
                    turns=turns,
                )
            got.append(sent.sequence)
        return got

    results = await asyncio.gather(*(writer(n) for n in range(8)))
    assert sorted(s for got in results for s in got) == list(range(1, 81))
    assert all(got == sorted(got) for got in results)
    # The sender has read their own messages.
    assert (
        await db.fetchval(
            "SELECT last_read_sequence FROM conversation_members WHERE conversation_id = $1",
            conversation_id,
        )
        == 80
    )


async def test_a_multi_row_insert_numbers_every_row(
    db: Any, school: Any, conversation: tuple[uuid.UUID, uuid.UUID]
) -> None:
    conversation_id, sender = conversation
    await db.execute(
        "INSERT INTO messages (school_id, conversation_id, sender_id, body) VALUES "
        "($1, $2, $3, 'one'), ($1, $2, $3, 'two'), ($1, $2, $3, 'three')",
        school.id,
        conversation_id,
        sender,
    )
    # History import: INSERT … SELECT of many rows at once.
    await db.execute(
        "INSERT INTO messages (school_id, conversation_id, sender_id, body) "
        "SELECT $1, $2, $3, 'imported ' || g FROM generate_series(1, 500) g ORDER BY g",
        school.id,
        conversation_id,
        sender,
    )
    rows = await db.fetch(
        "SELECT sequence, body FROM messages WHERE conversation_id = $1 ORDER BY sequence",
        conversation_id,
    )
    assert [r["sequence"] for r in rows] == list(range(1, 504))
    assert [r["body"] for r in rows[:4]] == ["one", "two", "three", "imported 1"]
    (row,) = await db.fetch(INTEGRITY)
    assert row["contiguous"] and row["all_have_sequence"]


async def test_sequences_are_per_conversation_and_cannot_be_chosen(
    db: Any, school: Any, conversation: tuple[uuid.UUID, uuid.UUID]
) -> None:
    conversation_id, sender = conversation
    other = await db.fetchval(
        "INSERT INTO conversations (school_id, kind, title) VALUES ($1, 'staff', 'Other') "
        "RETURNING id",
        school.id,
    )
    for target in (conversation_id, other, conversation_id):
        await db.execute(
            "INSERT INTO messages (school_id, conversation_id, sender_id, body, sequence) "
            "VALUES ($1, $2, $3, 'x', 999)",
            school.id,
            target,
            sender,
        )
    rows = await db.fetch("SELECT conversation_id, sequence FROM messages ORDER BY 1, 2")
    assert sorted((r["conversation_id"] == other, r["sequence"]) for r in rows) == [
        (False, 1),
        (False, 2),
        (True, 1),
    ]


async def test_a_rolled_back_insert_gives_its_number_back(
    db: Any, school: Any, conversation: tuple[uuid.UUID, uuid.UUID]
) -> None:
    conversation_id, sender = conversation
    insert = (
        "INSERT INTO messages (school_id, conversation_id, sender_id, body) "
        "VALUES ($1, $2, $3, $4) RETURNING sequence"
    )
    assert await db.fetchval(insert, school.id, conversation_id, sender, "first") == 1
    tx = db.transaction()
    await tx.start()
    assert await db.fetchval(insert, school.id, conversation_id, sender, "lost") == 2
    await tx.rollback()
    assert await db.fetchval(insert, school.id, conversation_id, sender, "second") == 2


async def test_a_message_for_an_unknown_conversation_is_refused(db: Any, school: Any) -> None:
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db.execute(
            "INSERT INTO messages (school_id, conversation_id, body) VALUES ($1, $2, 'x')",
            school.id,
            uuid.uuid4(),
        )


async def test_a_body_longer_than_4000_characters_is_refused_by_the_database(
    db: Any, school: Any, conversation: tuple[uuid.UUID, uuid.UUID]
) -> None:
    conversation_id, sender = conversation
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO messages (school_id, conversation_id, sender_id, body) "
            "VALUES ($1, $2, $3, $4)",
            school.id,
            conversation_id,
            sender,
            "x" * 4001,
        )


async def test_sends_into_one_conversation_take_turns_within_a_process() -> None:
    from erplake.chat.service import ConversationTurns

    turns = ConversationTurns()
    busy, quiet = uuid.uuid4(), uuid.uuid4()
    running = {busy: 0, quiet: 0}
    most = {busy: 0, quiet: 0}
    release = asyncio.Event()

    async def send(conversation_id: uuid.UUID) -> None:
        async with turns.of(conversation_id):
            running[conversation_id] += 1
            most[conversation_id] = max(most[conversation_id], running[conversation_id])
            await release.wait()
            running[conversation_id] -= 1

    burst = [asyncio.ensure_future(send(busy)) for _ in range(20)]
    await asyncio.sleep(0.01)
    # The busy conversation is at its limit; another one is not held up by it.
    quiet_send = asyncio.ensure_future(send(quiet))
    await asyncio.sleep(0.01)
    assert running == {busy: ConversationTurns.IN_FLIGHT, quiet: 1}
    release.set()
    await asyncio.gather(*burst, quiet_send)
    assert most[busy] == ConversationTurns.IN_FLIGHT
    assert turns._gates == {}  # nothing left behind
