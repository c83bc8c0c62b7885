"""The transactional outbox and the job runner.

A service calls `enqueue(session, "task.name", {...})` inside its own transaction:
the job is a row, so it commits or rolls back with the work that asked for it.
The relay moves committed rows to RQ; the worker runs them through
`execute_outbox_job`, which locks the row and skips it when already done, so a
job pushed twice (a relay that crashed between push and mark) runs once.
Jobs take ids and plain values, never ORM objects.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
import structlog
from rq import Queue
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from erplake.core.clock import utcnow
from erplake.core.db import driver_connection, transaction
from erplake.core.settings import Settings
from erplake.models.outbox import OutboxJob

log = structlog.get_logger(__name__)

OUTBOX_CHANNEL = "erplake_outbox"
QUEUES = ("high", "default", "low")


def enqueue_sql(first: int = 1) -> str:
    """The job row's INSERT for the driver, its 7 parameters numbered from `first`
    (`enqueue_args` gives them), so a hot path can write the job in the same
    statement as the work that asks for it. It returns the job's id, and wakes the
    relay for each row written (NOTIFY is transactional: only if this commits; a
    repeat writes no row and sends none)."""
    values = ", ".join(f"${n}" for n in range(first, first + 6))
    columns = "school_id, queue, task, payload, dedupe_key, run_after"
    return (
        f"INSERT INTO outbox_jobs ({columns}) VALUES ({values})"  # noqa: S608
        f" ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, pg_notify(${first + 6}, '')"
    )


# One round trip on the driver (SQLAlchemy's per-statement work cost more than the
# insert).
_ENQUEUE = enqueue_sql()

# Retries back off 15 s, 30 s, 1 min … up to 15 min: about half an hour in all,
# so a provider outage of minutes loses nothing.
MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 900
# Longer than any job should take (a nightly backup of a big school included);
# RQ's own default of 3 minutes would kill those.
JOB_TIMEOUT_SECONDS = 3600
# Only a job running past its timeout can be a dead worker's: re-queue after that.
STALE_RUNNING_AFTER = timedelta(seconds=JOB_TIMEOUT_SECONDS + 600)
# Finished rows are kept this long for inspection, then pruned by the relay.
KEEP_FINISHED = timedelta(days=7)
PRUNE_EVERY_SECONDS = 600
# An enqueued job that no worker claimed for this long was lost from Redis
# (flushed, failed over): push it again; the claim makes a duplicate harmless.
STALE_ENQUEUED_AFTER = timedelta(hours=2)


@dataclass
class JobContext:
    session: AsyncSession
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    outbox_id: int
    attempt: int


# An async function taking the context and the job's payload as keyword arguments.
TaskHandler = Callable[..., Awaitable[Any]]


_TASKS: dict[str, TaskHandler] = {}


def task(name: str) -> Callable[[TaskHandler], TaskHandler]:
    """Register an async job handler under a stable name (the outbox stores names)."""

    def register(fn: TaskHandler) -> TaskHandler:
        if name in _TASKS and _TASKS[name] is not fn:
            raise RuntimeError(f"task {name!r} registered twice")
        _TASKS[name] = fn
        return fn

    return register


def registered_tasks() -> dict[str, TaskHandler]:
    _load_task_modules()
    return dict(_TASKS)


def _load_task_modules() -> None:
    # Importing the domain task modules registers their handlers.
    from erplake import tasks_registry  # noqa: F401


def enqueue_args(
    task_name: str,
    payload: dict[str, Any] | None = None,
    *,
    school_id: Any = None,
    queue: str = "default",
    dedupe_key: str | None = None,
    delay: timedelta | None = None,
) -> tuple[Any, ...]:
    """The values for `enqueue_sql`, in its order."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    return (
        school_id,
        queue,
        task_name,
        json.dumps(payload or {}),
        dedupe_key,
        (utcnow() + delay) if delay else None,
        OUTBOX_CHANNEL,
    )


async def enqueue(
    session: AsyncSession,
    task_name: str,
    payload: dict[str, Any] | None = None,
    *,
    school_id: Any = None,
    queue: str = "default",
    dedupe_key: str | None = None,
    delay: timedelta | None = None,
) -> int | None:
    """Write a job row in the caller's transaction. Returns its id, or None when a
    job with the same dedupe_key already exists (a repeat is a no-op)."""
    job_id = await (await driver_connection(session)).fetchval(
        _ENQUEUE,
        *enqueue_args(
            task_name,
            payload,
            school_id=school_id,
            queue=queue,
            dedupe_key=dedupe_key,
            delay=delay,
        ),
    )
    return None if job_id is None else int(job_id)


async def cancel(session: AsyncSession, dedupe_key: str) -> bool:
    """Cancel a job not yet run (e.g. an absence alert when A becomes P)."""
    result = await session.execute(
        update(OutboxJob)
        .where(OutboxJob.dedupe_key == dedupe_key, OutboxJob.status.in_(("pending", "enqueued")))
        .values(status="cancelled", finished_at=func.now())
        .returning(OutboxJob.id)
    )
    return result.scalar_one_or_none() is not None


async def enqueue_many(
    session: AsyncSession,
    task_name: str,
    jobs: Sequence[tuple[dict[str, Any], str | None]],
    *,
    school_id: Any = None,
    queue: str = "default",
    delay: timedelta | None = None,
) -> list[str | None]:
    """`enqueue` for many jobs of one task in one statement: (payload, dedupe_key)
    pairs. Returns the dedupe keys of the rows written (a repeat is skipped)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    if not jobs:
        return []
    # The NOTIFY rides on the same statement (pg_notify, once, and only when a row
    # was written): bulk work is where round trips add up.
    rows = await session.execute(
        text(
            "WITH written AS ("
            " INSERT INTO outbox_jobs (school_id, queue, task, payload, dedupe_key, run_after)"
            " SELECT CAST(:school_id AS uuid), CAST(:queue AS text), CAST(:task AS text),"
            " CAST(p AS jsonb), k, CAST(:run_after AS timestamptz)"
            " FROM unnest(CAST(:payloads AS text[]), CAST(:keys AS text[])) AS t(p, k)"
            " ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key)"
            " SELECT w.dedupe_key FROM written w,"
            " (SELECT pg_notify(CAST(:channel AS text), '')) n"
        ),
        {
            "school_id": school_id,
            "queue": queue,
            "task": task_name,
            "payloads": [json.dumps(payload) for payload, _ in jobs],
            "keys": [key for _, key in jobs],
            "run_after": (utcnow() + delay) if delay else None,
            "channel": OUTBOX_CHANNEL,
        },
    )
    return list(rows.scalars())


async def cancel_many(
    session: AsyncSession, dedupe_keys: Sequence[str]
) -> list[tuple[str, dict[str, Any]]]:
    """`cancel` for many keys: returns (dedupe_key, payload) of the jobs cancelled."""
    if not dedupe_keys:
        return []
    rows = await session.execute(
        text(
            "UPDATE outbox_jobs SET status = 'cancelled', finished_at = now()"
            " WHERE dedupe_key = ANY(CAST(:keys AS text[]))"
            " AND status IN ('pending', 'enqueued') RETURNING dedupe_key, payload"
        ),
        {"keys": list(dedupe_keys)},
    )
    return [(str(key), dict(payload)) for key, payload in rows.all()]


async def reinstate(
    session: AsyncSession, dedupe_keys: Sequence[str], *, delay: timedelta | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Put cancelled jobs back to pending (asked for again before they ever ran):
    returns (dedupe_key, payload) of the jobs reinstated."""
    if not dedupe_keys:
        return []
    rows = await session.execute(
        text(
            "WITH back AS (UPDATE outbox_jobs"
            " SET status = 'pending', finished_at = NULL, attempts = 0,"
            " run_after = CAST(:run_after AS timestamptz)"
            " WHERE dedupe_key = ANY(CAST(:keys AS text[])) AND status = 'cancelled'"
            " RETURNING dedupe_key, payload)"
            " SELECT b.dedupe_key, b.payload FROM back b,"
            " (SELECT pg_notify(CAST(:channel AS text), '')) n"
        ),
        {
            "keys": list(dedupe_keys),
            "run_after": (utcnow() + delay) if delay else None,
            "channel": OUTBOX_CHANNEL,
        },
    )
    return [(str(key), dict(payload)) for key, payload in rows.all()]


def rq_job_id(outbox_id: int) -> str:
    return f"outbox-{outbox_id}"


async def relay_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    connection: redis.Redis,
    *,
    batch: int = 200,
) -> int:
    """Move committed pending rows to RQ. Safe to run in several processes at once
    (SKIP LOCKED); a crash after the push and before the commit only pushes a row
    again, and the runner skips what is already done."""
    async with transaction(sessionmaker) as session:
        # A worker that died mid-job left its row running; a Redis that lost its
        # queue left rows enqueued: give both another go.
        await session.execute(
            update(OutboxJob)
            .where(
                (
                    (OutboxJob.status == "running")
                    & (OutboxJob.started_at < utcnow() - STALE_RUNNING_AFTER)
                )
                | (
                    (OutboxJob.status == "enqueued")
                    & (OutboxJob.enqueued_at < utcnow() - STALE_ENQUEUED_AFTER)
                )
            )
            .values(status="pending")
        )
        rows = (
            await session.execute(
                select(OutboxJob.id, OutboxJob.queue)
                .where(
                    OutboxJob.status == "pending",
                    (OutboxJob.run_after.is_(None)) | (OutboxJob.run_after <= func.now()),
                )
                .order_by(OutboxJob.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            return 0
        queues: dict[str, Queue] = {}
        for outbox_id, queue_name in rows:
            q = queues.setdefault(queue_name, Queue(queue_name, connection=connection))
            q.enqueue_call(
                "erplake.core.jobs.run_outbox_job",
                args=(outbox_id,),
                job_id=rq_job_id(outbox_id),
                timeout=JOB_TIMEOUT_SECONDS,
                result_ttl=3600,
                failure_ttl=7 * 24 * 3600,
            )
        await session.execute(
            update(OutboxJob)
            .where(OutboxJob.id.in_([r[0] for r in rows]))
            .values(status="enqueued", enqueued_at=func.now())
        )
        return len(rows)


async def execute_outbox_job(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, outbox_id: int
) -> str:
    """Run one outbox job once.

    1. Claim it in a short transaction (pending/enqueued → running): a duplicate
       push finds it running or done and skips.
    2. Run the handler. `ctx.session` is the job's transaction; the `done` mark is
       written in it, so a job's database effects and its completion commit
       together. A handler that calls the outside world does so before touching
       `ctx.session`, or reads through `ctx.sessionmaker`, so no transaction is
       held open across the call.
    3. On failure: back to pending with a backoff, failed after MAX_ATTEMPTS.
    A worker that dies mid-job leaves it running; the relay re-queues running
    jobs older than STALE_RUNNING_AFTER.
    """
    tasks = registered_tasks()
    async with transaction(sessionmaker) as claim:
        job = (
            await claim.execute(
                select(OutboxJob).where(OutboxJob.id == outbox_id).with_for_update()
            )
        ).scalar_one_or_none()
        if job is None or job.status not in ("pending", "enqueued"):
            return "skipped"
        job.status = "running"
        job.attempts += 1
        job.started_at = utcnow()
        task_name, payload, attempt = job.task, dict(job.payload), job.attempts
    try:
        handler = tasks.get(task_name)
        if handler is None:
            raise LookupError(f"no handler registered for task {task_name!r}")
        async with transaction(sessionmaker) as session:
            ctx = JobContext(
                session=session,
                sessionmaker=sessionmaker,
                settings=settings,
                outbox_id=outbox_id,
                attempt=attempt,
            )
            await handler(ctx, **payload)
            # Matched on the attempt too: a run that was re-queued as stale must not
            # overwrite the outcome of the run that replaced it.
            await session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == outbox_id, OutboxJob.attempts == attempt)
                .values(status="done", finished_at=func.now())
            )
        return "done"
    except Exception as exc:
        log.warning("job_failed", outbox_id=outbox_id, task=task_name, error=type(exc).__name__)
        final = attempt >= MAX_ATTEMPTS
        async with transaction(sessionmaker) as session:
            await session.execute(
                update(OutboxJob)
                .where(OutboxJob.id == outbox_id, OutboxJob.attempts == attempt)
                .values(
                    status="failed" if final else "pending",
                    last_error="".join(traceback.format_exception_only(exc)).strip()[:2000],
                    run_after=None if final else utcnow() + retry_delay(attempt),
                    finished_at=func.now() if final else None,
                )
            )
        return "failed" if final else "retry"


def retry_delay(attempt: int) -> timedelta:
    return timedelta(seconds=min(15 * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


async def prune_finished(
    sessionmaker: async_sessionmaker[AsyncSession], *, batch: int = 5000
) -> int:
    """Delete outbox rows finished more than KEEP_FINISHED ago and idempotency
    records as old, a batch at a time (the tables would otherwise only grow)."""
    async with transaction(sessionmaker) as session:
        removed = await session.execute(
            text(
                "DELETE FROM outbox_jobs WHERE id IN (SELECT id FROM outbox_jobs"
                " WHERE status IN ('done', 'failed', 'cancelled') AND finished_at < :cutoff"
                " ORDER BY id LIMIT :batch)"
            ),
            {"cutoff": utcnow() - KEEP_FINISHED, "batch": batch},
        )
        await session.execute(
            text(
                "DELETE FROM idempotency_records WHERE ctid IN (SELECT ctid FROM"
                " idempotency_records WHERE created_at < :cutoff LIMIT :batch)"
            ),
            {"cutoff": utcnow() - KEEP_FINISHED, "batch": batch},
        )
        return int(removed.rowcount or 0)  # type: ignore[attr-defined]


def run_outbox_job(outbox_id: int) -> str:
    """RQ entry point (synchronous; the work horse has no event loop of its own)."""
    from erplake.core.db import create_engine, create_sessionmaker
    from erplake.core.settings import get_settings

    settings = get_settings()

    async def _run() -> str:
        engine = create_engine(settings, role="worker", pooled=False)
        try:
            return await execute_outbox_job(create_sessionmaker(engine), settings, outbox_id)
        finally:
            await engine.dispose()

    return asyncio.run(_run())


async def relay_forever(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    connection: redis.Redis,
    stop: asyncio.Event,
    *,
    idle_poll_seconds: float = 1.0,
) -> None:
    """Relay until `stop` is set: wake on NOTIFY, poll as a fallback (delayed jobs)."""
    import asyncpg

    from erplake.core.db import libpq_url

    wake = asyncio.Event()
    listener: asyncpg.Connection | None = None
    try:
        listener = await asyncpg.connect(
            libpq_url(settings.database_url),
            server_settings={"application_name": "erplake-relay"},
        )
        await listener.add_listener(OUTBOX_CHANNEL, lambda *_: wake.set())
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("relay_listen_unavailable", error=str(exc))
    last_prune = 0.0
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        if loop.time() - last_prune > PRUNE_EVERY_SECONDS:
            last_prune = loop.time()
            try:
                await prune_finished(sessionmaker)
            except Exception as exc:  # pruning can wait for the next round
                log.warning("prune_error", error=type(exc).__name__)
        try:
            moved = await relay_once(sessionmaker, connection)
        except Exception as exc:  # keep relaying: the database or Redis may come back
            log.warning("relay_error", error=type(exc).__name__, detail=str(exc)[:200])
            moved = 0
        if moved:
            continue
        wake.clear()
        waiter = asyncio.ensure_future(wake.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait(
            {waiter, stopper}, timeout=idle_poll_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        stopper.cancel()
    if listener is not None:
        await listener.close()
