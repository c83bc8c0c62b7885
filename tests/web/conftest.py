"""End-to-end fixtures: the built web app, a real `erplake run`, and headless Chromium.

The server shares the machine's PostgreSQL and Redis (the `server_urls` fixture):
a fresh scratch database, and a Redis database of its own so that its worker never
picks up another test's jobs and its rate limits never leak into other tests.
Everything started here is stopped here, whether the test passed or not.

They need Node.js/npm (to build apps/web) and Debian's /usr/bin/chromium. On a
developer machine without them the tests are skipped with the reason; when the
environment variable CI is set (`.ci/run` sets it) a missing tool fails them instead.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
import redis
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import _redis_db_url, create_scratch_database, drop_scratch_database

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "apps" / "web"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_SECONDS = 120
# Redis databases 1.. belong to the xdist workers' ordinary tests (tests/conftest.py);
# the e2e servers count down from the top of the default 16.
E2E_REDIS_TOP_DB = 15


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing_tool(reason: str) -> NoReturn:
    """Skip on a developer machine; fail in CI, which must run the browser tests."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set: the browser tests must run here)")
    pytest.skip(f"{reason}; browser tests skipped (they run in CI)")


def _missing_prerequisite() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install -y chromium"
    if shutil.which("npm") is None and _dist_is_stale():
        return "npm is not installed: the e2e tests need Node.js/npm to build apps/web"
    return None


def check_e2e_prerequisites() -> None:
    reason = _missing_prerequisite()
    if reason is not None:
        _missing_tool(reason)


@pytest.fixture(scope="session", autouse=True)
def e2e_prerequisites() -> None:
    """Checked before anything is built or started."""
    check_e2e_prerequisites()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end test in headless Chromium against a real `erplake run`"
    )


# ---- the web app ------------------------------------------------------------------

_WEB_INPUTS = (
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
)


def _newest_input_mtime() -> float:
    newest = 0.0
    for name in _WEB_INPUTS:
        path = WEB / name
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        for file in files:
            newest = max(newest, file.stat().st_mtime)
    return newest


def _dist_is_stale() -> bool:
    index = WEB / "dist" / "index.html"
    return not index.exists() or index.stat().st_mtime < _newest_input_mtime()


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        _missing_tool("npm is not installed: the e2e tests need Node.js/npm to build apps/web")
    result = subprocess.run([npm, *args], cwd=WEB, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        pytest.fail(f"npm {' '.join(args)} failed:\n{output}")


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """apps/web/dist, built now if missing or older than its sources."""
    # xdist workers share the folder: one builds, the others wait and find it fresh.
    lock_path = Path(tempfile.gettempdir()) / "erplake-web-build.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _dist_is_stale():
            if not (WEB / "node_modules").is_dir():
                _npm("ci", "--no-audit", "--no-fund")
            _npm("run", "build")
    return WEB / "dist"


# ---- the server -------------------------------------------------------------------


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    log_path: Path

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _erplake_command() -> list[str]:
    script = ROOT / ".venv" / "bin" / "erplake"
    return [str(script)] if script.exists() else [sys.executable, "-m", "erplake"]


def _server_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = os.environ.copy()
    # Development mode, with the in-process fake Gupshup behind /notify/dev/inbox.
    for name in ("GUPSHUP_API_BASE", "ERPLAKE_ENV", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    env.update(
        ERPLAKE_ENV="development",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (it and its worker), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait_until_healthy(process: subprocess.Popen[bytes], server: RunningServer) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"erplake run exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(
        f"erplake run did not answer /healthz within {SERVER_START_SECONDS}s:\n{server.log_tail()}"
    )


@pytest.fixture(scope="module")
def erplake_server(
    web_dist: Path,
    server_urls: tuple[str, str],
    worker_id: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    """A real `erplake run` (every role, a worker, the web app) on a free port,
    with the demo school seeded into a fresh database."""
    admin_url, redis_base = server_urls
    worker_index = int(worker_id.removeprefix("gw")) if worker_id.startswith("gw") else 0
    redis_db = E2E_REDIS_TOP_DB - worker_index
    assert redis_db > 1 + worker_index, "too many xdist workers for a Redis database each"
    redis_url = _redis_db_url(redis_base, redis_db)
    redis.Redis.from_url(redis_url).flushdb()
    db_name = f"erplake_e2e_{worker_id}"
    database_url = create_scratch_database(admin_url, db_name)

    workdir = tmp_path_factory.mktemp("erplake-run")  # no developer .env.local is read here
    port = _free_port()
    server = RunningServer(base_url=f"http://127.0.0.1:{port}", log_path=workdir / "server.log")
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            [*_erplake_command(), "run", "--port", str(port), "--data-dir", str(workdir / "var")],
            cwd=workdir,
            env=_server_env(database_url, redis_url),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its worker
        )
    try:
        _wait_until_healthy(process, server)
        yield server
    finally:
        _stop(process)
        drop_scratch_database(admin_url, db_name)
        redis.Redis.from_url(redis_url).flushdb()


# ---- the browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        _missing_tool(f"{CHROMIUM} is missing: apt-get install -y chromium")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
