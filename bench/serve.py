"""Servers under test, each run as its own process by the bench:

- `full`: the real api role (FastAPI, middleware, auth, SQLAlchemy session per
  request), plus a bench-only twin of the one-row read without authentication.
- `bare`: a bare Starlette + asyncpg app doing the same work by hand.
"""

import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


def full_app() -> Any:
    from fastapi import APIRouter

    from erplake.core.app import add_routes
    from erplake.core.db import DbSession
    from erplake.core.logging import configure_logging
    from erplake.core.settings import get_settings
    from erplake.schools import service
    from erplake.schools.schemas import SchoolOut
    from erplake.services.roles import create_app

    settings = get_settings()
    configure_logging("WARNING")
    app = create_app("api", settings)
    twin = APIRouter()

    # The same read as GET /school, without authentication: the baseline for the
    # cost of authentication.
    @twin.get("/bench/school/{school_id}", response_model=SchoolOut)
    async def school_unauthenticated(school_id: uuid.UUID, session: DbSession) -> SchoolOut:
        return await service.get_profile(session, school_id=school_id)

    add_routes(app, twin)
    return app


def bare_app() -> Any:
    import asyncpg
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from erplake.core.db import libpq_url
    from erplake.core.settings import get_settings

    settings = get_settings()
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(
            libpq_url(settings.database_url), min_size=2, max_size=settings.db_pool_size
        )
        yield
        await state["pool"].close()

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def school(request: Request) -> Response:
        row = await state["pool"].fetchrow(
            "SELECT id, code, name, timezone, address, phone, email FROM schools WHERE id = $1",
            uuid.UUID(request.path_params["school_id"]),
        )
        body = {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in dict(row).items()}
        return Response(json.dumps(body), media_type="application/json")

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/school/{school_id}", school)],
        lifespan=lifespan,
    )


def main() -> None:
    import gc
    import os

    if os.environ.get("BENCH_GC"):
        gc.set_threshold(*[int(x) for x in os.environ["BENCH_GC"].split(",")])
    kind, port = sys.argv[1], int(sys.argv[2])
    app = full_app() if kind == "full" else bare_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
