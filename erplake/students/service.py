"""Students, guardians and enrolments: the rules. Reads go through `scopes`."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, any_, delete, func, literal, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics import service as academics
from erplake.academics.service import SectionInfo, current_year_id, section_label
from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core.errors import Conflict, NotFound, Unprocessable
from erplake.core.pagination import PageParams, paginate_rows
from erplake.core.phone import parse_mobile
from erplake.core.security import Principal
from erplake.models.academics import AcademicYear, SchoolClass, Section
from erplake.models.students import Enrolment, Guardian, Student, StudentGuardian
from erplake.storage import Storage
from erplake.students.schemas import (
    ChildOfGuardian,
    EnrolmentOut,
    GuardianBrief,
    GuardianIn,
    GuardianLink,
    GuardianOut,
    StudentDetail,
    StudentGuardianOut,
    StudentIn,
    StudentOut,
)
from erplake.students.scopes import (
    StudentNotFound,
    sees_whole_school,
    student_filter,
    visible_students,
)

SORTS: dict[str, tuple[Any, ...]] = {
    "name": (Student.name, Student.id),
    "-name": (Student.name.desc(), Student.id),
    "admission_number": (Student.admission_number,),
    "-admission_number": (Student.admission_number.desc(),),
    "class": (SchoolClass.sequence, Section.name, Enrolment.roll_number, Student.name),
    "-created_at": (Student.created_at.desc(), Student.id),
}

UUID_ARRAY = ARRAY(PgUUID(as_uuid=True))
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
MAX_PHOTO_BYTES = 2 * 1024 * 1024


class GuardianNotFound(NotFound):
    code = "guardian_not_found"


class AdmissionNumberTaken(Conflict):
    code = "admission_number_taken"


class GuardianPhoneTaken(Conflict):
    code = "guardian_phone_taken"


class RollNumberTaken(Conflict):
    code = "roll_number_taken"


class PhotoRejected(Unprocessable):
    code = "photo_rejected"


class NoPhoto(NotFound):
    code = "no_photo"


# ---- reading ---------------------------------------------------------------


def _list_query(school_id: uuid.UUID) -> Any:
    """Students with this year's class, section and roll number. (The primary contact
    is fetched for the page alone: fewer joins keep planning and counting cheap.)"""
    return (
        select(
            Student,
            SchoolClass.id,
            SchoolClass.name,
            Section.id,
            Section.name,
            Enrolment.roll_number,
        )
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
    )


async def _primary_contacts(
    session: AsyncSession, student_ids: list[uuid.UUID]
) -> dict[uuid.UUID, GuardianBrief]:
    if not student_ids:
        return {}
    rows = await session.execute(
        select(StudentGuardian.student_id, Guardian.id, Guardian.name, Guardian.phone)
        .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
        .where(
            StudentGuardian.student_id == any_(literal(student_ids, UUID_ARRAY)),
            StudentGuardian.is_primary.is_(True),
        )
    )
    return {
        student_id: GuardianBrief(id=guardian_id, name=name, phone=phone)
        for student_id, guardian_id, name, phone in rows.all()
    }


def _student_out(
    row: Any,
    primary: GuardianBrief | None,
    cls: type[StudentOut] = StudentOut,
    **extra: Any,
) -> Any:
    student, class_id, class_name, section_id, section_name, roll = row
    return cls(
        id=student.id,
        admission_number=student.admission_number,
        name=student.name,
        date_of_birth=student.date_of_birth,
        gender=student.gender,
        category=student.category,
        status=student.status,
        class_id=class_id,
        class_name=class_name,
        section_id=section_id,
        section_name=section_name,
        roll_number=roll,
        primary_guardian=primary,
        has_photo=student.photo_key is not None,
        **extra,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(school_id: uuid.UUID, q: str) -> Any:
    """Words match name prefixes (through the GIN index); something with a digit
    matches an admission number prefix (through the unique index) or, when it looks
    like a phone, a guardian's phone. One kind of condition at a time keeps each
    search on its index."""
    q = q.strip()
    conditions = []
    words = re.findall(r"[^\W\d_]+", q)
    if words and not re.search(r"\d", q):
        tsquery = " & ".join(f"{w.lower()}:*" for w in words[:6])
        conditions.append(
            Student.name_search.op("@@")(
                func.to_tsquery(literal_column("'simple'::regconfig"), tsquery)
            )
        )
    else:
        conditions.append(Student.admission_number.like(_escape_like(q.upper()) + "%", escape="\\"))
        digits = re.sub(r"\D", "", q)
        if len(digits) >= 5 and re.fullmatch(r"[\d\s+()-]+", q):
            digits = digits[-10:]  # +91 / 0 prefixes vary; the last ten digits do not
            conditions.append(
                Student.id.in_(
                    select(StudentGuardian.student_id)
                    .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
                    .where(Guardian.school_id == school_id, Guardian.phone.like(f"%{digits}%"))
                )
            )
    return or_(*conditions)


def filtered_students(
    principal: Principal,
    *,
    class_id: uuid.UUID | None = None,
    section_id: uuid.UUID | None = None,
    status: str | None = None,
    q: str | None = None,
    sort: str = "name",
) -> Any:
    """The list query (before paging): scope, filters, order. Export uses it too."""
    stmt = visible_students(_list_query(principal.school_id), principal)
    if class_id is not None:
        stmt = stmt.where(Section.class_id == class_id)
    if section_id is not None:
        stmt = stmt.where(Enrolment.section_id == section_id)
    if status is not None:
        stmt = stmt.where(Student.status == status)
    if q:
        stmt = stmt.where(search_condition(principal.school_id, q))
    return stmt.order_by(*SORTS[sort])


async def list_students(
    session: AsyncSession,
    principal: Principal,
    *,
    page: PageParams,
    class_id: uuid.UUID | None,
    section_id: uuid.UUID | None,
    status: str | None,
    q: str | None,
    sort: str,
) -> tuple[list[StudentOut], int]:
    stmt = filtered_students(
        principal, class_id=class_id, section_id=section_id, status=status, q=q, sort=sort
    )
    if q:
        rows, total = await _search_page(session, principal.school_id, stmt, page, sort)
    else:
        rows, total = await paginate_rows(session, stmt, page)
    primaries = await _primary_contacts(session, [row[0].id for row in rows])
    return [_student_out(row, primaries.get(row[0].id)) for row in rows], total


async def _search_page(
    session: AsyncSession, school_id: uuid.UUID, stmt: Any, page: PageParams, sort: str
) -> tuple[list[Any], int]:
    """A search page and its total in one statement: the matching ids are found once
    (a materialized CTE), counted, and only the page's rows are joined for display.
    Counting and paging separately would run the search twice."""
    matched = (
        stmt.with_only_columns(Student.id).order_by(None).cte("matched").prefix_with("MATERIALIZED")
    )
    total = select(func.count()).select_from(matched).scalar_subquery()
    rows = (
        await session.execute(
            _list_query(school_id)
            .where(Student.id.in_(select(matched.c.id)))
            .add_columns(total)
            .order_by(*SORTS[sort])
            .limit(page.limit)
            .offset(page.offset)
        )
    ).all()
    if rows:
        return [tuple(row)[:-1] for row in rows], int(rows[0][-1])
    return await paginate_rows(session, stmt, page)  # past the end: just the total


async def _get_student(
    session: AsyncSession, *, school_id: uuid.UUID, student_id: uuid.UUID
) -> Student:
    student = (
        await session.execute(
            select(Student).where(Student.id == student_id, Student.school_id == school_id)
        )
    ).scalar_one_or_none()
    if student is None:
        raise StudentNotFound("student not found", details={"student_id": str(student_id)})
    return student


async def student_detail(
    session: AsyncSession, principal: Principal, *, student_id: uuid.UUID
) -> StudentDetail:
    row = (
        await session.execute(
            visible_students(_list_query(principal.school_id), principal).where(
                Student.id == student_id
            )
        )
    ).one_or_none()
    if row is None:
        raise StudentNotFound("student not found", details={"student_id": str(student_id)})
    return await _detail(session, row)


async def _detail(session: AsyncSession, row: Any) -> StudentDetail:
    student: Student = row[0]
    guardians = (
        await session.execute(
            select(Guardian, StudentGuardian.is_primary)
            .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
            .where(StudentGuardian.student_id == student.id)
            .order_by(StudentGuardian.is_primary.desc(), Guardian.name)
        )
    ).all()
    enrolments = (
        await session.execute(
            select(Enrolment, AcademicYear.name, SchoolClass.name, Section.name)
            .join(AcademicYear, AcademicYear.id == Enrolment.academic_year_id)
            .join(Section, Section.id == Enrolment.section_id)
            .join(SchoolClass, SchoolClass.id == Section.class_id)
            .where(Enrolment.student_id == student.id)
            .order_by(AcademicYear.starts_on.desc())
        )
    ).all()
    primary = next(
        (GuardianBrief(id=g.id, name=g.name, phone=g.phone) for g, first in guardians if first),
        None,
    )
    return _student_out(  # type: ignore[no-any-return]
        row,
        primary,
        StudentDetail,
        admitted_on=student.admitted_on,
        left_on=student.left_on,
        guardians=[
            StudentGuardianOut(
                id=g.id,
                name=g.name,
                relation=g.relation,
                phone=g.phone,
                whatsapp_opt_in=g.whatsapp_opt_in,
                preferred_language=g.preferred_language,
                is_primary=is_primary,
            )
            for g, is_primary in guardians
        ],
        enrolments=[
            EnrolmentOut(
                academic_year_id=e.academic_year_id,
                academic_year=year_name,
                section_id=e.section_id,
                section_label=section_label(class_name, section_name),
                roll_number=e.roll_number,
                outcome=e.outcome,
            )
            for e, year_name, class_name, section_name in enrolments
        ],
    )


async def _detail_by_id(
    session: AsyncSession, *, school_id: uuid.UUID, student_id: uuid.UUID
) -> StudentDetail:
    row = (
        await session.execute(
            _list_query(school_id).where(Student.id == student_id, Student.school_id == school_id)
        )
    ).one()
    return await _detail(session, row)


# ---- writing students --------------------------------------------------------


def _snapshot(student: Student) -> dict[str, Any]:
    return {
        "admission_number": student.admission_number,
        "name": student.name,
        "date_of_birth": str(student.date_of_birth),
        "gender": student.gender,
        "category": student.category,
        "status": student.status,
        "admitted_on": None if student.admitted_on is None else str(student.admitted_on),
    }


async def _admission_taken(
    session: AsyncSession, *, school_id: uuid.UUID, admission_number: str
) -> AdmissionNumberTaken:
    holder = (
        await session.execute(
            select(Student.id, Student.name).where(
                Student.school_id == school_id, Student.admission_number == admission_number
            )
        )
    ).first()
    return AdmissionNumberTaken(
        f"admission number {admission_number} is already used"
        + (f" by {holder.name}" if holder else ""),
        details={
            "admission_number": admission_number,
            "student_id": str(holder.id) if holder else None,
        },
    )


async def create_student(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: StudentIn
) -> StudentDetail:
    admission_number = body.admission_number.upper()
    primaries = [g for g in body.guardians if g.is_primary]
    if len(primaries) > 1:
        raise Unprocessable("only one guardian can be the primary contact")
    section = (
        await _current_section(session, school_id=school_id, section_id=body.section_id)
        if body.section_id
        else None
    )
    student_id = (
        await session.execute(
            insert(Student)
            .values(
                school_id=school_id,
                admission_number=admission_number,
                name=body.name,
                date_of_birth=body.date_of_birth,
                gender=body.gender,
                category=body.category,
                admitted_on=body.admitted_on,
            )
            .on_conflict_do_nothing(index_elements=[Student.school_id, Student.admission_number])
            .returning(Student.id)
        )
    ).scalar_one_or_none()
    if student_id is None:
        raise await _admission_taken(
            session, school_id=school_id, admission_number=admission_number
        )
    guardian_ids: list[uuid.UUID] = []
    for n, link in enumerate(body.guardians):
        guardian_id = await _resolve_guardian(session, actor, school_id=school_id, link=link)
        if guardian_id in guardian_ids:
            raise Unprocessable("the same guardian is listed twice", details={"index": n})
        guardian_ids.append(guardian_id)
    primary_index = next((n for n, g in enumerate(body.guardians) if g.is_primary), 0)
    for n, guardian_id in enumerate(guardian_ids):
        session.add(
            StudentGuardian(
                student_id=student_id, guardian_id=guardian_id, is_primary=n == primary_index
            )
        )
    await session.flush()
    if section is not None:
        await _enrol(
            session,
            school_id=school_id,
            student_id=student_id,
            section=section,
            roll_number=body.roll_number,
        )
    await audit.record(
        session,
        actor,
        action="student.create",
        entity="student",
        entity_id=student_id,
        after={
            "admission_number": admission_number,
            "name": body.name,
            "section": section.label if section else None,
            "roll_number": body.roll_number,
            "guardians": [str(g) for g in guardian_ids],
        },
    )
    return await _detail_by_id(session, school_id=school_id, student_id=student_id)


async def update_student(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    changes: dict[str, Any],
) -> StudentDetail:
    student = await _get_student(session, school_id=school_id, student_id=student_id)
    before = _snapshot(student)
    if "admission_number" in changes:
        changes["admission_number"] = changes["admission_number"].upper()
        if changes["admission_number"] != student.admission_number:
            taken = (
                await session.execute(
                    select(Student.id).where(
                        Student.school_id == school_id,
                        Student.admission_number == changes["admission_number"],
                    )
                )
            ).scalar_one_or_none()
            if taken is not None:
                raise await _admission_taken(
                    session, school_id=school_id, admission_number=changes["admission_number"]
                )
    for key, value in changes.items():
        setattr(student, key, value)
    await session.flush()
    await audit.record(
        session,
        actor,
        action="student.update",
        entity="student",
        entity_id=student.id,
        before=before,
        after=_snapshot(student),
    )
    return await _detail_by_id(session, school_id=school_id, student_id=student.id)


async def set_status(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    status: str,
    left_on: date | None,
) -> StudentDetail:
    """Deactivate (left, alumni) or reactivate (active) a student. Records are kept."""
    student = await _get_student(session, school_id=school_id, student_id=student_id)
    before = {"status": student.status, "left_on": student.left_on}
    student.status = status
    student.left_on = left_on if status != "active" else None
    await session.flush()
    await audit.record(
        session,
        actor,
        action="student.deactivate" if status != "active" else "student.reactivate",
        entity="student",
        entity_id=student.id,
        before={k: None if v is None else str(v) for k, v in before.items()},
        after={"status": status, "left_on": None if student.left_on is None else str(left_on)},
    )
    return await _detail_by_id(session, school_id=school_id, student_id=student.id)


async def _current_section(
    session: AsyncSession, *, school_id: uuid.UUID, section_id: uuid.UUID
) -> SectionInfo:
    section = await academics.get_section(session, school_id=school_id, section_id=section_id)
    year = await academics.current_year(session, school_id=school_id)
    if section.academic_year_id != year.id:
        raise Unprocessable(
            f"section {section.label} is not in the current academic year ({year.name})"
        )
    return section


async def _enrol(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    section: SectionInfo,
    roll_number: int | None,
) -> None:
    if roll_number is not None:
        holder = (
            await session.execute(
                select(Student.name)
                .join(Enrolment, Enrolment.student_id == Student.id)
                .where(
                    Enrolment.section_id == section.id,
                    Enrolment.roll_number == roll_number,
                    Enrolment.student_id != student_id,
                )
            )
        ).scalar_one_or_none()
        if holder is not None:
            raise RollNumberTaken(
                f"roll number {roll_number} in {section.label} is already {holder}'s",
                details={"roll_number": roll_number, "section": section.label},
            )
    stmt = insert(Enrolment).values(
        school_id=school_id,
        student_id=student_id,
        academic_year_id=section.academic_year_id,
        section_id=section.id,
        roll_number=roll_number,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Enrolment.student_id, Enrolment.academic_year_id],
            set_={
                "section_id": stmt.excluded.section_id,
                "roll_number": stmt.excluded.roll_number,
                "updated_at": func.now(),
            },
        )
    )


async def set_enrolment(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    section_id: uuid.UUID,
    roll_number: int | None,
) -> StudentDetail:
    """Put a student in a section of the current year (a move keeps the history of
    marks; marks belong to the section they were taken in)."""
    student = await _get_student(session, school_id=school_id, student_id=student_id)
    section = await _current_section(session, school_id=school_id, section_id=section_id)
    before = (
        await session.execute(
            select(Enrolment.section_id, Enrolment.roll_number).where(
                Enrolment.student_id == student.id,
                Enrolment.academic_year_id == section.academic_year_id,
            )
        )
    ).first()
    await _enrol(
        session,
        school_id=school_id,
        student_id=student.id,
        section=section,
        roll_number=roll_number,
    )
    await audit.record(
        session,
        actor,
        action="student.enrol",
        entity="student",
        entity_id=student.id,
        before={
            "section_id": str(before.section_id) if before else None,
            "roll_number": before.roll_number if before else None,
        },
        after={"section_id": str(section.id), "roll_number": roll_number},
    )
    return await _detail_by_id(session, school_id=school_id, student_id=student.id)


async def set_photo(
    session: AsyncSession,
    actor: Actor,
    storage: Storage,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    data: bytes,
    content_type: str,
) -> StudentDetail:
    student = await _get_student(session, school_id=school_id, student_id=student_id)
    extension = PHOTO_TYPES.get(content_type)
    if extension is None:
        raise PhotoRejected("a photo must be a JPEG, PNG or WebP image")
    if not data or len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected("a photo must be between 1 byte and 2 MB")
    key = f"students/{school_id}/{student.id}/photo.{extension}"
    await storage.put(key, data, content_type)
    if student.photo_key and student.photo_key != key:
        await storage.delete(student.photo_key)
    student.photo_key, student.photo_content_type = key, content_type
    await session.flush()
    await audit.record(
        session,
        actor,
        action="student.photo",
        entity="student",
        entity_id=student.id,
        after={"photo_key": key, "bytes": len(data)},
    )
    return await _detail_by_id(session, school_id=school_id, student_id=student.id)


async def get_photo(
    session: AsyncSession, storage: Storage, principal: Principal, *, student_id: uuid.UUID
) -> tuple[bytes, str]:
    student = (
        await session.execute(
            visible_students(select(Student), principal).where(Student.id == student_id)
        )
    ).scalar_one_or_none()
    if student is None:
        raise StudentNotFound("student not found")
    if student.photo_key is None:
        raise NoPhoto("this student has no photo")
    return await storage.get(student.photo_key), student.photo_content_type or "image/jpeg"


# ---- guardians -------------------------------------------------------------


async def _get_guardian(
    session: AsyncSession, *, school_id: uuid.UUID, guardian_id: uuid.UUID
) -> Guardian:
    guardian = (
        await session.execute(
            select(Guardian).where(Guardian.id == guardian_id, Guardian.school_id == school_id)
        )
    ).scalar_one_or_none()
    if guardian is None:
        raise GuardianNotFound("guardian not found", details={"guardian_id": str(guardian_id)})
    return guardian


async def _phone_taken(
    session: AsyncSession, *, school_id: uuid.UUID, phone: str
) -> GuardianPhoneTaken | None:
    holder = (
        await session.execute(
            select(Guardian.id, Guardian.name).where(
                Guardian.school_id == school_id, Guardian.phone == phone
            )
        )
    ).first()
    if holder is None:
        return None
    return GuardianPhoneTaken(
        f"phone {phone} already belongs to guardian {holder.name}",
        details={"phone": phone, "guardian_id": str(holder.id)},
    )


async def _resolve_guardian(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, link: GuardianLink
) -> uuid.UUID:
    if link.guardian_id is not None:
        return (await _get_guardian(session, school_id=school_id, guardian_id=link.guardian_id)).id
    if link.name is None or link.phone is None:
        raise Unprocessable("a new guardian needs a name and a phone number")
    phone = parse_mobile(link.phone)
    existing = (
        await session.execute(
            select(Guardian.id).where(Guardian.school_id == school_id, Guardian.phone == phone)
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing  # a sibling's parent: link, do not duplicate
    created = await create_guardian(
        session,
        actor,
        school_id=school_id,
        body=GuardianIn(
            name=link.name,
            relation=link.relation,
            phone=phone,
            whatsapp_opt_in=link.whatsapp_opt_in,
            preferred_language=link.preferred_language,
        ),
    )
    return created.id


def _guardian_snapshot(guardian: Guardian) -> dict[str, Any]:
    return {
        "name": guardian.name,
        "relation": guardian.relation,
        "phone": guardian.phone,
        "whatsapp_opt_in": guardian.whatsapp_opt_in,
        "preferred_language": guardian.preferred_language,
        "is_active": guardian.is_active,
    }


async def _guardians_out(
    session: AsyncSession, guardians: Sequence[Guardian], principal: Principal | None
) -> list[GuardianOut]:
    """Guardians with their children, in one query for the whole page. Only the
    children the caller may see are listed: a teacher looking up a parent of one
    of their pupils does not learn about brothers and sisters in other sections.
    `principal=None` is a writer's view of the whole school."""
    if not guardians:
        return []
    stmt = (
        select(
            StudentGuardian.guardian_id,
            Student.id,
            Student.name,
            Student.admission_number,
            StudentGuardian.is_primary,
        )
        .join(StudentGuardian, StudentGuardian.student_id == Student.id)
        .where(StudentGuardian.guardian_id.in_([g.id for g in guardians]))
        .order_by(Student.name)
    )
    if principal is not None:
        stmt = stmt.where(student_filter(principal, StudentGuardian.student_id))
    children: dict[uuid.UUID, list[ChildOfGuardian]] = {g.id: [] for g in guardians}
    for guardian_id, sid, name, admission_number, is_primary in (await session.execute(stmt)).all():
        children[guardian_id].append(
            ChildOfGuardian(
                id=sid, name=name, admission_number=admission_number, is_primary=is_primary
            )
        )
    return [
        GuardianOut(
            id=g.id,
            name=g.name,
            relation=g.relation,
            phone=g.phone,
            whatsapp_opt_in=g.whatsapp_opt_in,
            preferred_language=g.preferred_language,
            is_active=g.is_active,
            children=children[g.id],
        )
        for g in guardians
    ]


async def _guardian_out(
    session: AsyncSession, guardian: Guardian, principal: Principal | None = None
) -> GuardianOut:
    return (await _guardians_out(session, [guardian], principal))[0]


def _visible_guardians(stmt: Any, principal: Principal) -> Any:
    stmt = stmt.where(Guardian.school_id == principal.school_id)
    if sees_whole_school(principal):
        return stmt
    return stmt.where(
        Guardian.id.in_(
            select(StudentGuardian.guardian_id).where(
                student_filter(principal, StudentGuardian.student_id)
            )
        )
    )


async def list_guardians(
    session: AsyncSession, principal: Principal, *, page: PageParams, q: str | None
) -> tuple[list[GuardianOut], int]:
    stmt = _visible_guardians(select(Guardian), principal)
    if q:
        digits = re.sub(r"\D", "", q)[-10:]
        like = f"%{_escape_like(q.strip())}%"
        condition: Any = Guardian.name.ilike(like, escape="\\")
        if len(digits) >= 4:
            condition = condition | Guardian.phone.like(f"%{digits}%")
        stmt = stmt.where(condition)
    rows, total = await paginate_rows(session, stmt.order_by(Guardian.name, Guardian.id), page)
    return await _guardians_out(session, [row[0] for row in rows], principal), total


async def guardian_detail(
    session: AsyncSession, principal: Principal, *, guardian_id: uuid.UUID
) -> GuardianOut:
    guardian = (
        await session.execute(
            _visible_guardians(select(Guardian), principal).where(Guardian.id == guardian_id)
        )
    ).scalar_one_or_none()
    if guardian is None:
        raise GuardianNotFound("guardian not found")
    return await _guardian_out(session, guardian, principal)


async def create_guardian(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: GuardianIn
) -> GuardianOut:
    phone = parse_mobile(body.phone)
    guardian_id = (
        await session.execute(
            insert(Guardian)
            .values(
                school_id=school_id,
                name=body.name,
                relation=body.relation,
                phone=phone,
                whatsapp_opt_in=body.whatsapp_opt_in,
                preferred_language=body.preferred_language,
            )
            .on_conflict_do_nothing(index_elements=[Guardian.school_id, Guardian.phone])
            .returning(Guardian.id)
        )
    ).scalar_one_or_none()
    if guardian_id is None:
        taken = await _phone_taken(session, school_id=school_id, phone=phone)
        assert taken is not None
        raise taken
    guardian = await _get_guardian(session, school_id=school_id, guardian_id=guardian_id)
    await audit.record(
        session,
        actor,
        action="guardian.create",
        entity="guardian",
        entity_id=guardian.id,
        after=_guardian_snapshot(guardian),
    )
    return await _guardian_out(session, guardian)


async def update_guardian(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    guardian_id: uuid.UUID,
    changes: dict[str, Any],
) -> GuardianOut:
    guardian = await _get_guardian(session, school_id=school_id, guardian_id=guardian_id)
    before = _guardian_snapshot(guardian)
    if "phone" in changes:
        changes["phone"] = parse_mobile(changes["phone"])
        if changes["phone"] != guardian.phone:
            taken = await _phone_taken(session, school_id=school_id, phone=changes["phone"])
            if taken is not None:
                raise taken
    for key, value in changes.items():
        setattr(guardian, key, value)
    await session.flush()
    await audit.record(
        session,
        actor,
        action="guardian.update",
        entity="guardian",
        entity_id=guardian.id,
        before=before,
        after=_guardian_snapshot(guardian),
    )
    return await _guardian_out(session, guardian)


async def set_guardian_active(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    guardian_id: uuid.UUID,
    active: bool,
) -> GuardianOut:
    """An inactive guardian gets no alerts and their login sees no children."""
    return await update_guardian(
        session, actor, school_id=school_id, guardian_id=guardian_id, changes={"is_active": active}
    )


async def link_guardian(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    link: GuardianLink,
) -> StudentDetail:
    student = await _get_student(session, school_id=school_id, student_id=student_id)
    guardian_id = await _resolve_guardian(session, actor, school_id=school_id, link=link)
    has_primary = (
        await session.execute(
            select(StudentGuardian.guardian_id).where(
                StudentGuardian.student_id == student.id, StudentGuardian.is_primary.is_(True)
            )
        )
    ).scalar_one_or_none()
    make_primary = link.is_primary or has_primary is None or has_primary == guardian_id
    if make_primary:
        await session.execute(
            update(StudentGuardian)
            .where(
                StudentGuardian.student_id == student.id, StudentGuardian.guardian_id != guardian_id
            )
            .values(is_primary=False)
        )
    stmt = insert(StudentGuardian).values(
        student_id=student.id, guardian_id=guardian_id, is_primary=make_primary
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[StudentGuardian.student_id, StudentGuardian.guardian_id],
            set_={"is_primary": stmt.excluded.is_primary},
        )
    )
    await audit.record(
        session,
        actor,
        action="student.guardian_link",
        entity="student",
        entity_id=student.id,
        after={"guardian_id": str(guardian_id), "is_primary": make_primary},
    )
    return await _detail_by_id(session, school_id=school_id, student_id=student.id)


async def unlink_guardian(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    guardian_id: uuid.UUID,
) -> StudentDetail:
    student = await _get_student(session, school_id=school_id, student_id=student_id)
    removed = (
        await session.execute(
            delete(StudentGuardian)
            .where(
                StudentGuardian.student_id == student.id,
                StudentGuardian.guardian_id == guardian_id,
            )
            .returning(StudentGuardian.is_primary)
        )
    ).scalar_one_or_none()
    if removed is None:
        raise GuardianNotFound("this guardian is not linked to the student")
    if removed:
        # The primary contact left: the next guardian (by name) takes over.
        successor = (
            await session.execute(
                select(StudentGuardian.guardian_id)
                .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
                .where(StudentGuardian.student_id == student.id)
                .order_by(Guardian.name)
                .limit(1)
            )
        ).scalar_one_or_none()
        if successor is not None:
            await session.execute(
                update(StudentGuardian)
                .where(
                    StudentGuardian.student_id == student.id,
                    StudentGuardian.guardian_id == successor,
                )
                .values(is_primary=True)
            )
    await audit.record(
        session,
        actor,
        action="student.guardian_unlink",
        entity="student",
        entity_id=student.id,
        before={"guardian_id": str(guardian_id), "is_primary": removed},
    )
    return await _detail_by_id(session, school_id=school_id, student_id=student.id)
