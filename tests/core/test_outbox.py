"""The transactional outbox: committed work is never lost, rolled-back work never runs."""

from __future__ import annotations

import pytest
from rq import Queue
from sqlalchemy import func, select, text

from erplake.core import jobs
from erplake.core.db import transaction
from erplake.core.redis import create_sync_redis
from erplake.models.outbox import OutboxJob

RUNS: list[str] = []


@jobs.task("tests.record_run")
async def record_run(ctx: jobs.JobContext, *, label: str) -> None:
    RUNS.append(label)
    # A database effect in the job's own transaction: it commits with "done".
    await ctx.session.execute(
        text("INSERT INTO schools (code, name) VALUES (:c, :c)"), {"c": label}
    )


@jobs.task("tests.always_fails")
async def always_fails(ctx: jobs.JobContext) -> None:
    raise RuntimeError("provider down")


@pytest.fixture(autouse=True)
def _reset_runs() -> None:
    RUNS.clear()


async def _statuses(resources) -> dict[int, str]:  # type: ignore[no-untyped-def]
    async with resources.sessionmaker() as s:
        return dict((await s.execute(select(OutboxJob.id, OutboxJob.status))).all())


async def test_job_of_a_rolled_back_transaction_is_never_enqueued(
    resources, settings, drain_outbox
) -> None:
    with pytest.raises(RuntimeError):
        async with transaction(resources.sessionmaker) as session:
            await jobs.enqueue(session, "tests.record_run", {"label": "ghost"})
            raise RuntimeError("the request failed after asking for the job")
    assert await drain_outbox(settings) == 0
    assert RUNS == []
    assert await _statuses(resources) == {}


async def test_committed_job_runs_once(resources, settings, drain_outbox) -> None:
    async with transaction(resources.sessionmaker) as session:
        await jobs.enqueue(session, "tests.record_run", {"label": "one"})
    assert await drain_outbox(settings) == 1
    assert RUNS == ["one"]
    assert set((await _statuses(resources)).values()) == {"done"}


async def test_relay_killed_between_push_and_mark_loses_nothing_and_runs_once(
    resources, settings
) -> None:
    """The relay pushes to Redis, then dies before its commit: the rows stay
    pending, the next relay pushes them again, and each job still runs once."""
    async with transaction(resources.sessionmaker) as session:
        for i in range(20):
            await jobs.enqueue(session, "tests.record_run", {"label": f"job-{i}"})
    connection = create_sync_redis(settings)

    class Killed(Exception):
        pass

    original = Queue.enqueue_call
    pushed = 0

    def dying_enqueue(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal pushed
        pushed += 1
        result = original(self, *args, **kwargs)
        if pushed == 12:
            raise Killed  # the process dies mid-batch, after 12 pushes
        return result

    Queue.enqueue_call = dying_enqueue  # type: ignore[method-assign]
    try:
        with pytest.raises(Killed):
            await jobs.relay_once(resources.sessionmaker, connection)
    finally:
        Queue.enqueue_call = original  # type: ignore[method-assign]
    assert set((await _statuses(resources)).values()) == {"pending"}  # nothing marked

    assert await jobs.relay_once(resources.sessionmaker, connection) == 20
    queue = Queue("default", connection=connection)
    # Twelve jobs were pushed twice; RQ holds them under the same job id.
    job_ids = queue.get_job_ids()
    for job_id in job_ids:
        outbox_id = int(job_id.removeprefix("outbox-"))
        await jobs.execute_outbox_job(resources.sessionmaker, settings, outbox_id)
        await jobs.execute_outbox_job(resources.sessionmaker, settings, outbox_id)  # a duplicate
    assert sorted(RUNS) == sorted(f"job-{i}" for i in range(20))
    assert set((await _statuses(resources)).values()) == {"done"}
    async with resources.sessionmaker() as s:
        made = (await s.execute(select(func.count()).select_from(text("schools")))).scalar_one()
    assert made == 20


async def test_worker_that_died_mid_job_gets_its_job_back(resources, settings) -> None:
    async with transaction(resources.sessionmaker) as session:
        job_id = await jobs.enqueue(session, "tests.record_run", {"label": "stuck"})
    connection = create_sync_redis(settings)
    await jobs.relay_once(resources.sessionmaker, connection)
    async with transaction(resources.sessionmaker) as session:
        # As a crashed worker leaves it: claimed long ago, never finished.
        await session.execute(
            text(
                "UPDATE outbox_jobs SET status = 'running', attempts = 1,"
                " started_at = now() - interval '3 hours' WHERE id = :id"
            ),
            {"id": job_id},
        )
    assert await jobs.relay_once(resources.sessionmaker, connection) == 1
    assert await jobs.execute_outbox_job(resources.sessionmaker, settings, job_id) == "done"
    assert RUNS == ["stuck"]


async def test_failing_job_backs_off_then_is_marked_failed(resources, settings) -> None:
    async with transaction(resources.sessionmaker) as session:
        job_id = await jobs.enqueue(session, "tests.always_fails")
    outcomes = []
    for _ in range(jobs.MAX_ATTEMPTS):
        outcomes.append(await jobs.execute_outbox_job(resources.sessionmaker, settings, job_id))
        async with transaction(resources.sessionmaker) as session:
            row = await session.get(OutboxJob, job_id)
            assert row is not None
            if row.status == "pending":
                assert row.run_after is not None  # backoff before the next try
                row.run_after = None
    assert outcomes == ["retry"] * (jobs.MAX_ATTEMPTS - 1) + ["failed"]
    async with resources.sessionmaker() as s:
        row = await s.get(OutboxJob, job_id)
    assert row is not None and row.status == "failed"
    assert "provider down" in (row.last_error or "")


async def test_dedupe_key_makes_a_repeat_a_no_op_and_cancel_stops_it(
    resources, settings, drain_outbox
) -> None:
    async with transaction(resources.sessionmaker) as session:
        first = await jobs.enqueue(session, "tests.record_run", {"label": "a"}, dedupe_key="k")
        again = await jobs.enqueue(session, "tests.record_run", {"label": "a"}, dedupe_key="k")
        other = await jobs.enqueue(session, "tests.record_run", {"label": "b"}, dedupe_key="k2")
        assert await jobs.cancel(session, "k2") is True
    assert first is not None and again is None and other is not None
    await drain_outbox(settings)
    assert RUNS == ["a"]


async def test_real_worker_process_sends_committed_whatsapp_messages(
    resources, settings, fake_whatsapp, tmp_path
) -> None:
    """`erplake worker --burst` runs the jobs through RQ in its own process."""
    import os
    import subprocess
    import sys

    from erplake.messaging.service import queue_template

    fake, fake_settings = fake_whatsapp
    async with transaction(resources.sessionmaker) as session:
        for i in range(3):
            await queue_template(
                session,
                school_id=None,
                purpose="test",
                destination=f"+91980000100{i}",
                template_id="tpl-1",
                params=[f"hello {i}"],
            )
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ERPLAKE_ENV": "test",
        "JWT_SECRET": settings.jwt_secret,
        "GUPSHUP_API_BASE": fake_settings.gupshup_api_base,
        "GUPSHUP_API_KEY": fake_settings.gupshup_api_key,
    }
    # Relay first: a burst worker exits as soon as the queues are empty.
    await jobs.relay_once(resources.sessionmaker, create_sync_redis(settings))
    done = subprocess.run(
        [sys.executable, "-m", "erplake", "worker", "--burst"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert sorted(m.params[0] for m in fake.messages) == ["hello 0", "hello 1", "hello 2"]
    assert set((await _statuses(resources)).values()) == {"done"}
    async with resources.sessionmaker() as s:
        statuses = (await s.execute(text("SELECT status FROM whatsapp_messages"))).scalars().all()
    assert statuses == ["submitted"] * 3


async def test_job_lost_from_redis_is_pushed_again(resources, settings) -> None:
    """Rows marked enqueued whose RQ job vanished (Redis flushed) are not stuck."""
    async with transaction(resources.sessionmaker) as session:
        job_id = await jobs.enqueue(session, "tests.record_run", {"label": "lost"})
    connection = create_sync_redis(settings)
    assert await jobs.relay_once(resources.sessionmaker, connection) == 1
    connection.flushdb()  # the queue is gone
    async with transaction(resources.sessionmaker) as session:
        await session.execute(
            text("UPDATE outbox_jobs SET enqueued_at = now() - interval '3 hours' WHERE id = :id"),
            {"id": job_id},
        )
    assert await jobs.relay_once(resources.sessionmaker, connection) == 1
    assert await jobs.execute_outbox_job(resources.sessionmaker, settings, job_id) == "done"
    assert RUNS == ["lost"]


def test_retries_back_off_for_about_half_an_hour() -> None:
    delays = [jobs.retry_delay(a).total_seconds() for a in range(1, jobs.MAX_ATTEMPTS)]
    assert delays[0] == 15 and max(delays) == jobs.MAX_BACKOFF_SECONDS
    assert 20 * 60 < sum(delays) < 60 * 60


async def test_a_stale_run_cannot_overwrite_the_run_that_replaced_it(resources, settings) -> None:
    async with transaction(resources.sessionmaker) as session:
        job_id = await jobs.enqueue(session, "tests.record_run", {"label": "slow"})
    # The first run is claimed (attempt 1), then declared stale and claimed again.
    async with transaction(resources.sessionmaker) as session:
        await session.execute(
            text("UPDATE outbox_jobs SET status = 'pending', attempts = 1 WHERE id = :id"),
            {"id": job_id},
        )
    assert await jobs.execute_outbox_job(resources.sessionmaker, settings, job_id) == "done"
    async with resources.sessionmaker() as s:
        row = await s.get(OutboxJob, job_id)
    assert row is not None and (row.status, row.attempts) == ("done", 2)


async def test_finished_jobs_and_old_idempotency_keys_are_pruned(resources, settings) -> None:
    async with transaction(resources.sessionmaker) as session:
        old = await jobs.enqueue(session, "tests.record_run", {"label": "old"})
        new = await jobs.enqueue(session, "tests.record_run", {"label": "new"})
        live = await jobs.enqueue(session, "tests.record_run", {"label": "live"})
        await session.execute(
            text(
                "UPDATE outbox_jobs SET status = 'done', finished_at = now() - interval '8 days'"
                " WHERE id = :old;"
            ),
            {"old": old},
        )
        await session.execute(
            text("UPDATE outbox_jobs SET status = 'done', finished_at = now() WHERE id = :new"),
            {"new": new},
        )
        await session.execute(
            text(
                "INSERT INTO idempotency_records (scope, key, fingerprint, created_at) VALUES"
                " ('s', 'old', 'f', now() - interval '8 days'), ('s', 'new', 'f', now())"
            )
        )
    assert await jobs.prune_finished(resources.sessionmaker) == 1
    assert set(await _statuses(resources)) == {new, live}
    async with resources.sessionmaker() as s:
        keys = (await s.execute(text("SELECT key FROM idempotency_records"))).scalars().all()
    assert keys == ["new"]
