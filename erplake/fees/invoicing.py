"""Invoices: generation for an instalment (preview, then a job), lists, detail,
cancellation and write-off.

Generation is set-based. The candidates — active students enrolled in the
instalment's year, in scope, whose class has a structure billing that instalment, and
who have no invoice for it yet — go with their priced lines into a temporary table in
one statement; then each chunk of invoices, their lines and their 'invoice' and
'concession' ledger entries is one `INSERT … SELECT … ON CONFLICT DO NOTHING`
statement. Concessions are computed in SQL from the approved rules: per line, a
percent rule takes floor(amount × bp / 10000), a fixed rule min(amount, value); rules
stack, capped at the line's amount. An invoice whose concessions cover it whole (RTE)
is issued already `paid`, with total 0.

Runs for one school and year queue on the year's `invoice_counters` row, taken before
the candidates are read: a second run (a double click, a retried job) waits for the
first to commit, then finds those students invoiced and creates nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics import service as academics
from erplake.academics.service import section_label
from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core import jobs, progress
from erplake.core.pagination import PageParams, paginate_rows
from erplake.core.permissions import P
from erplake.core.security import Principal
from erplake.fees import ledger
from erplake.fees.schemas import (
    GenerateIn,
    GenerationPreview,
    GenerationStarted,
    InvoiceDetail,
    InvoiceLineOut,
    InvoiceOut,
    InvoiceScope,
    LedgerEntryOut,
)
from erplake.fees.setup import FeeStudentNotFound, get_instalment
from erplake.models.academics import AcademicYear, SchoolClass, Section
from erplake.models.fees import FeeInstalment, Invoice, InvoiceLine, LedgerEntry
from erplake.models.students import Student
from erplake.students.scopes import student_filter

GENERATE_TASK = "fees.generate_invoices"
GENERATE_KIND = "fees.generate_invoices"
# Invoices per statement (and per progress report).
CHUNK = 10_000

Progress = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class GenerationResult:
    created: int
    total: int
    first_number: str | None
    last_number: str | None
    advance_applied: int = 0  # paise families had paid ahead, put towards these

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "total": self.total,
            "first_number": self.first_number,
            "last_number": self.last_number,
            "advance_applied": self.advance_applied,
        }


# ---- the candidates, in SQL ------------------------------------------------------


def _scope_sql(scope: InvoiceScope) -> tuple[str, dict[str, Any]]:
    if scope.student_id is not None:
        return "e.student_id = CAST(:scope_id AS uuid)", {"scope_id": scope.student_id}
    if scope.section_id is not None:
        return "e.section_id = CAST(:scope_id AS uuid)", {"scope_id": scope.section_id}
    if scope.class_id is not None:
        return "sec.class_id = CAST(:scope_id AS uuid)", {"scope_id": scope.class_id}
    return "true", {}


def _priced_lines_sql(scope: InvoiceScope, *, fresh_only: bool) -> tuple[str, dict[str, Any]]:
    """`WITH … priced AS (…)`: one row per candidate student and billed head, with its
    concession. Parameters :school, :year, :instalment."""
    where, params = _scope_sql(scope)
    fresh = (
        " AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.student_id = e.student_id"
        " AND i.instalment_id = CAST(:instalment AS uuid))"
        if fresh_only
        else ""
    )
    # Only fixed SQL is spliced in (the scope's column); values are bound.
    sql = f"""
    WITH targets AS (
        SELECT e.student_id, e.section_id, fs.id AS structure_id, c.sequence AS class_sequence,
               sec.name AS section_name, e.roll_number, st.name AS student_name
        FROM enrolments e
        JOIN students st ON st.id = e.student_id AND st.status = 'active'
        JOIN sections sec ON sec.id = e.section_id
        JOIN classes c ON c.id = sec.class_id
        JOIN fee_structures fs
          ON fs.class_id = sec.class_id AND fs.academic_year_id = e.academic_year_id
        WHERE e.school_id = CAST(:school AS uuid) AND e.academic_year_id = CAST(:year AS uuid)
          AND {where}{fresh}
    ), billed AS (
        SELECT t.student_id, t.section_id, t.class_sequence, t.section_name, t.roll_number,
               t.student_name, l.head_id, h.name AS description, l.amount
        FROM targets t
        JOIN fee_structure_lines l
          ON l.structure_id = t.structure_id AND l.instalment_id = CAST(:instalment AS uuid)
        JOIN fee_heads h ON h.id = l.head_id AND h.is_active
    ), rules AS (
        SELECT c.student_id, c.kind, c.percent_bp, c.amount, c.head_ids
        FROM fee_concessions c
        WHERE c.school_id = CAST(:school AS uuid) AND c.academic_year_id = CAST(:year AS uuid)
          AND c.status = 'approved' AND c.student_id IS NOT NULL
        UNION ALL
        SELECT sc.student_id, c.kind, c.percent_bp, c.amount, c.head_ids
        FROM fee_concessions c
        JOIN student_fee_categories sc ON sc.category = c.category AND sc.school_id = c.school_id
        WHERE c.school_id = CAST(:school AS uuid) AND c.academic_year_id = CAST(:year AS uuid)
          AND c.status = 'approved' AND c.category IS NOT NULL
    ), priced AS (
        SELECT b.student_id, b.section_id, b.class_sequence, b.section_name, b.roll_number,
               b.student_name, b.head_id, b.description, b.amount,
               LEAST(b.amount, COALESCE(SUM(
                   CASE WHEN r.kind = 'percent' THEN b.amount * r.percent_bp / 10000
                        WHEN r.kind = 'fixed' THEN LEAST(b.amount, r.amount) END), 0))
                 AS concession
        FROM billed b
        LEFT JOIN rules r
          ON r.student_id = b.student_id
         AND (cardinality(r.head_ids) = 0 OR b.head_id = ANY(r.head_ids))
        GROUP BY b.student_id, b.section_id, b.class_sequence, b.section_name, b.roll_number,
                 b.student_name, b.head_id, b.description, b.amount
    )"""  # noqa: S608
    return sql, params


async def _check_scope(session: AsyncSession, *, school_id: uuid.UUID, scope: InvoiceScope) -> None:
    if scope.student_id is not None:
        found = await session.scalar(
            select(Student.id).where(Student.id == scope.student_id, Student.school_id == school_id)
        )
        if found is None:
            raise FeeStudentNotFound("student not found")
    elif scope.section_id is not None:
        await academics.get_section(session, school_id=school_id, section_id=scope.section_id)
    elif scope.class_id is not None:
        await academics.get_class(session, school_id=school_id, class_id=scope.class_id)


async def preview(
    session: AsyncSession, *, school_id: uuid.UUID, body: GenerateIn
) -> GenerationPreview:
    """What a run would create now, computed by the same SQL the run uses; writes
    nothing."""
    instalment = await get_instalment(
        session, school_id=school_id, instalment_id=body.instalment_id
    )
    await _check_scope(session, school_id=school_id, scope=body.scope)
    ctes, params = _priced_lines_sql(body.scope, fresh_only=False)
    row = (
        await session.execute(
            text(
                ctes  # noqa: S608 -- fixed SQL; values are bound
                + """, per_student AS (
                    SELECT student_id, sum(amount) AS subtotal, sum(concession) AS concession
                    FROM priced GROUP BY student_id
                )
                SELECT count(*) FILTER (WHERE i.id IS NULL),
                       coalesce(sum(s.subtotal - s.concession) FILTER (WHERE i.id IS NULL), 0),
                       coalesce(sum(s.concession) FILTER (WHERE i.id IS NULL), 0),
                       count(*) FILTER (WHERE i.id IS NOT NULL)
                FROM per_student s
                LEFT JOIN invoices i
                  ON i.student_id = s.student_id AND i.instalment_id = CAST(:instalment AS uuid)
                """
            ),
            {
                **params,
                "school": school_id,
                "year": instalment.academic_year_id,
                "instalment": instalment.id,
            },
        )
    ).one()
    return GenerationPreview(
        count=row[0], total=int(row[1]), concession=int(row[2]), already_invoiced=row[3]
    )


async def start_generation(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: GenerateIn
) -> GenerationStarted:
    """Check the request, then queue the run; the answer names the job to poll."""
    summary = await preview(session, school_id=school_id, body=body)
    progress_id = await progress.start(
        session,
        school_id=school_id,
        kind=GENERATE_KIND,
        created_by=actor.user_id,
        read_permission=P.fees_manage,
        total=summary.count,
        message="queued",
    )
    await jobs.enqueue(
        session,
        GENERATE_TASK,
        {
            "progress_id": str(progress_id),
            "school_id": str(school_id),
            "instalment_id": str(body.instalment_id),
            "scope": body.scope.model_dump(mode="json"),
            "user_id": None if actor.user_id is None else str(actor.user_id),
            "ip": actor.ip,
            "request_id": actor.request_id,
        },
        school_id=school_id,
        dedupe_key=f"{GENERATE_TASK}:{progress_id}",
    )
    return GenerationStarted(job_id=progress_id, status_url=f"/jobs/{progress_id}", preview=summary)


# ---- the run -----------------------------------------------------------------------


_INSERT_CHUNK = text(
    """
    WITH chunk AS (
        SELECT * FROM fee_run WHERE n > CAST(:lo AS bigint) AND n <= CAST(:hi AS bigint)
    ), per_student AS (
        SELECT n, student_id, section_id, sum(amount) AS subtotal, sum(concession) AS concession
        FROM chunk GROUP BY n, student_id, section_id
    ), new_invoices AS (
        INSERT INTO invoices (school_id, student_id, academic_year_id, instalment_id,
                              section_id, number, status, due_on, issued_at, subtotal,
                              concession)
        SELECT CAST(:school AS uuid), r.student_id, CAST(:year AS uuid),
               CAST(:instalment AS uuid), r.section_id,
               CAST(:prefix AS text)
                 || lpad(CAST(CAST(:base AS bigint) + r.n AS text),
                         greatest(6, length(CAST(CAST(:base AS bigint) + r.n AS text))), '0'),
               CASE WHEN r.subtotal = r.concession THEN 'paid' ELSE 'issued' END,
               CAST(:due_on AS date), now(), r.subtotal, r.concession
        FROM per_student r
        ON CONFLICT (student_id, instalment_id) DO NOTHING
        RETURNING id, student_id, number, subtotal, concession
    ), new_lines AS (
        INSERT INTO invoice_lines (school_id, invoice_id, kind, head_id, description, amount,
                                   concession)
        SELECT CAST(:school AS uuid), ni.id, 'fee', l.head_id, l.description, l.amount,
               l.concession
        FROM new_invoices ni JOIN chunk l ON l.student_id = ni.student_id
    ), new_entries AS (
        INSERT INTO ledger_entries (school_id, student_id, invoice_id, kind, amount, memo,
                                    created_by_id)
        SELECT CAST(:school AS uuid), ni.student_id, ni.id, e.kind, e.amount,
               e.memo || ni.number, CAST(:user_id AS uuid)
        FROM new_invoices ni
        CROSS JOIN LATERAL (VALUES ('invoice', ni.subtotal, 'Invoice '),
                                   ('concession', -ni.concession, 'Concession on '))
             AS e(kind, amount, memo)
        WHERE e.amount <> 0
    )
    SELECT count(*), coalesce(sum(subtotal - concession), 0), min(number), max(number)
    FROM new_invoices
    """
)


# The run's students with money paid ahead (an advance not yet put to an invoice).
_WITH_ADVANCE = text(
    """
    SELECT e.student_id
    FROM ledger_entries e
    WHERE e.school_id = CAST(:school AS uuid) AND e.invoice_id IS NULL
      AND e.kind IN ('payment', 'refund')
      AND e.student_id IN (SELECT student_id FROM fee_run)
    GROUP BY e.student_id
    HAVING sum(e.amount) < 0
    ORDER BY e.student_id
    """
)


async def generate_invoices(
    session: AsyncSession,
    actor: Actor | None,
    *,
    school_id: uuid.UUID,
    instalment_id: uuid.UUID,
    scope: InvoiceScope,
    on_progress: Progress | None = None,
) -> GenerationResult:
    """Invoice every candidate of the scope for the instalment, in the caller's
    transaction. Students already invoiced for it are skipped, so a repeat creates
    nothing."""
    instalment = await get_instalment(session, school_id=school_id, instalment_id=instalment_id)
    await _check_scope(session, school_id=school_id, scope=scope)
    year = await session.get_one(AcademicYear, instalment.academic_year_id)
    keys = {"school": school_id, "year": year.id, "instalment": instalment.id}
    # The run's lock: later runs for the year wait here, then see this run's invoices.
    last_number = (
        await session.execute(
            text(
                "INSERT INTO invoice_counters (school_id, academic_year_id)"
                " VALUES (CAST(:school AS uuid), CAST(:year AS uuid))"
                " ON CONFLICT (school_id, academic_year_id)"
                " DO UPDATE SET last_number = invoice_counters.last_number"
                " RETURNING last_number"
            ),
            keys,
        )
    ).scalar_one()
    ctes, params = _priced_lines_sql(scope, fresh_only=True)
    # The priced lines, each with its student's place in the run (class, section, roll
    # number, name): the invoice numbers follow it, and the chunks are ranges of it.
    await session.execute(text("DROP TABLE IF EXISTS fee_run"))
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE fee_run ON COMMIT DROP AS "  # noqa: S608
            + ctes
            + " SELECT dense_rank() OVER (ORDER BY class_sequence, section_name, roll_number,"
            " student_name, student_id) AS n, student_id, section_id, head_id, description,"
            " amount, concession FROM priced"
        ),
        {**params, **keys},
    )
    # Statistics keep the chunks' joins hash joins, whatever the run's size.
    await session.execute(text("ANALYZE fee_run"))
    count = int(
        (await session.execute(text("SELECT coalesce(max(n), 0) FROM fee_run"))).scalar_one()
    )
    if count:
        await session.execute(
            text(
                "UPDATE invoice_counters SET last_number = last_number + :count"
                " WHERE school_id = CAST(:school AS uuid)"
                " AND academic_year_id = CAST(:year AS uuid)"
            ),
            {**keys, "count": count},
        )
    if on_progress is not None:
        await on_progress(0, count)
    created = total = 0
    first: str | None = None
    last: str | None = None
    for lo in range(0, count, CHUNK):
        n, amount, low, high = (
            await session.execute(
                _INSERT_CHUNK,
                {
                    **keys,
                    "prefix": f"INV-{year.name}-",
                    "base": last_number,
                    "due_on": instalment.due_on,
                    "lo": lo,
                    "hi": lo + CHUNK,
                    "user_id": None if actor is None else actor.user_id,
                },
            )
        ).one()
        created += n
        total += int(amount)
        first = first or low
        last = high or last
        if on_progress is not None:
            await on_progress(min(lo + CHUNK, count), count)
    # Families who paid ahead: the advance pays the new invoices (few students).
    applied = 0
    for student_id in (await session.execute(_WITH_ADVANCE, {"school": school_id})).scalars():
        applied += await ledger.apply_advance(
            session, actor, school_id=school_id, student_id=student_id
        )
    result = GenerationResult(
        created=created,
        total=total,
        first_number=first,
        last_number=last,
        advance_applied=applied,
    )
    if actor is not None and created:
        await audit.record(
            session,
            actor,
            action="invoices.generate",
            entity="fee_instalment",
            entity_id=instalment.id,
            changes={
                "instalment": instalment.name,
                "scope": scope.model_dump(mode="json"),
                **result.as_dict(),
            },
        )
    return result


# ---- lists and detail --------------------------------------------------------------


def _invoices_query(principal: Principal) -> Any:
    """Invoices the principal may see (a parent: their children's), with names."""
    return (
        select(
            Invoice,
            Student.name,
            Student.admission_number,
            FeeInstalment.name,
            SchoolClass.name,
            Section.name,
        )
        .join(Student, Student.id == Invoice.student_id)
        .join(FeeInstalment, FeeInstalment.id == Invoice.instalment_id)
        .outerjoin(Section, Section.id == Invoice.section_id)
        .outerjoin(SchoolClass, SchoolClass.id == Section.class_id)
        .where(
            Invoice.school_id == principal.school_id,
            student_filter(principal, Invoice.student_id),
        )
    )


def _invoice_out(row: Any) -> dict[str, Any]:
    invoice, student_name, admission, instalment_name, class_name, section_name = row
    return {
        "id": invoice.id,
        "number": invoice.number,
        "student_id": invoice.student_id,
        "student_name": student_name,
        "admission_number": admission,
        "section_id": invoice.section_id,
        "section_label": None if section_name is None else section_label(class_name, section_name),
        "instalment_id": invoice.instalment_id,
        "instalment_name": instalment_name,
        "due_on": invoice.due_on,
        "status": invoice.status,
        "subtotal": invoice.subtotal,
        "concession": invoice.concession,
        "late_fee": invoice.late_fee,
        "total": invoice.total,
        "paid": invoice.paid,
        "adjusted": invoice.adjusted,
        "balance": invoice.balance,
        "issued_at": invoice.issued_at,
        "status_reason": invoice.status_reason,
    }


async def list_invoices(
    session: AsyncSession,
    principal: Principal,
    *,
    page: PageParams,
    today: date,
    status: str | None = None,
    class_id: uuid.UUID | None = None,
    section_id: uuid.UUID | None = None,
    student_id: uuid.UUID | None = None,
    instalment_id: uuid.UUID | None = None,
    overdue: bool | None = None,
) -> tuple[list[InvoiceOut], int]:
    stmt = _invoices_query(principal)
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    if class_id is not None:
        stmt = stmt.where(Section.class_id == class_id)
    if section_id is not None:
        stmt = stmt.where(Invoice.section_id == section_id)
    if student_id is not None:
        stmt = stmt.where(Invoice.student_id == student_id)
    if instalment_id is not None:
        stmt = stmt.where(Invoice.instalment_id == instalment_id)
    is_overdue = (
        Invoice.status.in_(ledger.OPEN_STATUSES) & (Invoice.balance > 0) & (Invoice.due_on < today)
    )
    if overdue is True:
        stmt = stmt.where(is_overdue)
    elif overdue is False:
        stmt = stmt.where(~is_overdue)
    rows, total = await paginate_rows(
        session, stmt.order_by(Invoice.due_on.desc(), Invoice.number), page
    )
    return [InvoiceOut(**_invoice_out(r)) for r in rows], total


async def get_invoice(
    session: AsyncSession, principal: Principal, *, invoice_id: uuid.UUID
) -> InvoiceDetail:
    """One invoice with its lines and ledger entries; 404 for one the caller may not
    see, as for one that does not exist."""
    # populate_existing: a cancellation or write-off just changed the row behind the
    # session's back (a core UPDATE), and the fresh figures are what the caller wants.
    row = (
        await session.execute(
            _invoices_query(principal)
            .where(Invoice.id == invoice_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise ledger.InvoiceNotFound("invoice not found")
    lines = (
        await session.execute(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice_id)
            .order_by(InvoiceLine.kind, InvoiceLine.description)
        )
    ).scalars()
    entries = (
        await session.execute(
            select(LedgerEntry).where(LedgerEntry.invoice_id == invoice_id).order_by(LedgerEntry.id)
        )
    ).scalars()
    return InvoiceDetail(
        **_invoice_out(row),
        lines=[InvoiceLineOut.model_validate(line) for line in lines],
        entries=[LedgerEntryOut.model_validate(entry) for entry in entries],
    )


async def cancel(
    session: AsyncSession, actor: Actor, principal: Principal, *, invoice_id: uuid.UUID, reason: str
) -> InvoiceDetail:
    """Cancel an invoice nothing was paid against (the ledger reverses it)."""
    await ledger.cancel_invoice(
        session, actor, school_id=principal.school_id, invoice_id=invoice_id, reason=reason
    )
    return await get_invoice(session, principal, invoice_id=invoice_id)


async def write_off(
    session: AsyncSession, actor: Actor, principal: Principal, *, invoice_id: uuid.UUID, reason: str
) -> InvoiceDetail:
    """Forgive what is left of an open invoice."""
    await ledger.write_off(
        session, actor, school_id=principal.school_id, invoice_id=invoice_id, reason=reason
    )
    return await get_invoice(session, principal, invoice_id=invoice_id)
