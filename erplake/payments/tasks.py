"""The reconciliation job, and its cron entry: every 5 minutes `erplake scheduler`
writes one `payments.reconcile` outbox row per slot (the dedupe key names the slot, so
two schedulers still make one job), and a worker runs it."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from erplake.core.clock import utcnow
from erplake.core.db import create_engine, create_sessionmaker, transaction
from erplake.core.jobs import JobContext, enqueue, task
from erplake.payments.reconcile import reconcile_pending

RECONCILE_TASK = "payments.reconcile"
RECONCILE_CRON = "*/5 * * * *"
RECONCILE_QUEUE = "low"


@task(RECONCILE_TASK)
async def reconcile(ctx: JobContext) -> None:
    """Ask the provider about orders still open after 15 minutes; credit or expire."""
    await reconcile_pending(ctx.sessionmaker, ctx.settings)


def reconcile_dedupe_key(slot: datetime) -> str:
    return f"{RECONCILE_TASK}:{slot:%Y-%m-%dT%H:%M}"


async def schedule_reconcile(
    sessionmaker: async_sessionmaker[AsyncSession], *, slot: datetime
) -> int | None:
    """Write the job for `slot`; None when that slot already has one."""
    async with transaction(sessionmaker) as session:
        return await enqueue(
            session,
            RECONCILE_TASK,
            {},
            queue=RECONCILE_QUEUE,
            dedupe_key=reconcile_dedupe_key(slot),
        )


def enqueue_payments_reconcile() -> int | None:
    """The cron entry (an RQ job, so synchronous)."""
    from erplake.core.settings import get_settings
    from erplake.ops.tasks import current_slot

    settings = get_settings()
    slot = current_slot(RECONCILE_CRON, utcnow())

    async def _run() -> int | None:
        engine = create_engine(settings, role="scheduler", pooled=False)
        try:
            return await schedule_reconcile(create_sessionmaker(engine), slot=slot)
        finally:
            await engine.dispose()

    return asyncio.run(_run())
