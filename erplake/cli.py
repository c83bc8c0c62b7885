"""The `erplake` command: run, serve, worker, migrate, seed, token."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from erplake.core.settings import DEFAULT_SECRET, Settings, get_settings, load_settings

if TYPE_CHECKING:
    from erplake.integrations.fakes.gupshup import FakeGupshup

DEFAULT_GUPSHUP_BASE = Settings.model_fields["gupshup_api_base"].default
DEFAULT_RAZORPAY_BASE = Settings.model_fields["razorpay_api_base"].default

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


def _uses_dev_fakes(settings: Settings) -> bool:
    return settings.is_development and settings.gupshup_api_base == DEFAULT_GUPSHUP_BASE


def _dev_fakes(settings: Settings, port: int) -> tuple[Settings, FakeGupshup | None]:
    """In development, with no real Gupshup configured, WhatsApp goes to a fake served
    in-process (and shown at /notify/dev/inbox)."""
    if not _uses_dev_fakes(settings):
        return settings, None
    from erplake.integrations.fakes.gupshup import FakeGupshup
    from erplake.services.combined import DEV_GUPSHUP_PREFIX

    fake = FakeGupshup(api_key=settings.gupshup_api_key)
    base = f"http://127.0.0.1:{port}{DEV_GUPSHUP_PREFIX}"
    os.environ["GUPSHUP_API_BASE"] = base  # the worker sends there too
    return settings.model_copy(update={"gupshup_api_base": base}), fake


def _dev_razorpay(settings: Settings, port: int) -> Settings:
    """In development, with no real Razorpay configured, payments go to a fake served
    in-process at /_dev/razorpay with its own test credentials (the worker's
    reconciliation asks it too)."""
    if not settings.is_development or settings.razorpay_api_base != DEFAULT_RAZORPAY_BASE:
        return settings
    from erplake.integrations.fakes.razorpay import (
        FAKE_KEY_ID,
        FAKE_KEY_SECRET,
        FAKE_WEBHOOK_SECRET,
    )
    from erplake.services.combined import DEV_RAZORPAY_PREFIX

    update = {
        "razorpay_api_base": f"http://127.0.0.1:{port}{DEV_RAZORPAY_PREFIX}",
        "razorpay_key_id": FAKE_KEY_ID,
        "razorpay_key_secret": FAKE_KEY_SECRET,
        "razorpay_webhook_secret": FAKE_WEBHOOK_SECRET,
    }
    for name, value in update.items():
        os.environ[name.upper()] = value
    return settings.model_copy(update=update)


def _dev_public_url(settings: Settings, host: str, port: int) -> Settings:
    """In development the links the app hands out (pay links, checkout's way back)
    point at the address this server prints, unless PUBLIC_BASE_URL says otherwise:
    the browser then comes back to the same origin, and so to the same session."""
    if not settings.is_development or os.environ.get("PUBLIC_BASE_URL"):
        return settings
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{shown}:{port}"
    os.environ["PUBLIC_BASE_URL"] = url
    return settings.model_copy(update={"public_base_url": url})


def is_loopback_host(host: str) -> bool:
    """127.0.0.1 (any 127/8), ::1 or localhost: reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def _refuse_exposed_dev_inbox(settings: Settings, host: str, public: bool) -> None:
    """The developer inbox shows every sign-in code to whoever can open it: in
    development with the fake Gupshup, serving beyond this machine needs --public."""
    if public or is_loopback_host(host) or not _uses_dev_fakes(settings):
        return
    raise typer.BadParameter(
        f"{host} is reachable from other machines, and in development the developer "
        "WhatsApp inbox (/notify/dev/inbox) shows every sign-in code to anyone who can "
        "open it. Serve on 127.0.0.1, set a real GUPSHUP_API_BASE, or pass --public "
        "if everyone on that network may sign in as anyone.",
        param_hint="'--host'",
    )


JWT_SECRET_FILE = "jwt_secret"  # noqa: S105 - a file name, not a secret


def dev_jwt_secret(data_dir: Path) -> str:
    """The development JWT secret kept in `<data_dir>/jwt_secret` (mode 600): made once
    at random, then read back, so tokens outlive a restart but cannot be forged with
    the public default."""
    path = data_dir / JWT_SECRET_FILE
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if len(existing) >= 32:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    # Written to a private temporary file, then linked into place: a second `run`
    # starting at the same moment reads a whole secret, the same one.
    tmp = data_dir / f".{JWT_SECRET_FILE}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (secrets.token_hex(32) + "\n").encode())
    finally:
        os.close(fd)
    try:
        if existing or path.exists():
            os.replace(tmp, path)  # a damaged (short or empty) file is replaced
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won the race: use its secret
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def _with_dev_jwt_secret(settings: Settings, data_dir: Path) -> Settings:
    """In development with the default JWT_SECRET, use the persisted random one."""
    if not settings.is_development or settings.jwt_secret != DEFAULT_SECRET:
        return settings
    secret = dev_jwt_secret(data_dir)
    os.environ["JWT_SECRET"] = secret  # the worker and the scheduler use it too
    return settings.model_copy(update={"jwt_secret": secret})


def _start_child(command: Literal["worker", "scheduler"]) -> subprocess.Popen[bytes]:
    """`erplake worker` / `erplake scheduler` beside `run`, with its environment."""
    argv = [sys.executable, "-m", "erplake", command]
    return subprocess.Popen(argv, env=os.environ.copy())  # noqa: S603 - our own command


def _stop_child(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
    from erplake.demo.seed import progress_bar, seed_demo_school

    settings = _settings()
    created = asyncio.run(
        seed_demo_school(
            settings, students=students, seed=seed_value, progress=progress_bar(sys.stderr)
        )
    )
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
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Do not start the cron scheduler")
    ] = False,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Do not seed a demo school")] = False,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Allow a non-loopback --host in development, where the developer "
            "inbox shows sign-in codes to anyone who can reach the port",
        ),
    ] = False,
) -> None:
    """Everything in one process: embedded servers when no URLs are set, migrations,
    a demo school on first start, every role, a worker, the cron scheduler (nightly
    backup) and the web app at /."""
    import uvicorn

    from erplake.core.migrate import upgrade
    from erplake.demo.seed import seed_demo_school
    from erplake.services.combined import create_combined_app

    settings = _settings()
    _refuse_exposed_dev_inbox(settings, host, public)
    folder = data_dir or settings.data_dir
    if data_dir is not None:
        os.environ["DATA_DIR"] = str(data_dir)  # the worker's backups land there too
        settings = settings.model_copy(update={"data_dir": data_dir})
    # uvicorn re-raises SIGTERM after its graceful shutdown; make that an exit that
    # runs the `finally` below, so the embedded servers are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    settings = _with_dev_jwt_secret(settings, folder)
    settings, servers = _with_embedded(settings, data_dir)
    settings, fake_gupshup = _dev_fakes(settings, port)
    settings = _dev_razorpay(settings, port)
    settings = _dev_public_url(settings, host, port)
    worker_proc: subprocess.Popen[bytes] | None = None
    scheduler_proc: subprocess.Popen[bytes] | None = None
    try:
        upgrade(settings.database_url)
        if not no_seed:
            asyncio.run(seed_demo_school(settings))
        if not no_worker:
            worker_proc = _start_child("worker")
        if not no_scheduler:
            scheduler_proc = _start_child("scheduler")
        typer.echo(f"ERPLake serving on http://{host}:{port}", err=True)
        uvicorn.run(
            create_combined_app(settings, fake_gupshup=fake_gupshup),
            host=host,
            port=port,
            log_level="warning",
            log_config=None,  # uvicorn logs through ours: JSON with the request id
            ws="websockets-sansio",
        )
    finally:
        _stop_child(scheduler_proc)
        _stop_child(worker_proc)
        if servers is not None:
            servers.stop()  # type: ignore[attr-defined]


@app.command()
def token(
    phone: Annotated[str | None, typer.Option(help="Sign in as the user with this phone")] = None,
    role: Annotated[
        str | None, typer.Option(help="Sign in as the first user with this role")
    ] = None,
    school: Annotated[str, typer.Option(help="School code")] = "demo",
    data_dir: DataDir = None,
) -> None:
    """Print an access token for the demo school (development only), e.g. for
    VITE_DEV_ACCESS_TOKEN. Signed with the same secret as `erplake run` on the same
    data folder, and safe to run beside it (its servers are left running)."""
    from erplake.identity.devtoken import dev_access_token

    settings = _settings()
    if not settings.is_development:
        typer.echo("erplake token works only with ERPLAKE_ENV=development", err=True)
        raise typer.Exit(2)
    if (phone is None) == (role is None):
        raise typer.BadParameter("give exactly one of --phone or --role")
    settings = _with_dev_jwt_secret(settings, data_dir or settings.data_dir)
    settings, servers = _with_embedded(settings, data_dir)
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
