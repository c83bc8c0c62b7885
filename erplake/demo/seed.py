"""The demo school: built on first start of `erplake run`, or by `erplake seed`.

Deterministic from a seed value: the current academic year, Nursery–12 with two or
three sections each, about 1,500 students with Indian names, families of one to
three children sharing their guardians (phones beginning with 9), a class teacher
per section and a few subject teachers, and two months of attendance with
plausible absences (most children miss a day now and then, a few miss a lot).
Everything is written with set-based statements, so the first start stays quick.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TextIO

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics import service as academics
from erplake.attendance import service as attendance
from erplake.core.clock import school_today
from erplake.core.db import create_engine, create_sessionmaker, transaction
from erplake.core.settings import Settings
from erplake.demo import names
from erplake.demo.fees import seed_demo_fees
from erplake.identity.rbac import ensure_builtin_roles, grant_role
from erplake.models.academics import AcademicYear, Holiday, SchoolClass, Subject
from erplake.models.identity import User
from erplake.models.school import School
from erplake.students.spreadsheet import GuardianRow, RosterRow, write_roster

DEMO_SCHOOL_CODE = "demo"

# Demo staff: phone numbers start with 9, as fixtures should. The parent and
# teacher rows below are what a newcomer signs in with (code from the dev inbox).
DEMO_USERS: list[tuple[str, str, str]] = [
    ("+919800000001", "Asha Verma", "admin"),
    ("+919800000002", "Rajesh Iyer", "principal"),
    ("+919800000003", "Meena Gupta", "accountant"),
    ("+919800000004", "Sunita Rao", "teacher"),
    ("+919800000005", "Vikram Singh", "parent"),
]
DEMO_TEACHER_PHONE = "+919800000004"
DEMO_PARENT_PHONE = "+919800000005"
# The demo teacher's own section, and the classes of the demo parent's two children.
DEMO_TEACHER_SECTION = ("6", "A")
DEMO_PARENT_CLASSES = ("3", "7")

SUBJECTS = [
    ("ENG", "English"),
    ("HIN", "Hindi"),
    ("MATH", "Mathematics"),
    ("SCI", "Science"),
    ("SST", "Social Studies"),
    ("COMP", "Computer Science"),
]
# National holidays every school keeps (month, day, name).
HOLIDAYS = [
    (1, 26, "Republic Day"),
    (8, 15, "Independence Day"),
    (10, 2, "Gandhi Jayanti"),
    (12, 25, "Christmas"),
]
# Classes are not all the same size: the pre-primary and senior classes are smaller.
CLASS_WEIGHTS = [0.7, 0.8, 0.9] + [1.0] * 9 + [0.9, 0.85, 0.8]

Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def progress_bar(out: TextIO, width: int = 30) -> Progress:
    """A one-line text progress bar per stage, for `erplake seed`."""

    def show(stage: str, done: int, total: int) -> None:
        filled = width * done // max(total, 1)
        end = "\n" if done >= total else ""
        out.write(f"\r{stage:<11}[{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
        out.flush()

    return show


@dataclass
class _Section:
    id: uuid.UUID
    class_name: str
    name: str
    teacher_id: uuid.UUID | None = None


def academic_year_for(day: date) -> tuple[str, date, date]:
    """April–March: the year containing `day`."""
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{str(start + 1)[-2:]}", date(start, 4, 1), date(start + 1, 3, 31)


def _section_names(count: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [letters[n] if n < 26 else letters[n // 26 - 1] + letters[n % 26] for n in range(count)]


async def seed_demo_school(
    settings: Settings,
    *,
    students: int = 1500,
    seed: int = 42,
    code: str = DEMO_SCHOOL_CODE,
    section_size: int = 40,
    history_days: int = 61,
    progress: Progress | None = None,
    fees: bool = True,
) -> bool:
    """Create the demo school if absent. Returns True when it was created. `fees=False`
    leaves out the fee set-up, invoices and payments (for benches that make their own)."""
    engine = create_engine(settings, role="seed", pooled=False)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            existing = (
                await session.execute(select(School.id).where(School.code == code))
            ).scalar_one_or_none()
            if existing is not None:
                return False
            school = School(
                code=code,
                name="Green Valley Public School",
                timezone=settings.school_timezone,
                address="14 MG Road, Pune, Maharashtra 411001",
                phone="+919800000000",
                email="office@greenvalley.example",
            )
            session.add(school)
            await session.flush()
            role_ids = await ensure_builtin_roles(session, school_id=school.id)
            user_ids: dict[str, uuid.UUID] = {}
            for phone, name, role in DEMO_USERS:
                user_id = (
                    await session.execute(
                        insert(User)
                        .values(school_id=school.id, phone=phone, name=name)
                        .returning(User.id)
                    )
                ).scalar_one()
                await grant_role(session, user_id=user_id, role_id=role_ids[role])
                user_ids[role] = user_id
            today = school_today(school.timezone)
            rng = random.Random(seed)  # noqa: S311 - demo data, repeatable on purpose
            await _build_records(
                session,
                school_id=school.id,
                today=today,
                teacher_role_id=role_ids["teacher"],
                students=students,
                rng=rng,
                section_size=section_size,
                history_days=history_days,
                progress=progress or _quiet,
            )
            if fees:
                await seed_demo_fees(
                    session,
                    school_id=school.id,
                    accountant_id=user_ids["accountant"],
                    principal_id=user_ids["principal"],
                    parent_phone=DEMO_PARENT_PHONE,
                    today=today,
                    rng=rng,
                )
                await session.execute(
                    text("ANALYZE invoices, invoice_lines, ledger_entries, payments")
                )
            return True
    finally:
        await engine.dispose()


async def _build_records(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    today: date,
    teacher_role_id: uuid.UUID,
    students: int,
    rng: random.Random,
    section_size: int,
    history_days: int,
    progress: Progress,
) -> None:
    year_name, starts, ends = academic_year_for(today)
    year_id = (
        await session.execute(
            insert(AcademicYear)
            .values(
                school_id=school_id, name=year_name, starts_on=starts, ends_on=ends, is_current=True
            )
            .returning(AcademicYear.id)
        )
    ).scalar_one()
    await academics.ensure_default_classes(session, school_id=school_id)
    await attendance.config(session, school_id=school_id)  # the default codes
    holidays = [
        (date(y, m, d), name)
        for y in (starts.year, ends.year)
        for m, d, name in HOLIDAYS
        if starts <= date(y, m, d) <= ends
    ]
    if holidays:
        await session.execute(
            insert(Holiday).values(
                [{"school_id": school_id, "date": d, "name": n} for d, n in holidays]
            )
        )
    classes = (
        await session.execute(
            select(SchoolClass.id, SchoolClass.name, SchoolClass.sequence)
            .where(SchoolClass.school_id == school_id)
            .order_by(SchoolClass.sequence)
        )
    ).all()

    # How many children in each class, and so how many sections.
    weights = [CLASS_WEIGHTS[n % len(CLASS_WEIGHTS)] for n in range(len(classes))]
    sizes = [int(students * w / sum(weights)) for w in weights]
    for n in range(students - sum(sizes)):
        sizes[n % len(sizes)] += 1
    section_rows: list[tuple[uuid.UUID, str]] = []
    for (class_id, _, _), size in zip(classes, sizes, strict=True):
        count = max(2, math.ceil(size / section_size))
        section_rows += [(class_id, name) for name in _section_names(count)]
    created = (
        await session.execute(
            text(
                "INSERT INTO sections (school_id, academic_year_id, class_id, name)"
                " SELECT CAST(:school AS uuid), CAST(:year AS uuid), c, n"
                " FROM unnest(CAST(:classes AS uuid[]), CAST(:names AS text[])) AS t(c, n)"
                " RETURNING id, class_id, name"
            ),
            {
                "school": school_id,
                "year": year_id,
                "classes": [c for c, _ in section_rows],
                "names": [n for _, n in section_rows],
            },
        )
    ).all()
    class_names = {c.id: c.name for c in classes}
    sections: dict[str, list[_Section]] = {c.name: [] for c in classes}
    for section_id, class_id, name in created:
        sections[class_names[class_id]].append(_Section(section_id, class_names[class_id], name))
    for group in sections.values():
        group.sort(key=lambda s: (len(s.name), s.name))

    await _staff(
        session, school_id=school_id, teacher_role_id=teacher_role_id, sections=sections, rng=rng
    )
    progress("staff", 1, 1)

    roster = _roster(
        students=students,
        sizes=sizes,
        classes=[c.name for c in classes],
        sections=sections,
        starts=starts,
        rng=rng,
    )
    await write_roster(
        session,
        school_id=school_id,
        academic_year_id=year_id,
        rows=roster,
        on_progress=_async_progress(progress, "students", len(roster)),
    )
    await _history(
        session,
        school_id=school_id,
        roster=roster,
        sections=sections,
        start=max(starts, today - timedelta(days=history_days)),
        end=today - timedelta(days=1),
        rng=rng,
        progress=progress,
    )
    # Fresh bulk data has no planner statistics yet; the first pages served should
    # not wait for autovacuum to find that out.
    await session.execute(
        text(
            "ANALYZE students, guardians, student_guardians, enrolments, sections,"
            " attendance_records"
        )
    )


def _async_progress(progress: Progress, stage: str, total: int):  # type: ignore[no-untyped-def]
    async def report(done: int) -> None:
        progress(stage, done, total)

    return report


async def _staff(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    teacher_role_id: uuid.UUID,
    sections: dict[str, list[_Section]],
    rng: random.Random,
) -> None:
    """A class teacher for every section (the demo teacher takes 6-A) and a maths and
    an English teacher in every section."""
    demo_teacher = (
        await session.execute(
            select(User.id).where(User.school_id == school_id, User.phone == DEMO_TEACHER_PHONE)
        )
    ).scalar_one()
    everyone = [s for group in sections.values() for s in group]
    others = [s for s in everyone if (s.class_name, s.name) != DEMO_TEACHER_SECTION]
    teacher_names = [
        names.TEACHERS[n]
        if n < len(names.TEACHERS)
        else f"{rng.choice(names.MOTHERS + names.FATHERS)} {rng.choice(names.SURNAMES)}"
        for n in range(len(others))
    ]
    teacher_ids = list(
        (
            await session.execute(
                text(
                    "INSERT INTO users (school_id, phone, name)"
                    " SELECT CAST(:school AS uuid), p, n"
                    " FROM unnest(CAST(:phones AS text[]), CAST(:names AS text[])) AS t(p, n)"
                    " RETURNING id"
                ),
                {
                    "school": school_id,
                    "phones": [f"+91981{n:07d}" for n in range(1, len(others) + 1)],
                    "names": teacher_names,
                },
            )
        ).scalars()
    )
    await session.execute(
        text(
            "INSERT INTO user_roles (user_id, role_id) SELECT u, CAST(:role AS uuid)"
            " FROM unnest(CAST(:users AS uuid[])) AS u"
        ),
        {"role": teacher_role_id, "users": teacher_ids},
    )
    for section, teacher_id in zip(others, teacher_ids, strict=True):
        section.teacher_id = teacher_id
    for section in everyone:
        if section.teacher_id is None:
            section.teacher_id = demo_teacher
    subjects = dict(
        (
            await session.execute(
                insert(Subject)
                .values([{"school_id": school_id, "code": c, "name": n} for c, n in SUBJECTS])
                .returning(Subject.code, Subject.id)
            )
        ).all()
    )
    pool = [demo_teacher, *teacher_ids]
    rows: list[tuple[uuid.UUID, uuid.UUID | None, str, uuid.UUID | None]] = []
    for n, section in enumerate(everyone):
        rows.append((section.id, section.teacher_id, "class_teacher", None))
        rows.append((section.id, pool[(n + 1) % len(pool)], "subject_teacher", subjects["MATH"]))
        rows.append((section.id, pool[(n + 2) % len(pool)], "subject_teacher", subjects["ENG"]))
    await session.execute(
        text(
            "INSERT INTO teacher_assignments (school_id, section_id, teacher_id, role, subject_id)"
            " SELECT CAST(:school AS uuid), s, t, r, sub FROM unnest(CAST(:sections AS uuid[]),"
            " CAST(:teachers AS uuid[]), CAST(:roles AS text[]), CAST(:subjects AS uuid[]))"
            " AS x(s, t, r, sub)"
        ),
        {
            "school": school_id,
            "sections": [r[0] for r in rows],
            "teachers": [r[1] for r in rows],
            "roles": [r[2] for r in rows],
            "subjects": [r[3] for r in rows],
        },
    )


def _roster(
    *,
    students: int,
    sizes: list[int],
    classes: list[str],
    sections: dict[str, list[_Section]],
    starts: date,
    rng: random.Random,
) -> list[RosterRow]:
    """Families of one to three children, each child in a class slot; the demo parent's
    two children first, in different classes."""
    slots = [name for name, size in zip(classes, sizes, strict=True) for _ in range(size)]
    rng.shuffle(slots)
    for wanted in reversed(DEMO_PARENT_CLASSES):
        if wanted in slots and len(slots) > 2:
            slots.remove(wanted)
            slots.append(wanted)
    sequence = {name: n for n, name in enumerate(classes)}
    used_phones: set[str] = set()

    def phone() -> str:
        while True:
            candidate = f"+919{rng.randrange(10**9):09d}"
            if not candidate.startswith(("+919800", "+91981")) and candidate not in used_phones:
                used_phones.add(candidate)
                return candidate

    rows: list[tuple[str, RosterRow]] = []
    family = 0
    while slots:
        first = family == 0 and len(slots) >= 2
        size = 2 if first else rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
        size = min(size, len(slots))
        surname = "Singh" if first else rng.choice(names.SURNAMES)
        hindi = first or rng.random() < 0.3
        father = GuardianRow(
            name="Vikram Singh" if first else f"{rng.choice(names.FATHERS)} {surname}",
            relation="father",
            phone=DEMO_PARENT_PHONE if first else phone(),
            whatsapp_opt_in=first or rng.random() < 0.9,
            preferred_language="hi" if hindi else "en",
        )
        mother = GuardianRow(
            name=f"{rng.choice(names.MOTHERS)} {surname}",
            relation="mother",
            phone=phone(),
            whatsapp_opt_in=rng.random() < 0.9,
            preferred_language="hi" if hindi else "en",
        )
        guardians = [father, mother] if first or rng.random() < 0.5 else [mother, father]
        if not first and rng.random() < 0.1:
            guardians = guardians[:1]  # a single parent
        for _ in range(size):
            class_name = slots.pop()
            joined = starts.year - sequence[class_name]
            boy = rng.random() < 0.52
            born = date(joined - 3, 1, 1) + timedelta(days=rng.randrange(365))
            serial = len(rows) + 1
            rows.append(
                (
                    class_name,
                    RosterRow(
                        row=serial + 1,
                        admission_number=f"GV/{joined}/{serial:05d}",
                        name=f"{rng.choice(names.BOYS if boy else names.GIRLS)} {surname}",
                        date_of_birth=born,
                        gender="male" if boy else "female",
                        category=rng.choices(
                            ("general", "obc", "sc", "st", "ews"), weights=(50, 27, 12, 6, 5)
                        )[0],
                        admitted_on=date(joined, 4, 1),
                        guardians=guardians,
                    ),
                )
            )
        family += 1
    # Spread each class over its sections, then number rolls by name.
    for class_name, group in sections.items():
        members = [row for name, row in rows if name == class_name]
        placed: dict[uuid.UUID, list[RosterRow]] = {s.id: [] for s in group}
        for n, row in enumerate(members):
            row.section_id = group[n % len(group)].id
            placed[row.section_id].append(row)
        for section_rows in placed.values():
            for roll, row in enumerate(sorted(section_rows, key=lambda r: r.name), start=1):
                row.roll_number = roll
    return [row for _, row in rows]


async def _history(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    roster: list[RosterRow],
    sections: dict[str, list[_Section]],
    start: date,
    end: date,
    rng: random.Random,
    progress: Progress,
) -> None:
    """Past school days' registers: most children miss a day now and then, one in
    ten more often, one in twenty chronically."""
    days = await academics.school_days(session, school_id=school_id, start=start, end=end)
    if not days:
        return
    ids: dict[str, uuid.UUID] = dict(
        (
            await session.execute(
                text("SELECT admission_number, id FROM students WHERE school_id = :school"),
                {"school": school_id},
            )
        ).all()
    )
    teacher_of = {s.id: s.teacher_id for group in sections.values() for s in group}
    total = len(days) * len(roster)
    chunk = max(1, 100_000 // len(days))
    written = 0
    for begin in range(0, len(roster), chunk):
        students, dates, section_ids, codes, marked_by = [], [], [], [], []
        for row in roster[begin : begin + chunk]:
            kind = rng.random()
            rate = (
                rng.uniform(0.2, 0.35)
                if kind < 0.05
                else rng.uniform(0.08, 0.15)
                if kind < 0.15
                else rng.uniform(0.01, 0.06)
            )
            for day in days:
                r = rng.random()
                code = (
                    "A"
                    if r < rate * 0.85
                    else "LV"
                    if r < rate
                    else "L"
                    if r < rate + 0.02
                    else "HD"
                    if r < rate + 0.025
                    else "P"
                )
                students.append(ids[row.admission_number])
                dates.append(day)
                section_ids.append(row.section_id)
                codes.append(code)
                marked_by.append(teacher_of[row.section_id])  # type: ignore[index]
        await session.execute(
            text(
                "INSERT INTO attendance_records"
                " (student_id, date, period, school_id, section_id, code, marked_by)"
                " SELECT s, d, 0, CAST(:school AS uuid), sec, c, m"
                " FROM unnest(CAST(:students AS uuid[]), CAST(:dates AS date[]),"
                " CAST(:sections AS uuid[]), CAST(:codes AS text[]), CAST(:by AS uuid[]))"
                " AS t(s, d, sec, c, m)"
            ),
            {
                "school": school_id,
                "students": students,
                "dates": dates,
                "sections": section_ids,
                "codes": codes,
                "by": marked_by,
            },
        )
        written += len(students)
        progress("attendance", written, total)
