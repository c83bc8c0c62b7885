"""What every role's app has: error handlers, request ids, health and readiness."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import redis.asyncio as aioredis
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from erplake.core.authcache import EpochCache
from erplake.core.db import (
    DriverPool,
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
)
from erplake.core.errors import AppError, error_body
from erplake.core.logging import RequestIdMiddleware, loggable_path
from erplake.core.metrics import MetricsMiddleware, RoleMetrics
from erplake.core.ratelimit import RateLimiter
from erplake.core.redis import create_async_redis
from erplake.core.settings import Settings

log = structlog.get_logger(__name__)

READINESS_TIMEOUT = 2.0


@dataclass
class Resources:
    """Connections shared by the routes of one process."""

    settings: Settings
    engine: AsyncEngine
    read_engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    rate_limiter: RateLimiter
    epochs: EpochCache
    driver_pool: DriverPool

    @classmethod
    def open(cls, settings: Settings, *, role: str) -> Resources:
        engine = create_engine(settings, role=role)
        read_engine = create_engine(settings, role=role, autocommit=True)
        driver_pool = DriverPool(settings, role=role)
        redis = create_async_redis(settings)
        return cls(
            settings=settings,
            engine=engine,
            read_engine=read_engine,
            sessionmaker=create_sessionmaker(engine),
            read_sessionmaker=create_read_sessionmaker(read_engine, driver_pool),
            redis=redis,
            rate_limiter=RateLimiter(settings.redis_url),
            epochs=EpochCache(redis),
            driver_pool=driver_pool,
        )

    async def close(self) -> None:
        await self.epochs.close()
        await self.redis.aclose()
        await self.engine.dispose()
        await self.read_engine.dispose()
        await self.driver_pool.close()


class Health(BaseModel):
    ok: bool


class Readiness(BaseModel):
    ok: bool
    checks: dict[str, str]


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        first = details[0] if details else {"field": "", "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return JSONResponse(error_body("validation_error", message, details), status_code=422)

    @app.exception_handler(IntegrityError)
    @app.exception_handler(asyncpg.IntegrityConstraintViolationError)
    async def _integrity(_: Request, exc: Exception) -> JSONResponse:
        # Two requests racing past a service's own check meet the database's
        # constraint: that is a conflict the client can act on, not a crash. (Hot
        # paths run statements on the driver, whose errors arrive unwrapped.)
        orig = exc.orig if isinstance(exc, IntegrityError) else exc
        sqlstate = getattr(orig, "sqlstate", None) or getattr(
            getattr(orig, "__cause__", None), "sqlstate", None
        )
        if sqlstate == "23505":
            return JSONResponse(
                error_body("conflict", "this already exists (it was just created)"),
                status_code=409,
            )
        if sqlstate == "23503":
            return JSONResponse(
                error_body("conflict", "this refers to something missing or still in use"),
                status_code=409,
            )
        log.exception("integrity_error")
        return JSONResponse(
            error_body("internal_error", "Something went wrong on our side. Please try again."),
            status_code=500,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The trace goes to the log with the request id; the client gets neither.
        log.exception("unhandled_error", path=loggable_path(request.scope))
        return JSONResponse(
            error_body("internal_error", "Something went wrong on our side. Please try again."),
            status_code=500,
        )


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        """Liveness: the process answers."""
        return Health(ok=True)

    @router.get("/readyz", response_model=Readiness, responses={503: {"description": "down"}})
    async def readyz(request: Request) -> Any:
        """Readiness: PostgreSQL and Redis both answer (each within 2 s)."""
        resources: Resources = request.app.state.resources
        checks: dict[str, str] = {}

        async def check_db() -> None:
            async with resources.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        async def check_redis() -> None:
            await resources.redis.ping()  # type: ignore[misc]

        for name, probe in (("postgres", check_db), ("redis", check_redis)):
            try:
                await asyncio.wait_for(probe(), READINESS_TIMEOUT)
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = type(exc).__name__
        if all(v == "ok" for v in checks.values()):
            return Readiness(ok=True, checks=checks)
        down = ", ".join(k for k, v in checks.items() if v != "ok")
        return JSONResponse(
            error_body("unavailable", f"not ready: {down} unreachable", checks),
            status_code=503,
        )

    return router


def native_telemetry() -> TelemetryConfig:
    """FastAPI's own OpenTelemetry instrumentation asks on every request whether a
    tracer, meter or logger provider has been configured since the last one, which
    costs a small request a few per cent. ERPLake reports through Prometheus and
    structlog and sets up no OpenTelemetry SDK itself, so the instrumentation is on
    only in a deployment that asks for OpenTelemetry in its environment (any `OTEL_*`
    variable, or FastAPI's `FASTAPI_OTEL_AUTO_CONFIGURE`)."""
    wanted = any(name.startswith("OTEL_") for name in os.environ) or bool(
        os.environ.get("FASTAPI_OTEL_AUTO_CONFIGURE")
    )
    return {"tracing": wanted, "metrics": wanted, "logs": wanted}


def create_role_app(
    role: str,
    settings: Settings,
    routers: Sequence[APIRouter],
    *,
    resources: Resources | None = None,
    title: str | None = None,
) -> FastAPI:
    """An app for one role. With `resources` given (the one-process server), the
    caller owns the connections; otherwise the app opens and closes its own."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = None
        if getattr(app.state, "resources", None) is None:
            owned = Resources.open(settings, role=role)
            bind_resources(app, owned)
        try:
            yield
        finally:
            if owned is not None:
                await owned.close()

    app = FastAPI(
        title=title or f"ERPLake {role}",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        telemetry=native_telemetry(),
    )
    app.state.role = role
    app.state.settings = settings
    app.state.resources = None
    if resources is not None:
        bind_resources(app, resources)
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    metrics = RoleMetrics(role)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: sees the final status
    for router in (health_router(), metrics.router(), *routers):
        add_routes(app, router)
    index_routes(app.router)
    return app


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """Add a router's routes to the app itself. FastAPI matches an included router
    through a context-restoring wrapper that cost ~100 µs a request here; our
    routers have their prefix and tags on each route already and no router-level
    dependencies, so the routes can be added as they are."""
    if router.dependencies:
        raise ValueError("router-level dependencies would be lost; declare them per route")
    for route in router.routes:
        if type(route) is APIRoute:
            route.__class__ = PrefixFilteredRoute
            route.static_prefix = route.path.split("{", 1)[0]  # type: ignore[attr-defined]
        app.router.routes.append(route)


class PrefixFilteredRoute(APIRoute):
    """An APIRoute that skips its regex when the path cannot match its fixed
    prefix. Routing tries each route in turn; without this a request paid a
    regex match and FastAPI's bookkeeping for every route ahead of its own."""

    static_prefix: str = ""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not get_route_path(scope).startswith(self.static_prefix):
            return Match.NONE, {}
        return super().matches(scope)


class RouteIndex:
    """The innermost app of a router: tries only the routes that can match the
    request's first path segment, in their order, instead of every route.

    A route whose path starts with a fixed segment (`/students/{id}` → `students`)
    can only match paths with that first segment; any other route (a parameter
    first, a mount, a host) stays a candidate for every path. Anything the candidates
    do not fully match (a 405, a slash redirect, a 404) and every request FastAPI's
    own telemetry follows go to the router itself, unchanged."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.fallback = router.app
        self._indexed: list[BaseRoute] | None = None
        self._indexed_count = -1
        self._by_segment: dict[str, list[BaseRoute]] = {}
        self._anywhere: list[BaseRoute] = []

    @staticmethod
    def _first_segment(route: BaseRoute) -> str | None:
        if not isinstance(route, Route | WebSocketRoute):
            return None
        segment = route.path.split("/", 2)[1] if route.path.startswith("/") else "{"
        return None if "{" in segment else segment

    def _build(self) -> None:
        routes = self.router.routes
        keyed = [(self._first_segment(route), route) for route in routes]
        segments = {segment for segment, _ in keyed if segment is not None}
        self._by_segment = {
            segment: [route for key, route in keyed if key is None or key == segment]
            for segment in segments
        }
        self._anywhere = [route for key, route in keyed if key is None]
        self._indexed, self._indexed_count = routes, len(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or "fastapi.telemetry" in scope:
            await self.fallback(scope, receive, send)
            return
        routes = self.router.routes
        if routes is not self._indexed or len(routes) != self._indexed_count:
            self._build()
        path = get_route_path(scope)
        candidates = (
            self._by_segment.get(path.split("/", 2)[1], self._anywhere)
            if path.startswith("/")
            else self._anywhere
        )
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope.setdefault("router", self.router)
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
        await self.fallback(scope, receive, send)


def index_routes(router: APIRouter) -> None:
    """Route requests through a `RouteIndex` (unless the router has middleware of
    its own, which must keep wrapping the routing)."""
    stack = router.middleware_stack
    if (
        getattr(stack, "__self__", None) is router
        and getattr(stack, "__func__", None) is type(router).app
    ):
        router.middleware_stack = RouteIndex(router)


def bind_resources(app: FastAPI, resources: Resources) -> None:
    app.state.resources = resources
    app.state.sessionmaker = resources.sessionmaker
    app.state.read_sessionmaker = resources.read_sessionmaker
    app.state.redis = resources.redis
    app.state.engine = resources.engine
    app.state.rate_limiter = resources.rate_limiter
    app.state.epochs = resources.epochs
