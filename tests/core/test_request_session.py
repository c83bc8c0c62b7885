"""The request's session: a writing request is one transaction that commits before
its response is sent and rolls back on any error; a safe request reads without a
transaction, on the driver pool until its session connects."""

from __future__ import annotations

import httpx
import psycopg
from fastapi import APIRouter
from sqlalchemy import select

from erplake.core.app import Resources, create_role_app
from erplake.core.db import DbSession, fetch_all, fetch_one, libpq_url, on_commit
from erplake.core.errors import Conflict
from erplake.models.school import School


def _client(settings, resources, notes: list[str]) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    router = APIRouter()

    async def note(text: str) -> None:
        notes.append(text)

    @router.post("/schools/{code}")
    async def create(code: str, session: DbSession) -> dict[str, str]:
        # Not flushed here: the commit after the route returns sends the INSERT.
        session.add(School(code=code, name=code.upper()))
        on_commit(session, lambda: note(f"committed {code}"))
        return {"code": code}

    @router.post("/schools/{code}/then-refuse")
    async def create_then_refuse(code: str, session: DbSession) -> None:
        session.add(School(code=code, name=code.upper()))
        await session.flush()
        on_commit(session, lambda: note(f"committed {code}"))
        raise Conflict("changed my mind")

    @router.get("/schools/{code}")
    async def read(code: str, session: DbSession) -> dict[str, object]:
        row = await fetch_one(
            session,
            "SELECT name, current_setting('application_name') AS app FROM schools WHERE code = $1",
            code,
        )
        assert row is not None
        return {"name": row["name"], "app": row["app"], "began": session.in_transaction()}

    @router.get("/schools/{code}/orm-first")
    async def read_orm_first(code: str, session: DbSession) -> dict[str, object]:
        school = (await session.execute(select(School).where(School.code == code))).scalar_one()
        rows = await fetch_all(session, "SELECT name FROM schools WHERE id = $1", school.id)
        return {"name": rows[0]["name"], "began": session.in_transaction()}

    app = create_role_app("test", settings, [router], resources=resources)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def _school_codes(resources: Resources) -> set[str]:
    async with resources.sessionmaker() as session:
        return set((await session.execute(select(School.code))).scalars())


async def test_writing_request_commits_before_its_response(settings, resources) -> None:
    notes: list[str] = []
    async with _client(settings, resources, notes) as client:
        first = await client.post("/schools/gvs")
        # The same code again fails only at the commit, after the route returned:
        # the client hears of it, because the commit precedes the response.
        again = await client.post("/schools/gvs")
    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert notes == ["committed gvs"]
    assert await _school_codes(resources) == {"gvs"}


async def test_a_route_error_rolls_the_request_back(settings, resources) -> None:
    notes: list[str] = []
    async with _client(settings, resources, notes) as client:
        response = await client.post("/schools/dps/then-refuse")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "changed my mind"
    assert notes == []
    assert await _school_codes(resources) == set()


async def test_safe_request_reads_on_the_driver_pool_tagged_with_the_role(
    settings, resources
) -> None:
    async with _client(settings, resources, []) as client:
        await client.post("/schools/kvs")
        response = await client.get("/schools/kvs")
    assert response.status_code == 200
    assert response.json() == {"name": "KVS", "app": "erplake-test", "began": False}
    assert resources.read_engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_safe_request_with_orm_work_reads_on_its_own_connection_and_frees_it(
    settings, resources
) -> None:
    async with _client(settings, resources, []) as client:
        await client.post("/schools/sps")
        response = await client.get("/schools/sps/orm-first")
    assert response.json() == {"name": "SPS", "began": True}
    assert resources.read_engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_driver_pool_decodes_json_like_the_sessions_connection(resources) -> None:
    sql = """SELECT '{"a": [1, "x"]}'::jsonb AS b, '{"n": null}'::json AS j"""
    async with resources.read_sessionmaker() as session:
        pooled = await fetch_one(session, sql)
    async with resources.sessionmaker() as session:
        own = await fetch_one(session, sql)
    assert pooled is not None and own is not None
    assert dict(pooled) == dict(own) == {"b": {"a": [1, "x"]}, "j": {"n": None}}


async def test_closing_the_resources_closes_the_driver_pool(settings, database_url) -> None:
    resources = Resources.open(settings, role="pooltest")
    async with resources.read_sessionmaker() as session:
        assert await fetch_one(session, "SELECT 1 AS one") is not None
    await resources.close()
    with psycopg.connect(libpq_url(database_url)) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'erplake-pooltest'"
        ).fetchone()
    assert left == (0,)
