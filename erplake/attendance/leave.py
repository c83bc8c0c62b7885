"""Leave applications: a guardian applies for a child's dates, the class teacher (or
staff) decides, and approved school days are marked LV."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics import service as academics
from erplake.academics.service import current_year_id, section_label
from erplake.attendance import service as attendance
from erplake.attendance.schemas import LeaveOut
from erplake.attendance.scopes import ensure_class_teacher, ensure_visible
from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core.clock import school_today, utcnow
from erplake.core.errors import Conflict, NotFound, Unprocessable
from erplake.core.pagination import PageParams, paginate_rows
from erplake.core.security import Principal
from erplake.models.academics import SchoolClass, Section
from erplake.models.attendance import LeaveApplication
from erplake.models.school import School
from erplake.models.students import Enrolment, Student
from erplake.students.scopes import student_filter


class LeaveNotFound(NotFound):
    code = "leave_not_found"


class LeaveAlreadyDecided(Conflict):
    code = "leave_already_decided"


class LeaveOverlaps(Conflict):
    code = "leave_overlaps"


class LeaveTooEarly(Unprocessable):
    code = "leave_too_far_back"


def _out(row: LeaveApplication, student_name: str) -> LeaveOut:
    return LeaveOut(
        id=row.id,
        student_id=row.student_id,
        student_name=student_name,
        from_date=row.from_date,
        to_date=row.to_date,
        reason=row.reason,
        status=row.status,
        applied_by=row.applied_by,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
        days_marked=row.days_marked,
        created_at=row.created_at,
    )


async def _today(session: AsyncSession, school_id: uuid.UUID) -> date:
    tz = (await session.execute(select(School.timezone).where(School.id == school_id))).scalar_one()
    return school_today(tz)


async def apply(
    session: AsyncSession,
    actor: Actor,
    principal: Principal,
    *,
    student_id: uuid.UUID,
    from_date: date,
    to_date: date,
    reason: str,
) -> LeaveOut:
    """A guardian (or staff) asks leave for one of their children."""
    await ensure_visible(session, principal, student_id)
    cfg = await attendance.config(session, school_id=principal.school_id)
    today = await _today(session, principal.school_id)
    if from_date < today - timedelta(days=cfg.edit_window_days):
        raise LeaveTooEarly(
            f"leave can start at most {cfg.edit_window_days} days back "
            f"(the register can no longer change before that)"
        )
    overlap = (
        await session.execute(
            select(LeaveApplication.from_date, LeaveApplication.to_date).where(
                LeaveApplication.student_id == student_id,
                LeaveApplication.status.in_(("pending", "approved")),
                LeaveApplication.from_date <= to_date,
                LeaveApplication.to_date >= from_date,
            )
        )
    ).first()
    if overlap is not None:
        raise LeaveOverlaps(
            f"leave from {overlap.from_date} to {overlap.to_date} already covers some of these days"
        )
    row = LeaveApplication(
        school_id=principal.school_id,
        student_id=student_id,
        from_date=from_date,
        to_date=to_date,
        reason=reason,
        applied_by=principal.user_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        actor,
        action="leave.apply",
        entity="leave_application",
        entity_id=row.id,
        after={"student_id": str(student_id), "from": str(from_date), "to": str(to_date)},
    )
    name = (
        await session.execute(select(Student.name).where(Student.id == student_id))
    ).scalar_one()
    return _out(row, name)


async def list_applications(
    session: AsyncSession,
    principal: Principal,
    *,
    page: PageParams,
    status: str | None,
    student_id: uuid.UUID | None,
) -> tuple[list[LeaveOut], int]:
    """Leave the caller may see: their children's, their sections', or the school's."""
    stmt: Any = (
        select(LeaveApplication, Student.name)
        .join(Student, Student.id == LeaveApplication.student_id)
        .where(
            LeaveApplication.school_id == principal.school_id,
            student_filter(principal, LeaveApplication.student_id),
        )
    )
    if status is not None:
        stmt = stmt.where(LeaveApplication.status == status)
    if student_id is not None:
        stmt = stmt.where(LeaveApplication.student_id == student_id)
    rows, total = await paginate_rows(
        session,
        stmt.order_by(LeaveApplication.from_date.desc(), LeaveApplication.id),
        page,
    )
    return [_out(row, name) for row, name in rows], total


async def _pending(
    session: AsyncSession, principal: Principal, leave_id: uuid.UUID
) -> tuple[LeaveApplication, str, Any]:
    found = (
        await session.execute(
            select(LeaveApplication, Student.name, Section.id, Section.name, SchoolClass.name)
            .join(Student, Student.id == LeaveApplication.student_id)
            .outerjoin(
                Enrolment,
                and_(
                    Enrolment.student_id == Student.id,
                    Enrolment.academic_year_id == current_year_id(principal.school_id),
                ),
            )
            .outerjoin(Section, Section.id == Enrolment.section_id)
            .outerjoin(SchoolClass, SchoolClass.id == Section.class_id)
            .where(
                LeaveApplication.id == leave_id,
                LeaveApplication.school_id == principal.school_id,
                student_filter(principal, LeaveApplication.student_id),
            )
            .with_for_update(of=LeaveApplication)
        )
    ).one_or_none()
    if found is None:
        raise LeaveNotFound("leave application not found")
    row, name, section_id, section_name, class_name = found
    if row.status != "pending":
        raise LeaveAlreadyDecided(f"this leave is already {row.status}")
    label = section_label(class_name, section_name) if section_id else "the child's section"
    return row, name, (section_id, label)


async def decide(
    session: AsyncSession,
    actor: Actor,
    principal: Principal,
    *,
    leave_id: uuid.UUID,
    approve: bool,
    note: str | None,
) -> LeaveOut:
    """Approve (its school days become LV) or reject a pending application."""
    row, name, (section_id, label) = await _pending(session, principal, leave_id)
    await ensure_class_teacher(session, principal, section_id, label)
    row.status = "approved" if approve else "rejected"
    row.decided_by, row.decided_at, row.decision_note = principal.user_id, utcnow(), note
    if approve and section_id is not None:
        year = await academics.current_year(session, school_id=principal.school_id)
        start, end = max(row.from_date, year.starts_on), min(row.to_date, year.ends_on)
        days = await academics.school_days(
            session, school_id=principal.school_id, start=start, end=end
        )
        row.days_marked = await attendance.mark_leave_days(
            session,
            school_id=principal.school_id,
            student_id=row.student_id,
            section_id=section_id,
            days=days,
            marked_by=principal.user_id,
        )
    await session.flush()
    await audit.record(
        session,
        actor,
        action="leave.approve" if approve else "leave.reject",
        entity="leave_application",
        entity_id=row.id,
        before={"status": "pending"},
        after={"status": row.status, "note": note, "days_marked": row.days_marked},
    )
    return _out(row, name)


async def cancel(
    session: AsyncSession, actor: Actor, principal: Principal, *, leave_id: uuid.UUID
) -> LeaveOut:
    """The applicant withdraws a pending application."""
    row, name, _ = await _pending(session, principal, leave_id)
    if row.applied_by != principal.user_id:
        raise LeaveNotFound("leave application not found")
    row.status = "cancelled"
    await session.flush()
    await audit.record(
        session,
        actor,
        action="leave.cancel",
        entity="leave_application",
        entity_id=row.id,
        before={"status": "pending"},
        after={"status": "cancelled"},
    )
    return _out(row, name)
