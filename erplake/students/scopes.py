"""Which students a signed-in user may see: the one place that decides it.

- Staff (any role other than teacher, parent or student, custom roles included) see
  the whole school.
- A teacher sees the students enrolled this year in the sections they teach.
- A parent sees their own children: the students of the guardian with the parent's
  phone number in the same school.
- Someone with several roles sees the union.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics.scopes import teacher_section_ids
from erplake.academics.service import current_year_id
from erplake.core.errors import NotFound
from erplake.core.security import Principal
from erplake.models.identity import User
from erplake.models.students import Enrolment, Guardian, Student, StudentGuardian

NARROW_ROLES = frozenset({"teacher", "parent", "student"})


class StudentNotFound(NotFound):
    code = "student_not_found"


def sees_whole_school(principal: Principal) -> bool:
    return any(role not in NARROW_ROLES for role in principal.roles)


def guardian_student_ids(*, school_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    """Ids of the children of the guardian who is this user (same phone, same school)."""
    return (
        select(StudentGuardian.student_id)
        .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
        .join(User, (User.phone == Guardian.phone) & (User.school_id == Guardian.school_id))
        .where(
            User.id == user_id,
            Guardian.school_id == school_id,
            Guardian.is_active.is_(True),
        )
    )


def taught_student_ids(*, school_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    """Ids of the students enrolled this year in the sections this user teaches."""
    return select(Enrolment.student_id).where(
        Enrolment.academic_year_id == current_year_id(school_id),
        Enrolment.section_id.in_(teacher_section_ids(school_id=school_id, user_id=user_id)),
    )


def student_filter(principal: Principal, student_id: Any = Student.id) -> ColumnElement[bool]:
    """The condition on a student id column that keeps only what `principal` may see,
    for a query already limited to the principal's school."""
    if sees_whole_school(principal):
        return true()
    allowed: list[ColumnElement[bool]] = []
    if principal.has_role("teacher"):
        allowed.append(
            student_id.in_(
                taught_student_ids(school_id=principal.school_id, user_id=principal.user_id)
            )
        )
    if principal.has_role("parent"):
        allowed.append(
            student_id.in_(
                guardian_student_ids(school_id=principal.school_id, user_id=principal.user_id)
            )
        )
    return or_(*allowed) if allowed else false()


def visible_students(stmt: Any, principal: Principal) -> Any:
    """Add the visibility condition to a select over Student."""
    stmt = stmt.where(Student.school_id == principal.school_id)
    if sees_whole_school(principal):
        return stmt
    return stmt.where(student_filter(principal, Student.id))


async def ensure_visible(
    session: AsyncSession, principal: Principal, student_id: uuid.UUID
) -> None:
    """404 for a student the caller may not see, as for one that does not exist."""
    found = (
        await session.execute(
            visible_students(select(Student.id), principal).where(Student.id == student_id)
        )
    ).scalar_one_or_none()
    if found is None:
        raise StudentNotFound("student not found", details={"student_id": str(student_id)})
