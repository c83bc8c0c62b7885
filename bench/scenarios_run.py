"""Issue: foundation. `erplake run` with embedded servers: cold start on a fresh
data folder, warm restart, and the idle memory of the one-process server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from bench.common import Row, free_port


def _start(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith(("TEST_", "BENCH_"))
    }
    env["ERPLAKE_ENV"] = "development"
    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "erplake", "run", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while time.monotonic() - began < 120:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/readyz", timeout=1).status_code == 200:
                return proc, time.monotonic() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("erplake run did not become healthy")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(60)


def run_rows(root: Path) -> list[Row]:
    folder = Path(tempfile.mkdtemp(prefix="erplake-bench-run-"))
    try:
        port = free_port()
        proc, cold = _start(folder / "var", port)
        _stop(proc)
        proc, warm = _start(folder / "var", port)
        time.sleep(3)  # let it settle: idle means after start-up work is done
        server = psutil.Process(proc.pid)
        rss_mb = server.memory_info().rss / 2**20
        worker_mb = (
            sum(
                c.memory_info().rss
                for c in server.children(recursive=True)
                if "erplake" in " ".join(c.cmdline())
            )
            / 2**20
        )
        _stop(proc)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [
        Row("erplake run: cold start to healthy (s)", f"{cold:.2f}", "-", "-", "-", None),
        Row("erplake run: warm restart to healthy (s)", f"{warm:.2f}", "-", "-", "< 5 s", warm < 5),
        Row(
            "erplake run: idle RSS of the server process (MB)",
            f"{rss_mb:.0f}",
            f"worker+relay {worker_mb:.0f}",
            "-",
            "< 200 MB",
            rss_mb < 200,
        ),
    ]
