"""Academic years, classes, sections, subjects, teacher assignments and the calendar."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics.schemas import (
    AcademicYearOut,
    AssignmentOut,
    ClassOut,
    HolidayOut,
    SectionOut,
    SubjectOut,
    TeacherBrief,
)
from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core.errors import Conflict, NotFound, Unprocessable
from erplake.models.academics import (
    DEFAULT_WEEKLY_OFFS,
    AcademicYear,
    Holiday,
    SchoolCalendar,
    SchoolClass,
    Section,
    Subject,
    TeacherAssignment,
)
from erplake.models.identity import User
from erplake.models.students import Enrolment

# Nursery, LKG, UKG, then 1–12: promotion follows `sequence`.
DEFAULT_CLASSES: list[tuple[str, int]] = [("Nursery", 0), ("LKG", 1), ("UKG", 2)] + [
    (str(n), n + 2) for n in range(1, 13)
]

_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ORDINALS = ("first", "second", "third", "fourth", "fifth")


class NoCurrentYear(Conflict):
    code = "no_current_academic_year"


class AcademicYearNotFound(NotFound):
    code = "academic_year_not_found"


class ClassNotFound(NotFound):
    code = "class_not_found"


class SectionNotFound(NotFound):
    code = "section_not_found"


class SubjectNotFound(NotFound):
    code = "subject_not_found"


class AssignmentNotFound(NotFound):
    code = "assignment_not_found"


class HolidayNotFound(NotFound):
    code = "holiday_not_found"


class TeacherNotFound(Unprocessable):
    code = "teacher_not_found"


def section_label(class_name: str, section_name: str) -> str:
    return f"{class_name}-{section_name}"


# ---- academic years --------------------------------------------------------


async def current_year(session: AsyncSession, *, school_id: uuid.UUID) -> AcademicYear:
    year = (
        await session.execute(
            select(AcademicYear).where(
                AcademicYear.school_id == school_id, AcademicYear.is_current.is_(True)
            )
        )
    ).scalar_one_or_none()
    if year is None:
        raise NoCurrentYear("the school has no current academic year; set one first")
    return year


def current_year_id(school_id: uuid.UUID) -> Any:
    """The current year's id as a scalar subquery, to filter without a round trip."""
    return (
        select(AcademicYear.id)
        .where(AcademicYear.school_id == school_id, AcademicYear.is_current.is_(True))
        .scalar_subquery()
    )


async def get_year(
    session: AsyncSession, *, school_id: uuid.UUID, year_id: uuid.UUID
) -> AcademicYear:
    year = (
        await session.execute(
            select(AcademicYear).where(
                AcademicYear.id == year_id, AcademicYear.school_id == school_id
            )
        )
    ).scalar_one_or_none()
    if year is None:
        raise AcademicYearNotFound("academic year not found")
    return year


async def list_years(session: AsyncSession, *, school_id: uuid.UUID) -> list[AcademicYearOut]:
    rows = await session.execute(
        select(AcademicYear)
        .where(AcademicYear.school_id == school_id)
        .order_by(AcademicYear.starts_on.desc())
    )
    return [AcademicYearOut.model_validate(y) for y in rows.scalars()]


async def _year_out(year: AcademicYear) -> AcademicYearOut:
    return AcademicYearOut.model_validate(year)


async def create_year(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    name: str,
    starts_on: date,
    ends_on: date,
    is_current: bool,
) -> AcademicYearOut:
    await ensure_default_classes(session, school_id=school_id)
    overlapping = (
        await session.execute(
            select(AcademicYear.name).where(
                AcademicYear.school_id == school_id,
                AcademicYear.starts_on <= ends_on,
                AcademicYear.ends_on >= starts_on,
            )
        )
    ).scalar_one_or_none()
    if overlapping is not None:
        raise Conflict(f"the dates overlap academic year {overlapping}")
    year_id = (
        await session.execute(
            insert(AcademicYear)
            .values(school_id=school_id, name=name, starts_on=starts_on, ends_on=ends_on)
            .on_conflict_do_nothing(index_elements=[AcademicYear.school_id, AcademicYear.name])
            .returning(AcademicYear.id)
        )
    ).scalar_one_or_none()
    if year_id is None:
        raise Conflict(f"academic year {name} already exists", details={"name": name})
    await audit.record(
        session,
        actor,
        action="academic_year.create",
        entity="academic_year",
        entity_id=year_id,
        after={"name": name, "starts_on": str(starts_on), "ends_on": str(ends_on)},
    )
    if is_current:
        return await make_current(session, actor, school_id=school_id, year_id=year_id)
    return await _year_out(await get_year(session, school_id=school_id, year_id=year_id))


async def update_year(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    year_id: uuid.UUID,
    changes: dict[str, Any],
) -> AcademicYearOut:
    year = await get_year(session, school_id=school_id, year_id=year_id)
    before = {k: str(getattr(year, k)) for k in changes}
    for key, value in changes.items():
        setattr(year, key, value)
    if year.starts_on >= year.ends_on:
        raise Unprocessable("starts_on must be before ends_on")
    await session.flush()
    await audit.record(
        session,
        actor,
        action="academic_year.update",
        entity="academic_year",
        entity_id=year.id,
        before=before,
        after={k: str(v) for k, v in changes.items()},
    )
    await session.refresh(year)
    return await _year_out(year)


async def make_current(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, year_id: uuid.UUID
) -> AcademicYearOut:
    year = await get_year(session, school_id=school_id, year_id=year_id)
    previous = (
        await session.execute(
            update(AcademicYear)
            .where(
                AcademicYear.school_id == school_id,
                AcademicYear.is_current.is_(True),
                AcademicYear.id != year.id,
            )
            .values(is_current=False)
            .returning(AcademicYear.name)
        )
    ).scalar_one_or_none()
    await session.execute(
        update(AcademicYear).where(AcademicYear.id == year.id).values(is_current=True)
    )
    await audit.record(
        session,
        actor,
        action="academic_year.make_current",
        entity="academic_year",
        entity_id=year.id,
        before={"current": previous},
        after={"current": year.name},
    )
    await session.refresh(year)
    return await _year_out(year)


# ---- classes ---------------------------------------------------------------


async def ensure_default_classes(session: AsyncSession, *, school_id: uuid.UUID) -> None:
    """Nursery–12 for a school that has no classes yet (idempotent)."""
    has_any = (
        await session.execute(select(SchoolClass.id).where(SchoolClass.school_id == school_id))
    ).first()
    if has_any is not None:
        return
    await session.execute(
        insert(SchoolClass)
        .values([{"school_id": school_id, "name": n, "sequence": s} for n, s in DEFAULT_CLASSES])
        .on_conflict_do_nothing()
    )


async def list_classes(session: AsyncSession, *, school_id: uuid.UUID) -> list[ClassOut]:
    rows = await session.execute(
        select(SchoolClass).where(SchoolClass.school_id == school_id).order_by(SchoolClass.sequence)
    )
    return [ClassOut.model_validate(c) for c in rows.scalars()]


async def get_class(
    session: AsyncSession, *, school_id: uuid.UUID, class_id: uuid.UUID
) -> SchoolClass:
    found = (
        await session.execute(
            select(SchoolClass).where(
                SchoolClass.id == class_id, SchoolClass.school_id == school_id
            )
        )
    ).scalar_one_or_none()
    if found is None:
        raise ClassNotFound("class not found")
    return found


async def _class_clash(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    name: str | None,
    sequence: int | None,
    other_than: uuid.UUID | None = None,
) -> None:
    stmt = select(SchoolClass.name, SchoolClass.sequence).where(
        SchoolClass.school_id == school_id,
        (SchoolClass.name == name) | (SchoolClass.sequence == sequence),
    )
    if other_than is not None:
        stmt = stmt.where(SchoolClass.id != other_than)
    clash = (await session.execute(stmt)).first()
    if clash is not None:
        raise Conflict(
            f"class {clash.name} already has that name or order ({clash.sequence})",
            details={"name": clash.name, "sequence": clash.sequence},
        )


async def create_class(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, name: str, sequence: int
) -> ClassOut:
    await _class_clash(session, school_id=school_id, name=name, sequence=sequence)
    row = SchoolClass(school_id=school_id, name=name, sequence=sequence)
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor,
        action="class.create",
        entity="class",
        entity_id=row.id,
        after={"name": name, "sequence": sequence},
    )
    return ClassOut.model_validate(row)


async def update_class(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    class_id: uuid.UUID,
    changes: dict[str, Any],
) -> ClassOut:
    row = await get_class(session, school_id=school_id, class_id=class_id)
    await _class_clash(
        session,
        school_id=school_id,
        name=changes.get("name"),
        sequence=changes.get("sequence"),
        other_than=row.id,
    )
    before = {k: getattr(row, k) for k in changes}
    for key, value in changes.items():
        setattr(row, key, value)
    await session.flush()
    await audit.record(
        session,
        actor,
        action="class.update",
        entity="class",
        entity_id=row.id,
        before=before,
        after=changes,
    )
    return ClassOut.model_validate(row)


# ---- sections --------------------------------------------------------------


@dataclass(frozen=True)
class SectionInfo:
    """A section with what most callers need next to it."""

    id: uuid.UUID
    school_id: uuid.UUID
    name: str
    class_id: uuid.UUID
    class_name: str
    class_sequence: int
    academic_year_id: uuid.UUID

    @property
    def label(self) -> str:
        return section_label(self.class_name, self.name)


async def get_section(
    session: AsyncSession, *, school_id: uuid.UUID, section_id: uuid.UUID
) -> SectionInfo:
    row = (
        await session.execute(
            select(
                Section.id,
                Section.school_id,
                Section.name,
                Section.class_id,
                SchoolClass.name.label("class_name"),
                SchoolClass.sequence,
                Section.academic_year_id,
            )
            .join(SchoolClass, SchoolClass.id == Section.class_id)
            .where(Section.id == section_id, Section.school_id == school_id)
        )
    ).one_or_none()
    if row is None:
        raise SectionNotFound("section not found", details={"section_id": str(section_id)})
    return SectionInfo(*row)


def _sections_query(school_id: uuid.UUID) -> Any:
    # Sizes counted once for the school, not per section (a correlated count per row
    # is slow with hundreds of sections).
    sizes = (
        select(Enrolment.section_id, func.count().label("students"))
        .where(Enrolment.school_id == school_id)
        .group_by(Enrolment.section_id)
        .subquery("sizes")
    )
    return (
        select(
            Section,
            SchoolClass.name,
            SchoolClass.sequence,
            User.id,
            User.name,
            sizes.c.students,
        )
        .join(SchoolClass, SchoolClass.id == Section.class_id)
        .outerjoin(
            TeacherAssignment,
            and_(
                TeacherAssignment.section_id == Section.id,
                TeacherAssignment.role == "class_teacher",
            ),
        )
        .outerjoin(User, User.id == TeacherAssignment.teacher_id)
        .outerjoin(sizes, sizes.c.section_id == Section.id)
        .where(Section.school_id == school_id)
        .order_by(SchoolClass.sequence, func.length(Section.name), Section.name)
    )


def _section_out(row: Any) -> SectionOut:
    section, class_name, sequence, teacher_id, teacher_name, students = row
    return SectionOut(
        id=section.id,
        name=section.name,
        label=section_label(class_name, section.name),
        class_id=section.class_id,
        class_name=class_name,
        class_sequence=sequence,
        academic_year_id=section.academic_year_id,
        class_teacher=TeacherBrief(id=teacher_id, name=teacher_name) if teacher_id else None,
        students=int(students or 0),
    )


async def list_sections(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    academic_year_id: uuid.UUID | None,
    class_id: uuid.UUID | None,
    section_ids: Any = None,
) -> list[SectionOut]:
    stmt = _sections_query(school_id)
    if academic_year_id is None:
        stmt = stmt.where(Section.academic_year_id == current_year_id(school_id))
    else:
        stmt = stmt.where(Section.academic_year_id == academic_year_id)
    if class_id is not None:
        stmt = stmt.where(Section.class_id == class_id)
    if section_ids is not None:
        stmt = stmt.where(Section.id.in_(section_ids))
    return [_section_out(row) for row in (await session.execute(stmt)).all()]


async def section_out(
    session: AsyncSession, *, school_id: uuid.UUID, section_id: uuid.UUID
) -> SectionOut:
    row = (
        await session.execute(_sections_query(school_id).where(Section.id == section_id))
    ).one_or_none()
    if row is None:
        raise SectionNotFound("section not found")
    return _section_out(row)


async def create_section(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    class_id: uuid.UUID,
    name: str,
    academic_year_id: uuid.UUID | None,
) -> SectionOut:
    school_class = await get_class(session, school_id=school_id, class_id=class_id)
    year = (
        await get_year(session, school_id=school_id, year_id=academic_year_id)
        if academic_year_id
        else await current_year(session, school_id=school_id)
    )
    name = name.upper()
    section_id = (
        await session.execute(
            insert(Section)
            .values(school_id=school_id, academic_year_id=year.id, class_id=class_id, name=name)
            .on_conflict_do_nothing()
            .returning(Section.id)
        )
    ).scalar_one_or_none()
    label = section_label(school_class.name, name)
    if section_id is None:
        raise Conflict(f"section {label} already exists in {year.name}")
    await audit.record(
        session,
        actor,
        action="section.create",
        entity="section",
        entity_id=section_id,
        after={"section": label, "academic_year": year.name},
    )
    return await section_out(session, school_id=school_id, section_id=section_id)


async def rename_section(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, section_id: uuid.UUID, name: str
) -> SectionOut:
    section = await get_section(session, school_id=school_id, section_id=section_id)
    name = name.upper()
    clash = (
        await session.execute(
            select(Section.id).where(
                Section.academic_year_id == section.academic_year_id,
                Section.class_id == section.class_id,
                Section.name == name,
                Section.id != section.id,
            )
        )
    ).scalar_one_or_none()
    if clash is not None:
        raise Conflict(f"section {section_label(section.class_name, name)} already exists")
    await session.execute(update(Section).where(Section.id == section.id).values(name=name))
    await audit.record(
        session,
        actor,
        action="section.update",
        entity="section",
        entity_id=section.id,
        before={"name": section.name},
        after={"name": name},
    )
    return await section_out(session, school_id=school_id, section_id=section.id)


async def delete_section(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, section_id: uuid.UUID
) -> None:
    section = await get_section(session, school_id=school_id, section_id=section_id)
    enrolled = (
        await session.execute(
            select(func.count()).select_from(Enrolment).where(Enrolment.section_id == section.id)
        )
    ).scalar_one()
    if enrolled:
        raise Conflict(
            f"section {section.label} has {enrolled} students; move them first",
            details={"students": enrolled},
        )
    await session.execute(delete(Section).where(Section.id == section.id))
    await audit.record(
        session,
        actor,
        action="section.delete",
        entity="section",
        entity_id=section.id,
        before={"section": section.label},
    )


# ---- subjects --------------------------------------------------------------


async def list_subjects(session: AsyncSession, *, school_id: uuid.UUID) -> list[SubjectOut]:
    rows = await session.execute(
        select(Subject).where(Subject.school_id == school_id).order_by(Subject.name)
    )
    return [SubjectOut.model_validate(s) for s in rows.scalars()]


async def get_subject(
    session: AsyncSession, *, school_id: uuid.UUID, subject_id: uuid.UUID
) -> Subject:
    found = (
        await session.execute(
            select(Subject).where(Subject.id == subject_id, Subject.school_id == school_id)
        )
    ).scalar_one_or_none()
    if found is None:
        raise SubjectNotFound("subject not found")
    return found


async def create_subject(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, code: str, name: str
) -> SubjectOut:
    code = code.upper()
    subject_id = (
        await session.execute(
            insert(Subject)
            .values(school_id=school_id, code=code, name=name)
            .on_conflict_do_nothing()
            .returning(Subject.id)
        )
    ).scalar_one_or_none()
    if subject_id is None:
        raise Conflict(f"subject code {code} is already used", details={"code": code})
    await audit.record(
        session,
        actor,
        action="subject.create",
        entity="subject",
        entity_id=subject_id,
        after={"code": code, "name": name},
    )
    return SubjectOut(id=subject_id, code=code, name=name)


async def rename_subject(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, subject_id: uuid.UUID, name: str
) -> SubjectOut:
    subject = await get_subject(session, school_id=school_id, subject_id=subject_id)
    before = subject.name
    subject.name = name
    await session.flush()
    await audit.record(
        session,
        actor,
        action="subject.update",
        entity="subject",
        entity_id=subject.id,
        before={"name": before},
        after={"name": name},
    )
    return SubjectOut.model_validate(subject)


# ---- teacher assignments ---------------------------------------------------


def _assignments_query(school_id: uuid.UUID) -> Any:
    return (
        select(TeacherAssignment, Section.name, SchoolClass.name, User.name, Subject)
        .join(Section, Section.id == TeacherAssignment.section_id)
        .join(SchoolClass, SchoolClass.id == Section.class_id)
        .join(User, User.id == TeacherAssignment.teacher_id)
        .outerjoin(Subject, Subject.id == TeacherAssignment.subject_id)
        .where(TeacherAssignment.school_id == school_id)
        .order_by(SchoolClass.sequence, Section.name, TeacherAssignment.role, User.name)
    )


def _assignment_out(row: Any) -> AssignmentOut:
    assignment, section_name, class_name, teacher_name, subject = row
    return AssignmentOut(
        id=assignment.id,
        section_id=assignment.section_id,
        section_label=section_label(class_name, section_name),
        teacher=TeacherBrief(id=assignment.teacher_id, name=teacher_name),
        role=assignment.role,
        subject=SubjectOut.model_validate(subject) if subject is not None else None,
    )


async def list_assignments(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    section_id: uuid.UUID | None,
    teacher_id: uuid.UUID | None,
) -> list[AssignmentOut]:
    stmt = _assignments_query(school_id).where(
        Section.academic_year_id == current_year_id(school_id)
    )
    if section_id is not None:
        stmt = stmt.where(TeacherAssignment.section_id == section_id)
    if teacher_id is not None:
        stmt = stmt.where(TeacherAssignment.teacher_id == teacher_id)
    return [_assignment_out(row) for row in (await session.execute(stmt)).all()]


async def assign_teacher(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    section_id: uuid.UUID,
    teacher_id: uuid.UUID,
    role: str,
    subject_id: uuid.UUID | None,
) -> AssignmentOut:
    section = await get_section(session, school_id=school_id, section_id=section_id)
    teacher = (
        await session.execute(
            select(User.name).where(
                User.id == teacher_id, User.school_id == school_id, User.is_active.is_(True)
            )
        )
    ).scalar_one_or_none()
    if teacher is None:
        raise TeacherNotFound("teacher_id is not an active user of this school")
    if subject_id is not None:
        await get_subject(session, school_id=school_id, subject_id=subject_id)
    current = (
        await session.execute(
            select(TeacherAssignment.teacher_id, User.name)
            .join(User, User.id == TeacherAssignment.teacher_id)
            .where(
                TeacherAssignment.section_id == section.id,
                TeacherAssignment.role == role,
                TeacherAssignment.subject_id.is_(None)
                if subject_id is None
                else TeacherAssignment.subject_id == subject_id,
            )
        )
    ).first()
    if current is not None:
        what = "class teacher" if role == "class_teacher" else "teacher of that subject"
        raise Conflict(
            f"{current.name} is already the {what} of {section.label}; remove that first",
            details={"teacher_id": str(current.teacher_id)},
        )
    row = TeacherAssignment(
        school_id=school_id,
        section_id=section.id,
        teacher_id=teacher_id,
        role=role,
        subject_id=subject_id,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor,
        action="teacher_assignment.create",
        entity="teacher_assignment",
        entity_id=row.id,
        after={
            "section": section.label,
            "teacher_id": str(teacher_id),
            "role": role,
            "subject_id": None if subject_id is None else str(subject_id),
        },
    )
    found = (
        await session.execute(_assignments_query(school_id).where(TeacherAssignment.id == row.id))
    ).one()
    return _assignment_out(found)


async def unassign_teacher(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, assignment_id: uuid.UUID
) -> None:
    removed = (
        await session.execute(
            delete(TeacherAssignment)
            .where(TeacherAssignment.id == assignment_id, TeacherAssignment.school_id == school_id)
            .returning(
                TeacherAssignment.section_id, TeacherAssignment.teacher_id, TeacherAssignment.role
            )
        )
    ).first()
    if removed is None:
        raise AssignmentNotFound("assignment not found")
    await audit.record(
        session,
        actor,
        action="teacher_assignment.delete",
        entity="teacher_assignment",
        entity_id=assignment_id,
        before={
            "section_id": str(removed.section_id),
            "teacher_id": str(removed.teacher_id),
            "role": removed.role,
        },
    )


# ---- calendar --------------------------------------------------------------


def is_weekly_off(day: date, weekly_offs: list[str]) -> bool:
    for rule in weekly_offs:
        name, _, nth = rule.partition("-")
        if _WEEKDAYS.get(name) != day.weekday():
            continue
        if not nth or (day.day - 1) // 7 + 1 == int(nth):
            return True
    return False


def describe_weekly_off(day: date, weekly_offs: list[str]) -> str:
    for rule in weekly_offs:
        name, _, nth = rule.partition("-")
        if _WEEKDAYS.get(name) == day.weekday() and (not nth or (day.day - 1) // 7 + 1 == int(nth)):
            weekday = _DAY_NAMES[day.weekday()]
            return f"{_ORDINALS[int(nth) - 1]} {weekday}" if nth else weekday
    return "weekly off"


async def weekly_offs(session: AsyncSession, *, school_id: uuid.UUID) -> list[str]:
    found = (
        await session.execute(
            select(SchoolCalendar.weekly_offs).where(SchoolCalendar.school_id == school_id)
        )
    ).scalar_one_or_none()
    return list(DEFAULT_WEEKLY_OFFS if found is None else found)


async def set_weekly_offs(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, offs: list[str]
) -> list[str]:
    before = await weekly_offs(session, school_id=school_id)
    stmt = insert(SchoolCalendar).values(school_id=school_id, weekly_offs=offs)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[SchoolCalendar.school_id],
            set_={"weekly_offs": stmt.excluded.weekly_offs, "updated_at": func.now()},
        )
    )
    await audit.record(
        session,
        actor,
        action="calendar.weekly_offs",
        entity="school_calendar",
        entity_id=school_id,
        before={"weekly_offs": before},
        after={"weekly_offs": offs},
    )
    return offs


async def holidays_between(
    session: AsyncSession, *, school_id: uuid.UUID, start: date, end: date
) -> list[HolidayOut]:
    rows = await session.execute(
        select(Holiday)
        .where(Holiday.school_id == school_id, Holiday.date >= start, Holiday.date <= end)
        .order_by(Holiday.date)
    )
    return [HolidayOut.model_validate(h) for h in rows.scalars()]


async def add_holiday(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, day: date, name: str
) -> HolidayOut:
    holiday_id = (
        await session.execute(
            insert(Holiday)
            .values(school_id=school_id, date=day, name=name)
            .on_conflict_do_nothing()
            .returning(Holiday.id)
        )
    ).scalar_one_or_none()
    if holiday_id is None:
        raise Conflict(f"{day.isoformat()} is already a holiday", details={"date": str(day)})
    await audit.record(
        session,
        actor,
        action="holiday.create",
        entity="holiday",
        entity_id=holiday_id,
        after={"date": day.isoformat(), "name": name},
    )
    return HolidayOut(id=holiday_id, date=day, name=name)


async def remove_holiday(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, holiday_id: uuid.UUID
) -> None:
    removed = (
        await session.execute(
            delete(Holiday)
            .where(Holiday.id == holiday_id, Holiday.school_id == school_id)
            .returning(Holiday.date, Holiday.name)
        )
    ).first()
    if removed is None:
        raise HolidayNotFound("holiday not found")
    await audit.record(
        session,
        actor,
        action="holiday.delete",
        entity="holiday",
        entity_id=holiday_id,
        before={"date": removed.date.isoformat(), "name": removed.name},
    )


_CLOSED = text(
    """
    SELECT (SELECT name FROM holidays
            WHERE school_id = CAST(:school_id AS uuid) AND date = CAST(:day AS date)),
           (SELECT weekly_offs FROM school_calendars WHERE school_id = CAST(:school_id AS uuid))
    """
)


async def closed_reason(session: AsyncSession, *, school_id: uuid.UUID, day: date) -> str | None:
    """Why the school is closed on `day` ("Diwali", "Sunday"), or None on a school day."""
    holiday, offs = (await session.execute(_CLOSED, {"school_id": school_id, "day": day})).one()
    if holiday is not None:
        return str(holiday)
    offs = list(DEFAULT_WEEKLY_OFFS if offs is None else offs)
    if is_weekly_off(day, offs):
        return describe_weekly_off(day, offs)
    return None


async def school_days(
    session: AsyncSession, *, school_id: uuid.UUID, start: date, end: date
) -> list[date]:
    """School days from start to end inclusive: not a weekly off, not a holiday."""
    if end < start:
        return []
    offs = await weekly_offs(session, school_id=school_id)
    holidays = {
        h.date for h in await holidays_between(session, school_id=school_id, start=start, end=end)
    }
    days = []
    day = start
    while day <= end:
        if day not in holidays and not is_weekly_off(day, offs):
            days.append(day)
        day += timedelta(days=1)
    return days


async def last_school_days(
    session: AsyncSession, *, school_id: uuid.UUID, until: date, count: int
) -> list[date]:
    """The last `count` school days up to and including `until`."""
    span = count * 2 + 14  # weekly offs and holidays rarely take half of a stretch
    while True:
        start = until - timedelta(days=span)
        days = await school_days(session, school_id=school_id, start=start, end=until)
        if len(days) >= count or span > 3 * 366:
            return days[-count:]
        span *= 2
