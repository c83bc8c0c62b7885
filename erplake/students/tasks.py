from __future__ import annotations

import uuid

from erplake.audit.service import Actor
from erplake.core.jobs import JobContext, task
from erplake.students.spreadsheet import IMPORT_TASK, run_import


@task(IMPORT_TASK)
async def import_students(
    ctx: JobContext,
    *,
    progress_id: str,
    school_id: str,
    storage_key: str,
    filename: str,
    user_id: str | None,
    ip: str | None,
    request_id: str | None,
) -> None:
    await run_import(
        ctx,
        progress_id=uuid.UUID(progress_id),
        school_id=uuid.UUID(school_id),
        storage_key=storage_key,
        filename=filename,
        actor=Actor(
            school_id=uuid.UUID(school_id),
            user_id=None if user_id is None else uuid.UUID(user_id),
            ip=ip,
            request_id=request_id,
        ),
    )
