"""Routing through the first-segment index answers exactly as trying every route in
order would: the first full match wins, a wrong method is a 405, a missing slash is
redirected, an unknown path is a 404 in the error JSON."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI

from erplake.core.app import RouteIndex, add_routes, create_role_app, native_telemetry


def _app(settings, resources) -> FastAPI:  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.get("/things")
    async def things() -> str:
        return "things"

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str) -> str:
        return f"thing {thing_id}"

    @router.get("/things/special")  # declared after the parameter: never reached
    async def special() -> str:
        return "special"

    @router.delete("/things/{thing_id}")
    async def delete_thing(thing_id: str) -> str:
        return f"deleted {thing_id}"

    @router.get("/things-and-more")
    async def more() -> str:
        return "more"

    @router.get("/{anything}/echo")
    async def echo(anything: str) -> str:
        return f"echo {anything}"

    return create_role_app("test", settings, [router], resources=resources)


async def _get(app: FastAPI, method: str, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path)


async def test_the_first_full_match_in_declaration_order_wins(settings, resources) -> None:
    app = _app(settings, resources)
    assert isinstance(app.router.middleware_stack, RouteIndex)
    assert (await _get(app, "GET", "/things")).json() == "things"
    assert (await _get(app, "GET", "/things/7")).json() == "thing 7"
    assert (await _get(app, "GET", "/things/special")).json() == "thing special"
    assert (await _get(app, "DELETE", "/things/7")).json() == "deleted 7"
    assert (await _get(app, "GET", "/things-and-more")).json() == "more"


async def test_a_route_starting_with_a_parameter_is_tried_for_every_path(
    settings, resources
) -> None:
    app = _app(settings, resources)
    assert (await _get(app, "GET", "/things/echo")).json() == "thing echo"
    assert (await _get(app, "GET", "/whatever/echo")).json() == "echo whatever"
    assert (await _get(app, "GET", "/healthz/echo")).json() == "echo healthz"


async def test_misses_answer_as_the_router_does(settings, resources) -> None:
    app = _app(settings, resources)
    wrong_method = await _get(app, "PUT", "/things/7")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    slash = await _get(app, "GET", "/things/")
    assert slash.status_code == 307
    assert slash.headers["location"] == "http://t/things"
    missing = await _get(app, "GET", "/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


async def test_routes_added_after_the_app_was_built_are_found(settings, resources) -> None:
    app = _app(settings, resources)
    assert (await _get(app, "GET", "/late")).status_code == 404
    late = APIRouter()

    @late.get("/late")
    async def late_route() -> str:
        return "late"

    add_routes(app, late)
    assert (await _get(app, "GET", "/late")).json() == "late"


async def test_matched_requests_keep_their_request_id_and_route_metric(settings, resources) -> None:
    app = _app(settings, resources)
    response = await _get(app, "GET", "/things/7")
    assert len(response.headers["x-request-id"]) == 32
    metrics = (await _get(app, "GET", "/metrics")).text
    assert 'route="/things/{thing_id}"' in metrics


def test_native_telemetry_is_on_only_when_the_environment_asks(monkeypatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("FASTAPI_OTEL_AUTO_CONFIGURE", raising=False)
    assert native_telemetry() == {"tracing": False, "metrics": False, "logs": False}
    monkeypatch.setenv("OTEL_SERVICE_NAME", "erplake-api")
    assert native_telemetry() == {"tracing": True, "metrics": True, "logs": True}
