"""Issue: fees. Invoice generation for a whole school of 20,000 students, one
instalment, through the job (`fees.generate_invoices` run by the outbox runner: the
candidates, concessions computed in SQL, numbering, invoices, lines, ledger entries,
progress reports, audit) against a raw `INSERT … SELECT` of the same invoices and
lines. Targets: at most 2.0× the raw statements, and under 10 s.

Every class has a structure of three heads split into quarters; a tenth of the
students are siblings (10% off tuition) and one in a hundred has an RTE seat (100%
off), so the concession SQL has work to do. Runs alternate; the invoices are deleted
(untimed) before each.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import asyncpg
from sqlalchemy import select, text

from bench.common import Row, Servers
from erplake.audit.service import Actor
from erplake.core.db import create_engine, create_sessionmaker, libpq_url, transaction
from erplake.core.jobs import execute_outbox_job
from erplake.demo.seed import seed_demo_school
from erplake.fees import invoicing, setup
from erplake.fees.schemas import (
    ConcessionIn,
    FeeHeadIn,
    GenerateIn,
    InstalmentPlanIn,
    InvoiceScope,
    StructureIn,
    StructureSplitIn,
)
from erplake.models.outbox import OutboxJob
from erplake.models.school import School

SCHOOL_CODE = "bench-fees"
STUDENTS = 20_000
ROUNDS = 3
TARGET_RATIO = 2.0
TARGET_SECONDS = 10.0

# The same invoices and lines in one statement, as a hand-written bulk load would
# write them: no concessions, numbering, ledger, progress or audit.
_RAW = """
WITH run AS (
    SELECT gen_random_uuid() AS invoice_id, e.student_id, e.section_id, fs.id AS structure_id,
           row_number() OVER () AS n
    FROM enrolments e
    JOIN students st ON st.id = e.student_id AND st.status = 'active'
    JOIN sections sec ON sec.id = e.section_id
    JOIN fee_structures fs
      ON fs.class_id = sec.class_id AND fs.academic_year_id = e.academic_year_id
    WHERE e.school_id = $1 AND e.academic_year_id = $4
), billed AS (
    SELECT r.invoice_id, l.head_id, h.name, l.amount
    FROM run r
    JOIN fee_structure_lines l ON l.structure_id = r.structure_id AND l.instalment_id = $2
    JOIN fee_heads h ON h.id = l.head_id
), totals AS (
    SELECT invoice_id, sum(amount) AS subtotal FROM billed GROUP BY invoice_id
), invoices AS (
    INSERT INTO invoices (id, school_id, student_id, academic_year_id, instalment_id,
                          section_id, number, due_on, issued_at, subtotal)
    SELECT r.invoice_id, $1, r.student_id, $4, $2, r.section_id, 'RAW-' || r.n, $3, now(),
           t.subtotal
    FROM run r JOIN totals t ON t.invoice_id = r.invoice_id
)
INSERT INTO invoice_lines (school_id, invoice_id, kind, head_id, description, amount)
SELECT $1, b.invoice_id, 'fee', b.head_id, b.name, b.amount FROM billed b
"""


async def fees_rows(servers: Servers) -> list[Row]:
    settings = servers.settings()
    began = time.perf_counter()
    await seed_demo_school(
        settings,
        students=STUDENTS,
        code=SCHOOL_CODE,
        section_size=40,
        history_days=1,
        fees=False,
    )
    seeded = time.perf_counter() - began
    engine = create_engine(settings, role="bench", pooled=False)
    sessionmaker = create_sessionmaker(engine)
    raw = await asyncpg.connect(libpq_url(settings.database_url))
    try:
        ctx = await _prepare(sessionmaker)
        # A school's database has statistics; a freshly generated one needs them made.
        await raw.execute("ANALYZE")
        preview_ms = await _preview(sessionmaker, ctx)
        ours, bare, created = await _generation(sessionmaker, settings, raw, ctx)
    finally:
        await raw.close()
        await engine.dispose()
    ratio = ours / bare
    return [
        Row(
            f"generate a school of {STUDENTS:,} students (s)", f"{seeded:.1f}", "-", "-", "-", None
        ),
        Row("invoice run preview, whole school (ms)", f"{preview_ms:.0f}", "-", "-", "-", None),
        Row(
            f"invoice run, {created:,} invoices, job vs INSERT…SELECT (s)",
            f"{ours:.2f}",
            f"{bare:.2f}",
            f"{ratio:.2f}x",
            f"<= {TARGET_RATIO}x, < {TARGET_SECONDS:.0f} s",
            ratio <= TARGET_RATIO and ours < TARGET_SECONDS,
        ),
    ]


async def _prepare(sessionmaker: Any) -> dict[str, Any]:
    """Heads, the year's quarters, a structure per class, concession rules and
    categories, through the set-up service."""
    async with transaction(sessionmaker) as session:
        school_id = (
            await session.execute(select(School.id).where(School.code == SCHOOL_CODE))
        ).scalar_one()
        actor = Actor(school_id=school_id, user_id=None, ip=None, request_id=None)
        heads = {
            code: (
                await setup.create_head(
                    session, actor, school_id=school_id, body=FeeHeadIn(code=code, name=name)
                )
            ).id
            for code, name in (
                ("TUITION", "Tuition fee"),
                ("TRANSPORT", "Transport fee"),
                ("ACTIVITY", "Activity fee"),
            )
        }
        quarters = await setup.plan_instalments(
            session, actor, school_id=school_id, body=InstalmentPlanIn(frequency="quarterly")
        )
        classes = (
            await session.execute(
                text(
                    "SELECT DISTINCT c.id, c.sequence FROM classes c"
                    " JOIN sections s ON s.class_id = c.id JOIN academic_years y"
                    " ON y.id = s.academic_year_id AND y.is_current WHERE c.school_id = :school"
                ),
                {"school": school_id},
            )
        ).all()
        for class_id, sequence in classes:
            await setup.create_structure(
                session,
                actor,
                school_id=school_id,
                body=StructureIn(
                    class_id=class_id,
                    name=f"Class {sequence}",
                    splits=[
                        StructureSplitIn(
                            head_id=heads["TUITION"],
                            annual_amount=2_400_000 + 100_000 * sequence,
                            frequency="quarterly",
                        ),
                        StructureSplitIn(
                            head_id=heads["TRANSPORT"], annual_amount=960_003, frequency="quarterly"
                        ),
                        StructureSplitIn(
                            head_id=heads["ACTIVITY"], annual_amount=200_000, frequency="quarterly"
                        ),
                    ],
                ),
            )
        for category, share in (("sibling", 10), ("rte_ews", 100)):
            await session.execute(
                text(
                    "INSERT INTO student_fee_categories (student_id, category, school_id)"
                    " SELECT id, :category, school_id FROM students"
                    " WHERE school_id = :school AND abs(hashtext(id::text)) % :share = 0"
                ),
                {"category": category, "school": school_id, "share": share},
            )
        for body in (
            ConcessionIn(
                name="Sibling",
                kind="percent",
                percent_bp=1000,
                head_ids=[heads["TUITION"]],
                category="sibling",
                reason="Second child",
            ),
            ConcessionIn(
                name="RTE", kind="percent", percent_bp=10000, category="rte_ews", reason="RTE seat"
            ),
        ):
            made = await setup.create_concession(session, actor, school_id=school_id, body=body)
            await session.execute(
                text("UPDATE fee_concessions SET status = 'approved' WHERE id = :id"),
                {"id": made.id},
            )
        year_id = quarters[0].academic_year_id
        return {
            "school_id": school_id,
            "actor": actor,
            "instalment_id": quarters[0].id,
            "due_on": quarters[0].due_on,
            "year_id": year_id,
        }


async def _preview(sessionmaker: Any, ctx: dict[str, Any]) -> float:
    body = GenerateIn(instalment_id=ctx["instalment_id"], scope=InvoiceScope(school=True))
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        async with transaction(sessionmaker) as session:
            found = await invoicing.preview(session, school_id=ctx["school_id"], body=body)
        timings.append(time.perf_counter() - began)
    assert found.count > 0.95 * STUDENTS, found
    return statistics.median(timings) * 1000


async def _generation(
    sessionmaker: Any, settings: Any, raw: asyncpg.Connection, ctx: dict[str, Any]
) -> tuple[float, float, int]:
    school_id, instalment_id = ctx["school_id"], ctx["instalment_id"]
    body = GenerateIn(instalment_id=instalment_id, scope=InvoiceScope(school=True))

    async def clear() -> None:
        async with raw.transaction():
            await raw.execute("DELETE FROM ledger_entries WHERE school_id = $1", school_id)
            await raw.execute("DELETE FROM invoice_lines WHERE school_id = $1", school_id)
            await raw.execute("DELETE FROM invoices WHERE school_id = $1", school_id)
        await raw.execute("VACUUM ANALYZE invoices, invoice_lines, ledger_entries")

    ours: list[float] = []
    bare: list[float] = []
    created = 0
    for n in range(2 * ROUNDS):
        await clear()
        if n % 2 == 0:
            async with transaction(sessionmaker) as session:
                started = await invoicing.start_generation(
                    session, ctx["actor"], school_id=school_id, body=body
                )
                outbox_id = (
                    await session.execute(
                        select(OutboxJob.id).where(
                            OutboxJob.dedupe_key == f"{invoicing.GENERATE_TASK}:{started.job_id}"
                        )
                    )
                ).scalar_one()
            began = time.perf_counter()
            outcome = await execute_outbox_job(sessionmaker, settings, outbox_id)
            ours.append(time.perf_counter() - began)
            assert outcome == "done", outcome
            created = await raw.fetchval(
                "SELECT count(*) FROM invoices WHERE school_id = $1", school_id
            )
        else:
            began = time.perf_counter()
            await raw.execute(_RAW, school_id, instalment_id, ctx["due_on"], ctx["year_id"])
            bare.append(time.perf_counter() - began)
    await clear()
    return statistics.median(ours), statistics.median(bare), int(created)
