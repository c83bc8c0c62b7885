"""Issue: the web app's staff screens. The students page of the demo school (1,500
students) in headless Chromium against a real `erplake run`: time from navigation
until 50 rows are on screen, with the session restored from a refresh token as on
a returning visit (refresh, /auth/me, the page's chunk, /students). And the first
page's JavaScript, gzipped, from `npm run size` (the one way it is measured).

Needs Node.js/npm (to build apps/web when dist/ is missing) and /usr/bin/chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.common import Row, Servers, free_port

CHROMIUM = Path("/usr/bin/chromium")
ADMIN = "+919800000001"
ROWS = 50
RUNS = 7
TARGET_SECONDS = 1.0
BUDGET_KB = 250.0


def _npm(web: Path, *args: str) -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the web bench needs Node.js to build apps/web")
    done = subprocess.run([npm, *args], cwd=web, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):  # `npm run size` exits 1 when over budget
        raise RuntimeError(
            f"npm {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return done.stdout


def first_page_kb(web: Path) -> float:
    """The larger first page (sign-in or staff dashboard), as `npm run size` counts it."""
    out = _npm(web, "run", "size")
    sizes = [float(kb) for kb in re.findall(r"^[a-z -]+: ([\d.]+) KB of JavaScript", out, re.M)]
    if not sizes:
        raise RuntimeError(f"could not read `npm run size`:\n{out}")
    return max(sizes)


@contextmanager
def erplake_run(servers: Servers, workdir: Path) -> Iterator[str]:
    """`erplake run` on the bench database: migrations, the demo school, the web app,
    and the developer WhatsApp inbox (development mode) for signing in."""
    port = free_port()
    env = {**servers.env, "ERPLAKE_ENV": "development", "PYTHONUNBUFFERED": "1"}
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "erplake",
            "run",
            "--port",
            str(port),
            "--no-scheduler",
            "--data-dir",
            str(workdir / "var"),
        ],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("erplake run did not start for the web bench")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()


def refresh_token(base: str, phone: str) -> str:
    """Sign in as the app does, reading the code from the developer inbox."""
    digits = phone.lstrip("+")
    started = httpx.post(f"{base}/api/auth/otp/start", json={"phone": phone})
    started.raise_for_status()
    deadline = time.monotonic() + 30
    while True:
        rows = re.findall(r"<tr>.*?</tr>", httpx.get(f"{base}/notify/dev/inbox").text, re.S)
        code = next((re.search(r"<li>(\d{6})</li>", r) for r in rows if digits in r), None)
        if code:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("no sign-in code reached the developer inbox")
        time.sleep(0.2)
    verified = httpx.post(
        f"{base}/api/auth/otp/verify", json={"phone": phone, "code": code.group(1)}
    )
    verified.raise_for_status()
    return str(verified.json()["refresh_token"])


def students_page_seconds(base: str, token: str) -> tuple[float, list[float]]:
    """Navigation start → 50 rows rendered, read from the page's own clock. The first
    load (empty cache) apart, then RUNS fresh navigations."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_init_script(
                "if (!localStorage.getItem('erplake.refresh_token'))"
                f" localStorage.setItem('erplake.refresh_token', {token!r});"
            )
            page = context.new_page()
            times = []
            for _ in range(RUNS + 1):
                page.goto(f"{base}/students")
                page.wait_for_function(
                    f"document.querySelectorAll('[data-testid=student-row]').length === {ROWS}",
                    timeout=30_000,
                )
                times.append(page.evaluate("performance.now()") / 1000)
            return times[0], times[1:]
        finally:
            browser.close()


def web_rows(servers: Servers, root: Path) -> list[Row]:
    web = root / "apps" / "web"
    if not (web / "dist" / "index.html").exists():
        _npm(web, "run", "build")
    kb = first_page_kb(web)
    rows = [
        Row(
            "web: first-page JavaScript, gzipped (KB)",
            f"{kb:.1f}",
            "-",
            "-",
            f"<= {BUDGET_KB:.0f} KB",
            kb <= BUDGET_KB,
        ),
    ]
    if not CHROMIUM.exists():
        rows.append(Row("web: students page (Chromium missing)", "-", "-", "-", "-", None))
        return rows
    workdir = Path(tempfile.mkdtemp(prefix="erplake-bench-web-"))
    try:
        with erplake_run(servers, workdir) as base:
            cold, warm = students_page_seconds(base, refresh_token(base, ADMIN))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    median = statistics.median(warm)
    rows.append(
        Row(
            "web: students page, 50 rows rendered in Chromium (s)",
            f"{median:.2f}",
            f"first load {cold:.2f}, worst {max(warm):.2f}",
            "-",
            f"< {TARGET_SECONDS:.0f} s",
            median < TARGET_SECONDS,
        )
    )
    return rows
