"""Fee jobs: an invoice run, the daily late fees, and the cron entry that asks for the
daily fee work of every school.

`enqueue_daily_fee_jobs` runs hourly on RQ's cron scheduler (registered in
`erplake.ops.tasks.build_cron_scheduler`). For each school whose own clock has passed
DAILY_FEES_HOUR (reminders reach parents in the morning, not at midnight), it writes a
`fees.late_fees` and a `fees.reminders` outbox job for the school's today, with dedupe
keys naming the school and the date: the later runs of the day, a restarted or a
second scheduler, add nothing; a scheduler that was down at the hour catches up at the
next one. Late fees go on the default queue and reminders on the low one, so a worker
charges the late fee before it reminds.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from erplake.audit.service import Actor
from erplake.core import jobs, progress
from erplake.core.clock import utcnow
from erplake.core.db import create_engine, create_sessionmaker, transaction
from erplake.core.errors import AppError
from erplake.core.jobs import JobContext, task
from erplake.fees.invoicing import GENERATE_TASK, generate_invoices
from erplake.fees.late_fees import apply_late_fees
from erplake.fees.schemas import InvoiceScope
from erplake.models.school import School

LATE_FEES_TASK = "fees.late_fees"
REMINDERS_TASK = "fees.reminders"
# Hourly, in UTC; each school's jobs are written once its local time passes the hour.
DAILY_FEES_CRON = "5 * * * *"
DAILY_FEES_HOUR = 9


@task(GENERATE_TASK)
async def run_invoice_generation(
    ctx: JobContext,
    *,
    progress_id: str,
    school_id: str,
    instalment_id: str,
    scope: dict[str, Any],
    user_id: str | None,
    ip: str | None,
    request_id: str | None,
) -> None:
    """Generate in the job's transaction, reporting progress per chunk; a refusal
    (the instalment or the scope is gone) fails the job for good with the reason."""
    run_id = uuid.UUID(progress_id)
    actor = Actor(
        school_id=uuid.UUID(school_id),
        user_id=None if user_id is None else uuid.UUID(user_id),
        ip=ip,
        request_id=request_id,
    )

    async def report(done: int, total: int) -> None:
        await progress.report(
            ctx.sessionmaker, run_id, done=done, total=total, message="writing invoices"
        )

    try:
        result = await generate_invoices(
            ctx.session,
            actor,
            school_id=uuid.UUID(school_id),
            instalment_id=uuid.UUID(instalment_id),
            scope=InvoiceScope.model_validate(scope),
            on_progress=report,
        )
    except AppError as exc:
        await ctx.session.rollback()
        await progress.fail(
            ctx.sessionmaker,
            run_id,
            error={"code": exc.code, "message": exc.message, "details": exc.details},
            message=exc.message,
        )
        return
    except Exception as exc:
        if ctx.attempt >= jobs.MAX_ATTEMPTS:
            await progress.fail(
                ctx.sessionmaker,
                run_id,
                error={"code": "internal_error", "message": type(exc).__name__},
                message="the invoice run failed; no invoices were written",
            )
        else:
            await progress.report(
                ctx.sessionmaker, run_id, done=0, message="retrying after an error"
            )
        raise
    await progress.finish(
        ctx.session,
        run_id,
        result=result.as_dict(),
        message=f"created {result.created} invoices",
    )


@task(LATE_FEES_TASK)
async def run_late_fees(ctx: JobContext, *, school_id: str, on: str) -> None:
    await apply_late_fees(ctx.session, school_id=uuid.UUID(school_id), on=date.fromisoformat(on))


def daily_dedupe_key(task_name: str, school_id: uuid.UUID, day: date) -> str:
    return f"{task_name}:{school_id}:{day.isoformat()}"


async def schedule_daily_fee_jobs(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime
) -> int:
    """Write today's late-fee and reminder jobs of every school whose local time has
    passed DAILY_FEES_HOUR; returns how many jobs were written (0 for a repeat)."""
    written = 0
    async with transaction(sessionmaker) as session:
        schools = (await session.execute(select(School.id, School.timezone))).all()
        for school_id, timezone in schools:
            local = now.astimezone(ZoneInfo(timezone))
            if local.hour < DAILY_FEES_HOUR:
                continue
            payload = {"school_id": str(school_id), "on": local.date().isoformat()}
            for task_name, queue in ((LATE_FEES_TASK, "default"), (REMINDERS_TASK, "low")):
                job_id = await jobs.enqueue(
                    session,
                    task_name,
                    payload,
                    school_id=school_id,
                    queue=queue,
                    dedupe_key=daily_dedupe_key(task_name, school_id, local.date()),
                )
                written += job_id is not None
    return written


def enqueue_daily_fee_jobs() -> int:
    """The cron entry (an RQ job, so synchronous)."""
    from erplake.core.settings import get_settings

    settings = get_settings()

    async def _run() -> int:
        engine = create_engine(settings, role="scheduler", pooled=False)
        try:
            return await schedule_daily_fee_jobs(create_sessionmaker(engine), now=utcnow())
        finally:
            await engine.dispose()

    return asyncio.run(_run())
