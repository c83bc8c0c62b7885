"""Whose attendance a signed-in user may mark and see: the one place that decides it.

Sections: staff (see students.scopes) work on every section of the school; a
teacher on the sections they teach this year; a parent on none (they see their own
children, student by student). Students: as students.scopes says.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics.scopes import teacher_section_ids
from erplake.core.errors import Forbidden, NotFound
from erplake.core.security import Principal
from erplake.models.academics import Section, TeacherAssignment
from erplake.students.scopes import ensure_visible, sees_whole_school

__all__ = [
    "NotClassTeacher",
    "NotYourSection",
    "ensure_can_mark",
    "ensure_class_teacher",
    "ensure_section_visible",
    "ensure_visible",
    "marking_scope",
    "section_filter",
]


class NotYourSection(Forbidden):
    code = "not_your_section"


class NotClassTeacher(Forbidden):
    code = "not_class_teacher"


class SectionNotVisible(NotFound):
    code = "section_not_found"


def section_filter(principal: Principal, section_id: Any) -> ColumnElement[bool]:
    """The condition on a section id column for the sections the principal may see,
    in a query already limited to the principal's school."""
    if sees_whole_school(principal):
        return true()
    if principal.has_role("teacher"):
        return section_id.in_(  # type: ignore[no-any-return]
            teacher_section_ids(school_id=principal.school_id, user_id=principal.user_id)
        )
    return false()


async def _teaches(
    session: AsyncSession, principal: Principal, section_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    if not principal.has_role("teacher"):
        return set()
    # This year's teaching only (the one definition in academics.scopes): last
    # year's sections are no longer the teacher's to read.
    taught = teacher_section_ids(school_id=principal.school_id, user_id=principal.user_id)
    return set(
        (
            await session.execute(
                select(Section.id).where(Section.id.in_(section_ids), Section.id.in_(taught))
            )
        ).scalars()
    )


def marking_scope(principal: Principal) -> tuple[bool, uuid.UUID | None]:
    """(marks every section, else the teacher whose assigned sections they may mark)."""
    if sees_whole_school(principal):
        return True, None
    return False, principal.user_id if principal.has_role("teacher") else None


def ensure_can_mark(allowed: dict[uuid.UUID, bool], labels: dict[uuid.UUID, str]) -> None:
    """403 naming the sections the caller does not teach."""
    others = [section for section, ok in allowed.items() if not ok]
    if others:
        names = ", ".join(sorted(labels[s] for s in others))
        raise NotYourSection(
            f"you do not teach {names}; only its teachers can mark it",
            details={"section_ids": sorted(str(s) for s in others)},
        )


async def ensure_section_visible(
    session: AsyncSession, principal: Principal, section_id: uuid.UUID
) -> None:
    if sees_whole_school(principal) or section_id in await _teaches(
        session, principal, [section_id]
    ):
        return
    raise SectionNotVisible("section not found", details={"section_id": str(section_id)})


async def ensure_class_teacher(
    session: AsyncSession, principal: Principal, section_id: uuid.UUID | None, label: str
) -> None:
    """Leave is decided by the class teacher of the child's section, or by staff."""
    if sees_whole_school(principal):
        return
    is_class_teacher = (
        section_id is not None
        and (
            await session.execute(
                select(TeacherAssignment.id).where(
                    TeacherAssignment.teacher_id == principal.user_id,
                    TeacherAssignment.section_id == section_id,
                    TeacherAssignment.role == "class_teacher",
                    TeacherAssignment.section_id.in_(
                        teacher_section_ids(
                            school_id=principal.school_id, user_id=principal.user_id
                        )
                    ),
                )
            )
        ).first()
        is not None
    )
    if not is_class_teacher:
        raise NotClassTeacher(f"only the class teacher of {label} can decide this leave")
