"""Database engine and the per-request (or per-job) transaction.

The dependency owns the transaction: it commits when the route returns and rolls
back on any error. Services flush; they never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

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


def create_engine(settings: Settings, *, role: str, pooled: bool = True) -> AsyncEngine:
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
    return create_async_engine(async_url(settings.database_url), **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


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
            await session.rollback()
            raise


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for safe (GET/HEAD) requests: no BEGIN/COMMIT round trips. Under
    READ COMMITTED a transaction gives a read no extra consistency (each statement
    takes its own snapshot either way), so it would only cost two round trips."""
    return create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


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
