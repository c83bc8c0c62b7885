"""Attendance reports: a section's register for a day, a section's month, one
student's month, today's school-wide summary per class, chronic absentees.

A student's percentage is present marks over marks taken (a day the register was
not taken does not count against anyone). In period-wise mode every period is a
mark; the day summary uses each child's first period of the day.
"""

from __future__ import annotations

import calendar
import uuid
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics import service as academics
from erplake.academics.service import current_year_id, section_label
from erplake.attendance import service as attendance
from erplake.attendance.schemas import (
    ChronicOut,
    ChronicRow,
    ClassSummary,
    DayMark,
    MonthlyOut,
    MonthlyRow,
    RegisterOut,
    RegisterRow,
    StudentMonthOut,
    TodayOut,
)
from erplake.attendance.scopes import ensure_section_visible, ensure_visible, section_filter
from erplake.core.clock import school_today
from erplake.core.errors import Unprocessable
from erplake.core.security import Principal
from erplake.models.academics import SchoolClass, Section
from erplake.models.attendance import AttendanceCode, AttendanceRecord
from erplake.models.school import School
from erplake.models.students import Enrolment, Student


class BadMonth(Unprocessable):
    code = "bad_month"


def _percent(present: int, marked: int) -> float | None:
    return round(present * 100 / marked, 1) if marked else None


def month_bounds(month: str) -> tuple[date, date]:
    try:
        year, number = (int(part) for part in month.split("-"))
        return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])
    except ValueError:
        raise BadMonth("month must look like 2026-11") from None


async def _today(session: AsyncSession, school_id: uuid.UUID) -> date:
    tz = (await session.execute(select(School.timezone).where(School.id == school_id))).scalar_one()
    return school_today(tz)


_present = and_(
    AttendanceCode.school_id == AttendanceRecord.school_id,
    AttendanceCode.code == AttendanceRecord.code,
)


async def register(
    session: AsyncSession,
    principal: Principal,
    *,
    section_id: uuid.UUID,
    day: date,
    period: int | None,
) -> RegisterOut:
    await ensure_section_visible(session, principal, section_id)
    section = await academics.get_section(
        session, school_id=principal.school_id, section_id=section_id
    )
    cfg = await attendance.config(session, school_id=principal.school_id)
    stored = cfg.stored_period(period)
    rows = (
        await session.execute(
            select(
                Student.id,
                Enrolment.roll_number,
                Student.name,
                Student.admission_number,
                AttendanceRecord.code,
                AttendanceCode.counts_as_present,
            )
            .join(Enrolment, Enrolment.student_id == Student.id)
            .outerjoin(
                AttendanceRecord,
                and_(
                    AttendanceRecord.student_id == Student.id,
                    AttendanceRecord.date == day,
                    AttendanceRecord.period == stored,
                ),
            )
            .outerjoin(AttendanceCode, _present)
            .where(Enrolment.section_id == section.id, Student.status == "active")
            .order_by(Enrolment.roll_number.asc().nulls_last(), Student.name)
        )
    ).all()
    counts: dict[str, int] = {}
    for row in rows:
        if row.code is not None:
            counts[row.code] = counts.get(row.code, 0) + 1
    return RegisterOut(
        section_id=section.id,
        section_label=section.label,
        date=day,
        period=period,
        closed_reason=await academics.closed_reason(
            session, school_id=principal.school_id, day=day
        ),
        rows=[
            RegisterRow(
                student_id=r[0],
                roll_number=r[1],
                name=r[2],
                admission_number=r[3],
                code=r[4],
                counts_as_present=r[5],
            )
            for r in rows
        ],
        counts=counts,
        not_marked=sum(1 for r in rows if r.code is None),
    )


async def section_month(
    session: AsyncSession, principal: Principal, *, section_id: uuid.UUID, month: str
) -> MonthlyOut:
    start, end = month_bounds(month)
    await ensure_section_visible(session, principal, section_id)
    section = await academics.get_section(
        session, school_id=principal.school_id, section_id=section_id
    )
    today = await _today(session, principal.school_id)
    days = await academics.school_days(
        session, school_id=principal.school_id, start=start, end=min(end, today)
    )
    present = func.count().filter(AttendanceCode.counts_as_present.is_(True))
    # Leave approved ahead writes LV on days still to come: they count when they come.
    rows = (
        await session.execute(
            select(
                Student.id,
                Enrolment.roll_number,
                Student.name,
                func.count(AttendanceRecord.code),
                present,
            )
            .join(Enrolment, Enrolment.student_id == Student.id)
            .outerjoin(
                AttendanceRecord,
                and_(
                    AttendanceRecord.student_id == Student.id,
                    AttendanceRecord.date >= start,
                    AttendanceRecord.date <= min(end, today),
                ),
            )
            .outerjoin(AttendanceCode, _present)
            .where(Enrolment.section_id == section.id)
            .group_by(Student.id, Enrolment.roll_number, Student.name)
            .order_by(Enrolment.roll_number.asc().nulls_last(), Student.name)
        )
    ).all()
    return MonthlyOut(
        section_id=section.id,
        section_label=section.label,
        month=f"{start:%Y-%m}",
        school_days=len(days),
        rows=[
            MonthlyRow(
                student_id=r[0],
                roll_number=r[1],
                name=r[2],
                marked=r[3],
                present=r[4],
                percent=_percent(r[4], r[3]),
            )
            for r in rows
        ],
    )


async def student_month(
    session: AsyncSession, principal: Principal, *, student_id: uuid.UUID, month: str
) -> StudentMonthOut:
    start, end = month_bounds(month)
    await ensure_visible(session, principal, student_id)
    name = (
        await session.execute(select(Student.name).where(Student.id == student_id))
    ).scalar_one()
    today = await _today(session, principal.school_id)
    days = await academics.school_days(
        session, school_id=principal.school_id, start=start, end=min(end, today)
    )
    marks = (
        await session.execute(
            select(
                AttendanceRecord.date,
                AttendanceRecord.period,
                AttendanceRecord.code,
                AttendanceCode.counts_as_present,
            )
            .join(AttendanceCode, _present)
            .where(
                AttendanceRecord.student_id == student_id,
                AttendanceRecord.date >= start,
                AttendanceRecord.date <= min(end, today),
            )
            .order_by(AttendanceRecord.date, AttendanceRecord.period)
        )
    ).all()
    present = sum(1 for m in marks if m.counts_as_present)
    return StudentMonthOut(
        student_id=student_id,
        name=name,
        month=f"{start:%Y-%m}",
        school_days=len(days),
        marked=len(marks),
        present=present,
        percent=_percent(present, len(marks)),
        days=[DayMark(date=m[0], period=m[1], code=m[2], counts_as_present=m[3]) for m in marks],
    )


async def today_summary(session: AsyncSession, principal: Principal) -> TodayOut:
    """Per class, today: present, absent, not yet marked (for the dashboard)."""
    school_id = principal.school_id
    today = await _today(session, school_id)
    sections = (
        select(Section.id, Section.class_id)
        .where(
            Section.school_id == school_id,
            Section.academic_year_id == current_year_id(school_id),
            section_filter(principal, Section.id),
        )
        .cte("visible_sections")
    )
    # Each child's first mark of the day (the only one, in daily mode).
    first_mark = (
        select(AttendanceRecord.student_id, AttendanceRecord.code)
        .where(
            AttendanceRecord.section_id.in_(select(sections.c.id)),
            AttendanceRecord.date == today,
        )
        .order_by(AttendanceRecord.student_id, AttendanceRecord.period)
        .ext(distinct_on(AttendanceRecord.student_id))
        .subquery("first_mark")
    )
    codes = (
        select(AttendanceCode.code, AttendanceCode.counts_as_present)
        .where(AttendanceCode.school_id == school_id)
        .subquery("codes")
    )
    rows = (
        await session.execute(
            select(
                SchoolClass.id,
                SchoolClass.name,
                func.count(),
                func.count().filter(codes.c.counts_as_present.is_(True)),
                func.count().filter(codes.c.counts_as_present.is_(False)),
                func.count().filter(first_mark.c.code.is_(None)),
            )
            .select_from(sections)
            .join(SchoolClass, SchoolClass.id == sections.c.class_id)
            .join(Enrolment, Enrolment.section_id == sections.c.id)
            .join(Student, and_(Student.id == Enrolment.student_id, Student.status == "active"))
            .outerjoin(first_mark, first_mark.c.student_id == Enrolment.student_id)
            .outerjoin(codes, codes.c.code == first_mark.c.code)
            .group_by(SchoolClass.id, SchoolClass.name, SchoolClass.sequence)
            .order_by(SchoolClass.sequence)
        )
    ).all()
    classes = [
        ClassSummary(
            class_id=r[0],
            class_name=r[1],
            enrolled=r[2],
            present=r[3],
            absent=r[4],
            not_marked=r[5],
        )
        for r in rows
    ]
    return TodayOut(
        date=today,
        closed_reason=await academics.closed_reason(session, school_id=school_id, day=today),
        classes=classes,
        enrolled=sum(c.enrolled for c in classes),
        present=sum(c.present for c in classes),
        absent=sum(c.absent for c in classes),
        not_marked=sum(c.not_marked for c in classes),
    )


async def chronic_absentees(
    session: AsyncSession, principal: Principal, *, threshold: float, days: int
) -> ChronicOut:
    """Students below `threshold` percent over the last `days` school days."""
    school_id = principal.school_id
    today = await _today(session, school_id)
    window = await academics.last_school_days(session, school_id=school_id, until=today, count=days)
    if not window:
        return ChronicOut(threshold=threshold, school_days=0, from_date=None, to_date=None, rows=[])
    marked = func.count(AttendanceRecord.code)
    present = func.count().filter(AttendanceCode.counts_as_present.is_(True))
    percent = present * 100.0 / func.nullif(marked, 0)
    rows = (
        await session.execute(
            select(
                Student.id,
                Student.name,
                Student.admission_number,
                SchoolClass.name,
                Section.name,
                marked,
                present,
            )
            .join(Enrolment, Enrolment.student_id == Student.id)
            .join(Section, Section.id == Enrolment.section_id)
            .join(SchoolClass, SchoolClass.id == Section.class_id)
            .join(
                AttendanceRecord,
                and_(
                    AttendanceRecord.student_id == Student.id,
                    AttendanceRecord.section_id == Section.id,
                    AttendanceRecord.date >= window[0],
                    AttendanceRecord.date <= window[-1],
                ),
            )
            .join(AttendanceCode, _present)
            .where(
                Section.school_id == school_id,
                Section.academic_year_id == current_year_id(school_id),
                section_filter(principal, Section.id),
                Student.status == "active",
            )
            .group_by(
                Student.id,
                Student.name,
                Student.admission_number,
                SchoolClass.name,
                SchoolClass.sequence,
                Section.name,
            )
            .having(percent < threshold)
            .order_by(
                case((marked == 0, 0), else_=percent),
                SchoolClass.sequence,
                Section.name,
                Student.name,
            )
        )
    ).all()
    return ChronicOut(
        threshold=threshold,
        school_days=len(window),
        from_date=window[0],
        to_date=window[-1],
        rows=[
            ChronicRow(
                student_id=r[0],
                name=r[1],
                admission_number=r[2],
                section_label=section_label(r[3], r[4]),
                marked=r[5],
                present=r[6],
                percent=_percent(r[6], r[5]) or 0.0,
            )
            for r in rows
        ],
    )
