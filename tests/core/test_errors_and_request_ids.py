from __future__ import annotations

import json

import httpx
from fastapi import APIRouter
from pydantic import BaseModel

from erplake.core.app import create_role_app
from erplake.core.errors import Conflict, TooManyRequests


class Body(BaseModel):
    count: int


def _app(settings, resources):  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.get("/conflict")
    async def conflict() -> None:
        raise Conflict("admission number 1001 already exists", details={"field": "x"})

    @router.get("/limited")
    async def limited() -> None:
        raise TooManyRequests("slow down", retry_after=17)

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    @router.post("/typed")
    async def typed(body: Body) -> Body:
        return body

    return create_role_app("test", settings, [router], resources=resources)


async def _client(settings, resources) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_app(settings, resources)), base_url="http://t"
    )


async def test_domain_error_becomes_the_error_json_with_its_status(settings, resources) -> None:
    async with await _client(settings, resources) as client:
        response = await client.get("/conflict")
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "conflict",
            "message": "admission number 1001 already exists",
            "details": {"field": "x"},
        }
    }


async def test_rate_limit_error_carries_retry_after(settings, resources) -> None:
    async with await _client(settings, resources) as client:
        response = await client.get("/limited")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "17"


async def test_unexpected_error_gives_500_without_trace_and_logs_request_id(
    settings, resources, capsys
) -> None:
    from erplake.core.logging import configure_logging

    configure_logging("INFO", json=True)
    async with await _client(settings, resources) as client:
        response = await client.get("/boom", headers={"X-Request-ID": "req-abc-123"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-request-id"] == "req-abc-123"
    logged = capsys.readouterr().err
    assert "req-abc-123" in logged


async def test_validation_error_names_the_field(settings, resources) -> None:
    async with await _client(settings, resources) as client:
        response = await client.post("/typed", json={"count": "many"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "count"


async def test_request_id_is_generated_when_missing_or_malformed(settings, resources) -> None:
    async with await _client(settings, resources) as client:
        fresh = await client.get("/healthz")
        bad = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert len(fresh.headers["x-request-id"]) == 32
    assert bad.headers["x-request-id"] != "bad id\nwith newline"


def test_logs_are_json_and_redact_secrets(capsys) -> None:
    import structlog

    from erplake.core.logging import configure_logging

    configure_logging("INFO", json=True)
    structlog.get_logger("t").info("otp_sent", phone_last4="3210", otp="123456", api_key="k")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "otp_sent"
    assert record["otp"] == "[redacted]"
    assert record["api_key"] == "[redacted]"
    assert "123456" not in line


def _last_json_line(err: str) -> dict[str, object]:
    return json.loads(err.strip().splitlines()[-1])


def test_stdlib_loggers_come_out_as_the_same_json_with_request_id_and_redaction(
    capsys,
) -> None:
    import logging

    from erplake.core.logging import configure_logging, request_id_var

    configure_logging("INFO", json=True)
    token = request_id_var.set("req-stdlib-1")
    try:
        logging.getLogger("erplake.integrations.gupshup").warning(
            "whatsapp message refused: %s",
            "bad template",
            extra={"http_status": 400, "destination": "******3210", "api_key": "k-123"},
        )
    finally:
        request_id_var.reset(token)
    err = capsys.readouterr().err
    record = _last_json_line(err)
    assert record["event"] == "whatsapp message refused: bad template"
    assert record["level"] == "warning"
    assert record["logger"] == "erplake.integrations.gupshup"
    assert record["request_id"] == "req-stdlib-1"
    assert record["http_status"] == 400
    assert record["destination"] == "******3210"
    assert record["api_key"] == "[redacted]"
    assert "k-123" not in err
    assert "timestamp" in record


def test_uvicorn_loggers_are_routed_through_the_json_handler(capsys) -> None:
    import logging

    from erplake.core.logging import configure_logging

    # What uvicorn's own dictConfig leaves behind: a handler and no propagation.
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(logging.StreamHandler())
    logging.getLogger("uvicorn").propagate = False
    configure_logging("INFO", json=True)
    uvicorn_error.warning("Invalid HTTP request received.")
    record = _last_json_line(capsys.readouterr().err)
    assert record["event"] == "Invalid HTTP request received."
    assert record["logger"] == "uvicorn.error"


def test_stdlib_exceptions_are_logged_as_json_with_the_trace(capsys) -> None:
    import logging

    from erplake.core.logging import configure_logging

    configure_logging("INFO", json=True)
    try:
        raise ValueError("broken pdf")
    except ValueError:
        logging.getLogger("erplake.pdfs.render").exception("render failed")
    record = _last_json_line(capsys.readouterr().err)
    assert record["event"] == "render failed"
    assert "ValueError: broken pdf" in str(record["exception"])


def test_redaction_hides_secret_keys_but_not_status_or_error_codes() -> None:
    from erplake.core.logging import REDACTED, redact

    secret = [
        "password",
        "Password",
        "minio_root_password",
        "secret",
        "jwt_secret",
        "razorpay_webhook_secret",
        "stripe_secret_key",
        "token",
        "access_token",
        "refresh_token",
        "gupshup_callback_token",
        "otp",
        "code",
        "otp_code",
        "authorization",
        "Authorization",
        "api_key",
        "apikey",
        "gupshup_api_key",
        "x-api-key",
        "signature",
        "razorpay_signature",
        "cookie",
        "set-cookie",
    ]
    kept = [
        "status_code",
        "error_code",
        "http_status",
        "school_code",
        "phone_last4",
        "prompt_tokens",
        "token_count",
        "message_id",
        "event",
    ]
    event = {key: "value" for key in [*secret, *kept]}
    redacted = redact(None, "info", dict(event))
    assert [k for k in secret if redacted[k] != REDACTED] == []
    assert [k for k in kept if redacted[k] == REDACTED] == []


async def test_unhandled_error_logs_the_route_template_not_the_gupshup_token(
    settings, resources, capsys
) -> None:
    from erplake.core.logging import configure_logging

    router = APIRouter()

    @router.post("/webhooks/gupshup/{token}")
    async def callback(token: str) -> None:
        raise RuntimeError("callback handler broke")

    app = create_role_app("test", settings, [router], resources=resources)
    configure_logging("INFO", json=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await client.post("/webhooks/gupshup/s3cret-callback-token")
    assert response.status_code == 500
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    # (httpx, the test's client, logs the URL it called; the server side must not.)
    server_side = [r for r in records if r.get("logger") != "httpx"]
    assert "s3cret-callback-token" not in json.dumps(server_side)
    logged = [r for r in server_side if r["event"] == "unhandled_error"]
    assert [r["path"] for r in logged] == ["/webhooks/gupshup/{token}"]
    assert "callback handler broke" in logged[0]["exception"]


def test_loggable_path_masks_the_gupshup_token_when_no_route_matched() -> None:
    from erplake.core.logging import loggable_path

    assert (
        loggable_path({"path": "/notify/webhooks/gupshup/s3cret/extra"})
        == "/notify/webhooks/gupshup/***/extra"
    )
    assert loggable_path({"path": "/api/students/7"}) == "/api/students/7"

    class Route:
        path = "/webhooks/gupshup/{token}"

    assert (
        loggable_path({"path": "/webhooks/gupshup/s3cret", "route": Route()})
        == "/webhooks/gupshup/{token}"
    )
