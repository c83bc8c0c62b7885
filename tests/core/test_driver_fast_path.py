"""The driver fast path shares the session's connection and transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from erplake.core.db import driver_connection, fetch_one, transaction
from erplake.models.school import School


async def _count(resources) -> int:  # type: ignore[no-untyped-def]
    async with resources.sessionmaker() as s:
        return int((await s.execute(select(func.count()).select_from(School))).scalar_one())


async def test_driver_writes_roll_back_with_the_session(resources) -> None:
    with pytest.raises(RuntimeError):
        async with transaction(resources.sessionmaker) as session:
            conn = await driver_connection(session)  # first statement of the transaction
            await conn.execute("INSERT INTO schools (code, name) VALUES ('x', 'X')")
            raise RuntimeError("the request failed")
    assert await _count(resources) == 0


async def test_driver_sees_the_sessions_uncommitted_writes(resources) -> None:
    async with transaction(resources.sessionmaker) as session:
        session.add(School(code="y", name="Y"))
        await session.flush()
        row = await fetch_one(session, "SELECT name FROM schools WHERE code = $1", "y")
        assert row is not None and row["name"] == "Y"
    assert await _count(resources) == 1


async def test_read_session_runs_without_a_transaction(resources) -> None:
    """Inside one transaction now() stands still; here each statement has its own."""
    async with resources.read_sessionmaker() as session:
        first = await fetch_one(session, "SELECT now() AS t, pg_sleep(0.01)")
        second = (await session.execute(select(func.now()))).scalar_one()
    assert first is not None and second > first["t"]


async def test_writing_session_runs_in_one_transaction(resources) -> None:
    async with transaction(resources.sessionmaker) as session:
        first = await fetch_one(session, "SELECT now() AS t, pg_sleep(0.01)")
        second = (await session.execute(select(func.now()))).scalar_one()
    assert first is not None and second == first["t"]


async def test_a_session_reused_after_commit_gets_its_new_transactions_connection(
    resources,
) -> None:
    """The driver connection is looked up once per transaction: after a commit the
    session's next transaction gets its own, and a rollback there undoes only it."""
    async with resources.sessionmaker() as session:
        first = await driver_connection(session)
        assert await driver_connection(session) is first  # same transaction, no look-up
        await first.execute("INSERT INTO schools (code, name) VALUES ('a', 'A')")
        await session.commit()

        second = await driver_connection(session)
        await second.execute("INSERT INTO schools (code, name) VALUES ('b', 'B')")
        assert second.is_in_transaction()
        await session.rollback()

    async with resources.sessionmaker() as check:
        codes = (await check.execute(select(School.code).order_by(School.code))).scalars()
        assert list(codes) == ["a"]
