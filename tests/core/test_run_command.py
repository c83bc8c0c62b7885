"""`erplake run` on a fresh data folder: embedded PostgreSQL and Redis, migrations,
the demo school, every role, a worker; and the data survives a restart."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir, self.port = data_dir, port
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"run-{port}.log"

    def start(self, timeout: float = 90) -> float:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(ERPLAKE_ENV="development", LOG_JSON="true")
        began = time.monotonic()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "erplake",
                "run",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            cwd=self.data_dir.parent,
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = began + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - began
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"not healthy in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "var", _free_port())
    yield srv
    srv.stop()


def _embedded_processes(data_dir: Path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if str(data_dir) in line]


def test_run_serves_every_role_seeds_the_demo_and_keeps_data_across_restarts(
    server: Server,
) -> None:
    server.start()
    for prefix in ("", "/api", "/ai", "/notify", "/billing"):
        answer = httpx.get(f"{server.base}{prefix}/healthz", timeout=5)
        assert answer.json() == {"ok": True}, prefix
    assert httpx.get(f"{server.base}/api/readyz", timeout=5).status_code == 200
    home = httpx.get(f"{server.base}/", timeout=5)
    assert home.status_code == 200 and "ERPLake" in home.text

    # A newcomer signs in to the demo by reading the code on the developer inbox;
    # the code travels through the outbox, the worker process and the fake Gupshup.
    teacher = "+919800000004"
    started = httpx.post(f"{server.base}/api/auth/otp/start", json={"phone": teacher}, timeout=5)
    assert started.status_code == 200
    code = None
    deadline = time.monotonic() + 30
    while code is None and time.monotonic() < deadline:
        inbox = httpx.get(f"{server.base}/notify/dev/inbox", timeout=5).text
        found = re.search(r"\+919800000004</td>.*?<li>(\d{6})</li>", inbox, re.S)
        code = found.group(1) if found else None
        time.sleep(0.1)
    assert code is not None, "the code never reached the developer inbox"
    tokens = httpx.post(
        f"{server.base}/api/auth/otp/verify", json={"phone": teacher, "code": code}, timeout=5
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    school = httpx.get(f"{server.base}/api/school", headers=headers, timeout=5).json()
    assert school["name"] == "Green Valley Public School"

    server.stop()
    assert server.proc is not None and server.proc.returncode is not None
    assert _embedded_processes(server.data_dir) == [], "embedded servers outlived Ctrl-C"

    warm = server.start()
    again = httpx.get(f"{server.base}/api/school", headers=headers, timeout=5)
    assert again.status_code == 200, again.text  # same database, same users, same token
    assert again.json()["id"] == school["id"]
    assert warm < 30
