"""Database constraint errors become a 409 the client can act on, whether they come
through SQLAlchemy or straight from the driver (the hot paths' statements)."""

from __future__ import annotations

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from erplake.core.app import install_error_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/driver/{sqlstate}")
    async def driver(sqlstate: str) -> None:
        error = asyncpg.IntegrityConstraintViolationError("constraint")
        error.sqlstate = sqlstate  # type: ignore[attr-defined]
        raise error

    @app.post("/orm")
    async def orm() -> None:
        cause = asyncpg.UniqueViolationError("duplicate key")
        raise IntegrityError("INSERT", {}, cause)

    return app


async def test_constraint_errors_from_either_layer_are_conflicts() -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        unique = await client.post("/driver/23505")
        foreign = await client.post("/driver/23503")
        orm = await client.post("/orm")
        other = await client.post("/driver/23514")

    assert (unique.status_code, unique.json()["error"]["code"]) == (409, "conflict")
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (409, "conflict")
    assert (orm.status_code, orm.json()["error"]["code"]) == (409, "conflict")
    assert other.status_code == 500  # a CHECK failing is our bug, not the client's
