"""Database engine and the per-request (or per-job) transaction.

The dependency owns the transaction: it commits when the route returns and rolls
back on any error. Services flush; they never commit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import Annotated, Any

import asyncpg
import structlog
from anyio import CancelScope
from fastapi import Depends, Request
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
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
    session = sessionmaker()
    try:
        yield session
    except BaseException as exc:
        await finish_unit_of_work(session, exc)
        raise
    await finish_unit_of_work(session, None)


async def finish_unit_of_work(session: AsyncSession, error: BaseException | None) -> None:
    """End a session's unit of work: commit it when `error` is None (a failed commit
    rolls back and raises), else roll it back; close it; then, if it committed, run
    its after-commit callbacks. Commit, rollback and close are shielded: a
    cancellation arriving meanwhile must not strand the connection mid-transaction."""
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    with CancelScope(shield=True):
        try:
            if error is not None:
                await session.rollback()
                return
            try:
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        finally:
            await session.close()
    for callback in callbacks:
        try:
            await callback()
        except Exception as exc:  # committed is committed; report, don't undo
            log.warning("after_commit_failed", error=type(exc).__name__)


DRIVER_POOL = "erplake.driver_pool"


def create_read_sessionmaker(
    engine: AsyncEngine, driver_pool: DriverPool | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions for safe (GET/HEAD) requests, on an engine created with
    `autocommit=True`: no BEGIN/COMMIT round trips. Under READ COMMITTED a
    transaction gives a read no extra consistency (each statement takes its own
    snapshot either way), so it would only cost two round trips. With a
    `driver_pool`, the driver fast path of such a session borrows a pooled
    connection for each statement until the session itself has connected."""
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        autoflush=True,
        info={DRIVER_POOL: driver_pool} if driver_pool is not None else None,
    )


def _json_decoder(raw: bytes) -> Any:
    return json.loads(raw.decode())


def _jsonb_encoder(value: str) -> bytes:
    return b"\x01" + value.encode()  # binary jsonb is a version byte, then the text


def _jsonb_decoder(raw: bytes) -> Any:
    return json.loads(raw[1:].decode())


async def _same_codecs_as_sqlalchemy(connection: asyncpg.Connection) -> None:
    # SQLAlchemy's asyncpg dialect decodes json/jsonb on its connections; rows from
    # the pool come out of `fetch_one` alike, whichever connection ran them.
    await connection.set_type_codec(
        "json", encoder=str.encode, decoder=_json_decoder, schema="pg_catalog", format="binary"
    )
    await connection.set_type_codec(
        "jsonb",
        encoder=_jsonb_encoder,
        decoder=_jsonb_decoder,
        schema="pg_catalog",
        format="binary",
    )


async def _end_borrow(connection: asyncpg.Connection) -> None:
    """asyncpg's release itself rolls back an open transaction and drops listeners;
    its default reset adds a `RESET ALL; UNLISTEN *; ...` round trip per borrow.
    Single autocommit statements leave no session state for it to clear."""


class DriverPool:
    """asyncpg connections (tagged with the role, like the engines') for the driver
    fast path of sessions without a transaction: a safe request's one-row read
    borrows one for its statement instead of checking the read session's connection
    out of SQLAlchemy, which cost several times the read itself (a Session
    transaction, a Connection, two greenlet switches, and the same again to give it
    back). Opened on first use; it holds at most `db_pool_size` connections."""

    def __init__(self, settings: Settings, *, role: str) -> None:
        self._dsn = libpq_url(settings.database_url)
        self._max_size = settings.db_pool_size
        self._application_name = f"erplake-{role}"
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._max_size,
                    init=_same_codecs_as_sqlalchemy,
                    reset=_end_borrow,
                    server_settings={"application_name": self._application_name},
                )
            return self._pool

    async def fetchrow(self, sql: str, *args: object) -> asyncpg.Record | None:
        pool = self._pool or await self._open()
        return await pool.fetchrow(sql, *args)

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        pool = self._pool or await self._open()
        return await pool.fetch(sql, *args)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _unconnected_driver_pool(session: AsyncSession) -> DriverPool | None:
    """The session's driver pool if it may be used: only while the session has not
    begun (a read session's ORM work since then runs on its own connection)."""
    pool: DriverPool | None = session.info.get(DRIVER_POOL)
    return pool if pool is not None and not session.in_transaction() else None


_DRIVER = "erplake.driver"


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The session's own asyncpg connection, for hot paths where SQLAlchemy's
    per-statement overhead (several times the query itself) matters. It is the
    same connection, inside the same transaction as the session's other work; it is
    looked up once per transaction (each look-up is a greenlet switch)."""
    cached = session.info.get(_DRIVER)
    if cached is not None and cached[0] is session.sync_session.get_transaction():
        return cached[1]  # type: ignore[no-any-return]
    adapted = await session.run_sync(_adapted_connection)
    # The asyncpg adapter sends BEGIN lazily on its first statement; a statement
    # sent past it must not run outside the request's transaction.
    if adapted._transaction is None:
        await adapted._start_transaction()
    connection = adapted.driver_connection
    session.info[_DRIVER] = (session.sync_session.get_transaction(), connection)
    return connection  # type: ignore[no-any-return]


def _adapted_connection(session: Session) -> Any:
    # One greenlet switch for both the checkout and the raw connection.
    return session.connection().connection.dbapi_connection


async def fetch_one(session: AsyncSession, sql: str, *args: object) -> asyncpg.Record | None:
    """One row from the driver: on the session's connection and transaction, or for a
    read session that has not connected, on a connection borrowed from its pool (no
    transaction either way, so the same answer)."""
    if (pool := _unconnected_driver_pool(session)) is not None:
        return await pool.fetchrow(sql, *args)
    return await (await driver_connection(session)).fetchrow(sql, *args)


async def fetch_all(session: AsyncSession, sql: str, *args: object) -> list[asyncpg.Record]:
    """All rows from the driver, where `fetch_one` would run it."""
    if (pool := _unconnected_driver_pool(session)) is not None:
        return await pool.fetch(sql, *args)
    return await (await driver_connection(session)).fetch(sql, *args)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _EndOfRequest:
    """The exit callback that ends a request's session with the route function (so
    before the response is sent): a writing request's transaction commits if the
    route returned and rolls back if it raised; a read session just closes."""

    __slots__ = ("session", "writes")

    def __init__(self, session: AsyncSession, *, writes: bool) -> None:
        self.session = session
        self.writes = writes

    async def __call__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if self.writes:
            await finish_unit_of_work(self.session, exc)
        elif self.session.in_transaction():  # else it never connected: nothing to free
            with CancelScope(shield=True):
                await self.session.close()
        return False  # never swallow the route's error


async def _request_session(request: Request) -> AsyncSession:
    # A plain function, not a `yield` dependency: FastAPI wraps each of those in an
    # asynccontextmanager, a cancel scope and a shielding generator, which cost more
    # than the one-row read most GETs are. The session is ended instead by a callback
    # on the exit stack FastAPI keeps for function-scoped dependencies, which closes
    # when the route function returns or raises, before the response is sent: the
    # same moment, with the same error, as `Depends(generator, scope="function")`.
    stack = request.scope.get(_FUNCTION_STACK)
    if not isinstance(stack, AsyncExitStack):
        raise RuntimeError(f"{_FUNCTION_STACK} missing from the request scope")
    if request.method in SAFE_METHODS:
        session = request.app.state.read_sessionmaker()
        stack.push_async_exit(_EndOfRequest(session, writes=False))
    else:
        session = request.app.state.sessionmaker()
        stack.push_async_exit(_EndOfRequest(session, writes=True))
    request.state.session = session
    return session


# FastAPI's per-route-call exit stack (the one `scope="function"` dependencies use).
_FUNCTION_STACK = "fastapi_function_astack"

# One transaction per writing request, owned here; reads run without one (above).
# The commit happens before the response is sent, so a client never sees success
# for a transaction that then failed to commit.
DbSession = Annotated[AsyncSession, Depends(_request_session)]
