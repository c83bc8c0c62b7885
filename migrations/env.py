"""Alembic environment: `-x url=...`, else sqlalchemy.url, else DATABASE_URL read like
every erplake command reads it (process environment, then `.env.local`); psycopg runs it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from erplake.core.db import sync_url
from erplake.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        from erplake.core.settings import get_settings

        url = get_settings().database_url  # a bad value stops here, naming the variable
    if not url:
        raise SystemExit(
            "DATABASE_URL is not set (in the environment or .env.local; "
            "or pass -x url=postgresql://...)"
        )
    return sync_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        {"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
