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
