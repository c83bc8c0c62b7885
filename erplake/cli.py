"""The `erplake` command: run, serve, worker, migrate, seed, token."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from erplake.core.settings import Settings, get_settings, load_settings

if TYPE_CHECKING:
    from erplake.integrations.fakes.gupshup import FakeGupshup

DEFAULT_GUPSHUP_BASE = Settings.model_fields["gupshup_api_base"].default

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
    urls = servers.start(need_postgres=not settings.database_url, need_redis=not settings.redis_url)
    for name, url in urls.items():
        os.environ[name.upper()] = url  # children (the worker) use the same servers
    get_settings.cache_clear()
    return load_settings(**urls), servers


def _dev_fakes(settings: Settings, port: int) -> tuple[Settings, FakeGupshup | None]:
    """In development, with no real Gupshup configured, WhatsApp goes to a fake served
    in-process (and shown at /notify/dev/inbox)."""
    if not settings.is_development or settings.gupshup_api_base != DEFAULT_GUPSHUP_BASE:
        return settings, None
    from erplake.integrations.fakes.gupshup import FakeGupshup
    from erplake.services.combined import DEV_GUPSHUP_PREFIX

    fake = FakeGupshup(api_key=settings.gupshup_api_key)
    base = f"http://127.0.0.1:{port}{DEV_GUPSHUP_PREFIX}"
    os.environ["GUPSHUP_API_BASE"] = base  # the worker sends there too
    return settings.model_copy(update={"gupshup_api_base": base}), fake


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
    root_path: Annotated[
        str, typer.Option(help="Prefix the proxy strips, e.g. /api (for the docs page)")
    ] = "",
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
        forwarded_allow_ips=settings.forwarded_allow_ips,
        root_path=root_path,
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


@app.command("create-school")
def create_school(
    code: Annotated[str, typer.Option(help="Short code, e.g. gvps-pune")],
    name: Annotated[str, typer.Option(help="The school's name")],
    admin_phone: Annotated[str, typer.Option(help="First admin's mobile number")],
    admin_name: Annotated[str, typer.Option(help="First admin's name")],
    timezone: Annotated[str, typer.Option(help="The school's timezone")] = "Asia/Kolkata",
) -> None:
    """Create a real school with its built-in roles and its first admin, who then
    signs in with a WhatsApp code and adds everyone else."""
    from erplake.identity.bootstrap import SchoolExists, create_school_with_admin

    settings = _settings()
    if not settings.database_url:
        raise typer.BadParameter("DATABASE_URL is not set")
    try:
        school_id = asyncio.run(
            create_school_with_admin(
                settings,
                code=code,
                name=name,
                timezone=timezone,
                admin_phone=admin_phone,
                admin_name=admin_name,
            )
        )
    except SchoolExists as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"school {code} created ({school_id}); {admin_name} is its admin")


@app.command()
def relay() -> None:
    """Move committed outbox jobs to the queues (started by `erplake worker`)."""
    from erplake.services.worker import run_relay

    settings = _settings()
    if not settings.database_url or not settings.redis_url:
        raise typer.BadParameter("relay needs DATABASE_URL and REDIS_URL")
    run_relay(settings)


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
    settings, fake_gupshup = _dev_fakes(settings, port)
    worker_proc: subprocess.Popen[bytes] | None = None
    try:
        upgrade(settings.database_url)
        if not no_seed:
            asyncio.run(seed_demo_school(settings))
        if not no_worker:
            worker_proc = subprocess.Popen(
                [sys.executable, "-m", "erplake", "worker"], env=os.environ.copy()
            )
        typer.echo(f"ERPLake serving on http://{host}:{port}", err=True)
        uvicorn.run(
            create_combined_app(settings, fake_gupshup=fake_gupshup),
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


@app.command()
def token(
    phone: Annotated[str | None, typer.Option(help="Sign in as the user with this phone")] = None,
    role: Annotated[
        str | None, typer.Option(help="Sign in as the first user with this role")
    ] = None,
    school: Annotated[str, typer.Option(help="School code")] = "demo",
) -> None:
    """Print an access token for the demo school (development only), e.g. for
    VITE_DEV_ACCESS_TOKEN."""
    from erplake.identity.devtoken import dev_access_token

    settings = _settings()
    if not settings.is_development:
        typer.echo("erplake token works only with ERPLAKE_ENV=development", err=True)
        raise typer.Exit(2)
    if (phone is None) == (role is None):
        raise typer.BadParameter("give exactly one of --phone or --role")
    settings, servers = _with_embedded(settings, None)
    try:
        typer.echo(asyncio.run(dev_access_token(settings, school=school, phone=phone, role=role)))
    finally:
        if servers is not None:
            servers.stop()  # type: ignore[attr-defined]


@app.command()
def backup(
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the archive (default BACKUP_DIR)")
    ] = None,
    keep: Annotated[
        int | None, typer.Option("--keep", help="Then delete all but the newest N archives")
    ] = None,
) -> None:
    """Back up the database (pg_dump) and the stored files into one .tar.gz archive."""
    from erplake.ops.backup import BackupError, BackupSettings, create_backup

    settings = _settings()
    config = BackupSettings()
    try:
        result = asyncio.run(
            create_backup(
                settings,
                out_dir=out or config.out_dir(settings),
                keep=keep,
                bin_dir=config.pg_bin_dir,
            )
        )
    except BackupError as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(1) from None
    storage = result.manifest["storage"]
    typer.echo(
        f"backed up {len(result.manifest['database']['tables'])} tables and "
        f"{storage['file_count']} files; pruned {len(result.pruned)}",
        err=True,
    )
    typer.echo(str(result.archive))


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="A .tar.gz made by `erplake backup`")],
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Target database (default DATABASE_URL)")
    ] = None,
) -> None:
    """Restore an archive into an EMPTY database, then put its files back in storage."""
    from erplake.ops.backup import BackupError, BackupSettings, restore_backup

    settings = _settings()
    try:
        result = asyncio.run(
            restore_backup(
                settings,
                archive,
                database_url=database_url,
                bin_dir=BackupSettings().pg_bin_dir,
            )
        )
    except BackupError as exc:
        typer.echo(f"restore failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"restored {result.tables} tables ({result.rows} rows) into {result.database} "
        f"and {result.files} files; schema revision "
        f"{result.manifest['database']['schema_revision']}"
    )


@app.command()
def scheduler() -> None:
    """Run RQ's cron scheduler: the nightly backup on BACKUP_CRON (UTC)."""
    from erplake.core.redis import create_sync_redis
    from erplake.ops.tasks import build_cron_scheduler

    settings = _settings()
    if not settings.redis_url:
        raise typer.BadParameter("scheduler needs REDIS_URL")
    build_cron_scheduler(create_sync_redis(settings)).start()


@app.command()
def embedded(
    action: Annotated[str, typer.Argument(help="start | stop | status")],
    data_dir: DataDir = None,
) -> None:
    """Embedded PostgreSQL + Redis that outlive this command (for scripts/start-all.sh).

    `start` prints DATABASE_URL=... and REDIS_URL=... lines; `status` exits 1 when a
    server is down."""
    from erplake.ops import devservers

    settings = _settings()  # also sends logs to stderr: stdout carries only the URL lines
    folder = data_dir or settings.data_dir
    if action == "start":
        for name, url in devservers.start_detached(folder).items():
            typer.echo(f"{name}={url}")
    elif action == "stop":
        for line in devservers.stop(folder):
            typer.echo(line)
    elif action == "status":
        states = devservers.status(folder)
        for state in states:
            word = f"running (pid {state.pid}) {state.url}" if state.running else "stopped"
            typer.echo(f"{state.name}: {word}")
        if not all(state.running for state in states):
            raise typer.Exit(1)
    else:
        raise typer.BadParameter(f"unknown action {action!r}; choose start, stop or status")


def main() -> None:
    app()
