"""Issue: school records and attendance, on a generated school of 20,000 students.

- bulk mark of one section of 60 through the api (sequential, as a teacher does);
- the whole school marked for a day by the attendance service (validation, upsert,
  absence alerts, audit) against a raw asyncpg INSERT … ON CONFLICT of the same rows;
- a filtered student list page of 50 (one connection: a user's latency);
- a 5,000-row import: preview, then commit (request + job);
- a section's monthly report.
"""

from __future__ import annotations

import csv
import io
import random
import statistics
import time
import uuid
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select, text

from bench.common import Row, Servers, served
from bench.load import run_load
from erplake.attendance import service as attendance
from erplake.audit.service import Actor
from erplake.core.clock import school_today
from erplake.core.db import create_engine, create_sessionmaker, libpq_url, transaction
from erplake.core.jobs import execute_outbox_job
from erplake.core.permissions import ALL
from erplake.core.security import Principal, issue_access_token
from erplake.demo.seed import DEMO_TEACHER_PHONE, seed_demo_school
from erplake.identity import rbac
from erplake.models.identity import User
from erplake.models.outbox import OutboxJob
from erplake.models.school import School
from erplake.students.spreadsheet import COLUMNS

SCHOOL_CODE = "bench-records"
STUDENTS = 20_000
SECTION = 60
MARK_REQUESTS = 300
IMPORT_ROWS = 5_000


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


async def records_rows(servers: Servers, *, seconds: float) -> list[Row]:
    settings = servers.settings()
    began = time.perf_counter()
    await seed_demo_school(
        settings,
        students=STUDENTS,
        code=SCHOOL_CODE,
        section_size=SECTION,
        history_days=35,
        fees=False,
    )
    seeded = time.perf_counter() - began
    engine = create_engine(settings, role="bench", pooled=False)
    sessionmaker = create_sessionmaker(engine)
    try:
        ctx = await _prepare(sessionmaker, settings)
    finally:
        await engine.dispose()
    rows = [
        Row(f"generate a school of {STUDENTS:,} students (s)", f"{seeded:.1f}", "-", "-", "-", None)
    ]
    with served("full", servers.env) as port:
        rows.append(_bulk_mark(port, ctx))
        rows.append(await _student_list(port, ctx, seconds))
        rows += await _import(port, ctx, servers)
        rows.append(_monthly(port, ctx))
    rows.append(await _whole_school(servers, ctx))
    return rows


async def _prepare(sessionmaker: Any, settings: Any) -> dict[str, Any]:
    """A section of exactly 60 with the demo teacher as class teacher; every day a
    school day (the bench must not depend on the weekday it runs); a wide edit
    window for the whole-school runs on past days."""
    async with transaction(sessionmaker) as session:
        school = (
            await session.execute(select(School).where(School.code == SCHOOL_CODE))
        ).scalar_one()
        school_id = school.id
        one = {"school": school_id}
        await session.execute(
            text(
                "INSERT INTO school_calendars (school_id, weekly_offs)"
                " VALUES (:school, '[]') ON CONFLICT (school_id)"
                " DO UPDATE SET weekly_offs = '[]'"
            ),
            one,
        )
        await session.execute(text("DELETE FROM holidays WHERE school_id = :school"), one)
        await session.execute(
            text("UPDATE attendance_settings SET edit_window_days = 365 WHERE school_id = :school"),
            one,
        )
        six = (
            await session.execute(
                text(
                    "SELECT s.id, s.class_id, s.academic_year_id FROM sections s"
                    " JOIN classes c ON c.id = s.class_id"
                    " WHERE s.school_id = :school AND c.name = '6' ORDER BY s.name LIMIT 1"
                ),
                one,
            )
        ).one()
        section_id = (
            await session.execute(
                text(
                    "INSERT INTO sections (school_id, academic_year_id, class_id, name)"
                    " VALUES (:school, :year, :class, 'BENCH') RETURNING id"
                ),
                {**one, "year": six.academic_year_id, "class": six.class_id},
            )
        ).scalar_one()
        # The new section is empty, so the roll numbers 1..60 cannot clash.
        await session.execute(
            text(
                "UPDATE enrolments e SET section_id = :section, roll_number = t.n"
                " FROM (SELECT e2.id, row_number() OVER (ORDER BY s.name) AS n"
                "       FROM enrolments e2 JOIN students s ON s.id = e2.student_id"
                "       JOIN sections sec ON sec.id = e2.section_id"
                "       WHERE sec.class_id = :class LIMIT 60) t"
                " WHERE e.id = t.id"
            ),
            {"section": section_id, "class": six.class_id},
        )
        teacher = (
            await session.execute(
                select(User).where(User.school_id == school_id, User.phone == DEMO_TEACHER_PHONE)
            )
        ).scalar_one()
        admin = (
            await session.execute(
                select(User).where(User.school_id == school_id, User.phone == "+919800000001")
            )
        ).scalar_one()
        await session.execute(
            text(
                "INSERT INTO teacher_assignments (school_id, section_id, teacher_id, role)"
                " VALUES (:school, :section, :teacher, 'class_teacher')"
            ),
            {**one, "section": section_id, "teacher": teacher.id},
        )
        tokens = {}
        for who in (teacher, admin):
            roles, perms = await rbac.roles_and_permissions(session, user_id=who.id)
            tokens[who.phone], _ = issue_access_token(
                settings,
                user_id=who.id,
                school_id=school_id,
                roles=roles,
                permissions=perms,
                epoch=who.auth_epoch,
            )
        pupils = list(
            (
                await session.execute(
                    text(
                        "SELECT student_id FROM enrolments WHERE section_id = :section"
                        " ORDER BY roll_number"
                    ),
                    {"section": section_id},
                )
            ).scalars()
        )
        registers: dict[uuid.UUID, list[uuid.UUID]] = {}
        for student_id, sec in (
            await session.execute(
                text(
                    "SELECT e.student_id, e.section_id FROM enrolments e"
                    " JOIN sections s ON s.id = e.section_id"
                    " WHERE s.school_id = :school AND s.academic_year_id = :year"
                ),
                {**one, "year": six.academic_year_id},
            )
        ).all():
            registers.setdefault(sec, []).append(student_id)
        sections = (
            await session.execute(
                text(
                    "SELECT c.name, s.name FROM sections s JOIN classes c ON c.id = s.class_id"
                    " WHERE s.school_id = :school AND s.name <> 'BENCH'"
                ),
                one,
            )
        ).all()
        class_six = six.class_id
    assert len(pupils) == SECTION, len(pupils)
    return {
        "school_id": school_id,
        "timezone": school.timezone,
        "section_id": section_id,
        "class_six": class_six,
        "pupils": pupils,
        "teacher": tokens[DEMO_TEACHER_PHONE],
        "admin": tokens["+919800000001"],
        "admin_id": admin.id,
        "registers": registers,
        "sections": sections,
    }


def _bulk_mark(port: int, ctx: dict[str, Any]) -> Row:
    """A teacher sends today's register again and again, a few children absent each
    time (so marks change, alerts are queued and cancelled)."""
    rng = random.Random(1)
    today = school_today(ctx["timezone"])
    headers = {"Authorization": f"Bearer {ctx['teacher']}"}
    latencies: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for n in range(MARK_REQUESTS + 20):
            body = {
                "section_id": str(ctx["section_id"]),
                "date": today.isoformat(),
                "marks": [
                    {"student_id": str(s), "code": "A" if rng.random() < 0.06 else "P"}
                    for s in ctx["pupils"]
                ],
            }
            began = time.perf_counter()
            answer = client.post(
                "/attendance/bulk",
                json=body,
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            elapsed = (time.perf_counter() - began) * 1000
            assert answer.status_code == 200, answer.text
            if n >= 20:  # warm-up
                latencies.append(elapsed)
    p50, p99 = statistics.median(latencies), _pct(latencies, 99)
    return Row(
        "bulk mark one section of 60 (ms)",
        f"p50 {p50:.1f} / p99 {p99:.1f}",
        "-",
        "-",
        "p50 < 25, p99 < 60",
        p50 < 25 and p99 < 60,
    )


async def _student_list(port: int, ctx: dict[str, Any], seconds: float) -> Row:
    headers = {"Authorization": f"Bearer {ctx['admin']}"}
    path = f"/students?class_id={ctx['class_six']}&q=sha&status=active&sort=name&limit=50"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        page = client.get(path, headers=headers).json()
        assert page["total"] > 50, page
    result = await run_load(
        "127.0.0.1", port, path, connections=1, seconds=seconds, headers=headers
    )
    assert result.errors == 0
    p99 = result.percentile(99)
    return Row(
        "student list: class + name search, page of 50 (ms)",
        f"p50 {result.p50:.1f} / p99 {p99:.1f}",
        "-",
        "-",
        "p99 < 30",
        p99 < 30,
    )


def _roster_csv(ctx: dict[str, Any]) -> bytes:
    rng = random.Random(5)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for n in range(IMPORT_ROWS):
        class_name, section_name = rng.choice(ctx["sections"])
        writer.writerow(
            [
                f"IMP/{n:05d}",
                f"Imported Student {n}",
                "12/05/2016",
                rng.choice("MF"),
                "general",
                "",
                class_name,
                section_name,
                "",
                "",
                f"Parent {n}",
                "father",
                f"97{n:08d}",
                "yes",
                "en",
                f"Other Parent {n}",
                "mother",
                f"96{n:08d}",
                "no",
                "hi",
            ]
        )
    return out.getvalue().encode()


async def _import(port: int, ctx: dict[str, Any], servers: Servers) -> list[Row]:
    data = _roster_csv(ctx)
    headers = {"Authorization": f"Bearer {ctx['admin']}"}
    files = {"file": ("roster.csv", data, "text/csv")}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        began = time.perf_counter()
        preview = client.post("/students/import/preview", files=files, headers=headers)
        preview_s = time.perf_counter() - began
        assert preview.status_code == 200 and preview.json()["errors"] == [], preview.text[:500]
        began = time.perf_counter()
        started = client.post("/students/import", files=files, headers=headers)
        assert started.status_code == 202, started.text[:500]
        job_id = started.json()["job_id"]
        settings = servers.settings()
        engine = create_engine(settings, role="bench", pooled=False)
        try:
            sessionmaker = create_sessionmaker(engine)
            async with sessionmaker() as session:
                outbox_id = (
                    await session.execute(
                        select(OutboxJob.id).where(
                            OutboxJob.dedupe_key == f"students.import:{job_id}"
                        )
                    )
                ).scalar_one()
            # The worker's code path, run here: the bench runs no worker.
            assert await execute_outbox_job(sessionmaker, settings, outbox_id) == "done"
        finally:
            await engine.dispose()
        commit_s = time.perf_counter() - began
        done = client.get(f"/jobs/{job_id}", headers=headers).json()
        assert done["status"] == "done" and done["result"]["students"] == IMPORT_ROWS, done
    return [
        Row(
            f"import preview, {IMPORT_ROWS:,} rows (s)",
            f"{preview_s:.2f}",
            "-",
            "-",
            "< 10 s",
            preview_s < 10,
        ),
        Row(
            f"import commit, {IMPORT_ROWS:,} rows: request + job (s)",
            f"{commit_s:.2f}",
            "-",
            "-",
            "< 10 s",
            commit_s < 10,
        ),
    ]


def _monthly(port: int, ctx: dict[str, Any]) -> Row:
    today = school_today(ctx["timezone"])
    month = f"{today:%Y-%m}"
    headers = {"Authorization": f"Bearer {ctx['admin']}"}
    latencies = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for n in range(60):
            began = time.perf_counter()
            answer = client.get(
                f"/attendance/reports/monthly?section_id={ctx['section_id']}&month={month}",
                headers=headers,
            )
            if n >= 10:
                latencies.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 200 and len(answer.json()["rows"]) == SECTION
    p50, p99 = statistics.median(latencies), _pct(latencies, 99)
    return Row(
        "monthly report, one section (ms)",
        f"p50 {p50:.1f} / p99 {p99:.1f}",
        "-",
        "-",
        "< 100",
        p99 < 100,
    )


async def _whole_school(servers: Servers, ctx: dict[str, Any]) -> Row:
    """Every section of the school marked for today through the attendance service
    (what the endpoint runs for each section, minus HTTP: checks, the upsert, absence
    alerts into the outbox, the audit entry) against a raw asyncpg upsert of the same
    rows. Alternating; today's marks and alerts are cleared (untimed) before each."""
    settings = servers.settings()
    rng = random.Random(9)
    registers = [
        (section, [(s, "A" if rng.random() < 0.06 else "P") for s in pupils])
        for section, pupils in ctx["registers"].items()
    ]
    marks = sum(len(m) for _, m in registers)
    principal = Principal(
        user_id=ctx["admin_id"],
        school_id=ctx["school_id"],
        roles=("admin",),
        permissions=frozenset(str(p) for p in ALL),
        epoch=0,
    )
    actor = Actor(school_id=ctx["school_id"], user_id=ctx["admin_id"], ip=None, request_id=None)
    today = school_today(ctx["timezone"])
    students = [s for _, m in registers for s, _ in m]
    sections = [sec for sec, m in registers for _ in m]
    codes = [c for _, m in registers for _, c in m]

    engine = create_engine(settings, role="bench", pooled=False)
    sessionmaker = create_sessionmaker(engine)
    raw = await asyncpg.connect(libpq_url(settings.database_url))
    ours: list[float] = []
    bare: list[float] = []
    alerts = 0

    async def clear() -> None:
        await raw.execute("DELETE FROM attendance_records WHERE date = $1", today)
        await raw.execute("DELETE FROM outbox_jobs WHERE dedupe_key LIKE 'absence:%'")
        await raw.execute("DELETE FROM whatsapp_messages WHERE purpose = 'absence_alert'")

    try:
        for n in range(8):
            await clear()
            if n % 2 == 0:
                began = time.perf_counter()
                async with transaction(sessionmaker) as session:
                    result = await attendance.mark_registers(
                        session,
                        actor,
                        principal,
                        settings,
                        day=today,
                        period=None,
                        registers=registers,
                    )
                ours.append(time.perf_counter() - began)
                assert result.changed == marks
                alerts = result.alerts_queued
            else:
                began = time.perf_counter()
                async with raw.transaction():
                    await raw.execute(
                        "INSERT INTO attendance_records"
                        " (student_id, date, period, school_id, section_id, code, marked_by)"
                        " SELECT s, $2, 0, $3, sec, c, $4"
                        " FROM unnest($1::uuid[], $5::uuid[], $6::text[]) AS t(s, sec, c)"
                        " ON CONFLICT (student_id, date, period) DO UPDATE"
                        " SET code = EXCLUDED.code, section_id = EXCLUDED.section_id,"
                        " marked_by = EXCLUDED.marked_by, marked_at = now()",
                        students,
                        today,
                        ctx["school_id"],
                        ctx["admin_id"],
                        sections,
                        codes,
                    )
                bare.append(time.perf_counter() - began)
        await clear()
    finally:
        await raw.close()
        await engine.dispose()
    ratio = statistics.median(ours) / statistics.median(bare)
    return Row(
        f"whole school for a day, {marks:,} marks, {alerts:,} alerts (ms)",
        f"{statistics.median(ours) * 1000:.0f}",
        f"{statistics.median(bare) * 1000:.0f}",
        f"{ratio:.2f}x",
        "<= 2.0x",
        ratio <= 2.0,
    )
