"""Progress of long jobs (imports now; invoice runs and campaigns later), for the UI
and the CLI to poll at GET /jobs/{job_id}.

The request creates the progress row in its own transaction, next to the outbox job
that will do the work. The job reports progress through short transactions of its
own (`report`), so a poller sees them while the job's transaction is still open,
and writes the outcome (`finish`) in the job's transaction, so "done" commits with
the work. A job that gives up records why with `fail`, outside its transaction,
which is about to roll back.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from erplake.core.db import DbSession, transaction
from erplake.core.errors import NotFound
from erplake.core.permissions import P
from erplake.core.schemas import Schema
from erplake.core.security import CurrentPrincipal, Principal
from erplake.models.progress import JobProgress


class JobNotFound(NotFound):
    code = "job_not_found"


class ProgressOut(Schema):
    id: uuid.UUID
    kind: str
    status: str
    total: int
    done: int
    percent: int
    message: str | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None


async def start(
    session: AsyncSession,
    *,
    school_id: uuid.UUID | None,
    kind: str,
    created_by: uuid.UUID | None,
    read_permission: P | None = None,
    total: int = 0,
    message: str | None = None,
) -> uuid.UUID:
    """A new progress row in the caller's transaction; pass its id to the job."""
    row = JobProgress(
        id=uuid.uuid4(),
        school_id=school_id,
        kind=kind,
        created_by=created_by,
        read_permission=None if read_permission is None else str(read_permission),
        total=total,
        message=message,
    )
    session.add(row)
    await session.flush()
    return row.id


async def report(
    sessionmaker: async_sessionmaker[AsyncSession],
    progress_id: uuid.UUID,
    *,
    done: int,
    total: int | None = None,
    message: str | None = None,
) -> None:
    """How far the job has got, committed at once in a short transaction."""
    values: dict[str, Any] = {"done": done, "status": "running"}
    if total is not None:
        values["total"] = total
    if message is not None:
        values["message"] = message[:300]
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(JobProgress).where(JobProgress.id == progress_id).values(**values)
        )


async def finish(
    session: AsyncSession,
    progress_id: uuid.UUID,
    *,
    result: dict[str, Any],
    message: str | None = None,
) -> None:
    """Done, in the job's own transaction: it commits together with the work."""
    await session.execute(
        update(JobProgress)
        .where(JobProgress.id == progress_id)
        .values(
            status="done",
            done=JobProgress.total,
            result=result,
            message=message,
            finished_at=func.now(),
        )
    )


async def fail(
    sessionmaker: async_sessionmaker[AsyncSession],
    progress_id: uuid.UUID,
    *,
    error: dict[str, Any],
    message: str,
) -> None:
    """Failed for good, in a transaction of its own (the job's rolls back)."""
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(JobProgress)
            .where(JobProgress.id == progress_id)
            .values(status="failed", error=error, message=message[:300], finished_at=func.now())
        )


def to_out(row: JobProgress) -> ProgressOut:
    percent = 100 if row.status == "done" else (row.done * 100 // row.total if row.total else 0)
    return ProgressOut(
        id=row.id,
        kind=row.kind,
        status=row.status,
        total=row.total,
        done=row.done,
        percent=min(100, percent),
        message=row.message,
        result=row.result,
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


async def get_visible(
    session: AsyncSession, principal: Principal, progress_id: uuid.UUID
) -> ProgressOut:
    """A job is visible to whoever started it, and to holders of the permission it
    names in the same school; to anyone else it does not exist."""
    row = (
        await session.execute(
            select(JobProgress).where(
                JobProgress.id == progress_id, JobProgress.school_id == principal.school_id
            )
        )
    ).scalar_one_or_none()
    if row is None or not (
        row.created_by == principal.user_id
        or (row.read_permission is not None and principal.has(row.read_permission))
    ):
        raise JobNotFound("job not found")
    return to_out(row)


router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=ProgressOut)
async def get_job(
    job_id: Annotated[uuid.UUID, Path()], session: DbSession, principal: CurrentPrincipal
) -> ProgressOut:
    """Progress of a long job (an import, a promotion, an invoice run): poll until
    `status` is `done` (see `result`) or `failed` (see `error`). Visible to whoever
    started it and to holders of the permission the job names."""
    return await get_visible(session, principal, job_id)
