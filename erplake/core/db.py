"""Database engine and the per-request (or per-job) transaction.

The dependency owns the transaction: it commits when the route returns and rolls
back on any error. Services flush; they never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
import structlog
from fastapi import Depends, Request
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from erplake.core.settings import Settings

log = structlog.get_logger(__name__)


def async_url(url: str) -> str:
    """Accept the usual `postgresql://` forms and use asyncpg underneath."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The psycopg (v3) URL for Alembic and other synchronous tools."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """A plain `postgresql://` URL for asyncpg, psql and pg_dump."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(
    settings: Settings, *, role: str, pooled: bool = True, autocommit: bool = False
) -> AsyncEngine:
    # application_name tags each connection with its role so pg_stat_activity shows it.
    kwargs: dict[str, object] = {
        "connect_args": {"server_settings": {"application_name": f"erplake-{role}"}},
    }
    if pooled:
        kwargs.update(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=False,
        )
    else:
        kwargs["poolclass"] = NullPool
    if autocommit:
        # Set once per connection, not on every checkout as an option would be.
        kwargs["isolation_level"] = "AUTOCOMMIT"
    return create_async_engine(async_url(settings.database_url), **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


AfterCommit = Callable[[], Awaitable[None]]


def on_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the session's transaction has committed (and never if it
    rolls back): for telling other processes about what is now true, e.g. a user's
    new auth epoch. Work that must not be lost goes to the outbox instead."""
    session.info.setdefault("after_commit", []).append(callback)


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            session.info.pop("after_commit", None)
            await session.rollback()
            raise
        for callback in session.info.pop("after_commit", []):
            try:
                await callback()
            except Exception as exc:  # committed is committed; report, don't undo
                log.warning("after_commit_failed", error=type(exc).__name__)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for safe (GET/HEAD) requests, on an engine created with
    `autocommit=True`: no BEGIN/COMMIT round trips. Under READ COMMITTED a
    transaction gives a read no extra consistency (each statement takes its own
    snapshot either way), so it would only cost two round trips."""
    return create_sessionmaker(engine)


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The session's own asyncpg connection, for hot paths where SQLAlchemy's
    per-statement overhead (several times the query itself) matters. It is the
    same connection, inside the same transaction as the session's other work."""
    connection = await session.connection()
    adapted = (await connection.get_raw_connection()).dbapi_connection
    # The asyncpg adapter sends BEGIN lazily on its first statement; a statement
    # sent past it must not run outside the request's transaction.
    if adapted._transaction is None:  # type: ignore[union-attr]
        await adapted._start_transaction()  # type: ignore[union-attr]
    return adapted.driver_connection  # type: ignore[union-attr,no-any-return]


async def fetch_one(session: AsyncSession, sql: str, *args: object) -> asyncpg.Record | None:
    return await (await driver_connection(session)).fetchrow(sql, *args)


async def fetch_all(session: AsyncSession, sql: str, *args: object) -> list[asyncpg.Record]:
    return await (await driver_connection(session)).fetch(sql, *args)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    if request.method in SAFE_METHODS:
        async with request.app.state.read_sessionmaker() as session:
            request.state.session = session
            yield session
        return
    async with transaction(request.app.state.sessionmaker) as session:
        request.state.session = session
        yield session


# One transaction per writing request, owned here; reads run without one (above).
# scope="function": the commit happens before the response is sent, so a client
# never sees success for a transaction that then failed to commit.
DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]
