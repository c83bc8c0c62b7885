from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core.db import fetch_one
from erplake.core.errors import NotFound, Unprocessable
from erplake.core.phone import parse_mobile
from erplake.models.school import School
from erplake.schools.schemas import SchoolOut, SchoolUpdate


class SchoolNotFound(NotFound):
    code = "school_not_found"


async def get(session: AsyncSession, *, school_id: uuid.UUID) -> School:
    school = (
        await session.execute(select(School).where(School.id == school_id))
    ).scalar_one_or_none()
    if school is None:
        raise SchoolNotFound("school not found")
    return school


async def get_profile(session: AsyncSession, *, school_id: uuid.UUID) -> SchoolOut:
    """The profile every signed-in page shows: one indexed row, read on the driver."""
    row = await fetch_one(
        session,
        "SELECT id, code, name, timezone, address, phone, email FROM schools WHERE id = $1",
        school_id,
    )
    if row is None:
        raise SchoolNotFound("school not found")
    return SchoolOut(**dict(row))


async def get_by_code(session: AsyncSession, *, code: str) -> School | None:
    return (await session.execute(select(School).where(School.code == code))).scalar_one_or_none()


async def create(
    session: AsyncSession, *, code: str, name: str, timezone: str = "Asia/Kolkata"
) -> School:
    school = School(code=code, name=name, timezone=timezone)
    session.add(school)
    await session.flush()
    return school


async def update_profile(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: SchoolUpdate
) -> SchoolOut:
    """Change the fields given (audited with before and after)."""
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Unprocessable("the school needs a name")
    if "timezone" in changes and changes["timezone"] is None:
        raise Unprocessable("the school needs a timezone")
    if changes.get("phone"):
        changes["phone"] = parse_mobile(changes["phone"])
    school = (
        await session.execute(select(School).where(School.id == school_id).with_for_update())
    ).scalar_one_or_none()
    if school is None:
        raise SchoolNotFound("school not found")
    before = {key: getattr(school, key) for key in changes}
    for key, value in changes.items():
        setattr(school, key, value)
    await session.flush()
    await audit.record(
        session,
        actor,
        action="school.update",
        entity="school",
        entity_id=school_id,
        before=before,
        after=changes,
    )
    return SchoolOut.model_validate(school)
