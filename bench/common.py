"""Shared bench plumbing: servers, a scratch database with the demo school, the
processes under test, and the table."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from erplake.core.db import libpq_url
from erplake.core.migrate import upgrade

BENCH_JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256-keys"


@dataclass
class Row:
    scenario: str
    ours: str
    raw: str
    ratio: str
    target: str
    ok: bool | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def print_table(rows: list[Row]) -> None:
    headers = ("scenario", "ours", "raw", "ratio", "target", "ok")
    table = [headers] + [
        (r.scenario, r.ours, r.raw, r.ratio, r.target, {True: "yes", False: "NO", None: "-"}[r.ok])
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(headers))]
    for n, row in enumerate(table):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Servers:
    database_url: str
    redis_url: str
    admin_url: str
    env: dict[str, str]

    @classmethod
    @contextlib.contextmanager
    def open(cls, root: Path) -> Iterator[Servers]:
        admin = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL", "")
        redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL", "")
        embedded = None
        if not admin or not redis_url:
            from erplake.core.embedded import EmbeddedServers

            embedded = EmbeddedServers(root / "var" / "bench")
            urls = embedded.start(need_postgres=not admin, need_redis=not redis_url)
            admin = admin or urls["database_url"]
            redis_url = redis_url or urls["redis_url"]
        db_url = make_url(admin).set(database="erplake_bench").render_as_string(False)
        with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "erplake_bench" WITH (FORCE)')
            conn.execute('CREATE DATABASE "erplake_bench"')
        upgrade(db_url)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "BENCH_"))},
            "DATABASE_URL": db_url,
            "REDIS_URL": redis_url,
            "ERPLAKE_ENV": "test",
            "JWT_SECRET": BENCH_JWT_SECRET,
            "LOG_LEVEL": "WARNING",
            "DB_POOL_SIZE": "10",
            "DB_MAX_OVERFLOW": "0",
        }
        try:
            yield cls(database_url=db_url, redis_url=redis_url, admin_url=admin, env=env)
        finally:
            with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
                conn.execute('DROP DATABASE IF EXISTS "erplake_bench" WITH (FORCE)')
            if embedded is not None:
                embedded.stop()

    def settings(self):  # type: ignore[no-untyped-def]
        from erplake.core.settings import load_settings

        return load_settings(
            erplake_env="test",
            database_url=self.database_url,
            redis_url=self.redis_url,
            jwt_secret=BENCH_JWT_SECRET,
        )


@contextlib.contextmanager
def served(kind: str, env: dict[str, str]) -> Iterator[int]:
    """Run `bench.serve KIND` in its own process; yield its port once healthy."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.serve", kind, str(port)], env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bench server {kind} did not start")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def new_id() -> uuid.UUID:
    return uuid.uuid4()
