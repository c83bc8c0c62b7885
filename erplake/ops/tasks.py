"""The nightly backup: RQ's cron scheduler asks, the outbox carries it, a worker runs it.

`erplake scheduler` runs rq's `CronScheduler` (rq >= 2.5) with one entry,
`enqueue_nightly_backup`, on `BACKUP_CRON` (UTC; default 21:30 = 03:00 in India). That
entry only writes an `ops.backup` outbox row whose dedupe key names the slot, so two
schedulers, or one restarted within the minute, still make one backup. The relay hands
the row to a worker, which writes the archive to `BACKUP_DIR` and keeps the newest
`BACKUP_KEEP`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from croniter import croniter
from rq.cron import CronScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from erplake.core.clock import utcnow
from erplake.core.db import create_engine, create_sessionmaker, transaction
from erplake.core.jobs import JobContext, enqueue, task
from erplake.ops.backup import BackupSettings, create_backup

BACKUP_TASK = "ops.backup"
BACKUP_QUEUE = "low"


@task(BACKUP_TASK)
async def run_backup(ctx: JobContext, **payload: Any) -> None:
    """Back up to BACKUP_DIR and prune to BACKUP_KEEP (the payload may override both)."""
    config = BackupSettings()
    out_dir = Path(payload["out_dir"]) if payload.get("out_dir") else config.out_dir(ctx.settings)
    keep = int(payload.get("keep") or config.keep)
    await create_backup(ctx.settings, out_dir=out_dir, keep=keep, bin_dir=config.pg_bin_dir)


def backup_dedupe_key(slot: datetime) -> str:
    return f"{BACKUP_TASK}:{slot:%Y-%m-%dT%H:%M}"


async def schedule_backup(
    sessionmaker: async_sessionmaker[AsyncSession], *, slot: datetime
) -> int | None:
    """Write the backup job for `slot`; None when that slot already has one."""
    async with transaction(sessionmaker) as session:
        return await enqueue(
            session, BACKUP_TASK, {}, queue=BACKUP_QUEUE, dedupe_key=backup_dedupe_key(slot)
        )


def current_slot(cron: str, now: datetime) -> datetime:
    """The scheduled time this run belongs to (the latest cron time not after `now`), so
    a run that starts late, or twice, still names the same slot."""
    try:
        return croniter(cron, now).get_prev(datetime)  # type: ignore[no-any-return]
    except (ValueError, KeyError):
        return now


def enqueue_nightly_backup() -> int | None:
    """The cron entry (an RQ job, so synchronous): one outbox row per scheduled slot."""
    from erplake.core.settings import get_settings

    settings = get_settings()
    slot = current_slot(BackupSettings().cron, utcnow())

    async def _run() -> int | None:
        engine = create_engine(settings, role="scheduler", pooled=False)
        try:
            return await schedule_backup(create_sessionmaker(engine), slot=slot)
        finally:
            await engine.dispose()

    return asyncio.run(_run())


def build_cron_scheduler(
    connection: redis.Redis, config: BackupSettings | None = None
) -> CronScheduler:
    """The scheduler `erplake scheduler` runs: the nightly backup (BACKUP_CRON=off leaves
    it out) and the payments reconciliation every 5 minutes."""
    config = config or BackupSettings()
    scheduler = CronScheduler(connection=connection, logging_level="WARNING")
    if config.cron.strip().lower() not in ("", "off", "none", "disabled"):
        scheduler.register(
            enqueue_nightly_backup,
            queue_name=BACKUP_QUEUE,
            cron=config.cron,
            job_timeout=300,
            name="nightly-backup",
        )
    from erplake.payments.tasks import (
        RECONCILE_CRON,
        RECONCILE_QUEUE,
        enqueue_payments_reconcile,
    )

    scheduler.register(
        enqueue_payments_reconcile,
        queue_name=RECONCILE_QUEUE,
        cron=RECONCILE_CRON,
        job_timeout=300,
        name="payments-reconcile",
    )
    from erplake.fees.tasks import DAILY_FEES_CRON, enqueue_daily_fee_jobs

    scheduler.register(
        enqueue_daily_fee_jobs,
        queue_name="low",
        cron=DAILY_FEES_CRON,
        job_timeout=300,
        name="daily-fees",
    )
    return scheduler
