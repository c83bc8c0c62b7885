"""Helpers for the deploy tests: free ports, processes that are always cleaned up,
and polling with a deadline (never a bare sleep to wait)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def poll(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    alive: Callable[[], str | None] | None = None,
) -> T:
    """Call `probe` until it returns something other than None; fail after `timeout`
    seconds, or as soon as `alive` reports why it is pointless to wait on."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if alive is not None and (reason := alive()):
            pytest.fail(f"{what}: {reason}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(interval)


def http_ok(url: str, *, expect: int = 200) -> Callable[[], httpx.Response | None]:
    def probe() -> httpx.Response | None:
        try:
            answer = httpx.get(url, timeout=2.0)
        except httpx.TransportError:
            return None
        return answer if answer.status_code == expect else None

    return probe


def base_env(**extra: str) -> dict[str, str]:
    """A clean environment: nothing of the developer's settings leaks into a child."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def why_dead(self) -> str | None:
        code = self.proc.poll()
        if code is None:
            return None
        return f"{self.name} exited with {code}:\n{self.log_tail()}"


@dataclass
class Children:
    """Processes a test started; `stop_all` ends each one's process group."""

    folder: Path
    started: list[Child] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str], cwd: Path = ROOT) -> Child:
        log_path = self.folder / f"{name}.log"
        handle: IO[bytes] = log_path.open("ab")
        try:
            proc = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            handle.close()
        child = Child(name, proc, log_path)
        self.started.append(child)
        return child

    def stop_all(self) -> None:
        for child in reversed(self.started):
            if child.proc.poll() is not None:
                continue
            try:
                os.killpg(child.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for child in reversed(self.started):
            try:
                child.proc.wait(10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(child.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.proc.wait(5)


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    group = Children(tmp_path)
    try:
        yield group
    finally:
        group.stop_all()
