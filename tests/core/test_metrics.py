"""/metrics per role: latency by route template, queue depth, outbox lag, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import redis
from fastapi import APIRouter, FastAPI
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue
from sqlalchemy import text

from erplake.core.app import Resources, create_role_app
from erplake.core.clock import utcnow
from erplake.core.settings import Settings
from erplake.services.roles import create_app

students = APIRouter()


@students.get("/students/{student_id}")
async def get_student(student_id: int) -> dict[str, int]:
    return {"id": student_id}


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(body: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@asynccontextmanager
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_latency_is_recorded_by_route_template_not_raw_path(
    settings: Settings, resources: Resources
) -> None:
    app = create_role_app("api", settings, [students], resources=resources)
    async with client(app) as c:
        for student_id in (1, 2, 3):
            assert (await c.get(f"/students/{student_id}")).status_code == 200
        assert (await c.get("/students/not-a-number")).status_code == 422
        for junk in ("/wp-admin", "/.env", "/a/b/c"):
            assert (await c.get(junk)).status_code == 404
        answer = await c.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = parse(answer.text)
    count = "erplake_http_request_duration_seconds_count"
    route = "/students/{student_id}"
    assert value(samples, count, role="api", method="GET", route=route, status="200") == 3
    assert value(samples, count, role="api", method="GET", route=route, status="422") == 1
    assert value(samples, count, role="api", method="GET", route="<unmatched>", status="404") == 3
    routes = {dict(labels)["route"] for (name, labels) in samples if name == count}
    assert not any(r.startswith("/students/1") or r == "/wp-admin" for r in routes)
    buckets = [
        v
        for (name, labels), v in samples.items()
        if name == "erplake_http_request_duration_seconds_bucket"
        and dict(labels)["route"] == route
        and dict(labels)["status"] == "200"
    ]
    assert max(buckets) == 3  # the +Inf bucket holds every observation


async def test_queue_depth_outbox_lag_and_failures_are_read_at_scrape_time(
    client_for, resources: Resources, redis_url: str
) -> None:
    connection = redis.Redis.from_url(redis_url)
    for _ in range(2):
        Queue("default", connection=connection).enqueue("os.getcwd")
    Queue("high", connection=connection).enqueue("os.getcwd")
    now = utcnow()
    async with resources.sessionmaker() as session:
        await session.execute(
            text(
                "INSERT INTO outbox_jobs (task, status, created_at, run_after) VALUES "
                "('t.old', 'pending', :old, NULL), ('t.new', 'pending', :now, NULL), "
                "('t.later', 'pending', :old, :later), ('t.broken', 'failed', :old, NULL), "
                "('t.done', 'done', :ancient, NULL)"
            ),
            {
                "old": now - timedelta(seconds=120),
                "now": now,
                "later": now + timedelta(hours=3),
                "ancient": now - timedelta(days=3),
            },
        )
        await session.commit()

    async with client_for("notify") as c:
        samples = parse((await c.get("/metrics")).text)
    assert value(samples, "erplake_queue_depth", queue="default") == 2
    assert value(samples, "erplake_queue_depth", queue="high") == 1
    assert value(samples, "erplake_queue_depth", queue="low") == 0
    assert value(samples, "erplake_outbox_pending_jobs") == 3
    lag = value(samples, "erplake_outbox_lag_seconds")
    assert lag is not None and 119 <= lag < 600  # the oldest due job, not the delayed one
    assert value(samples, "erplake_outbox_failed_jobs") == 1
    assert value(samples, "erplake_metrics_source_up", source="postgres") == 1
    assert value(samples, "erplake_metrics_source_up", source="redis") == 1


async def test_every_role_in_one_process_has_its_own_registry(
    settings: Settings, resources: Resources
) -> None:
    apps = {role: create_app(role, settings, resources=resources) for role in ("api", "billing")}
    again = create_app("api", settings, resources=resources)  # no duplicate registration
    for role, app in {**apps, "api-again": again}.items():
        async with client(app) as c:
            await c.get("/healthz")
            body = (await c.get("/metrics")).text
        roles = {
            dict(labels)["role"]
            for (name, labels) in parse(body)
            if name == "erplake_http_request_duration_seconds_count"
        }
        assert roles == {role.removesuffix("-again")}


async def test_metrics_still_answer_when_redis_is_down(settings: Settings) -> None:
    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    down = Resources.open(broken, role="test-down")
    try:
        app = create_app("ai", broken, resources=down)
        async with client(app) as c:
            answer = await c.get("/metrics")
    finally:
        await down.close()
    assert answer.status_code == 200
    samples = parse(answer.text)
    assert value(samples, "erplake_metrics_source_up", source="redis") == 0
    assert value(samples, "erplake_metrics_source_up", source="postgres") == 1
    assert not any(name == "erplake_queue_depth" for name, _ in samples)


async def test_metrics_route_is_not_in_the_public_api_schema(client_for) -> None:
    async with client_for("api") as c:
        schema = (await c.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]
