"""Prometheus metrics per role: request latency, queue depth, outbox lag, job failures.

Each role app owns a `RoleMetrics` with its own `CollectorRegistry`, so the one-process
server (every role app in one process) registers nothing twice. `/metrics` is served by
every role for the deployment's own scraper; Caddy refuses it from the outside.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from erplake.core.jobs import QUEUES

log = structlog.get_logger(__name__)

SCRAPE_TIMEOUT = 2.0
# Requests that matched no route share one label value, so a scanner walking random
# paths cannot grow the number of series.
UNMATCHED_ROUTE = "<unmatched>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_OUTBOX_SQL = text(
    """
    SELECT
      (SELECT count(*) FROM outbox_jobs WHERE status = 'pending') AS pending,
      (SELECT coalesce(extract(epoch FROM now()
         - min(greatest(created_at, coalesce(run_after, created_at)))), 0)
       FROM outbox_jobs
       WHERE status = 'pending' AND (run_after IS NULL OR run_after <= now())) AS lag_seconds,
      (SELECT count(*) FROM outbox_jobs WHERE status = 'failed') AS failed
    """
)


@dataclass
class OperationalSnapshot:
    """What the gauges report, read from PostgreSQL and Redis at scrape time."""

    queue_depth: dict[str, int] = field(default_factory=dict)
    queue_failed: dict[str, int] = field(default_factory=dict)
    outbox_pending: int | None = None
    outbox_lag_seconds: float | None = None
    outbox_failed: int | None = None
    sources_up: dict[str, bool] = field(default_factory=dict)


class _SnapshotCollector(Collector):
    """Yields the gauges of the snapshot taken by the current scrape (no stale values:
    a source that did not answer reports `erplake_metrics_source_up 0` and nothing else)."""

    def __init__(self) -> None:
        self.snapshot = OperationalSnapshot()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snap = self.snapshot
        up = GaugeMetricFamily(
            "erplake_metrics_source_up",
            "1 when the source answered this scrape (postgres, redis)",
            labels=["source"],
        )
        for source, ok in sorted(snap.sources_up.items()):
            up.add_metric([source], 1.0 if ok else 0.0)
        yield up
        if snap.queue_depth:
            depth = GaugeMetricFamily(
                "erplake_queue_depth", "Jobs waiting in each RQ queue", labels=["queue"]
            )
            failed = GaugeMetricFamily(
                "erplake_queue_failed_jobs",
                "Jobs in each RQ queue's failed-job registry",
                labels=["queue"],
            )
            for queue in QUEUES:
                depth.add_metric([queue], float(snap.queue_depth.get(queue, 0)))
                failed.add_metric([queue], float(snap.queue_failed.get(queue, 0)))
            yield depth
            yield failed
        if snap.outbox_pending is not None:
            yield GaugeMetricFamily(
                "erplake_outbox_pending_jobs",
                "Outbox jobs committed but not yet handed to the queue",
                value=float(snap.outbox_pending),
            )
            yield GaugeMetricFamily(
                "erplake_outbox_lag_seconds",
                "How long the oldest due pending outbox job has waited (0 when none)",
                value=float(snap.outbox_lag_seconds or 0.0),
            )
            yield GaugeMetricFamily(
                "erplake_outbox_failed_jobs",
                "Outbox jobs that gave up after their last attempt (status 'failed')",
                value=float(snap.outbox_failed or 0),
            )


class RoleMetrics:
    """The registry, the latency histogram and the scrape-time gauges of one role app."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_duration = Histogram(
            "erplake_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            labelnames=("role", "method", "route", "status"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._gauges = _SnapshotCollector()
        self.registry.register(self._gauges)
        # The labelled child per (method, route, status): `labels()` takes a lock and
        # builds its key on every call. Bounded by the routes, methods and statuses.
        self._series: dict[tuple[str, str, int], Any] = {}

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = self.request_duration.labels(
                self.role, method, route, str(status)
            )
        series.observe(seconds)

    async def render(self, resources: Any) -> bytes:
        self._gauges.snapshot = await read_snapshot(resources)
        # No await between taking the snapshot and rendering it: concurrent scrapes
        # cannot mix each other's values.
        return generate_latest(self.registry)

    def router(self) -> APIRouter:
        router = APIRouter()
        metrics = self

        @router.get("/metrics", include_in_schema=False)
        async def prometheus_metrics(request: Request) -> Response:
            """Prometheus text format; reachable inside the deployment only."""
            body = await metrics.render(request.app.state.resources)
            return Response(body, media_type=CONTENT_TYPE_LATEST)

        return router


async def read_snapshot(resources: Any) -> OperationalSnapshot:
    snap = OperationalSnapshot()
    if resources is None:
        return snap

    async def read_redis() -> None:
        pipe = resources.redis.pipeline(transaction=False)
        for queue in QUEUES:
            pipe.llen(f"rq:queue:{queue}")
            pipe.zcard(f"rq:failed:{queue}")
        values = await pipe.execute()
        for index, queue in enumerate(QUEUES):
            snap.queue_depth[queue] = int(values[2 * index])
            snap.queue_failed[queue] = int(values[2 * index + 1])

    async def read_postgres() -> None:
        async with resources.engine.connect() as conn:
            row = (await conn.execute(_OUTBOX_SQL)).one()
        snap.outbox_pending = int(row.pending)
        snap.outbox_lag_seconds = float(row.lag_seconds)
        snap.outbox_failed = int(row.failed)

    async def attempt(source: str, probe: Any) -> None:
        try:
            await asyncio.wait_for(probe(), SCRAPE_TIMEOUT)
            snap.sources_up[source] = True
        except Exception as exc:
            snap.sources_up[source] = False
            log.warning("metrics_source_down", source=source, error=type(exc).__name__)

    await asyncio.gather(attempt("redis", read_redis), attempt("postgres", read_postgres))
    if not snap.sources_up.get("redis"):
        snap.queue_depth.clear()
        snap.queue_failed.clear()
    if not snap.sources_up.get("postgres"):
        snap.outbox_pending = snap.outbox_lag_seconds = snap.outbox_failed = None
    return snap


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/students/{student_id}`), never the raw path."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Pure ASGI: times each HTTP request and records it under its route template."""

    def __init__(self, app: ASGIApp, *, metrics: RoleMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = str(scope.get("method", "GET")).upper()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self.metrics.observe(
                method=method if method in KNOWN_METHODS else "OTHER",
                route=route_template(scope),
                status=status,
                seconds=time.perf_counter() - started,
            )
