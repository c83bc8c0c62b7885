from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from erplake.academics import service
from erplake.academics.schemas import (
    AcademicYearIn,
    AcademicYearOut,
    AcademicYearUpdate,
    AssignmentIn,
    AssignmentOut,
    CalendarIn,
    CalendarOut,
    ClassIn,
    ClassOut,
    ClassUpdate,
    HolidayIn,
    HolidayOut,
    SchoolDayOut,
    SectionIn,
    SectionOut,
    SectionUpdate,
    SubjectIn,
    SubjectOut,
    SubjectUpdate,
)
from erplake.audit.deps import AuditActor
from erplake.core.db import DbSession
from erplake.core.permissions import P
from erplake.core.security import Principal, require

router = APIRouter(tags=["academics"])

Reader = Annotated[Principal, require(P.school_read)]
Manager = Annotated[Principal, require(P.settings_manage)]


# ---- academic years -----------------------------------------------------------


@router.get("/academic-years", response_model=list[AcademicYearOut])
async def list_years(session: DbSession, principal: Reader) -> list[AcademicYearOut]:
    """The school's academic years, newest first; one is current."""
    return await service.list_years(session, school_id=principal.school_id)


@router.post("/academic-years", response_model=AcademicYearOut, status_code=201)
async def create_year(
    body: AcademicYearIn, session: DbSession, principal: Manager, actor: AuditActor
) -> AcademicYearOut:
    """Add an academic year (e.g. 2027-28, April–March). The first one also creates
    the classes Nursery–12."""
    return await service.create_year(
        session,
        actor,
        school_id=principal.school_id,
        name=body.name,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        is_current=body.is_current,
    )


@router.patch("/academic-years/{year_id}", response_model=AcademicYearOut)
async def update_year(
    year_id: uuid.UUID,
    body: AcademicYearUpdate,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> AcademicYearOut:
    """Rename an academic year or move its dates."""
    return await service.update_year(
        session,
        actor,
        school_id=principal.school_id,
        year_id=year_id,
        changes=body.model_dump(exclude_unset=True),
    )


@router.post("/academic-years/{year_id}/make-current", response_model=AcademicYearOut)
async def make_current(
    year_id: uuid.UUID, session: DbSession, principal: Manager, actor: AuditActor
) -> AcademicYearOut:
    """Make this the current academic year (the previous one stops being current)."""
    return await service.make_current(
        session, actor, school_id=principal.school_id, year_id=year_id
    )


# ---- classes ---------------------------------------------------------------------


@router.get("/classes", response_model=list[ClassOut])
async def list_classes(session: DbSession, principal: Reader) -> list[ClassOut]:
    """Classes in promotion order (Nursery, LKG, UKG, 1–12 by default)."""
    return await service.list_classes(session, school_id=principal.school_id)


@router.post("/classes", response_model=ClassOut, status_code=201)
async def create_class(
    body: ClassIn, session: DbSession, principal: Manager, actor: AuditActor
) -> ClassOut:
    """Add a class; `sequence` places it in the promotion order."""
    return await service.create_class(
        session, actor, school_id=principal.school_id, name=body.name, sequence=body.sequence
    )


@router.patch("/classes/{class_id}", response_model=ClassOut)
async def update_class(
    class_id: uuid.UUID,
    body: ClassUpdate,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> ClassOut:
    """Rename a class or change its place in the promotion order."""
    return await service.update_class(
        session,
        actor,
        school_id=principal.school_id,
        class_id=class_id,
        changes=body.model_dump(exclude_unset=True),
    )


# ---- sections --------------------------------------------------------------------


@router.get("/sections", response_model=list[SectionOut])
async def list_sections(
    session: DbSession,
    principal: Reader,
    academic_year_id: uuid.UUID | None = None,
    class_id: uuid.UUID | None = None,
) -> list[SectionOut]:
    """Sections of the current year (or the one given), with class teacher and size."""
    return await service.list_sections(
        session,
        school_id=principal.school_id,
        academic_year_id=academic_year_id,
        class_id=class_id,
    )


@router.post("/sections", response_model=SectionOut, status_code=201)
async def create_section(
    body: SectionIn, session: DbSession, principal: Manager, actor: AuditActor
) -> SectionOut:
    """Add a section (6-A) to a class in the current year (or the year given)."""
    return await service.create_section(
        session,
        actor,
        school_id=principal.school_id,
        class_id=body.class_id,
        name=body.name,
        academic_year_id=body.academic_year_id,
    )


@router.patch("/sections/{section_id}", response_model=SectionOut)
async def rename_section(
    section_id: uuid.UUID,
    body: SectionUpdate,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> SectionOut:
    """Rename a section."""
    return await service.rename_section(
        session, actor, school_id=principal.school_id, section_id=section_id, name=body.name
    )


@router.delete("/sections/{section_id}", status_code=204)
async def delete_section(
    section_id: uuid.UUID, session: DbSession, principal: Manager, actor: AuditActor
) -> Response:
    """Delete an empty section (one with students is refused with 409)."""
    await service.delete_section(
        session, actor, school_id=principal.school_id, section_id=section_id
    )
    return Response(status_code=204)


# ---- subjects --------------------------------------------------------------------


@router.get("/subjects", response_model=list[SubjectOut])
async def list_subjects(session: DbSession, principal: Reader) -> list[SubjectOut]:
    """The school's subjects."""
    return await service.list_subjects(session, school_id=principal.school_id)


@router.post("/subjects", response_model=SubjectOut, status_code=201)
async def create_subject(
    body: SubjectIn, session: DbSession, principal: Manager, actor: AuditActor
) -> SubjectOut:
    """Add a subject (code unique in the school)."""
    return await service.create_subject(
        session, actor, school_id=principal.school_id, code=body.code, name=body.name
    )


@router.patch("/subjects/{subject_id}", response_model=SubjectOut)
async def rename_subject(
    subject_id: uuid.UUID,
    body: SubjectUpdate,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> SubjectOut:
    """Rename a subject."""
    return await service.rename_subject(
        session, actor, school_id=principal.school_id, subject_id=subject_id, name=body.name
    )


# ---- teacher assignments ----------------------------------------------------------


@router.get("/teacher-assignments", response_model=list[AssignmentOut])
async def list_assignments(
    session: DbSession,
    principal: Reader,
    section_id: uuid.UUID | None = None,
    teacher_id: uuid.UUID | None = None,
) -> list[AssignmentOut]:
    """Who teaches where this year: class teachers and subject teachers."""
    return await service.list_assignments(
        session, school_id=principal.school_id, section_id=section_id, teacher_id=teacher_id
    )


@router.post("/teacher-assignments", response_model=AssignmentOut, status_code=201)
async def assign_teacher(
    body: AssignmentIn, session: DbSession, principal: Manager, actor: AuditActor
) -> AssignmentOut:
    """Make a user the class teacher of a section, or its teacher of a subject."""
    return await service.assign_teacher(
        session,
        actor,
        school_id=principal.school_id,
        section_id=body.section_id,
        teacher_id=body.teacher_id,
        role=body.role,
        subject_id=body.subject_id,
    )


@router.delete("/teacher-assignments/{assignment_id}", status_code=204)
async def unassign_teacher(
    assignment_id: uuid.UUID, session: DbSession, principal: Manager, actor: AuditActor
) -> Response:
    """Remove a teacher assignment."""
    await service.unassign_teacher(
        session, actor, school_id=principal.school_id, assignment_id=assignment_id
    )
    return Response(status_code=204)


# ---- calendar --------------------------------------------------------------------


@router.get("/calendar", response_model=CalendarOut)
async def get_calendar(
    session: DbSession,
    principal: Reader,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> CalendarOut:
    """Weekly offs and the holidays between `from` and `to` (default: the current
    academic year)."""
    if start is None or end is None:
        year = await service.current_year(session, school_id=principal.school_id)
        start, end = start or year.starts_on, end or year.ends_on
    return CalendarOut(
        weekly_offs=await service.weekly_offs(session, school_id=principal.school_id),
        holidays=await service.holidays_between(
            session, school_id=principal.school_id, start=start, end=end
        ),
    )


@router.put("/calendar", response_model=CalendarOut)
async def set_weekly_offs(
    body: CalendarIn, session: DbSession, principal: Manager, actor: AuditActor
) -> CalendarOut:
    """Set the weekly offs, e.g. ["sun", "sat-2", "sat-4"]."""
    offs = await service.set_weekly_offs(
        session, actor, school_id=principal.school_id, offs=body.weekly_offs
    )
    year = await service.current_year(session, school_id=principal.school_id)
    return CalendarOut(
        weekly_offs=offs,
        holidays=await service.holidays_between(
            session, school_id=principal.school_id, start=year.starts_on, end=year.ends_on
        ),
    )


@router.get("/calendar/days/{day}", response_model=SchoolDayOut)
async def school_day(day: date, session: DbSession, principal: Reader) -> SchoolDayOut:
    """Whether the school is open on a date, and if not why."""
    reason = await service.closed_reason(session, school_id=principal.school_id, day=day)
    return SchoolDayOut(date=day, is_school_day=reason is None, reason=reason)


@router.post("/holidays", response_model=HolidayOut, status_code=201)
async def add_holiday(
    body: HolidayIn, session: DbSession, principal: Manager, actor: AuditActor
) -> HolidayOut:
    """Add a holiday: no attendance is taken that day."""
    return await service.add_holiday(
        session, actor, school_id=principal.school_id, day=body.date, name=body.name
    )


@router.delete("/holidays/{holiday_id}", status_code=204)
async def remove_holiday(
    holiday_id: uuid.UUID, session: DbSession, principal: Manager, actor: AuditActor
) -> Response:
    """Remove a holiday."""
    await service.remove_holiday(
        session, actor, school_id=principal.school_id, holiday_id=holiday_id
    )
    return Response(status_code=204)
