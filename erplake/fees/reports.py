"""Fee reports: collection by day, by fee head and by class over a date range;
what is outstanding per student with its age; defaulters.

Each report is one set-based query. Collection counts money when it moved: a payment
on the day it was received, a refund (negative) on the day it was booked, in the
school's timezone. Money paid against an invoice is credited to its lines in order
(fee heads by code, the late fee last), so a head is reported as collected only once
its share of the invoice is paid; money no invoice needed yet is the "advance" row.
Outstanding figures come from the ledger as it stood at the end of the `as_of` day,
aged by days past the invoice's due date.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.core.clock import school_today
from erplake.core.errors import Unprocessable
from erplake.core.money import Paise
from erplake.core.pagination import PageParams
from erplake.core.schemas import Schema
from erplake.models.school import School

MAX_RANGE_DAYS = 366
BUCKETS = ("not_due", "days_0_30", "days_31_60", "days_61_90", "days_over_90")


class BadRange(Unprocessable):
    code = "bad_date_range"


class Table(Schema):
    """A report as rows for a CSV or XLSX export; `money` names the columns in paise,
    written out in rupees."""

    name: str
    columns: list[str]
    money: list[str]
    rows: list[list[Any]]


# ---- shapes ---------------------------------------------------------------------------


class DayCollection(Schema):
    date: date
    payments: int
    cash: Paise
    cheque: Paise
    upi: Paise
    bank_transfer: Paise
    online: Paise
    collected: Paise
    refunded: Paise
    net: int


class CollectionByDay(Schema):
    from_date: date
    to_date: date
    days: list[DayCollection]
    collected: Paise
    refunded: Paise
    net: int


class HeadCollection(Schema):
    head_id: uuid.UUID | None
    code: str | None
    name: str
    """The fee head; "Late fee"; or "Advance" for money no invoice needed yet."""
    net: int


class CollectionByHead(Schema):
    from_date: date
    to_date: date
    heads: list[HeadCollection]
    net: int


class ClassCollection(Schema):
    class_id: uuid.UUID | None
    class_name: str
    """"Not enrolled" for students with no section in the payment's year."""
    students: int
    payments: int
    collected: Paise
    refunded: Paise
    net: int


class CollectionByClass(Schema):
    from_date: date
    to_date: date
    classes: list[ClassCollection]
    collected: Paise
    refunded: Paise
    net: int


class Ageing(Schema):
    not_due: Paise
    days_0_30: Paise
    days_31_60: Paise
    days_61_90: Paise
    days_over_90: Paise
    total: Paise


class StudentOutstanding(Ageing):
    student_id: uuid.UUID
    name: str
    admission_number: str
    class_section: str | None
    invoices: int


class Outstanding(Schema):
    as_of: date
    students: int
    totals: Ageing
    items: list[StudentOutstanding]
    total: int
    limit: int
    offset: int


class Defaulter(Schema):
    student_id: uuid.UUID
    name: str
    admission_number: str
    class_section: str | None
    guardian_name: str | None
    guardian_phone: str | None
    overdue: Paise
    invoices: int
    oldest_due_on: date
    days_overdue: int


class Defaulters(Schema):
    as_of: date
    overdue: Paise
    items: list[Defaulter]
    total: int
    limit: int
    offset: int


# ---- helpers --------------------------------------------------------------------------


async def school_timezone(session: AsyncSession, *, school_id: uuid.UUID) -> str:
    tz = await session.scalar(select(School.timezone).where(School.id == school_id))
    return tz or "Asia/Kolkata"


def check_range(from_date: date, to_date: date) -> None:
    if from_date > to_date:
        raise BadRange("`from` must not be after `to`")
    if (to_date - from_date).days >= MAX_RANGE_DAYS:
        raise BadRange(f"a report covers at most {MAX_RANGE_DAYS} days")


def _range(school_id: uuid.UUID, tz: str, from_date: date, to_date: date) -> dict[str, Any]:
    return {
        "school_id": school_id,
        "tz": tz,
        "from_date": from_date,
        "to_date": to_date,
        "end_date": to_date + timedelta(days=1),
    }


# Refund entries booked within [from, to] in the school's timezone.
_REFUNDS_IN_RANGE = """
    e.kind = 'refund' AND e.school_id = :school_id
    AND e.created_at >= CAST(CAST(:from_date AS date) AS timestamp) AT TIME ZONE CAST(:tz AS text)
    AND e.created_at < CAST(CAST(:end_date AS date) AS timestamp) AT TIME ZONE CAST(:tz AS text)
"""

# ---- collection -------------------------------------------------------------------------

_BY_DAY = text(
    f"""
    WITH moves AS (
        SELECT p.received_on AS day, p.method, p.amount AS collected, 0 AS refunded, 1 AS n
        FROM payments p
        WHERE p.school_id = :school_id
          AND p.received_on BETWEEN CAST(:from_date AS date) AND CAST(:to_date AS date)
        UNION ALL
        SELECT CAST(e.created_at AT TIME ZONE CAST(:tz AS text) AS date), p.method, 0,
               e.amount, 0
        FROM ledger_entries e JOIN payments p ON p.id = e.payment_id
        WHERE {_REFUNDS_IN_RANGE}
    )
    SELECT day, sum(n) AS payments,
           coalesce(sum(collected) FILTER (WHERE method = 'cash'), 0) AS cash,
           coalesce(sum(collected) FILTER (WHERE method = 'cheque'), 0) AS cheque,
           coalesce(sum(collected) FILTER (WHERE method = 'upi'), 0) AS upi,
           coalesce(sum(collected) FILTER (WHERE method = 'bank_transfer'), 0) AS bank_transfer,
           coalesce(sum(collected) FILTER (WHERE method IN ('razorpay', 'stripe')), 0)
               AS online,
           sum(collected) AS collected, sum(refunded) AS refunded
    FROM moves GROUP BY day ORDER BY day
    """  # noqa: S608 - fixed SQL fragments; values are bound
)


async def collection_by_day(
    session: AsyncSession, *, school_id: uuid.UUID, from_date: date, to_date: date
) -> CollectionByDay:
    check_range(from_date, to_date)
    tz = await school_timezone(session, school_id=school_id)
    days = [
        DayCollection(
            date=r.day,
            payments=int(r.payments),
            cash=int(r.cash),
            cheque=int(r.cheque),
            upi=int(r.upi),
            bank_transfer=int(r.bank_transfer),
            online=int(r.online),
            collected=int(r.collected),
            refunded=int(r.refunded),
            net=int(r.collected) - int(r.refunded),
        )
        for r in await session.execute(_BY_DAY, _range(school_id, tz, from_date, to_date))
    ]
    collected = sum(d.collected for d in days)
    refunded = sum(d.refunded for d in days)
    return CollectionByDay(
        from_date=from_date,
        to_date=to_date,
        days=days,
        collected=collected,
        refunded=refunded,
        net=collected - refunded,
    )


_BY_HEAD = text(
    """
    WITH moves AS (
        -- Money into (payment) or back out of (refund) each invoice, dated.
        SELECT e.invoice_id, -e.amount AS amount,
               CASE WHEN e.kind = 'payment' THEN p.received_on
                    ELSE CAST(e.created_at AT TIME ZONE CAST(:tz AS text) AS date) END AS day
        FROM ledger_entries e JOIN payments p ON p.id = e.payment_id
        WHERE e.school_id = :school_id AND e.kind IN ('payment', 'refund')
    ), per_invoice AS (
        SELECT invoice_id,
               coalesce(sum(amount) FILTER (WHERE day < CAST(:from_date AS date)), 0) AS before,
               coalesce(sum(amount) FILTER (WHERE day <= CAST(:to_date AS date)), 0) AS through
        FROM moves
        WHERE invoice_id IS NOT NULL
        GROUP BY invoice_id
        HAVING bool_or(day BETWEEN CAST(:from_date AS date) AND CAST(:to_date AS date))
    ), lines AS (
        SELECT l.invoice_id, l.head_id, l.amount - l.concession AS net,
               sum(l.amount - l.concession) OVER (
                   PARTITION BY l.invoice_id ORDER BY l.kind = 'late_fee', h.code, l.id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
        FROM invoice_lines l
        JOIN per_invoice pi ON pi.invoice_id = l.invoice_id
        LEFT JOIN fee_heads h ON h.id = l.head_id
    ), credited AS (
        -- What the invoice's cumulative payments cover of each line, at the range's
        -- end less at its start.
        SELECT l.head_id,
               LEAST(l.net, GREATEST(0, pi.through - (l.upto - l.net)))
               - LEAST(l.net, GREATEST(0, pi.before - (l.upto - l.net))) AS amount
        FROM lines l JOIN per_invoice pi ON pi.invoice_id = l.invoice_id
    ), advance AS (
        SELECT coalesce(sum(amount), 0) AS amount FROM moves
        WHERE invoice_id IS NULL
          AND day BETWEEN CAST(:from_date AS date) AND CAST(:to_date AS date)
    )
    SELECT h.id AS head_id, h.code, coalesce(h.name, 'Late fee') AS name,
           sum(c.amount) AS net, 0 AS position
    FROM credited c LEFT JOIN fee_heads h ON h.id = c.head_id
    GROUP BY h.id, h.code, h.name
    HAVING sum(c.amount) <> 0
    UNION ALL
    SELECT NULL, NULL, 'Advance', amount, 1 FROM advance WHERE amount <> 0
    ORDER BY position, code NULLS LAST
    """
)


async def collection_by_head(
    session: AsyncSession, *, school_id: uuid.UUID, from_date: date, to_date: date
) -> CollectionByHead:
    check_range(from_date, to_date)
    tz = await school_timezone(session, school_id=school_id)
    heads = [
        HeadCollection(head_id=r.head_id, code=r.code, name=r.name, net=int(r.net))
        for r in await session.execute(_BY_HEAD, _range(school_id, tz, from_date, to_date))
    ]
    return CollectionByHead(
        from_date=from_date, to_date=to_date, heads=heads, net=sum(h.net for h in heads)
    )


_BY_CLASS = text(
    f"""
    WITH moves AS (
        SELECT p.student_id, p.academic_year_id, p.amount AS collected, 0 AS refunded, 1 AS n
        FROM payments p
        WHERE p.school_id = :school_id
          AND p.received_on BETWEEN CAST(:from_date AS date) AND CAST(:to_date AS date)
        UNION ALL
        SELECT p.student_id, p.academic_year_id, 0, e.amount, 0
        FROM ledger_entries e JOIN payments p ON p.id = e.payment_id
        WHERE {_REFUNDS_IN_RANGE}
    )
    SELECT c.id AS class_id, coalesce(c.name, 'Not enrolled') AS class_name,
           count(DISTINCT m.student_id) AS students, sum(m.n) AS payments,
           sum(m.collected) AS collected, sum(m.refunded) AS refunded
    FROM moves m
    LEFT JOIN enrolments en ON en.student_id = m.student_id
         AND en.academic_year_id = m.academic_year_id
    LEFT JOIN sections s ON s.id = en.section_id
    LEFT JOIN classes c ON c.id = s.class_id
    GROUP BY c.id, c.name, c.sequence
    ORDER BY c.sequence NULLS LAST
    """  # noqa: S608 - fixed SQL fragments; values are bound
)


async def collection_by_class(
    session: AsyncSession, *, school_id: uuid.UUID, from_date: date, to_date: date
) -> CollectionByClass:
    check_range(from_date, to_date)
    tz = await school_timezone(session, school_id=school_id)
    classes = [
        ClassCollection(
            class_id=r.class_id,
            class_name=r.class_name,
            students=int(r.students),
            payments=int(r.payments),
            collected=int(r.collected),
            refunded=int(r.refunded),
            net=int(r.collected) - int(r.refunded),
        )
        for r in await session.execute(_BY_CLASS, _range(school_id, tz, from_date, to_date))
    ]
    collected = sum(c.collected for c in classes)
    refunded = sum(c.refunded for c in classes)
    return CollectionByClass(
        from_date=from_date,
        to_date=to_date,
        classes=classes,
        collected=collected,
        refunded=refunded,
        net=collected - refunded,
    )


# ---- outstanding and defaulters ---------------------------------------------------------

# Each invoice's balance at the end of the as-of day, from its entries, with its age.
_OWED = """
    WITH owed AS (
        SELECT e.invoice_id, sum(e.amount) AS balance
        FROM ledger_entries e
        WHERE e.school_id = :school_id AND e.invoice_id IS NOT NULL
          AND e.created_at
              < CAST(CAST(:end_date AS date) AS timestamp) AT TIME ZONE CAST(:tz AS text)
        GROUP BY e.invoice_id
        HAVING sum(e.amount) > 0
    ), placed AS (
        -- Each student's section this year: the class filters are on where they are now.
        SELECT en.student_id, sec.id AS section_id, sec.class_id
        FROM enrolments en
        JOIN academic_years y ON y.id = en.academic_year_id AND y.is_current
        JOIN sections sec ON sec.id = en.section_id
        WHERE en.school_id = :school_id
    ), aged AS (
        SELECT i.student_id, i.due_on, o.balance,
               CAST(:as_of AS date) - i.due_on AS days
        FROM owed o
        JOIN invoices i ON i.id = o.invoice_id
        LEFT JOIN placed pl ON pl.student_id = i.student_id
        WHERE (CAST(:section_id AS uuid) IS NULL OR pl.section_id = CAST(:section_id AS uuid))
          AND (CAST(:class_id AS uuid) IS NULL OR pl.class_id = CAST(:class_id AS uuid))
    )
"""

_STUDENT_LABELS = """
    JOIN students st ON st.id = x.student_id
    LEFT JOIN academic_years y ON y.school_id = st.school_id AND y.is_current
    LEFT JOIN enrolments en ON en.student_id = st.id AND en.academic_year_id = y.id
    LEFT JOIN sections sec ON sec.id = en.section_id
    LEFT JOIN classes c ON c.id = sec.class_id
"""

_OUTSTANDING = text(
    _OWED  # noqa: S608 - fixed SQL fragments; values are bound
    + f"""
    , per_student AS (
        SELECT student_id, count(*) AS invoices,
               coalesce(sum(balance) FILTER (WHERE days < 0), 0) AS not_due,
               coalesce(sum(balance) FILTER (WHERE days BETWEEN 0 AND 30), 0) AS days_0_30,
               coalesce(sum(balance) FILTER (WHERE days BETWEEN 31 AND 60), 0) AS days_31_60,
               coalesce(sum(balance) FILTER (WHERE days BETWEEN 61 AND 90), 0) AS days_61_90,
               coalesce(sum(balance) FILTER (WHERE days > 90), 0) AS days_over_90,
               sum(balance) AS total
        FROM aged GROUP BY student_id
    ), page AS (
        SELECT x.*, st.name, st.admission_number, c.name AS class_name,
               sec.name AS section_name
        FROM per_student x {_STUDENT_LABELS}
        ORDER BY x.total DESC, st.name, st.id
        LIMIT :limit OFFSET :offset
    ), totals AS (
        -- Whole-list figures, present even for a page past the end.
        SELECT count(*) AS students, coalesce(sum(not_due), 0) AS all_not_due,
               coalesce(sum(days_0_30), 0) AS all_0_30,
               coalesce(sum(days_31_60), 0) AS all_31_60,
               coalesce(sum(days_61_90), 0) AS all_61_90,
               coalesce(sum(days_over_90), 0) AS all_over_90,
               coalesce(sum(total), 0) AS all_total
        FROM per_student
    )
    SELECT totals.*, page.* FROM totals LEFT JOIN page ON true
    ORDER BY page.total DESC, page.name, page.student_id
    """  # noqa: S608 - fixed SQL fragments; values are bound
)

_DEFAULTERS = text(
    _OWED  # noqa: S608 - fixed SQL fragments; values are bound
    + f"""
    , x AS (
        SELECT student_id, count(*) AS invoices, sum(balance) AS overdue,
               min(due_on) AS oldest_due_on, max(days) AS days_overdue
        FROM aged
        WHERE days >= CAST(:min_days AS integer)
        GROUP BY student_id
    ), page AS (
        SELECT x.*, st.name, st.admission_number, c.name AS class_name,
               sec.name AS section_name, g.name AS guardian_name, g.phone AS guardian_phone
        FROM x {_STUDENT_LABELS}
        LEFT JOIN LATERAL (
            SELECT g.name, g.phone
            FROM student_guardians sg JOIN guardians g ON g.id = sg.guardian_id
            WHERE sg.student_id = x.student_id AND g.is_active
            ORDER BY sg.is_primary DESC, g.name LIMIT 1
        ) g ON true
        ORDER BY x.days_overdue DESC, x.overdue DESC, st.name, st.id
        LIMIT :limit OFFSET :offset
    ), totals AS (
        SELECT count(*) AS students, coalesce(sum(overdue), 0) AS all_overdue FROM x
    )
    SELECT totals.*, page.* FROM totals LEFT JOIN page ON true
    ORDER BY page.days_overdue DESC, page.overdue DESC, page.name, page.student_id
    """  # noqa: S608 - fixed SQL fragments; values are bound
)


def _label(class_name: str | None, section_name: str | None) -> str | None:
    return f"{class_name}-{section_name}" if class_name and section_name else None


async def _owed_params(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    as_of: date | None,
    class_id: uuid.UUID | None,
    section_id: uuid.UUID | None,
    page: PageParams | None,
) -> dict[str, Any]:
    tz = await school_timezone(session, school_id=school_id)
    as_of = as_of or school_today(tz)
    return {
        "school_id": school_id,
        "tz": tz,
        "as_of": as_of,
        "end_date": as_of + timedelta(days=1),
        "class_id": class_id,
        "section_id": section_id,
        # An export is the whole list.
        "limit": page.limit if page else None,
        "offset": page.offset if page else 0,
    }


async def outstanding(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    as_of: date | None,
    page: PageParams | None,
    class_id: uuid.UUID | None = None,
    section_id: uuid.UUID | None = None,
) -> Outstanding:
    """What each student owed at the end of `as_of` (default today), by age: not yet
    due, 0–30, 31–60, 61–90 and over 90 days past the due date. Largest first."""
    params = await _owed_params(
        session,
        school_id=school_id,
        as_of=as_of,
        class_id=class_id,
        section_id=section_id,
        page=page,
    )
    rows = (await session.execute(_OUTSTANDING, params)).all()
    whole = rows[0]
    totals = Ageing(
        not_due=int(whole.all_not_due),
        days_0_30=int(whole.all_0_30),
        days_31_60=int(whole.all_31_60),
        days_61_90=int(whole.all_61_90),
        days_over_90=int(whole.all_over_90),
        total=int(whole.all_total),
    )
    students = int(whole.students)
    return Outstanding(
        as_of=params["as_of"],
        students=students,
        totals=totals,
        items=[
            StudentOutstanding(
                student_id=r.student_id,
                name=r.name,
                admission_number=r.admission_number,
                class_section=_label(r.class_name, r.section_name),
                invoices=int(r.invoices),
                not_due=int(r.not_due),
                days_0_30=int(r.days_0_30),
                days_31_60=int(r.days_31_60),
                days_61_90=int(r.days_61_90),
                days_over_90=int(r.days_over_90),
                total=int(r.total),
            )
            for r in rows
            if r.student_id is not None
        ],
        total=students,
        limit=params["limit"] or students,
        offset=params["offset"],
    )


async def defaulters(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    as_of: date | None,
    page: PageParams | None,
    min_days: int = 1,
    class_id: uuid.UUID | None = None,
    section_id: uuid.UUID | None = None,
) -> Defaulters:
    """Students with a balance at least `min_days` past its due date at the end of
    `as_of`, longest overdue first, with a guardian to call."""
    params = await _owed_params(
        session,
        school_id=school_id,
        as_of=as_of,
        class_id=class_id,
        section_id=section_id,
        page=page,
    )
    rows = (await session.execute(_DEFAULTERS, {**params, "min_days": min_days})).all()
    count = int(rows[0].students)
    return Defaulters(
        as_of=params["as_of"],
        overdue=int(rows[0].all_overdue),
        items=[
            Defaulter(
                student_id=r.student_id,
                name=r.name,
                admission_number=r.admission_number,
                class_section=_label(r.class_name, r.section_name),
                guardian_name=r.guardian_name,
                guardian_phone=r.guardian_phone,
                overdue=int(r.overdue),
                invoices=int(r.invoices),
                oldest_due_on=r.oldest_due_on,
                days_overdue=int(r.days_overdue),
            )
            for r in rows
            if r.student_id is not None
        ],
        total=count,
        limit=params["limit"] or count,
        offset=params["offset"],
    )


# ---- as tables, for exports --------------------------------------------------------------


def day_table(report: CollectionByDay) -> Table:
    money = ["cash", "cheque", "upi", "bank_transfer", "online", "collected", "refunded", "net"]
    return Table(
        name=f"collection-by-day-{report.from_date}-{report.to_date}",
        columns=["date", "payments", *money],
        money=money,
        rows=[
            [d.date.isoformat(), d.payments, *(getattr(d, m) for m in money)] for d in report.days
        ],
    )


def head_table(report: CollectionByHead) -> Table:
    return Table(
        name=f"collection-by-head-{report.from_date}-{report.to_date}",
        columns=["code", "head", "net"],
        money=["net"],
        rows=[[h.code, h.name, h.net] for h in report.heads],
    )


def class_table(report: CollectionByClass) -> Table:
    return Table(
        name=f"collection-by-class-{report.from_date}-{report.to_date}",
        columns=["class", "students", "payments", "collected", "refunded", "net"],
        money=["collected", "refunded", "net"],
        rows=[
            [c.class_name, c.students, c.payments, c.collected, c.refunded, c.net]
            for c in report.classes
        ],
    )


def outstanding_table(report: Outstanding) -> Table:
    return Table(
        name=f"outstanding-{report.as_of}",
        columns=["admission_number", "name", "class", "invoices", *BUCKETS, "total"],
        money=[*BUCKETS, "total"],
        rows=[
            [
                s.admission_number,
                s.name,
                s.class_section,
                s.invoices,
                *(getattr(s, b) for b in BUCKETS),
                s.total,
            ]
            for s in report.items
        ],
    )


def defaulters_table(report: Defaulters) -> Table:
    return Table(
        name=f"defaulters-{report.as_of}",
        columns=[
            "admission_number",
            "name",
            "class",
            "guardian",
            "phone",
            "invoices",
            "oldest_due_on",
            "days_overdue",
            "overdue",
        ],
        money=["overdue"],
        rows=[
            [
                d.admission_number,
                d.name,
                d.class_section,
                d.guardian_name,
                d.guardian_phone,
                d.invoices,
                d.oldest_due_on.isoformat(),
                d.days_overdue,
                d.overdue,
            ]
            for d in report.items
        ],
    )
