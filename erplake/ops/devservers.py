"""`erplake embedded start|stop|status`: the embedded PostgreSQL and Redis, detached.

`erplake run` starts and stops the embedded servers around its own life. The dev
scripts want them to outlive the command that started them and to be stopped later by
another process: the servers are found again through the files they leave in the data
folder (PostgreSQL's `postmaster.pid`, redis-server's `redis.pid` and socket).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis

from erplake.core.embedded import EMBEDDED_DB_NAME, EmbeddedServers

STOP_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class ServerState:
    name: str
    running: bool
    pid: int | None
    url: str | None


def _postgres_dir(data_dir: Path) -> Path:
    return (data_dir / "postgres").resolve()


def _redis_dir(data_dir: Path) -> Path:
    return (data_dir / "redis").resolve()


def start_detached(data_dir: Path) -> dict[str, str]:
    """Start (or find running) servers under `data_dir` and leave them running."""
    servers = EmbeddedServers(data_dir)
    urls = servers.start()
    # pgserver stops its server when the last Python process holding a handle exits
    # (cleanup_mode="stop"); forget that wish for this handle so the server stays up.
    server = getattr(servers.postgres, "_server", None)
    if server is not None:
        server.cleanup_mode = None
    return {"DATABASE_URL": urls["database_url"], "REDIS_URL": urls["redis_url"]}


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        # A zombie (exited, parent not yet reaped it) no longer counts as running.
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _postgres_pid(data_dir: Path) -> int | None:
    pid_file = _postgres_dir(data_dir) / "postmaster.pid"
    try:
        first = pid_file.read_text().splitlines()[0].strip()
    except (FileNotFoundError, IndexError):
        return None
    return int(first) if first.isdigit() else None


def _postgres_url(data_dir: Path) -> str | None:
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(_postgres_dir(data_dir))
    if info is None or not info.is_running():
        return None
    return str(info.get_uri(database=EMBEDDED_DB_NAME))


def _redis_pid(data_dir: Path) -> int | None:
    try:
        text = (_redis_dir(data_dir) / "redis.pid").read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def _redis_answers(data_dir: Path) -> bool:
    socket_path = _redis_dir(data_dir) / "redis.sock"
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=2).ping())
    except redis.RedisError:
        return False


def status(data_dir: Path) -> list[ServerState]:
    pg_pid = _postgres_pid(data_dir)
    pg_running = _alive(pg_pid)
    redis_pid = _redis_pid(data_dir)
    redis_running = _redis_answers(data_dir)
    return [
        ServerState(
            "postgres",
            pg_running,
            pg_pid if pg_running else None,
            _postgres_url(data_dir) if pg_running else None,
        ),
        ServerState(
            "redis",
            redis_running,
            redis_pid if redis_running else None,
            f"unix://{_redis_dir(data_dir) / 'redis.sock'}" if redis_running else None,
        ),
    ]


def _signal_and_wait(pid: int, sig: signal.Signals, timeout: float) -> bool:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def stop(data_dir: Path) -> list[str]:
    """Stop whatever runs under `data_dir`; returns a line per server for the user."""
    lines: list[str] = []
    redis_pid = _redis_pid(data_dir)
    if _alive(redis_pid) and redis_pid is not None:
        # redis-server saves and exits on SIGTERM.
        ok = _signal_and_wait(redis_pid, signal.SIGTERM, STOP_TIMEOUT_SECONDS)
        if not ok:
            os.kill(redis_pid, signal.SIGKILL)
        lines.append(f"redis: stopped (pid {redis_pid})")
    else:
        lines.append("redis: not running")
    pg_pid = _postgres_pid(data_dir)
    if _alive(pg_pid) and pg_pid is not None:
        # SIGINT is PostgreSQL's "fast" shutdown: clients disconnected, data safe.
        ok = _signal_and_wait(pg_pid, signal.SIGINT, STOP_TIMEOUT_SECONDS)
        if not ok:
            ok = _signal_and_wait(pg_pid, signal.SIGQUIT, 5)
        lines.append(f"postgres: {'stopped' if ok else 'did not stop'} (pid {pg_pid})")
    else:
        lines.append("postgres: not running")
    return lines
