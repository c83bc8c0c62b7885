"""The money core: payments, refunds, write-offs and cancellations, written as signed
ledger entries together with the invoice figures they move, in the caller's
transaction.

The rules every function here keeps (and `discrepancies` checks):
- a student's balance is the sum of their entries; an invoice's balance the sum of the
  entries naming it; `invoices.paid`, `adjusted`, `late_fee` and `payments.refunded`
  only ever change in the same statement group as the entries that justify them;
- no invoice goes below zero due (the database refuses it too);
- receipt numbers come from `receipt_counters`, gapless per school and academic
  year: a counter payment takes its number inside its own transaction, online
  payments are numbered in batches just after (`number_receipts`); a rolled-back
  numbering gives its numbers back, and concurrent ones wait on the counter row.

Rows are locked in one order — invoices by (due_on, number), then the counter — so
two payments for one family cannot deadlock.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from erplake.academics.service import NoCurrentYear
from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core import jobs
from erplake.core.db import driver_connection, transaction
from erplake.core.errors import Conflict, NotFound, Unprocessable
from erplake.models.fees import (
    PAYMENT_METHODS,
    Invoice,
    LedgerEntry,
    Payment,
)

OPEN_STATUSES = ("issued", "partially_paid")
# The worker job that renders a payment's receipt (`fees.documents` handles it).
RECEIPT_TASK = "fees.render_receipt_pdf"
_INVOICES = cast(Table, Invoice.__table__)


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class InvoiceNotOpen(Conflict):
    code = "invoice_not_open"


@dataclass(frozen=True)
class Allocation:
    invoice_id: uuid.UUID
    amount: int


@dataclass(frozen=True)
class PaymentRecorded:
    payment_id: uuid.UUID
    student_id: uuid.UUID
    # None for an online payment recorded just now: `number_receipts` numbers it.
    receipt_number: int | None
    receipt_label: str | None
    amount: int
    allocations: tuple[Allocation, ...]
    advance: int
    created: bool  # False: this provider payment was already credited (nothing written)


def invoice_status_sql(
    *,
    paid: str = "paid",
    late_fee: str = "late_fee",
    adjusted: str = "adjusted",
    keep: tuple[str, ...] = ("draft", "cancelled", "written_off"),
) -> str:
    """The status an open invoice has given its figures, as SQL over the invoices row.

    Pass the NEW values' expressions when used in an UPDATE's SET (PostgreSQL evaluates
    SET expressions against the old row): e.g. `paid="paid + :take"`. Invoices in a
    `keep` status (drafts, cancelled and written-off ones) keep it."""
    balance = f"(subtotal - concession + ({late_fee}) - ({paid}) - ({adjusted}))"
    kept = ", ".join(f"'{status}'" for status in keep)
    return (
        f"CASE WHEN status IN ({kept}) THEN status"
        f" WHEN {balance} = 0 THEN 'paid'"
        f" WHEN ({paid}) > 0 THEN 'partially_paid'"
        " ELSE 'issued' END"
    )


def _check_amount(amount: int, what: str = "amount") -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise Unprocessable(f"{what} must be a whole number of paise above zero")


async def _earlier_receipt(session: AsyncSession, payment_id: uuid.UUID) -> PaymentRecorded:
    payment = (await session.execute(select(Payment).where(Payment.id == payment_id))).scalar_one()
    rows = (
        await session.execute(
            select(LedgerEntry.invoice_id, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.payment_id == payment.id, LedgerEntry.kind == "payment")
            .group_by(LedgerEntry.invoice_id)
        )
    ).all()
    allocations = tuple(
        Allocation(invoice_id, -amount) for invoice_id, amount in rows if invoice_id is not None
    )
    advance = sum(-amount for invoice_id, amount in rows if invoice_id is None)
    return PaymentRecorded(
        payment_id=payment.id,
        student_id=payment.student_id,
        receipt_number=payment.receipt_number,
        receipt_label=payment.receipt_label,
        amount=payment.amount,
        allocations=allocations,
        advance=advance,
        created=False,
    )


# What a payment needs to know first, in one round trip: the current academic year,
# that the student is in the school, whether this provider payment was credited, and
# the student's open invoices ($5: OPEN_STATUSES; $4 names the ones to fill, or is
# NULL for all), locked in the ledger's order unless there is nothing to do.
_PAYMENT_CONTEXT = """
    WITH context AS (
        SELECT y.id AS year_id, y.name AS year_name,
               EXISTS (SELECT 1 FROM students s
                       WHERE s.id = $2 AND s.school_id = y.school_id) AS student_known,
               (SELECT p.id FROM payments p
                WHERE $3::text IS NOT NULL AND p.provider_payment_id = $3
                  AND p.student_id = $2) AS earlier
        FROM academic_years y
        WHERE y.school_id = $1 AND y.is_current
    ), open AS (
        SELECT i.id, i.balance, i.due_on, i.number
        FROM invoices i
        WHERE i.school_id = $1 AND i.student_id = $2
          AND i.status = ANY($5::text[]) AND i.balance > 0
          AND ($4::uuid[] IS NULL OR i.id = ANY($4::uuid[]))
          AND EXISTS (SELECT 1 FROM context WHERE student_known AND earlier IS NULL)
        ORDER BY i.due_on, i.number
        FOR UPDATE OF i
    )
    SELECT c.year_id, c.year_name, c.student_known, c.earlier,
           -- Plan the payment's writes once per connection, not on every payment: its
           -- statement's custom plans never look cheap enough to PostgreSQL to switch,
           -- and planning it cost more than running it. The write sets it back.
           set_config('plan_cache_mode', 'force_generic_plan', true) AS generic_plans,
           coalesce((SELECT array_agg(o.id ORDER BY o.due_on, o.number) FROM open o),
                    '{}') AS invoice_ids,
           coalesce((SELECT array_agg(o.balance ORDER BY o.due_on, o.number) FROM open o),
                    '{}') AS balances
    FROM context c
"""


def _pay_invoices(takes: str, invoice_ids: str) -> str:
    """SQL paying each invoice of the relation `takes` (invoice_id, take): its `paid`
    grows and its status follows. `invoice_ids` is the array parameter naming them
    (so the invoices are found by their key)."""
    return (
        "UPDATE invoices i SET paid = i.paid + s.take, updated_at = now(),"  # noqa: S608
        " status = CASE WHEN i.subtotal - i.concession + i.late_fee - i.paid - s.take"
        " - i.adjusted = 0 THEN 'paid' ELSE 'partially_paid' END"
        f" FROM {takes} s"  # names from this module only
        f" WHERE i.id = ANY({invoice_ids}::uuid[]) AND i.id = s.invoice_id"
    )


# The payment's writes in one statement. A counter payment takes its receipt number
# here, last before the commit (the receipt is printed at once). An online payment is
# inserted without one and numbered afterwards by `number_receipts` (the receipt job
# runs it), so a webhook never waits on the school's counter row, which every
# numbering holds until it commits. Both draw on `receipt_counters`: one gapless
# sequence.
_NUMBERED = """
    counter AS (
        INSERT INTO receipt_counters (school_id, academic_year_id, last_number)
        VALUES ($1, $2, 1)
        ON CONFLICT (school_id, academic_year_id)
        DO UPDATE SET last_number = receipt_counters.last_number + 1
        RETURNING last_number
    ), numbered AS (
        SELECT last_number AS number,
               $3::text || '/'
                   || lpad(last_number::text, greatest(5, length(last_number::text)), '0')
                   AS label
        FROM counter
    )"""
_UNNUMBERED = """
    numbered AS (SELECT NULL::integer AS number, NULL::text AS label,
                        $3::text AS year_name)"""  # unused: gives $3 a type
_WRITES = (
    """,
    payment AS (
        INSERT INTO payments (id, school_id, student_id, academic_year_id, receipt_number,
                              receipt_label, amount, method, reference, received_on,
                              recorded_by_id, order_id, provider_payment_id)
        SELECT $4, $1, $5, $2, number, label, $6, $7, $8, $9, $10, $11, $12
        FROM numbered
        RETURNING receipt_number, receipt_label
    ), shares AS (
        SELECT invoice_id, take
        FROM unnest($13::uuid[], $14::bigint[]) AS t(invoice_id, take)
    ), entries AS (
        INSERT INTO ledger_entries (school_id, student_id, invoice_id, payment_id, kind,
                                    amount, memo, created_by_id)
        SELECT $1, $5, s.invoice_id, $4, 'payment', -s.take,
               CASE WHEN s.invoice_id IS NULL THEN 'Advance, ' ELSE '' END
                   || coalesce('Receipt ' || p.receipt_label, 'Online payment ' || $12),
               $15
        FROM shares s CROSS JOIN payment p
    ), paid AS ("""  # noqa: S608 - fixed SQL
    + _pay_invoices("shares", "$13")
    + ")"
)
_WRITES_PARAMS = 15


@functools.cache
def _write_payment(*, numbered: bool, audited: bool, receipt_job: bool) -> str:
    """The payment's statement: with its receipt number (a counter payment) or not
    (online), with the audit row and the receipt job when asked for (their
    parameters follow the payment's, in that order): one round trip."""
    sql = "WITH" + (_NUMBERED if numbered else _UNNUMBERED) + _WRITES
    first = _WRITES_PARAMS + 1
    if audited:
        sql += f", audit AS ({audit.insert_sql(first)})"
        first += 8
    if receipt_job:
        sql += f", receipt_job AS ({jobs.enqueue_sql(first)})"
    # The context statement had the transaction plan generically (so this statement
    # is planned once per connection); the rest of the transaction plans as usual.
    restore = (
        "set_config('plan_cache_mode',"
        " (SELECT reset_val FROM pg_settings WHERE name = 'plan_cache_mode'), true)"
    )
    # Built from the constants above only.
    return sql + f" SELECT receipt_number, receipt_label, {restore} FROM payment"  # noqa: S608


# Online payments not numbered yet, in the order they were recorded, numbered after
# the school's last receipt of their academic year. Run under the school's numbering
# lock, in a statement of its own (so its snapshot sees every earlier numbering).
_NUMBER_PENDING = """
    WITH pending AS (
        SELECT id, academic_year_id,
               row_number() OVER (PARTITION BY academic_year_id ORDER BY created_at, id) AS n
        FROM payments
        WHERE school_id = $1 AND receipt_number IS NULL
    ), taken AS (
        SELECT academic_year_id, count(*) AS count FROM pending GROUP BY academic_year_id
    ), counter AS (
        INSERT INTO receipt_counters (school_id, academic_year_id, last_number)
        SELECT $1, academic_year_id, count FROM taken
        ON CONFLICT (school_id, academic_year_id)
        DO UPDATE SET last_number = receipt_counters.last_number + EXCLUDED.last_number
        RETURNING academic_year_id, last_number
    )
    UPDATE payments p
    SET receipt_number = numbers.n,
        receipt_label = numbers.year_name || '/'
                        || lpad(numbers.n::text, greatest(5, length(numbers.n::text)), '0'),
        updated_at = now()
    FROM (
        SELECT pe.id, c.last_number - t.count + pe.n AS n, y.name AS year_name
        FROM pending pe
        JOIN taken t ON t.academic_year_id = pe.academic_year_id
        JOIN counter c ON c.academic_year_id = pe.academic_year_id
        JOIN academic_years y ON y.id = pe.academic_year_id
    ) numbers
    WHERE p.id = numbers.id AND p.receipt_number IS NULL
"""


async def number_receipts(session: AsyncSession, *, school_id: uuid.UUID) -> int:
    """Give every online payment of the school that has no receipt number yet the next
    numbers of its academic year, in the order they were recorded; returns how many.
    Gapless like counter receipts: the counter and the payments change together. Two
    of these for one school take turns (a transaction-level lock), so the second finds
    the first's work done; counter payments meanwhile wait on the counter row."""
    db = await driver_connection(session)
    if not db.is_in_transaction():  # the lock would end with its own statement
        raise RuntimeError("number_receipts needs a transaction, not an autocommit session")
    await db.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"receipts:{school_id}"
    )
    done = await db.execute(_NUMBER_PENDING, school_id)
    return int(done.split()[-1])


async def number_receipts_now(
    sessionmaker: async_sessionmaker[AsyncSession], *, school_id: uuid.UUID
) -> int:
    """`number_receipts` in a short transaction of its own, committed when this
    returns: for whoever is about to read or print receipts."""
    async with transaction(sessionmaker) as session:
        return await number_receipts(session, school_id=school_id)


def _allocate(
    open_invoices: Sequence[tuple[uuid.UUID, int]], amount: int
) -> tuple[list[Allocation], int]:
    """Fill the invoices in the order given; what is left over is the advance."""
    allocations = []
    left = amount
    for invoice_id, balance in open_invoices:
        if left == 0:
            break
        take = min(left, balance)
        allocations.append(Allocation(invoice_id, take))
        left -= take
    return allocations, left


async def record_payment(
    session: AsyncSession,
    actor: Actor | None,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    amount: int,
    method: str,
    received_on: date,
    reference: str | None = None,
    invoice_ids: Sequence[uuid.UUID] | None = None,
    order_id: uuid.UUID | None = None,
    provider_payment_id: str | None = None,
    recorded_by_id: uuid.UUID | None = None,
    render_receipt: bool = True,
) -> PaymentRecorded:
    """Receive money for one student: a receipt, its ledger entries, the invoices paid,
    its audit row and (`render_receipt`) the job that renders its receipt PDF once
    this commits — all in one statement after one that reads and locks.

    Chosen invoices are filled in due order; without a choice the oldest due invoice
    first. A counter payment naming an invoice that is not this student's open
    invoice is refused (nothing written). A provider payment (`provider_payment_id`)
    is credited once per student: a second call answers the first receipt with
    `created=False`; invoices paid meanwhile at the counter are skipped and the money
    stays as the family's advance.
    """
    _check_amount(amount)
    if method not in PAYMENT_METHODS:
        raise Unprocessable(f"unknown payment method {method!r}")
    # The statements run on the driver (the session's own connection and
    # transaction): this is the hot path of counter and online payments alike, and
    # SQLAlchemy's per-statement work cost more than the statements.
    db = await driver_connection(session)
    chosen = list(dict.fromkeys(invoice_ids)) if invoice_ids is not None else None
    context = await db.fetchrow(
        _PAYMENT_CONTEXT, school_id, student_id, provider_payment_id, chosen, OPEN_STATUSES
    )
    if context is None:
        raise NoCurrentYear("the school has no current academic year; set one first")
    year_id, year_name, student_known, earlier, _, open_ids, balances = context
    if not student_known:
        raise NotFound("no such student in this school")
    if earlier is not None:
        return await _earlier_receipt(session, earlier)

    open_invoices = [
        (invoice_id, int(balance)) for invoice_id, balance in zip(open_ids, balances, strict=True)
    ]
    if chosen is not None and provider_payment_id is None:
        missing = set(chosen) - {invoice_id for invoice_id, _ in open_invoices}
        if missing:
            raise Unprocessable(
                "these invoices are not open invoices of this student",
                details={"invoice_ids": sorted(str(i) for i in missing)},
            )

    allocations, advance = _allocate(open_invoices, amount)
    payment_id = uuid.uuid4()
    shares: list[tuple[uuid.UUID | None, int]] = [(a.invoice_id, a.amount) for a in allocations]
    if advance:
        shares.append((None, advance))
    args: list[Any] = [
        school_id,
        year_id,
        year_name,
        payment_id,
        student_id,
        amount,
        method,
        reference,
        received_on,
        recorded_by_id,
        order_id,
        provider_payment_id,
        [invoice_id for invoice_id, _ in shares],
        [take for _, take in shares],
        actor.user_id if actor else recorded_by_id,
    ]
    if actor is not None:
        args += audit.insert_args(
            actor,
            action="payment.recorded",
            entity="payment",
            entity_id=payment_id,
            after={
                "student_id": str(student_id),
                "amount": amount,
                "method": method,
                "reference": reference,
                "allocations": {str(a.invoice_id): a.amount for a in allocations},
                "advance": advance,
            },
        )
    if render_receipt:
        args += jobs.enqueue_args(
            RECEIPT_TASK,
            {"school_id": str(school_id), "payment_id": str(payment_id)},
            school_id=school_id,
            dedupe_key=f"{RECEIPT_TASK}:{payment_id}",
        )
    statement = _write_payment(
        numbered=provider_payment_id is None,
        audited=actor is not None,
        receipt_job=render_receipt,
    )
    number, label, _ = await db.fetchrow(statement, *args)
    return PaymentRecorded(
        payment_id=payment_id,
        student_id=student_id,
        receipt_number=number,
        receipt_label=label,
        amount=amount,
        allocations=tuple(allocations),
        advance=advance,
        created=True,
    )


# Money a family paid ahead (a payment's share that no invoice needed), per payment,
# oldest first. The payments are locked first, in a statement of their own (a refund
# locks its payment first too), so the sums read next are current.
_LOCK_ADVANCE_PAYMENTS = """
    SELECT p.id FROM payments p
    WHERE p.school_id = $1 AND p.student_id = $2
      AND EXISTS (SELECT 1 FROM ledger_entries e
                  WHERE e.payment_id = p.id AND e.invoice_id IS NULL)
    ORDER BY p.created_at, p.id
    FOR UPDATE OF p
"""
_ADVANCES = """
    SELECT p.id, p.receipt_label, p.provider_payment_id, -sum(e.amount) AS advance
    FROM payments p
    JOIN ledger_entries e ON e.payment_id = p.id
    WHERE p.id = ANY($1::uuid[]) AND e.invoice_id IS NULL AND e.kind IN ('payment', 'refund')
    GROUP BY p.id
    HAVING sum(e.amount) < 0
    ORDER BY p.created_at, p.id
"""
_OPEN_FOR_ADVANCE = """
    SELECT id, number, balance FROM invoices
    WHERE school_id = $1 AND student_id = $2
      AND status = ANY($3::text[]) AND balance > 0
    ORDER BY due_on, number
    FOR UPDATE
"""
# Moving an advance onto an invoice: the advance's entry gives it back, the invoice's
# entry pays with it (both of the payment that brought the money), the invoice's
# figures follow.
_MOVE_ADVANCE = """
    WITH moves AS (
        SELECT * FROM unnest($3::uuid[], $4::uuid[], $5::bigint[], $6::text[], $7::text[])
             AS t(payment_id, invoice_id, take, advance_memo, invoice_memo)
    ), entries AS (
        INSERT INTO ledger_entries (school_id, student_id, invoice_id, payment_id, kind,
                                    amount, memo, created_by_id)
        SELECT $1::uuid, $2::uuid, NULL::uuid, payment_id, 'payment', take, advance_memo,
               $8::uuid
        FROM moves
        UNION ALL
        SELECT $1::uuid, $2::uuid, invoice_id, payment_id, 'payment', -take, invoice_memo,
               $8::uuid
        FROM moves
    ), totals AS (
        SELECT invoice_id, sum(take) AS take FROM moves GROUP BY invoice_id
    )
    """ + _pay_invoices("totals", "$4")  # noqa: S608 - fixed SQL


async def apply_advance(
    session: AsyncSession,
    actor: Actor | None,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
) -> int:
    """Put what the family paid ahead towards the student's open invoices, oldest due
    first, from the oldest payment's advance first; returns the paise applied. The
    family's balance does not move (the money was already theirs in the ledger); the
    invoices' balances do. Nothing to apply is a no-op."""
    db = await driver_connection(session)
    locked = [row["id"] for row in await db.fetch(_LOCK_ADVANCE_PAYMENTS, school_id, student_id)]
    advances = await db.fetch(_ADVANCES, locked) if locked else []
    if not advances:
        return 0
    invoices = [
        [row["id"], row["number"], int(row["balance"])]
        for row in await db.fetch(_OPEN_FOR_ADVANCE, school_id, student_id, OPEN_STATUSES)
    ]
    moves: list[tuple[uuid.UUID, uuid.UUID, int, str, str]] = []
    for payment in advances:
        left = int(payment["advance"])
        source = payment["receipt_label"] or payment["provider_payment_id"] or "payment"
        for invoice in invoices:
            if left == 0:
                break
            take = min(left, invoice[2])
            if take == 0:
                continue
            invoice[2] -= take
            left -= take
            moves.append(
                (
                    payment["id"],
                    invoice[0],
                    take,
                    f"Advance applied to invoice {invoice[1]}",
                    f"Paid from the advance of {source}",
                )
            )
    if not moves:
        return 0
    await db.execute(
        _MOVE_ADVANCE,
        school_id,
        student_id,
        [m[0] for m in moves],
        [m[1] for m in moves],
        [m[2] for m in moves],
        [m[3] for m in moves],
        [m[4] for m in moves],
        actor.user_id if actor else None,
    )
    applied = sum(m[2] for m in moves)
    if actor is not None:
        await audit.record(
            session,
            actor,
            action="advance.applied",
            entity="student",
            entity_id=student_id,
            after={
                "applied": applied,
                "invoices": {str(m[1]): m[2] for m in moves},
            },
        )
    return applied


async def refund(
    session: AsyncSession,
    actor: Actor | None,
    *,
    school_id: uuid.UUID,
    payment_id: uuid.UUID,
    amount: int,
    external_ref: str | None,
    memo: str,
) -> bool:
    """Give back part or all of a payment: first its advance, then the invoices it paid,
    newest first, which open again (a written-off one too, for what was refunded). A
    provider refund (`external_ref`) is booked once: False when it already was."""
    _check_amount(amount, "refund amount")
    payment = (
        await session.execute(
            select(Payment)
            .where(Payment.id == payment_id, Payment.school_id == school_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if payment is None:
        raise PaymentNotFound("no such payment in this school")
    if external_ref is not None:
        booked = await session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.school_id == school_id,
                LedgerEntry.kind == "refund",
                LedgerEntry.external_ref == external_ref,
            )
        )
        if booked is not None:
            return False
    refundable = payment.amount - payment.refunded
    if amount > refundable:
        raise Unprocessable(
            f"only {refundable} paise of this payment can still be refunded",
            details={"refundable": refundable},
        )

    # What this payment still covers, per invoice (None: the advance).
    covered = (
        await session.execute(
            select(LedgerEntry.invoice_id, -func.sum(LedgerEntry.amount))
            .where(LedgerEntry.payment_id == payment_id)
            .group_by(LedgerEntry.invoice_id)
            .having(func.sum(LedgerEntry.amount) < 0)
        )
    ).all()
    advance = sum(int(net) for invoice_id, net in covered if invoice_id is None)
    invoice_ids = [invoice_id for invoice_id, _ in covered if invoice_id is not None]
    net_of = {invoice_id: int(net) for invoice_id, net in covered}
    newest_first = (
        (
            await session.execute(
                select(Invoice.id)
                .where(Invoice.id.in_(invoice_ids))
                .order_by(Invoice.due_on, Invoice.number)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )[::-1]

    takes: list[tuple[uuid.UUID | None, int]] = []
    left = amount
    if advance:
        take = min(left, advance)
        takes.append((None, take))
        left -= take
    for invoice_id in newest_first:
        if left == 0:
            break
        take = min(left, net_of[invoice_id])
        takes.append((invoice_id, take))
        left -= take
    by = actor.user_id if actor else None
    await session.execute(
        insert(LedgerEntry),
        [
            {
                "school_id": school_id,
                "student_id": payment.student_id,
                "invoice_id": invoice_id,
                "payment_id": payment_id,
                "kind": "refund",
                "amount": take,
                "memo": memo[:300],
                # One refund may touch several invoices; its reference marks the first
                # entry, which is enough to book it once.
                "external_ref": external_ref if index == 0 else None,
                "created_by_id": by,
            }
            for index, (invoice_id, take) in enumerate(takes)
        ],
    )
    reopened = [(i, t) for i, t in takes if i is not None]
    if reopened:
        await session.execute(
            _INVOICES.update()
            .where(_INVOICES.c.id == bindparam("b_id"))
            .values(
                paid=_INVOICES.c.paid - bindparam("b_take"),
                # Money given back is owed again: a written-off invoice it paid opens
                # again for what was refunded (the write-off itself stands).
                status=text(invoice_status_sql(paid="paid - :b_take", keep=("draft", "cancelled"))),
                updated_at=func.now(),
            ),
            [{"b_id": invoice_id, "b_take": take} for invoice_id, take in reopened],
        )
    await session.execute(
        update(Payment)
        .where(Payment.id == payment_id)
        .values(refunded=Payment.refunded + amount, updated_at=func.now())
    )
    if actor is not None:
        await audit.record(
            session,
            actor,
            action="payment.refunded",
            entity="payment",
            entity_id=payment_id,
            after={"amount": amount, "external_ref": external_ref, "memo": memo},
        )
    return True


async def _lock_invoice(
    session: AsyncSession, *, school_id: uuid.UUID, invoice_id: uuid.UUID
) -> Invoice:
    invoice = (
        await session.execute(
            select(Invoice)
            .where(Invoice.id == invoice_id, Invoice.school_id == school_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if invoice is None:
        raise InvoiceNotFound("no such invoice in this school")
    return invoice


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Unprocessable("a reason is required")
    return reason


async def _close_invoice(
    session: AsyncSession,
    actor: Actor | None,
    invoice: Invoice,
    *,
    status: str,
    kind: str | None,
    reason: str,
) -> None:
    """Take the invoice's whole balance off (as a `kind` entry when it is in the ledger)
    and give it its final status."""
    balance = invoice.balance
    before = {"status": invoice.status, "balance": balance}
    if kind is not None and balance > 0:
        await session.execute(
            insert(LedgerEntry).values(
                school_id=invoice.school_id,
                student_id=invoice.student_id,
                invoice_id=invoice.id,
                kind=kind,
                amount=-balance,
                memo=reason[:300],
                created_by_id=actor.user_id if actor else None,
            )
        )
    await session.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id)
        .values(
            adjusted=Invoice.adjusted + balance,
            status=status,
            status_reason=reason,
            updated_at=func.now(),
        )
        .execution_options(synchronize_session=False)
    )
    if actor is not None:
        await audit.record(
            session,
            actor,
            action=f"invoice.{status}",
            entity="invoice",
            entity_id=invoice.id,
            before=before,
            after={"status": status, "balance": 0, "reason": reason},
        )


async def write_off(
    session: AsyncSession,
    actor: Actor | None,
    *,
    school_id: uuid.UUID,
    invoice_id: uuid.UUID,
    reason: str,
) -> None:
    """Forgive what is left of an open invoice (a 'write_off' entry of its balance)."""
    reason = _check_reason(reason)
    invoice = await _lock_invoice(session, school_id=school_id, invoice_id=invoice_id)
    if invoice.status not in OPEN_STATUSES or invoice.balance <= 0:
        raise InvoiceNotOpen(f"a {invoice.status} invoice cannot be written off")
    await _close_invoice(
        session, actor, invoice, status="written_off", kind="write_off", reason=reason
    )


async def cancel_invoice(
    session: AsyncSession,
    actor: Actor | None,
    *,
    school_id: uuid.UUID,
    invoice_id: uuid.UUID,
    reason: str,
) -> None:
    """Cancel an invoice nothing was paid against (an 'adjustment' entry reverses it). A
    draft was never in the ledger, so cancelling it writes no entry. Money already paid
    must be refunded first, or the rest written off."""
    reason = _check_reason(reason)
    invoice = await _lock_invoice(session, school_id=school_id, invoice_id=invoice_id)
    if invoice.status in ("cancelled", "written_off"):
        raise InvoiceNotOpen(f"the invoice is already {invoice.status.replace('_', ' ')}")
    if invoice.paid > 0:
        raise InvoiceNotOpen(
            "money was paid against this invoice: refund it first, or write off the rest"
        )
    kind = None if invoice.status == "draft" else "adjustment"
    await _close_invoice(session, actor, invoice, status="cancelled", kind=kind, reason=reason)


async def student_balance(
    session: AsyncSession, *, school_id: uuid.UUID, student_id: uuid.UUID
) -> int:
    """What the family owes for this student (negative: an advance), from the entries."""
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.school_id == school_id, LedgerEntry.student_id == student_id
        )
    )
    return int(total or 0)


_INVOICE_DISCREPANCIES = text(
    """
    WITH entries AS (
        SELECT invoice_id,
               sum(amount) AS balance,
               coalesce(sum(amount) FILTER (WHERE kind = 'invoice'), 0) AS subtotal,
               coalesce(-sum(amount) FILTER (WHERE kind = 'concession'), 0) AS concession,
               coalesce(sum(amount) FILTER (WHERE kind = 'late_fee'), 0) AS late_fee,
               coalesce(-sum(amount) FILTER (WHERE kind IN ('payment', 'refund')), 0) AS paid,
               coalesce(-sum(amount) FILTER (WHERE kind IN ('write_off', 'adjustment')), 0)
                   AS adjusted
        FROM ledger_entries
        WHERE school_id = :school_id AND invoice_id IS NOT NULL
        GROUP BY invoice_id
    ), lines AS (
        SELECT invoice_id,
               coalesce(sum(amount) FILTER (WHERE kind = 'fee'), 0) AS subtotal,
               coalesce(sum(concession) FILTER (WHERE kind = 'fee'), 0) AS concession,
               coalesce(sum(amount) FILTER (WHERE kind = 'late_fee'), 0) AS late_fee
        FROM invoice_lines
        WHERE school_id = :school_id
        GROUP BY invoice_id
    )
    SELECT i.id AS invoice_id, i.number, i.status, i.balance, i.paid, i.adjusted,
           i.late_fee, coalesce(e.balance, 0) AS ledger_balance,
           coalesce(e.paid, 0) AS ledger_paid, coalesce(e.adjusted, 0) AS ledger_adjusted,
           coalesce(e.late_fee, 0) AS ledger_late_fee
    FROM invoices i
    LEFT JOIN entries e ON e.invoice_id = i.id
    LEFT JOIN lines l ON l.invoice_id = i.id
    WHERE i.school_id = :school_id
      AND (
        (i.status <> 'draft' AND (
            i.balance <> coalesce(e.balance, 0)
            OR i.subtotal <> coalesce(e.subtotal, 0)
            OR i.concession <> coalesce(e.concession, 0)
            OR i.late_fee <> coalesce(e.late_fee, 0)
            OR i.paid <> coalesce(e.paid, 0)
            OR i.adjusted <> coalesce(e.adjusted, 0)))
        OR i.subtotal <> coalesce(l.subtotal, 0)
        OR i.concession <> coalesce(l.concession, 0)
        OR i.late_fee <> coalesce(l.late_fee, 0)
        OR (i.status = 'paid' AND i.balance <> 0)
        OR (i.status IN ('issued', 'partially_paid') AND i.balance = 0)
        OR (i.status = 'issued' AND i.paid <> 0)
      )
    ORDER BY i.number
    """
)

_PAYMENT_DISCREPANCIES = text(
    """
    SELECT p.id AS payment_id, p.receipt_label, p.amount, p.refunded,
           coalesce(-sum(e.amount) FILTER (WHERE e.kind = 'payment'), 0) AS ledger_amount,
           coalesce(sum(e.amount) FILTER (WHERE e.kind = 'refund'), 0) AS ledger_refunded
    FROM payments p
    LEFT JOIN ledger_entries e ON e.payment_id = p.id
    WHERE p.school_id = :school_id
    GROUP BY p.id
    HAVING p.amount <> coalesce(-sum(e.amount) FILTER (WHERE e.kind = 'payment'), 0)
        OR p.refunded <> coalesce(sum(e.amount) FILTER (WHERE e.kind = 'refund'), 0)
    ORDER BY p.receipt_label
    """
)


async def discrepancies(session: AsyncSession, *, school_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every invoice or payment whose figures disagree with the ledger or with its lines
    (or whose status disagrees with its figures). Empty is the only right answer."""
    params = {"school_id": school_id}
    found = [
        {"kind": "invoice", **row._asdict()}
        for row in await session.execute(_INVOICE_DISCREPANCIES, params)
    ]
    found += [
        {"kind": "payment", **row._asdict()}
        for row in await session.execute(_PAYMENT_DISCREPANCIES, params)
    ]
    return found
