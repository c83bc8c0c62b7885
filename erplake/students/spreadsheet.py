"""Student rosters in and out of spreadsheets (CSV and XLSX).

Import is validate-then-write: `validate` reads every row and returns the good rows
and, for each bad one, its row number, column and reason, writing nothing;
`write_roster` writes all rows with a handful of set-based statements per chunk
(INSERT … SELECT FROM unnest), inside the caller's transaction, so all rows land or
none. Export writes the same columns, so an export imports back unchanged.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import String, any_, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics import service as academics
from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core import jobs, progress
from erplake.core.db import on_commit
from erplake.core.errors import AppError, Conflict, Unprocessable
from erplake.core.jobs import JobContext
from erplake.core.permissions import P
from erplake.core.phone import parse_mobile
from erplake.core.security import Principal
from erplake.models.academics import SchoolClass, Section
from erplake.models.students import Enrolment, Guardian, Student, StudentGuardian
from erplake.storage import Storage
from erplake.students.schemas import ImportPreview, ImportRowError, ImportStarted
from erplake.students.service import filtered_students

GUARDIAN_FIELDS = ("name", "relation", "phone", "whatsapp", "language")
COLUMNS: list[str] = [
    "admission_number",
    "name",
    "date_of_birth",
    "gender",
    "category",
    "status",
    "class",
    "section",
    "roll_number",
    "admitted_on",
    *[f"guardian{n}_{f}" for n in (1, 2) for f in GUARDIAN_FIELDS],
]
REQUIRED_COLUMNS = ("admission_number", "name", "date_of_birth", "gender", "class", "section")
MAX_ROWS = 20_000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_FILE_BYTES = 10 * 1024 * 1024

# What people write in the header row, mapped to our column names.
_HEADER_ALIASES = {
    "admission_no": "admission_number",
    "admission_no.": "admission_number",
    "adm_no": "admission_number",
    "student_name": "name",
    "dob": "date_of_birth",
    "date_of_birth_(dd/mm/yyyy)": "date_of_birth",
    "roll_no": "roll_number",
    "roll_no.": "roll_number",
    "roll": "roll_number",
}
_GENDERS = {
    "m": "male",
    "male": "male",
    "boy": "male",
    "f": "female",
    "female": "female",
    "girl": "female",
    "o": "other",
    "other": "other",
}
_CATEGORIES = {
    "": "general",
    "general": "general",
    "gen": "general",
    "obc": "obc",
    "sc": "sc",
    "st": "st",
    "ews": "ews",
}
_STATUSES = {"": "active", "active": "active", "left": "left", "alumni": "alumni"}
_RELATIONS = {
    "": "guardian",
    "father": "father",
    "mother": "mother",
    "guardian": "guardian",
    "other": "guardian",
}
_LANGUAGES = {"": "en", "en": "en", "english": "en", "hi": "hi", "hindi": "hi"}
_YES = {"yes", "y", "true", "1"}
_NO = {"", "no", "n", "false", "0"}
_ROMAN = {
    "i": "1",
    "ii": "2",
    "iii": "3",
    "iv": "4",
    "v": "5",
    "vi": "6",
    "vii": "7",
    "viii": "8",
    "ix": "9",
    "x": "10",
    "xi": "11",
    "xii": "12",
}
_ADMISSION = re.compile(r"^[A-Z0-9][A-Z0-9/_.-]{0,31}$")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


class BadSpreadsheet(Unprocessable):
    code = "bad_spreadsheet"


class ImportRejected(Unprocessable):
    code = "import_rejected"


@dataclass(frozen=True)
class GuardianRow:
    name: str
    relation: str
    phone: str  # E.164
    whatsapp_opt_in: bool
    preferred_language: str


@dataclass
class RosterRow:
    """One valid student row, ready to write."""

    row: int
    admission_number: str
    name: str
    date_of_birth: date
    gender: str
    category: str = "general"
    status: str = "active"
    admitted_on: date | None = None
    section_id: uuid.UUID | None = None
    roll_number: int | None = None
    guardians: list[GuardianRow] = field(default_factory=list)


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (spreadsheet row number, values by column)


# ---- reading files -----------------------------------------------------------


def _normalise_header(raw: str) -> str:
    key = re.sub(r"\s+", "_", raw.strip().lower())
    return _HEADER_ALIASES.get(key, key)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone or roll number typed into a number cell
    return str(value).strip()


def _table(records: Iterable[Sequence[Any]]) -> Table:
    iterator = iter(records)
    try:
        header = next(iterator)
    except StopIteration:
        raise BadSpreadsheet("the file is empty") from None
    columns = [_normalise_header(_cell_text(h)) for h in header]
    rows: list[tuple[int, dict[str, str]]] = []
    for number, record in enumerate(iterator, start=2):
        values = [_cell_text(v) for v in record]
        if not any(values):
            continue  # blank lines are not rows
        if len(rows) >= MAX_ROWS:
            raise BadSpreadsheet(f"a file may hold at most {MAX_ROWS} students")
        rows.append((number, {c: v for c, v in zip(columns, values, strict=False) if c}))
    return Table(columns=[c for c in columns if c], rows=rows)


def read_table(filename: str, data: bytes) -> Table:
    """CSV or XLSX (by name or by content) into a table of text. Blocking: call it in
    a thread."""
    if len(data) > MAX_FILE_BYTES:
        raise BadSpreadsheet("the file is larger than 10 MB")
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        return _read_xlsx(data)
    return _read_csv(data)


def _read_csv(data: bytes) -> Table:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            decoded = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes almost anything
        raise BadSpreadsheet("the file is not text (expected CSV or XLSX)")
    return _table(csv.reader(io.StringIO(decoded, newline="")))


def _read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise BadSpreadsheet(f"not a readable XLSX file ({type(exc).__name__})") from None
    try:
        return _table(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


# ---- validating ----------------------------------------------------------------


def _class_key(raw: str) -> str:
    key = re.sub(r"^(class|std\.?|standard|grade)\s*", "", raw.strip().lower())
    return _ROMAN.get(key, key)


def _parse_date(raw: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


class _RowCheck:
    """Collects one row's errors while its values are read."""

    def __init__(self, number: int, values: dict[str, str], errors: list[ImportRowError]):
        self.number, self.values, self.errors = number, values, errors
        self.ok = True

    def get(self, column: str) -> str:
        return self.values.get(column, "").strip()

    def fail(self, column: str, reason: str, value: str | None = None) -> None:
        self.ok = False
        self.errors.append(
            ImportRowError(row=self.number, column=column, reason=reason, value=value or None)
        )

    def choice(self, column: str, options: dict[str, str], what: str) -> str:
        raw = self.get(column)
        found = options.get(raw.lower())
        if found is None:
            allowed = ", ".join(sorted({v for v in options.values()}))
            self.fail(column, f"unknown {what} (use {allowed})", raw)
            return ""
        return found

    def day(self, column: str, *, required: bool) -> date | None:
        raw = self.get(column)
        if not raw:
            if required:
                self.fail(column, "required")
            return None
        parsed = _parse_date(raw)
        if parsed is None:
            self.fail(column, "not a date (use YYYY-MM-DD or DD/MM/YYYY)", raw)
        return parsed


def _check_guardian(check: _RowCheck, n: int, *, required: bool) -> GuardianRow | None:
    prefix = f"guardian{n}_"
    name, phone = check.get(prefix + "name"), check.get(prefix + "phone")
    given = any(check.get(prefix + f) for f in GUARDIAN_FIELDS)
    if not given and not required:
        return None
    if not name:
        check.fail(prefix + "name", "required" if required else "required with a guardian phone")
    e164 = ""
    if not phone:
        check.fail(prefix + "phone", "required" if required else "required with a guardian name")
    else:
        try:
            e164 = parse_mobile(phone)
        except Unprocessable as exc:
            check.fail(prefix + "phone", exc.message, phone)
    relation = check.choice(prefix + "relation", _RELATIONS, "relation")
    language = check.choice(prefix + "language", _LANGUAGES, "language")
    raw_opt_in = check.get(prefix + "whatsapp").lower()
    if raw_opt_in not in _YES | _NO:
        check.fail(prefix + "whatsapp", "use yes or no", raw_opt_in)
    if not (name and e164 and relation and language):
        return None
    return GuardianRow(
        name=name,
        relation=relation,
        phone=e164,
        whatsapp_opt_in=raw_opt_in in _YES,
        preferred_language=language,
    )


async def validate(
    session: AsyncSession, *, school_id: uuid.UUID, table: Table, today: date
) -> tuple[list[RosterRow], list[ImportRowError]]:
    """Every row checked; nothing written. Returns the good rows and every error."""
    errors: list[ImportRowError] = []
    missing = [
        c
        for c in (*REQUIRED_COLUMNS, "guardian1_name", "guardian1_phone")
        if c not in table.columns
    ]
    if missing:
        for column in missing:
            errors.append(ImportRowError(row=1, column=column, reason="missing column"))
        return [], errors
    year = await academics.current_year(session, school_id=school_id)
    classes = {
        name.lower(): name
        for name in (
            await session.execute(
                select(SchoolClass.name).where(SchoolClass.school_id == school_id)
            )
        ).scalars()
    }
    sections = {
        (class_name.lower(), section_name.upper()): section_id
        for section_id, class_name, section_name in (
            await session.execute(
                select(Section.id, SchoolClass.name, Section.name)
                .join(SchoolClass, SchoolClass.id == Section.class_id)
                .where(Section.school_id == school_id, Section.academic_year_id == year.id)
            )
        ).all()
    }

    checked: list[tuple[int, str, uuid.UUID | None, int | None, RosterRow | None]] = []
    first_row_of_admission: dict[str, int] = {}
    first_row_of_roll: dict[tuple[uuid.UUID, int], int] = {}
    name_of_phone: dict[str, tuple[str, int]] = {}
    for number, values in table.rows:
        check = _RowCheck(number, values, errors)
        admission = check.get("admission_number").upper()
        if not admission:
            check.fail("admission_number", "required")
        elif not _ADMISSION.fullmatch(admission):
            check.fail(
                "admission_number",
                "use at most 32 letters, digits and / _ . - (starting with a letter or digit)",
                admission,
            )
        elif admission in first_row_of_admission:
            check.fail(
                "admission_number",
                f"repeats row {first_row_of_admission[admission]}",
                admission,
            )
        else:
            first_row_of_admission[admission] = number
        name = check.get("name")
        if not name:
            check.fail("name", "required")
        elif len(name) > 200:
            check.fail("name", "longer than 200 characters")
        born = check.day("date_of_birth", required=True)
        if born is not None and not (date(today.year - 30, 1, 1) <= born <= today):
            check.fail("date_of_birth", "not a plausible date of birth", check.get("date_of_birth"))
        gender = check.choice("gender", _GENDERS, "gender")
        category = check.choice("category", _CATEGORIES, "category")
        status = check.choice("status", _STATUSES, "status")
        admitted_on = check.day("admitted_on", required=False)

        section_id: uuid.UUID | None = None
        raw_class, raw_section = check.get("class"), check.get("section").upper()
        # Both blank: not enrolled this year (as an export writes such a student).
        if raw_class or raw_section:
            class_name = classes.get(_class_key(raw_class))
            if not raw_class:
                check.fail("class", "required")
            elif class_name is None:
                check.fail("class", "no such class", raw_class)
            if not raw_section:
                check.fail("section", "required")
            elif class_name is not None:
                section_id = sections.get((class_name.lower(), raw_section))
                if section_id is None:
                    check.fail(
                        "section",
                        f"no section {class_name}-{raw_section} in {year.name}",
                        raw_section,
                    )
        roll_number: int | None = None
        raw_roll = check.get("roll_number")
        if raw_roll:
            if not raw_roll.isdigit() or not 1 <= int(raw_roll) <= 999:
                check.fail("roll_number", "a whole number from 1 to 999", raw_roll)
            else:
                roll_number = int(raw_roll)
                if section_id is not None:
                    key = (section_id, roll_number)
                    if key in first_row_of_roll:
                        check.fail(
                            "roll_number",
                            f"repeats row {first_row_of_roll[key]} in the same section",
                            raw_roll,
                        )
                    else:
                        first_row_of_roll[key] = number

        guardians = [
            g
            for g in (
                _check_guardian(check, 1, required=False),
                _check_guardian(check, 2, required=False),
            )
            if g is not None
        ]
        if len(guardians) == 2 and guardians[0].phone == guardians[1].phone:
            check.fail("guardian2_phone", "the same phone as guardian 1", guardians[1].phone)
        for n, guardian in enumerate(guardians, start=1):
            seen = name_of_phone.setdefault(guardian.phone, (guardian.name, number))
            if seen[0].casefold() != guardian.name.casefold():
                check.fail(
                    f"guardian{n}_phone",
                    f"row {seen[1]} gives this phone to {seen[0]}",
                    guardian.phone,
                )
        checked.append(
            (
                number,
                admission,
                section_id,
                roll_number,
                RosterRow(
                    row=number,
                    admission_number=admission,
                    name=name,
                    date_of_birth=born,  # type: ignore[arg-type]  # checked above
                    gender=gender,
                    category=category,
                    status=status,
                    admitted_on=admitted_on,
                    section_id=section_id,
                    roll_number=roll_number,
                    guardians=guardians,
                )
                if check.ok
                else None,
            )
        )

    # What the database already holds, checked for all rows at once.
    taken = set(
        (
            await session.execute(
                select(Student.admission_number).where(
                    Student.school_id == school_id,
                    Student.admission_number
                    == any_(literal(list(first_row_of_admission), ARRAY(String))),
                )
            )
        ).scalars()
    )
    rolls_taken = {
        (section_id, roll)
        for section_id, roll in (
            await session.execute(
                select(Enrolment.section_id, Enrolment.roll_number).where(
                    Enrolment.section_id.in_({s for s, _ in first_row_of_roll}),
                    Enrolment.roll_number.is_not(None),
                )
            )
        ).all()
    }
    good = []
    for number, admission, section_id, roll_number, roster_row in checked:
        ok = roster_row is not None
        if admission in taken:
            ok = False
            errors.append(
                ImportRowError(
                    row=number,
                    column="admission_number",
                    reason="already used by a student of this school",
                    value=admission,
                )
            )
        if (section_id, roll_number) in rolls_taken:
            ok = False
            errors.append(
                ImportRowError(
                    row=number,
                    column="roll_number",
                    reason="already taken in this section",
                    value=str(roll_number),
                )
            )
        if ok and roster_row is not None:
            good.append(roster_row)
    order = {c: n for n, c in enumerate(COLUMNS)}
    errors.sort(key=lambda e: (e.row, order.get(e.column, len(order))))
    return good, errors


# ---- writing -------------------------------------------------------------------

Progress = Callable[[int], Awaitable[None]]


# Rows per round of set-based statements (and per progress report).
WRITE_CHUNK = 1000


async def write_roster(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    academic_year_id: uuid.UUID,
    rows: Sequence[RosterRow],
    chunk: int | None = None,
    on_progress: Progress | None = None,
) -> dict[str, int]:
    """Write valid rows: guardians (a phone already on file is that guardian), students,
    their links and this year's enrolments. Set-based, in the caller's transaction."""
    counts = {"students": 0, "guardians_created": 0, "enrolments": 0}
    chunk = chunk or WRITE_CHUNK
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        counts["guardians_created"] += await _write_guardians(session, school_id, part)
        phones = list({g.phone for r in part for g in r.guardians})
        guardian_ids = dict(
            (
                await session.execute(
                    select(Guardian.phone, Guardian.id).where(
                        Guardian.school_id == school_id, Guardian.phone.in_(phones)
                    )
                )
            ).all()
        )
        student_ids = await _write_students(session, school_id, part)
        links = [
            (student_ids[r.admission_number], guardian_ids[g.phone], n == 0)
            for r in part
            for n, g in enumerate(r.guardians)
        ]
        if links:
            await session.execute(
                text(
                    "INSERT INTO student_guardians (student_id, guardian_id, is_primary)"
                    " SELECT * FROM unnest(CAST(:students AS uuid[]),"
                    " CAST(:guardians AS uuid[]), CAST(:primary AS boolean[]))"
                    " ON CONFLICT DO NOTHING"
                ),
                {
                    "students": [s for s, _, _ in links],
                    "guardians": [g for _, g, _ in links],
                    "primary": [p for _, _, p in links],
                },
            )
        enrolled = [r for r in part if r.section_id is not None]
        if enrolled:
            await session.execute(
                text(
                    "INSERT INTO enrolments"
                    " (school_id, student_id, academic_year_id, section_id, roll_number)"
                    " SELECT CAST(:school_id AS uuid), s, CAST(:year AS uuid), sec, roll"
                    " FROM unnest(CAST(:students AS uuid[]), CAST(:sections AS uuid[]),"
                    " CAST(:rolls AS integer[])) AS t(s, sec, roll)"
                ),
                {
                    "school_id": school_id,
                    "year": academic_year_id,
                    "students": [student_ids[r.admission_number] for r in enrolled],
                    "sections": [r.section_id for r in enrolled],
                    "rolls": [r.roll_number for r in enrolled],
                },
            )
        counts["students"] += len(part)
        counts["enrolments"] += len(enrolled)
        if on_progress is not None:
            await on_progress(counts["students"])
    return counts


async def _write_guardians(
    session: AsyncSession, school_id: uuid.UUID, rows: Sequence[RosterRow]
) -> int:
    unique: dict[str, GuardianRow] = {}
    for r in rows:
        for g in r.guardians:
            unique.setdefault(g.phone, g)
    if not unique:
        return 0
    guardians = list(unique.values())
    written = await session.execute(
        text(
            "INSERT INTO guardians"
            " (school_id, name, relation, phone, whatsapp_opt_in, preferred_language)"
            " SELECT CAST(:school_id AS uuid), * FROM unnest(CAST(:names AS text[]),"
            " CAST(:relations AS text[]), CAST(:phones AS text[]),"
            " CAST(:opt_in AS boolean[]), CAST(:languages AS text[]))"
            " ON CONFLICT (school_id, phone) DO NOTHING RETURNING id"
        ),
        {
            "school_id": school_id,
            "names": [g.name for g in guardians],
            "relations": [g.relation for g in guardians],
            "phones": [g.phone for g in guardians],
            "opt_in": [g.whatsapp_opt_in for g in guardians],
            "languages": [g.preferred_language for g in guardians],
        },
    )
    return len(written.all())


async def _write_students(
    session: AsyncSession, school_id: uuid.UUID, rows: Sequence[RosterRow]
) -> dict[str, uuid.UUID]:
    written = (
        await session.execute(
            text(
                "INSERT INTO students (school_id, admission_number, name, date_of_birth,"
                " gender, category, status, admitted_on)"
                " SELECT CAST(:school_id AS uuid), * FROM unnest(CAST(:numbers AS text[]),"
                " CAST(:names AS text[]), CAST(:born AS date[]), CAST(:genders AS text[]),"
                " CAST(:categories AS text[]), CAST(:statuses AS text[]),"
                " CAST(:admitted AS date[]))"
                " ON CONFLICT (school_id, admission_number) DO NOTHING"
                " RETURNING admission_number, id"
            ),
            {
                "school_id": school_id,
                "numbers": [r.admission_number for r in rows],
                "names": [r.name for r in rows],
                "born": [r.date_of_birth for r in rows],
                "genders": [r.gender for r in rows],
                "categories": [r.category for r in rows],
                "statuses": [r.status for r in rows],
                "admitted": [r.admitted_on for r in rows],
            },
        )
    ).all()
    ids = {number: student_id for number, student_id in written}
    if len(ids) != len(rows):
        clashes = sorted(r.admission_number for r in rows if r.admission_number not in ids)
        raise Conflict(
            "admission numbers taken since the file was checked: " + ", ".join(clashes[:10]),
            details={"admission_numbers": clashes},
        )
    return ids


def reject_if_errors(errors: list[ImportRowError]) -> None:
    if errors:
        raise ImportRejected(
            f"{len({e.row for e in errors})} rows have errors; nothing was imported",
            details={"errors": [e.model_dump() for e in errors[:1000]]},
        )


# ---- export --------------------------------------------------------------------


async def export_rows(
    session: AsyncSession, principal: Principal, **filters: Any
) -> list[list[str]]:
    """The students the principal may see, filtered, as rows of COLUMNS."""
    students = (await session.execute(filtered_students(principal, **filters))).all()
    ids = [row[0].id for row in students]
    guardians: dict[uuid.UUID, list[Guardian]] = {}
    if ids:
        for student_id, guardian in (
            await session.execute(
                select(StudentGuardian.student_id, Guardian)
                .join(Guardian, Guardian.id == StudentGuardian.guardian_id)
                .where(StudentGuardian.student_id == any_(literal(ids, ARRAY(PgUUID))))
                .order_by(
                    StudentGuardian.student_id, StudentGuardian.is_primary.desc(), Guardian.name
                )
            )
        ).all():
            guardians.setdefault(student_id, []).append(guardian)
    rows = []
    for student, _, class_name, _, section_name, roll, *_ in students:
        cells = [
            student.admission_number,
            student.name,
            student.date_of_birth.isoformat(),
            student.gender,
            student.category,
            student.status,
            class_name or "",
            section_name or "",
            "" if roll is None else str(roll),
            "" if student.admitted_on is None else student.admitted_on.isoformat(),
        ]
        linked = guardians.get(student.id, [])[:2]
        for n in range(2):
            if n < len(linked):
                g = linked[n]
                cells += [
                    g.name,
                    g.relation,
                    g.phone,
                    "yes" if g.whatsapp_opt_in else "no",
                    g.preferred_language,
                ]
            else:
                cells += ["", "", "", "", ""]
        rows.append(cells)
    return rows


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def to_xlsx(rows: list[list[str]]) -> bytes:
    """Blocking: call it in a thread."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("students")
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ---- the import, end to end ----------------------------------------------------

IMPORT_TASK = "students.import"
IMPORT_KIND = "students.import"
SAMPLE_ROWS = 5


async def preview(
    session: AsyncSession, *, school_id: uuid.UUID, filename: str, data: bytes, today: date
) -> ImportPreview:
    """Check every row and say what is wrong where; write nothing."""
    table = await asyncio.to_thread(read_table, filename, data)
    good, errors = await validate(session, school_id=school_id, table=table, today=today)
    return ImportPreview(
        rows=len(table.rows),
        valid=len(good),
        errors=errors,
        columns=table.columns,
        sample=[values for _, values in table.rows[:SAMPLE_ROWS]],
    )


async def start_import(
    session: AsyncSession,
    storage: Storage,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    filename: str,
    data: bytes,
    today: date,
) -> ImportStarted:
    """Check the file (any error refuses it whole), keep it in storage and queue the
    job that writes it; the answer names the job to poll."""
    table = await asyncio.to_thread(read_table, filename, data)
    _, errors = await validate(session, school_id=school_id, table=table, today=today)
    reject_if_errors(errors)
    if not table.rows:
        raise ImportRejected("the file has no student rows")
    progress_id = await progress.start(
        session,
        school_id=school_id,
        kind=IMPORT_KIND,
        created_by=actor.user_id,
        read_permission=P.students_write,
        total=len(table.rows),
        message="queued",
    )
    extension = "xlsx" if filename.lower().endswith(".xlsx") or data[:2] == b"PK" else "csv"
    key = f"imports/{school_id}/{progress_id}.{extension}"
    await storage.put(key, data, "application/octet-stream")
    await jobs.enqueue(
        session,
        IMPORT_TASK,
        {
            "progress_id": str(progress_id),
            "school_id": str(school_id),
            "storage_key": key,
            "filename": filename,
            "user_id": None if actor.user_id is None else str(actor.user_id),
            "ip": actor.ip,
            "request_id": actor.request_id,
        },
        school_id=school_id,
        dedupe_key=f"{IMPORT_TASK}:{progress_id}",
    )
    return ImportStarted(
        job_id=progress_id, rows=len(table.rows), status_url=f"/jobs/{progress_id}"
    )


async def run_import(
    ctx: JobContext,
    *,
    progress_id: uuid.UUID,
    school_id: uuid.UUID,
    storage_key: str,
    filename: str,
    actor: Actor,
) -> None:
    """The job: check again (the school may have changed since), then write all rows
    in the job's transaction, reporting progress as chunks land."""
    from erplake.core.clock import school_today
    from erplake.schools import service as schools
    from erplake.storage import get_storage

    storage = get_storage(ctx.settings)
    data = await storage.get(storage_key)
    try:
        table = await asyncio.to_thread(read_table, filename, data)
        await progress.report(
            ctx.sessionmaker, progress_id, done=0, total=len(table.rows), message="checking rows"
        )
        school = await schools.get(ctx.session, school_id=school_id)
        good, errors = await validate(
            ctx.session, school_id=school_id, table=table, today=school_today(school.timezone)
        )
        reject_if_errors(errors)
        year = await academics.current_year(ctx.session, school_id=school_id)

        async def report(done: int) -> None:
            await progress.report(
                ctx.sessionmaker, progress_id, done=done, message="writing students"
            )

        counts = await write_roster(
            ctx.session,
            school_id=school_id,
            academic_year_id=year.id,
            rows=good,
            on_progress=report,
        )
    except AppError as exc:
        # Refused for good: say why; retrying cannot help. Roll back whatever was
        # flushed before the refusal, so all rows or none are written.
        await ctx.session.rollback()
        await progress.fail(
            ctx.sessionmaker,
            progress_id,
            error={"code": exc.code, "message": exc.message, "details": exc.details},
            message=exc.message,
        )
        await storage.delete(storage_key)
        return
    except Exception as exc:
        # The outbox retries; on the last attempt the poller must learn it failed.
        if ctx.attempt >= jobs.MAX_ATTEMPTS:
            await progress.fail(
                ctx.sessionmaker,
                progress_id,
                error={"code": "internal_error", "message": type(exc).__name__},
                message="the import failed; nothing was imported",
            )
        else:
            await progress.report(
                ctx.sessionmaker, progress_id, done=0, message="retrying after an error"
            )
        raise
    await audit.record(
        ctx.session,
        actor,
        action="students.import",
        entity="student_import",
        entity_id=progress_id,
        after={"file": filename, **counts},
    )
    await progress.finish(
        ctx.session, progress_id, result=counts, message=f"imported {counts['students']} students"
    )
    # The uploaded file goes once the import has committed (a retry needs it).
    on_commit(ctx.session, partial(storage.delete, storage_key))
