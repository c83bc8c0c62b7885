"""Who may start which conversation, and who belongs in a section group: the one
place that turns the school's records into chat relationships.

- A parent (the user whose phone is a guardian's, in the same school) may write to a
  teacher of one of their children's sections this year, class or subject teacher.
- A teacher may write to the parents of the students of the sections they teach.
- Staff (anyone holding a role other than parent or student) may write to other
  staff and start staff groups.
- A section group holds the section's class teacher and its students' guardians'
  users; the class teacher, or school-wide staff, sets it up.
Everyone involved must be an active user of the school with `chat:use`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics.scopes import teacher_section_ids
from erplake.academics.service import current_year_id
from erplake.core.permissions import P
from erplake.core.security import Principal
from erplake.models.academics import TeacherAssignment
from erplake.models.identity import Role, RolePermission, User, UserRole
from erplake.models.students import Enrolment, Guardian, Student, StudentGuardian
from erplake.students.scopes import guardian_student_ids

NOT_STAFF_ROLES = frozenset({"parent", "student"})


def is_staff(principal: Principal) -> bool:
    return any(role not in NOT_STAFF_ROLES for role in principal.roles)


def may_manage_section_groups(principal: Principal) -> bool:
    """Who may set up any section's group (and so read it) is a permission of its
    own, not "any staff role": a class teacher sets up their own section's only."""
    return principal.has(P.chat_manage)


# ---- the relationships, as subqueries of user ids ------------------------------


def chat_user_ids(*, school_id: uuid.UUID) -> Any:
    """Active users of the school who hold `chat:use` through any role."""
    return (
        select(UserRole.user_id)
        .join(RolePermission, RolePermission.role_id == UserRole.role_id)
        .join(User, User.id == UserRole.user_id)
        .where(
            RolePermission.permission_code == str(P.chat_use),
            User.school_id == school_id,
            User.is_active.is_(True),
        )
    )


def staff_user_ids(*, school_id: uuid.UUID) -> Any:
    """Users holding a role other than parent or student."""
    return (
        select(UserRole.user_id)
        .join(Role, Role.id == UserRole.role_id)
        .where(Role.school_id == school_id, Role.name.not_in(NOT_STAFF_ROLES))
    )


def children_section_ids(*, school_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    """This year's sections of the parent's children who are still at the school."""
    return (
        select(Enrolment.section_id)
        .join(Student, Student.id == Enrolment.student_id)
        .where(
            Enrolment.academic_year_id == current_year_id(school_id),
            Enrolment.student_id.in_(guardian_student_ids(school_id=school_id, user_id=user_id)),
            Student.status == "active",
        )
    )


def teachers_of_children(*, school_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    """Teachers (class or subject) of the sections of this parent's children."""
    return select(TeacherAssignment.teacher_id).where(
        TeacherAssignment.school_id == school_id,
        TeacherAssignment.section_id.in_(
            children_section_ids(school_id=school_id, user_id=user_id)
        ),
    )


def guardian_users_of_sections(*, school_id: uuid.UUID, section_ids: Any) -> Any:
    """Active users whose phone is an active guardian's of an active student enrolled
    in one of `section_ids` (a list or a subquery)."""
    return (
        select(User.id)
        .join(Guardian, and_(Guardian.phone == User.phone, Guardian.school_id == User.school_id))
        .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .join(Enrolment, Enrolment.student_id == StudentGuardian.student_id)
        .join(Student, Student.id == Enrolment.student_id)
        .where(
            User.school_id == school_id,
            User.is_active.is_(True),
            Guardian.is_active.is_(True),
            Student.status == "active",
            Enrolment.section_id.in_(section_ids),
        )
    )


def class_teacher_ids(*, school_id: uuid.UUID, section_id: uuid.UUID) -> Any:
    return select(TeacherAssignment.teacher_id).where(
        TeacherAssignment.school_id == school_id,
        TeacherAssignment.section_id == section_id,
        TeacherAssignment.role == "class_teacher",
    )


def direct_contact_ids(principal: Principal) -> Any:
    """Everyone the principal may start a direct conversation with."""
    school_id, user_id = principal.school_id, principal.user_id
    parts = [
        teachers_of_children(school_id=school_id, user_id=user_id),
        guardian_users_of_sections(
            school_id=school_id,
            section_ids=teacher_section_ids(school_id=school_id, user_id=user_id),
        ),
    ]
    if is_staff(principal):
        parts.append(staff_user_ids(school_id=school_id))
    return union(*parts)


# ---- the decisions ---------------------------------------------------------------


async def may_start_direct(
    session: AsyncSession, principal: Principal, *, other_user_id: uuid.UUID
) -> bool:
    if other_user_id == principal.user_id:
        return False
    other = literal(other_user_id)
    allowed = select(
        and_(
            other.in_(direct_contact_ids(principal)),
            other.in_(chat_user_ids(school_id=principal.school_id)),
        )
    )
    return bool((await session.execute(allowed)).scalar_one())


async def staff_chat_users(
    session: AsyncSession, *, school_id: uuid.UUID, user_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of `user_ids` are staff of the school with `chat:use`."""
    rows = await session.execute(
        select(User.id).where(
            User.id.in_(user_ids),
            User.id.in_(chat_user_ids(school_id=school_id)),
            User.id.in_(staff_user_ids(school_id=school_id)),
        )
    )
    return set(rows.scalars())


async def section_group_members(
    session: AsyncSession, *, school_id: uuid.UUID, section_id: uuid.UUID
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """(class teachers, guardian users) of the section who may chat."""
    chatters = chat_user_ids(school_id=school_id)
    teachers = await session.execute(
        select(User.id).where(
            User.id.in_(class_teacher_ids(school_id=school_id, section_id=section_id)),
            User.id.in_(chatters),
        )
    )
    guardians = await session.execute(
        guardian_users_of_sections(school_id=school_id, section_ids=[section_id])
        .where(User.id.in_(chatters))
        .distinct()
    )
    return list(teachers.scalars()), list(guardians.scalars())


async def is_class_teacher(
    session: AsyncSession, principal: Principal, *, section_id: uuid.UUID
) -> bool:
    teaches = literal(principal.user_id).in_(
        class_teacher_ids(school_id=principal.school_id, section_id=section_id)
    )
    return bool((await session.execute(select(teaches))).scalar_one())
