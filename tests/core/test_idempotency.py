from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter, Header
from pydantic import BaseModel
from sqlalchemy import func, select, text

from erplake.core.app import create_role_app
from erplake.core.db import DbSession
from erplake.core.idempotency import run_idempotent
from erplake.models.school import School


class NewSchool(BaseModel):
    code: str


class Created(BaseModel):
    id: str
    code: str


def _app(settings, resources):  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.post("/schools", response_model=Created)
    async def create(
        body: NewSchool,
        session: DbSession,
        idempotency_key: str | None = Header(default=None),
    ) -> Created:
        async def handler() -> Created:
            school = School(code=body.code, name=body.code.title())
            session.add(school)
            await session.flush()
            # Slow enough that concurrent repeats really overlap.
            await session.execute(text("SELECT pg_sleep(0.05)"))
            return Created(id=str(school.id), code=school.code)

        return await run_idempotent(
            session,
            scope="test:schools",
            key=idempotency_key,
            payload=body,
            response_model=Created,
            handler=handler,
        )

    return create_role_app("test", settings, [router], resources=resources)


async def _count(resources) -> int:  # type: ignore[no-untyped-def]
    async with resources.sessionmaker() as s:
        return int((await s.execute(select(func.count()).select_from(School))).scalar_one())


async def test_repeat_with_same_key_returns_first_response_and_writes_once(
    settings, resources
) -> None:
    app = _app(settings, resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        first = await c.post("/schools", json={"code": "a"}, headers={"Idempotency-Key": "k1"})
        second = await c.post("/schools", json={"code": "a"}, headers={"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert await _count(resources) == 1


async def test_same_key_with_different_body_is_409_and_changes_nothing(settings, resources) -> None:
    app = _app(settings, resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.post("/schools", json={"code": "a"}, headers={"Idempotency-Key": "k1"})
        clash = await c.post("/schools", json={"code": "b"}, headers={"Idempotency-Key": "k1"})
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "idempotency_key_reused"
    assert await _count(resources) == 1


async def test_concurrent_repeats_write_once_and_all_get_the_first_answer(
    settings, resources
) -> None:
    app = _app(settings, resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        answers = await asyncio.gather(
            *[
                c.post("/schools", json={"code": "same"}, headers={"Idempotency-Key": "race"})
                for _ in range(5)
            ]
        )
    assert {r.status_code for r in answers} == {200}
    assert len({r.json()["id"] for r in answers}) == 1
    assert await _count(resources) == 1


async def test_failed_request_records_nothing_so_a_retry_runs(settings, resources) -> None:
    app = _app(settings, resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.post("/schools", json={"code": "dup"})
        failed = await c.post("/schools", json={"code": "dup"}, headers={"Idempotency-Key": "k9"})
        assert failed.status_code == 409  # unique violation: the transaction rolled back
        async with resources.sessionmaker() as s:
            await s.execute(text("DELETE FROM schools"))
            await s.commit()
        retry = await c.post("/schools", json={"code": "dup"}, headers={"Idempotency-Key": "k9"})
    assert retry.status_code == 200
    assert await _count(resources) == 1


async def test_no_key_means_no_replay(settings, resources) -> None:
    app = _app(settings, resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        await c.post("/schools", json={"code": "x1"})
        await c.post("/schools", json={"code": "x2"})
    assert await _count(resources) == 2
