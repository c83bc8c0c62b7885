"""The dev scripts, run for real: embedded database (no Docker engine here), the api
role and a worker, status with latency, logs, auto-bumped ports, and a clean stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.deploy.conftest import ROOT, base_env, free_port, poll, port_is_free

SCRIPTS = ROOT / "scripts"
ALL_SCRIPTS = sorted(SCRIPTS.glob("*.sh"))


def test_the_scripts_exist_and_parse() -> None:
    names = {p.name for p in ALL_SCRIPTS}
    assert {"start-all.sh", "stop-all.sh", "status.sh", "logs.sh", "seed.sh"} <= names
    for script in ALL_SCRIPTS:
        checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert checked.returncode == 0, f"{script.name}: {checked.stderr}"
        text = script.read_text()
        if script.name != "lib.sh":
            assert text.startswith("#!/usr/bin/env bash\n"), script.name
            assert "set -euo pipefail" in text, script.name
            assert os.access(script, os.X_OK), f"{script.name} is not executable"


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck_finds_nothing() -> None:
    checked = subprocess.run(
        ["shellcheck", "-x", "--severity=style", *(p.name for p in ALL_SCRIPTS)],
        cwd=SCRIPTS,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


class Dev:
    """Runs the scripts with a private state dir, data dir and env file."""

    def __init__(self, folder: Path) -> None:
        self.state = folder / "state"
        self.data = folder / "data"
        self.env_file = folder / "dev.env"
        self.env_file.write_text(
            "# test env file\nERPLAKE_ENV=development\nLOG_LEVEL=INFO\n"
            "JWT_SECRET='a dev secret # not a comment'\n"
        )
        self.env = base_env(
            ERPLAKE_STATE_DIR=str(self.state),
            DATA_DIR=str(self.data),
            ERPLAKE_DB_MODE="embedded",
            ERPLAKE_PYTHON=sys.executable,
            NO_COLOR="1",
        )

    def run(
        self, script: str, *args: str, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPTS / script), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def pid(self, name: str) -> int | None:
        path = self.state / f"{name}.pid"
        return int(path.read_text()) if path.exists() else None

    def port(self, name: str) -> int:
        return int((self.state / f"{name}.port").read_text())

    def processes(self) -> list[psutil.Process]:
        """Everything still running that belongs to this dev stack."""
        found = []
        for proc in psutil.process_iter(["cmdline", "environ", "status"]):
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(proc.info["cmdline"] or [])
            environ = proc.info["environ"] or {}
            if str(self.data) in cmdline or environ.get("ERPLAKE_STATE_DIR") == str(self.state):
                found.append(proc)
        return found


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    stack = Dev(tmp_path)
    try:
        yield stack
    finally:
        # Whatever happened in the test, nothing it started may outlive it.
        stack.run("stop-all.sh", "--all", timeout=60)
        for proc in stack.processes():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()


def test_start_status_logs_and_stop(dev: Dev) -> None:
    busy_port = free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", busy_port))
        squatter.listen()
        started = dev.run(
            "start-all.sh",
            "--no-web",
            "--api-port",
            str(busy_port),
            "--env-file",
            str(dev.env_file),
        )
        assert started.returncode == 0, started.stdout + started.stderr
    assert f"port {busy_port} is busy" in started.stderr
    assert "web: " not in started.stdout  # --no-web
    api_port = dev.port("api")
    assert api_port > busy_port
    ready = httpx.get(f"http://127.0.0.1:{api_port}/readyz", timeout=5)
    assert ready.json() == {"ok": True, "checks": {"postgres": "ok", "redis": "ok"}}
    assert (dev.state / "db.embedded").read_text().strip() == str(dev.data)

    status = dev.run("status.sh")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    api_line = next(line for line in lines if line.strip().startswith("api "))
    assert "RUNNING" in api_line and str(api_port) in api_line
    assert any(line.strip().startswith("db ") and "RUNNING" in line for line in lines)
    assert any(line.strip().startswith("worker ") and "RUNNING" in line for line in lines)
    probes = [line for line in lines if "/healthz" in line or "/readyz" in line]
    assert len(probes) == 2
    assert all(any(word in line for word in ("fast", "moderate", "slow")) for line in probes)

    logs = dev.run("logs.sh", "--target", "api", "--lines", "5")
    assert logs.returncode == 0
    assert "serve api" in logs.stdout

    again = dev.run("start-all.sh", "--no-db", "--no-migrate", "--no-web")
    assert again.returncode == 0, again.stderr
    assert "api: already running" in again.stdout

    pids = {name: dev.pid(name) for name in ("api", "worker")}
    partial = dev.run("stop-all.sh", "--api")
    assert partial.returncode == 0, partial.stderr
    assert "api: stopped" in partial.stdout and "worker: stopped" in partial.stdout
    assert all(
        not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
        for pid in pids.values()
        if pid
    )
    after_api = dev.run("status.sh").stdout
    assert any(
        line.strip().startswith("db ") and "RUNNING" in line for line in after_api.splitlines()
    )

    stopped = dev.run("stop-all.sh")
    assert stopped.returncode == 0, stopped.stderr
    assert "postgres: stopped" in stopped.stdout and "redis: stopped" in stopped.stdout
    poll(lambda: True if not dev.processes() else None, timeout=10, what="leftover processes")
    assert port_is_free(api_port)
    assert not list(dev.state.glob("*.pid"))
    final = dev.run("status.sh").stdout
    assert "RUNNING" not in final


def test_bad_options_are_refused_clearly(dev: Dev) -> None:
    for script, args in (
        ("start-all.sh", ["--api-port", "not-a-port"]),
        ("start-all.sh", ["--bogus"]),
        ("stop-all.sh", ["--everything"]),
        ("logs.sh", ["--target", "nowhere"]),
        ("start-all.sh", ["--env-file", "/nonexistent/env"]),
    ):
        answer = dev.run(script, *args)
        assert answer.returncode != 0, (script, args)
        assert "error:" in answer.stderr, (script, args, answer.stderr)
    assert dev.run("start-all.sh", "--help").returncode == 0
    nothing = dev.run("logs.sh")
    assert nothing.returncode == 0 and "no logs yet" in nothing.stdout


def test_web_dev_server_starts_answers_and_stops(dev: Dev) -> None:
    port = free_port()
    started = dev.run(
        "start-all.sh",
        "--no-db",
        "--no-api",
        "--no-migrate",
        "--web-port",
        str(port),
        timeout=300,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    web_port = dev.port("web")
    page = httpx.get(f"http://127.0.0.1:{web_port}/", timeout=10)
    assert page.status_code == 200 and '<div id="root">' in page.text
    status = dev.run("status.sh")
    assert "web" in status.stdout and "RUNNING" in status.stdout
    stopped = dev.run("stop-all.sh", "--web")
    assert stopped.returncode == 0, stopped.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", web_port))  # the port is free again
