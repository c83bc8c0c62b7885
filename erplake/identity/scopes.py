"""What a user may see: a parent their children, a teacher their sections.

A parent is the guardian with the user's phone in the user's school; a teacher is
the user named in this year's teacher assignments. The subqueries come from the
school-records domains (students.scopes, academics.scopes), which also use them to
scope every read.
"""

from __future__ import annotations

import uuid

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics.scopes import teacher_section_ids
from erplake.academics.service import current_year_id
from erplake.identity.schemas import ChildBrief, SectionBrief
from erplake.models.academics import SchoolClass, Section
from erplake.models.identity import User
from erplake.models.students import Enrolment, Student
from erplake.students.scopes import guardian_student_ids


async def _school_of(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID | None:
    return (
        await session.execute(select(User.school_id).where(User.id == user_id))
    ).scalar_one_or_none()


async def children_of(session: AsyncSession, *, user_id: uuid.UUID) -> list[ChildBrief]:
    school_id = await _school_of(session, user_id)
    if school_id is None:
        return []
    rows = await session.execute(
        select(Student.id, Student.name, SchoolClass.name, Section.name)
        .select_from(Student)
        .outerjoin(
            Enrolment,
            and_(
                Enrolment.student_id == Student.id,
                Enrolment.academic_year_id == current_year_id(school_id),
            ),
        )
        .outerjoin(Section, Section.id == Enrolment.section_id)
        .outerjoin(SchoolClass, SchoolClass.id == Section.class_id)
        .where(
            Student.id.in_(guardian_student_ids(school_id=school_id, user_id=user_id)),
            Student.status == "active",
        )
        .order_by(Student.name)
    )
    return [
        ChildBrief(id=i, name=name, class_name=class_name, section_name=section_name)
        for i, name, class_name, section_name in rows.all()
    ]


async def sections_of(session: AsyncSession, *, user_id: uuid.UUID) -> list[SectionBrief]:
    school_id = await _school_of(session, user_id)
    if school_id is None:
        return []
    rows = await session.execute(
        select(Section.id, Section.name, SchoolClass.name)
        .join(SchoolClass, SchoolClass.id == Section.class_id)
        .where(Section.id.in_(teacher_section_ids(school_id=school_id, user_id=user_id)))
        .order_by(SchoolClass.sequence, Section.name)
    )
    return [
        SectionBrief(id=i, name=name, class_name=class_name) for i, name, class_name in rows.all()
    ]
