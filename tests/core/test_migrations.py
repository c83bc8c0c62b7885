"""Migrations upgrade and downgrade cleanly, and match the models."""

from __future__ import annotations

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from erplake.core.db import libpq_url, sync_url
from erplake.core.migrate import downgrade, upgrade
from erplake.models import Base
from tests.conftest import create_scratch_database, drop_scratch_database


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trip(server_urls, worker_id) -> None:
    admin_url, _ = server_urls
    name = f"erplake_migrations_{worker_id}"
    url = create_scratch_database(admin_url, name)
    try:
        upgrade(url)
        assert {"schools", "users", "outbox_jobs", "audit_log"} <= _tables(url)
        downgrade(url, "base")
        assert _tables(url) <= {"alembic_version"}
        with psycopg.connect(libpq_url(url)) as conn:
            functions = conn.execute(
                "SELECT count(*) FROM pg_proc WHERE proname = 'audit_log_append_only'"
            ).fetchone()
        assert functions == (0,)
        upgrade(url)
        assert "users" in _tables(url)
    finally:
        drop_scratch_database(admin_url, name)


def test_models_and_migrations_agree(database_url) -> None:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models differ from migrations: {diff}"
