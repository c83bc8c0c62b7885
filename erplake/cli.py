"""The `erplake` command: run, serve, worker, migrate, seed, token."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from erplake.core.settings import Settings, get_settings, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="ERPLake school ERP")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder for embedded servers (default var/)")
]


def _settings() -> Settings:
    from erplake.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return settings


def _with_embedded(settings: Settings, data_dir: Path | None) -> tuple[Settings, object | None]:
    """Start embedded PostgreSQL/Redis for whichever URL is not set."""
    if settings.database_url and settings.redis_url:
        return settings, None
    from erplake.core.embedded import EmbeddedServers

    folder = data_dir or settings.data_dir
    servers = EmbeddedServers(folder)
    urls = servers.start(
        need_postgres=not settings.database_url, need_redis=not settings.redis_url
    )
    for name, url in urls.items():
        os.environ[name.upper()] = url  # children (the worker) use the same servers
    get_settings.cache_clear()
    return load_settings(**urls), servers


@app.command()
def migrate(revision: str = "head") -> None:
    """Apply the database migrations (same as `alembic upgrade head`)."""
    from erplake.core.migrate import upgrade

    settings = _settings()
    if not settings.database_url:
        raise typer.BadParameter("DATABASE_URL is not set")
    upgrade(settings.database_url, revision)
    typer.echo(f"migrated to {revision}")


@app.command()
def seed(
    students: Annotated[int, typer.Option(help="How many students to generate")] = 1500,
    seed_value: Annotated[int, typer.Option("--seed", help="Deterministic seed")] = 42,
) -> None:
    """Build the demo school (idempotent: does nothing if it exists)."""
    from erplake.demo.seed import seed_demo_school

    settings = _settings()
    created = asyncio.run(seed_demo_school(settings, students=students, seed=seed_value))
    typer.echo("demo school seeded" if created else "demo school already present")


@app.command()
def serve(
    role: Annotated[str, typer.Argument(help="api | ai | notify | billing")],
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
) -> None:
    """Run one role (production runs each role as its own process)."""
    import uvicorn

    from erplake.services.roles import ROLES

    if role not in ROLES:
        raise typer.BadParameter(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    settings = _settings()
    if not settings.database_url or not settings.redis_url:
        raise typer.BadParameter("serve needs DATABASE_URL and REDIS_URL (or use `erplake run`)")
    uvicorn.run(
        "erplake.services.asgi:" + role,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Exit when the queues are empty")] = False,
) -> None:
    """Run an RQ worker with the scheduler and the outbox relay."""
    from erplake.services.worker import run_worker

    settings = _settings()
    if not settings.database_url or not settings.redis_url:
        raise typer.BadParameter("worker needs DATABASE_URL and REDIS_URL")
    run_worker(settings, burst=burst)


@app.command()
def run(
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    data_dir: DataDir = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Do not start a worker")] = False,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Do not seed a demo school")] = False,
) -> None:
    """Everything in one process: embedded servers when no URLs are set, migrations,
    a demo school on first start, every role, a worker, and the web app at /."""
    import uvicorn

    from erplake.core.migrate import upgrade
    from erplake.demo.seed import seed_demo_school
    from erplake.services.combined import create_combined_app

    settings = _settings()
    # uvicorn re-raises SIGTERM after its graceful shutdown; make that an exit that
    # runs the `finally` below, so the embedded servers are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    settings, servers = _with_embedded(settings, data_dir)
    worker_proc: subprocess.Popen[bytes] | None = None
    try:
        upgrade(settings.database_url)
        if not no_seed:
            asyncio.run(seed_demo_school(settings))
        if not no_worker:
            worker_proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "erplake", "worker"], env=os.environ.copy()
            )
        typer.echo(f"ERPLake serving on http://{host}:{port}", err=True)
        uvicorn.run(
            create_combined_app(settings),
            host=host,
            port=port,
            log_level="warning",
            ws="websockets-sansio",
        )
    finally:
        if worker_proc is not None and worker_proc.poll() is None:
            worker_proc.send_signal(signal.SIGTERM)
            try:
                worker_proc.wait(15)
            except subprocess.TimeoutExpired:
                worker_proc.kill()
        if servers is not None:
            servers.stop()  # type: ignore[attr-defined]


def main() -> None:
    app()
