"""deploy/Caddyfile in front of the four roles, all on loopback.

The roles are real `erplake serve ROLE` processes on the test database; Caddy runs the
production Caddyfile with its upstreams, site address and web root pointed here by
the environment placeholders the file reads.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from erplake.services.roles import ROLES
from tests.conftest import TEST_JWT_SECRET
from tests.deploy.conftest import ROOT, Children, base_env, free_port, http_ok, poll

pytestmark = pytest.mark.skipif(
    shutil.which("caddy") is None,
    reason="caddy is not on PATH (Debian: apt-get install caddy; .ci/run installs it)",
)

CADDYFILE = ROOT / "deploy" / "Caddyfile"
MAX_BODY = 10_485_760
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "strict-transport-security": "max-age=31536000",
}
SPA_PAGE = "<!doctype html><title>ERPLake test SPA</title><div id=root></div>"
GUPSHUP_TOKEN = "caddy-test-callback-token"


@dataclass
class Stack:
    url: str
    role_urls: dict[str, str]


@pytest.fixture(scope="module")
def stack(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("caddy")
    web_root = folder / "web"
    web_root.mkdir()
    (web_root / "index.html").write_text(SPA_PAGE)
    group = Children(folder)
    try:
        role_env = base_env(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            ERPLAKE_ENV="test",
            JWT_SECRET=TEST_JWT_SECRET,
            GUPSHUP_CALLBACK_TOKEN=GUPSHUP_TOKEN,
            LOCAL_STORAGE_PATH=str(folder / "storage"),
            LOG_LEVEL="WARNING",
        )
        ports = {role: free_port() for role in ROLES}
        roles = {
            role: group.start(
                role,
                [sys.executable, "-m", "erplake", "serve", role, "--port", str(port)],
                role_env,
            )
            for role, port in ports.items()
        }
        role_urls = {role: f"http://127.0.0.1:{port}" for role, port in ports.items()}
        for role, child in roles.items():
            poll(
                http_ok(f"{role_urls[role]}/healthz"),
                timeout=60,
                what=f"erplake serve {role}",
                alive=child.why_dead,
            )
        caddy_port = free_port()
        caddy_env = base_env(
            HOME=str(folder),
            XDG_DATA_HOME=str(folder / "caddy-data"),
            XDG_CONFIG_HOME=str(folder / "caddy-config"),
            ERPLAKE_DOMAIN=f"http://127.0.0.1:{caddy_port}",
            CADDY_ADMIN="off",
            WEB_ROOT=str(web_root),
            **{f"{role.upper()}_UPSTREAM": f"127.0.0.1:{port}" for role, port in ports.items()},
        )
        caddy = group.start(
            "caddy",
            ["caddy", "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            caddy_env,
        )
        url = f"http://127.0.0.1:{caddy_port}"
        poll(http_ok(f"{url}/healthz"), timeout=30, what="caddy", alive=caddy.why_dead)
        yield Stack(url=url, role_urls=role_urls)
    finally:
        group.stop_all()


def _post_counts(metrics_text: str, role: str) -> float:
    """POST requests a role's own /metrics has counted."""
    pattern = re.compile(
        r"^erplake_http_request_duration_seconds_count\{(?P<labels>[^}]*)\} (?P<value>\S+)$",
        re.M,
    )
    total = 0.0
    for found in pattern.finditer(metrics_text):
        labels = found.group("labels")
        if 'method="POST"' in labels and f'role="{role}"' in labels:
            total += float(found.group("value"))
    return total


def test_caddy_answers_healthz_itself(stack: Stack) -> None:
    answer = httpx.get(f"{stack.url}/healthz")
    assert answer.status_code == 200
    assert answer.text == "ok"
    assert "x-request-id" not in answer.headers  # no role was involved


@pytest.mark.parametrize("role", ROLES)
def test_each_prefix_reaches_its_own_role(stack: Stack, role: str) -> None:
    health = httpx.get(f"{stack.url}/{role}/healthz")
    assert health.status_code == 200
    assert health.json() == {"ok": True}
    assert health.headers["x-request-id"]  # set by the role app
    # The prefix is stripped and the right role answers: each app titles itself.
    schema = httpx.get(f"{stack.url}/{role}/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == f"ERPLake {role}"


def test_razorpay_webhook_reaches_billing(stack: Stack) -> None:
    before = {
        r: _post_counts(httpx.get(f"{u}/metrics").text, r) for r, u in stack.role_urls.items()
    }
    answer = httpx.post(
        f"{stack.url}/billing/webhooks/razorpay",
        content=b'{"event": "payment.captured", "payload": {}}',
        headers={
            "content-type": "application/json",
            "x-razorpay-signature": "0" * 64,
            "x-request-id": "caddy-webhook-test",
        },
    )
    # Whatever billing makes of it (404 today, a signature error once the route
    # exists), the answer is the app's, not Caddy's.
    assert answer.status_code not in (413, 502, 503, 504)
    assert answer.headers["x-request-id"] == "caddy-webhook-test"
    if answer.status_code >= 400:
        assert set(answer.json()["error"]) >= {"code", "message"}
    after = {r: _post_counts(httpx.get(f"{u}/metrics").text, r) for r, u in stack.role_urls.items()}
    assert after["billing"] == before["billing"] + 1
    assert all(after[r] == before[r] for r in ROLES if r != "billing")


def test_oversize_body_is_refused_with_413(stack: Stack) -> None:
    # Declared too large: refused up front, whether or not the role would read it.
    declared = httpx.post(f"{stack.url}/billing/webhooks/razorpay", content=b"x" * (MAX_BODY + 1))
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        block = b"x" * 1_048_576
        for _ in range(11):
            yield block

    # Streamed without a length to a route that reads its body (Gupshup's callback):
    # cut off at the cap and refused.
    callback = f"{stack.url}/notify/webhooks/gupshup/{GUPSHUP_TOKEN}"
    streamed = httpx.post(callback, content=chunks())
    assert streamed.status_code == 413

    at_cap = httpx.post(callback, content=b"x" * MAX_BODY)
    assert at_cap.status_code != 413
    assert at_cap.headers["x-request-id"]  # it went through to notify


def test_security_headers_on_proxied_and_own_answers(stack: Stack) -> None:
    for path in ("/healthz", "/api/healthz", "/", "/students/42"):
        answer = httpx.get(f"{stack.url}{path}")
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (path, name)
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert "uvicorn" not in answer.headers.get("server", "")


def test_metrics_are_not_exposed_through_caddy(stack: Stack) -> None:
    for path in ("/api/metrics", "/billing/metrics", "/api//metrics", "/api/%6Detrics"):
        answer = httpx.get(f"{stack.url}{path}")
        assert answer.status_code == 404, path
        assert "erplake_" not in answer.text
    direct = httpx.get(f"{stack.role_urls['api']}/metrics")
    assert direct.status_code == 200
    assert "erplake_http_request_duration_seconds" in direct.text


def test_web_app_with_spa_fallback(stack: Stack) -> None:
    for path in ("/", "/students/42", "/fees/invoices"):
        answer = httpx.get(f"{stack.url}{path}")
        assert answer.status_code == 200
        assert answer.text == SPA_PAGE


def test_site_address_defaults_to_port_80_and_upstreams_to_service_names() -> None:
    text = Path(CADDYFILE).read_text()
    assert "{$ERPLAKE_DOMAIN::80}" in text
    for role in ROLES:
        assert f"{{${role.upper()}_UPSTREAM:{role}:8000}}" in text
