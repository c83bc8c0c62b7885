from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.core.errors import NotFound
from erplake.models.school import School


class SchoolNotFound(NotFound):
    code = "school_not_found"


async def get(session: AsyncSession, *, school_id: uuid.UUID) -> School:
    school = (
        await session.execute(select(School).where(School.id == school_id))
    ).scalar_one_or_none()
    if school is None:
        raise SchoolNotFound("school not found")
    return school


async def get_by_code(session: AsyncSession, *, code: str) -> School | None:
    return (await session.execute(select(School).where(School.code == code))).scalar_one_or_none()


async def create(
    session: AsyncSession, *, code: str, name: str, timezone: str = "Asia/Kolkata"
) -> School:
    school = School(code=code, name=name, timezone=timezone)
    session.add(school)
    await session.flush()
    return school
