"""Receipt and invoice PDFs: built from the database rows, rendered by the worker and
kept in storage.

A receipt never changes once issued, so it is rendered once, after its payment
commits (`ledger.record_payment` writes the job in the payment's statement), and kept
under `payments.receipt_key`; an online payment's job first gives it its number. An
invoice does change (payments, late fees), so its stored copy's key carries a
fingerprint of the figures it shows: a download serves the stored copy only while it
is current, and renders a fresh one otherwise. "All receipts of a day" is a job with
progress that leaves one PDF in storage for the caller to download.

The school's logo, when one is kept in storage under `logo_key(school_id)`, is printed
on every document.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from erplake.core import jobs, progress
from erplake.core.clock import school_today
from erplake.core.errors import Conflict, NotFound
from erplake.core.jobs import JobContext, task
from erplake.core.permissions import P
from erplake.core.settings import Settings
from erplake.fees import ledger
from erplake.models.fees import Invoice, Payment
from erplake.payments.links import pay_link_url
from erplake.pdfs.render import (
    FeeLine,
    InvoiceDoc,
    ReceiptDoc,
    SchoolLetterhead,
    render_invoice,
    render_receipt,
    render_receipts_bundle,
)
from erplake.storage import Storage, StorageObjectNotFound, get_storage

RECEIPT_TASK = ledger.RECEIPT_TASK
INVOICE_TASK = "fees.render_invoice_pdf"
DAY_TASK = "fees.render_day_receipts"
DAY_KIND = "fees.day_receipts"
PDF = "application/pdf"

METHOD_LABELS = {
    "cash": "Cash",
    "cheque": "Cheque",
    "upi": "UPI",
    "bank_transfer": "Bank transfer",
    "razorpay": "Online (Razorpay)",
    "stripe": "Online (Stripe)",
}


class ReceiptNotNumbered(Conflict):
    code = "receipt_not_numbered"


class ReceiptNotFound(NotFound):
    code = "payment_not_found"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"


class DayReceiptsNotReady(NotFound):
    code = "day_receipts_not_ready"


def logo_key(school_id: uuid.UUID) -> str:
    return f"schools/{school_id}/logo"


def receipt_key(school_id: uuid.UUID, payment_id: uuid.UUID) -> str:
    return f"fees/{school_id}/receipts/{payment_id}.pdf"


def invoice_key(school_id: uuid.UUID, invoice_id: uuid.UUID, figures: tuple[Any, ...]) -> str:
    """The stored copy's key: it changes whenever a figure the PDF shows changes."""
    digest = hashlib.sha256(repr(figures).encode()).hexdigest()[:16]
    return f"fees/{school_id}/invoices/{invoice_id}-{digest}.pdf"


# ---- queuing (in the caller's transaction) ---------------------------------------------


async def queue_invoices(
    session: AsyncSession, *, school_id: uuid.UUID, invoice_ids: list[uuid.UUID]
) -> None:
    """Re-render the stored copies of invoices whose figures just changed."""
    await jobs.enqueue_many(
        session,
        INVOICE_TASK,
        [({"school_id": str(school_id), "invoice_id": str(i)}, None) for i in invoice_ids],
        school_id=school_id,
        queue="low",
    )


async def start_day_bundle(
    session: AsyncSession, *, school_id: uuid.UUID, user_id: uuid.UUID | None, day: date
) -> uuid.UUID:
    """The job that renders every receipt of `day` into one PDF; returns its progress id."""
    progress_id = await progress.start(
        session,
        school_id=school_id,
        kind=DAY_KIND,
        created_by=user_id,
        read_permission=P.payments_record,
        message="queued",
    )
    await jobs.enqueue(
        session,
        DAY_TASK,
        {"progress_id": str(progress_id), "school_id": str(school_id), "day": day.isoformat()},
        school_id=school_id,
        dedupe_key=f"{DAY_TASK}:{progress_id}",
    )
    return progress_id


# ---- building documents from rows -------------------------------------------------------

_SCHOOL = text("SELECT name, address, phone, email FROM schools WHERE id = :school_id")

_RECEIPTS = text(
    """
    SELECT p.id, p.receipt_label, p.amount, p.method, p.reference, p.received_on,
           st.name AS student_name, st.admission_number, y.name AS year_name,
           c.name AS class_name, sec.name AS section_name,
           (SELECT g.name FROM student_guardians sg JOIN guardians g ON g.id = sg.guardian_id
            WHERE sg.student_id = p.student_id
            ORDER BY sg.is_primary DESC, g.name LIMIT 1) AS guardian_name,
           -- What the family owed once this payment was booked: its entries and
           -- every earlier one of the student.
           (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
            WHERE e.student_id = p.student_id
              AND e.id <= (SELECT max(x.id) FROM ledger_entries x
                           WHERE x.payment_id = p.id AND x.kind = 'payment')) AS owed_after
    FROM payments p
    JOIN students st ON st.id = p.student_id
    JOIN academic_years y ON y.id = p.academic_year_id
    LEFT JOIN enrolments en ON en.student_id = p.student_id
         AND en.academic_year_id = p.academic_year_id
    LEFT JOIN sections sec ON sec.id = en.section_id
    LEFT JOIN classes c ON c.id = sec.class_id
    WHERE p.school_id = :school_id
      AND (CAST(:payment_ids AS uuid[]) IS NULL OR p.id = ANY(CAST(:payment_ids AS uuid[])))
      AND (CAST(:day AS date) IS NULL OR p.received_on = CAST(:day AS date))
    ORDER BY p.receipt_label
    """
)

_ALLOCATIONS = text(
    """
    SELECT e.payment_id, e.invoice_id, i.number, fi.name AS instalment,
           -sum(e.amount) AS amount
    FROM ledger_entries e
    JOIN payments p ON p.id = e.payment_id
    LEFT JOIN invoices i ON i.id = e.invoice_id
    LEFT JOIN fee_instalments fi ON fi.id = i.instalment_id
    WHERE e.kind = 'payment' AND p.school_id = :school_id
      AND (CAST(:payment_ids AS uuid[]) IS NULL OR p.id = ANY(CAST(:payment_ids AS uuid[])))
      AND (CAST(:day AS date) IS NULL OR p.received_on = CAST(:day AS date))
    GROUP BY e.payment_id, e.invoice_id, i.number, i.due_on, fi.name
    ORDER BY e.payment_id, i.due_on NULLS LAST, i.number
    """
)

_INVOICE = text(
    """
    SELECT i.id, i.number, i.status, i.due_on, i.issued_at, i.created_at, i.subtotal,
           i.concession, i.late_fee, i.paid, i.adjusted, i.total, i.balance, i.pdf_key,
           st.name AS student_name, st.admission_number, y.name AS year_name,
           fi.name AS instalment, c.name AS class_name, sec.name AS section_name,
           (SELECT g.name FROM student_guardians sg JOIN guardians g ON g.id = sg.guardian_id
            WHERE sg.student_id = i.student_id
            ORDER BY sg.is_primary DESC, g.name LIMIT 1) AS guardian_name
    FROM invoices i
    JOIN students st ON st.id = i.student_id
    JOIN academic_years y ON y.id = i.academic_year_id
    JOIN fee_instalments fi ON fi.id = i.instalment_id
    LEFT JOIN sections sec ON sec.id = i.section_id
    LEFT JOIN classes c ON c.id = sec.class_id
    WHERE i.id = :invoice_id AND i.school_id = :school_id
    """
)

_INVOICE_LINES = text(
    """
    SELECT l.kind, coalesce(h.name, 'Late fee') AS head, l.amount, l.concession
    FROM invoice_lines l LEFT JOIN fee_heads h ON h.id = l.head_id
    WHERE l.invoice_id = :invoice_id
    ORDER BY l.kind = 'late_fee', h.name
    """
)


async def letterhead(
    session: AsyncSession, storage: Storage, *, school_id: uuid.UUID
) -> SchoolLetterhead:
    row = (await session.execute(_SCHOOL, {"school_id": school_id})).one()
    try:
        logo: bytes | None = await storage.get(logo_key(school_id))
    except StorageObjectNotFound:
        logo = None
    return SchoolLetterhead(
        name=row.name,
        address=row.address or "",
        phone=row.phone,
        email=row.email,
        logo=logo,
    )


def _class_section(class_name: str | None, section_name: str | None) -> str:
    return f"{class_name}-{section_name}" if class_name and section_name else "-"


async def receipt_docs(
    session: AsyncSession,
    school: SchoolLetterhead,
    *,
    school_id: uuid.UUID,
    payment_ids: list[uuid.UUID] | None = None,
    day: date | None = None,
) -> list[tuple[uuid.UUID, ReceiptDoc | None]]:
    """Receipts of the given payments (or of every payment received on `day`), in
    receipt order, in two queries however many there are; None for a payment that
    has no receipt number yet (`ledger.number_receipts` first)."""
    params = {"school_id": school_id, "payment_ids": payment_ids, "day": day}
    lines: dict[uuid.UUID, list[FeeLine]] = {}
    numbers: dict[uuid.UUID, list[str]] = {}
    for row in await session.execute(_ALLOCATIONS, params):
        if row.invoice_id is None:
            head = "Advance (held for coming fees)"
        else:
            head = f"{row.instalment} fees, invoice {row.number}"
            numbers.setdefault(row.payment_id, []).append(row.number)
        lines.setdefault(row.payment_id, []).append(FeeLine(head=head, amount=int(row.amount)))
    docs: list[tuple[uuid.UUID, ReceiptDoc | None]] = []
    for row in await session.execute(_RECEIPTS, params):
        if row.receipt_label is None:  # an online payment not numbered yet
            docs.append((row.id, None))
            continue
        docs.append(
            (
                row.id,
                ReceiptDoc(
                    school=school,
                    date=row.received_on,
                    student_name=row.student_name,
                    admission_number=row.admission_number,
                    class_section=_class_section(row.class_name, row.section_name),
                    guardian_name=row.guardian_name,
                    academic_year=row.year_name,
                    lines=lines.get(row.id, []),
                    total=int(row.amount),
                    paid=int(row.amount),
                    balance=max(0, int(row.owed_after)),
                    receipt_number=row.receipt_label,
                    payment_mode=METHOD_LABELS.get(row.method, row.method),
                    payment_reference=row.reference,
                    invoice_numbers=numbers.get(row.id, []),
                ),
            )
        )
    return docs


async def receipt_pdf(
    session: AsyncSession, storage: Storage, *, school_id: uuid.UUID, payment_id: uuid.UUID
) -> bytes:
    school = await letterhead(session, storage, school_id=school_id)
    docs = await receipt_docs(session, school, school_id=school_id, payment_ids=[payment_id])
    if not docs:
        raise ReceiptNotFound("payment not found", details={"payment_id": str(payment_id)})
    doc = docs[0][1]
    if doc is None:
        raise ReceiptNotNumbered(
            "this payment's receipt number is on its way; try again in a moment",
            details={"payment_id": str(payment_id)},
        )
    return render_receipt(doc)


def _invoice_figures(row: Any) -> tuple[Any, ...]:
    return (row.status, row.subtotal, row.concession, row.late_fee, row.paid, row.adjusted)


async def invoice_doc(
    session: AsyncSession,
    settings: Settings,
    storage: Storage,
    *,
    school_id: uuid.UUID,
    invoice_id: uuid.UUID,
) -> tuple[InvoiceDoc, str, str | None]:
    """The invoice as printed, the key its current copy has in storage, and the key
    of the copy kept so far (if any)."""
    row = (
        await session.execute(_INVOICE, {"invoice_id": invoice_id, "school_id": school_id})
    ).one_or_none()
    if row is None:
        raise InvoiceNotFound("invoice not found", details={"invoice_id": str(invoice_id)})
    lines = [
        FeeLine(head=line.head, amount=int(line.amount), concession=int(line.concession))
        for line in await session.execute(_INVOICE_LINES, {"invoice_id": invoice_id})
    ]
    issued = row.issued_at or row.created_at
    payable = row.status in ledger.OPEN_STATUSES and row.balance > 0
    doc = InvoiceDoc(
        school=await letterhead(session, storage, school_id=school_id),
        date=school_today(settings.school_timezone, now=issued),
        student_name=row.student_name,
        admission_number=row.admission_number,
        class_section=_class_section(row.class_name, row.section_name),
        guardian_name=row.guardian_name,
        academic_year=row.year_name,
        lines=lines,
        total=int(row.total),
        paid=int(row.paid),
        balance=int(row.balance),
        invoice_number=row.number,
        due_date=row.due_on,
        instalment=row.instalment,
        pay_url=pay_link_url(settings, invoice_id) if payable else None,
    )
    return doc, invoice_key(school_id, invoice_id, _invoice_figures(row)), row.pdf_key


async def invoice_pdf(
    session: AsyncSession,
    settings: Settings,
    storage: Storage,
    *,
    school_id: uuid.UUID,
    invoice_id: uuid.UUID,
) -> bytes:
    """The stored copy while it is current, else a fresh rendering."""
    doc, current_key, stored_key = await invoice_doc(
        session, settings, storage, school_id=school_id, invoice_id=invoice_id
    )
    if stored_key == current_key:
        try:
            return await storage.get(current_key)
        except StorageObjectNotFound:
            pass
    return render_invoice(doc)


async def stored_receipt_pdf(
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    storage: Storage,
    *,
    school_id: uuid.UUID,
    payment: Payment,
) -> bytes:
    """The kept copy; rendered now if the worker has not got to it yet. An online
    payment of the last few seconds is numbered first (in a short transaction of its
    own) rather than printed without a number."""
    if payment.receipt_number is None:
        await ledger.number_receipts_now(sessionmaker, school_id=school_id)
        await session.refresh(payment)
    if payment.receipt_key:
        try:
            return await storage.get(payment.receipt_key)
        except StorageObjectNotFound:
            pass
    return await receipt_pdf(session, storage, school_id=school_id, payment_id=payment.id)


async def day_bundle_pdf(storage: Storage, *, result: dict[str, Any] | None) -> bytes:
    key = (result or {}).get("storage_key")
    if not key:
        raise DayReceiptsNotReady("no PDF for this job (not done yet, or no receipts that day)")
    return await storage.get(key)


# ---- worker tasks ------------------------------------------------------------------------


@task(RECEIPT_TASK)
async def render_receipt_pdf(ctx: JobContext, *, school_id: str, payment_id: str) -> None:
    """Number the school's waiting online receipts (this one among them), then render
    the payment's receipt and keep it (reads and the storage write first, so no
    transaction waits on storage)."""
    school, payment = uuid.UUID(school_id), uuid.UUID(payment_id)
    storage = get_storage(ctx.settings)
    await ledger.number_receipts_now(ctx.sessionmaker, school_id=school)
    async with ctx.sessionmaker() as reader:
        pdf = await receipt_pdf(reader, storage, school_id=school, payment_id=payment)
    key = receipt_key(school, payment)
    await storage.put(key, pdf, PDF)
    await ctx.session.execute(update(Payment).where(Payment.id == payment).values(receipt_key=key))


@task(INVOICE_TASK)
async def render_invoice_pdf(ctx: JobContext, *, school_id: str, invoice_id: str) -> None:
    """Render an invoice as it stands and keep it under a key naming its figures."""
    school, invoice = uuid.UUID(school_id), uuid.UUID(invoice_id)
    storage = get_storage(ctx.settings)
    async with ctx.sessionmaker() as reader:
        doc, key, stored = await invoice_doc(
            reader, ctx.settings, storage, school_id=school, invoice_id=invoice
        )
    if key == stored:
        return
    await storage.put(key, render_invoice(doc), PDF)
    # Only if the figures are still those rendered: a payment meanwhile queued its own run.
    await ctx.session.execute(
        update(Invoice)
        .where(Invoice.id == invoice, Invoice.pdf_key.is_distinct_from(key))
        .values(pdf_key=key)
        .execution_options(synchronize_session=False)
    )


@task(DAY_TASK)
async def render_day_receipts(
    ctx: JobContext, *, progress_id: str, school_id: str, day: str
) -> None:
    """Every receipt of a day in one PDF, kept in storage; the job's result names it."""
    job, school, on = uuid.UUID(progress_id), uuid.UUID(school_id), date.fromisoformat(day)
    storage = get_storage(ctx.settings)
    async with ctx.sessionmaker() as reader:
        head = await letterhead(reader, storage, school_id=school)
        # An online payment of the day may commit between numbering and reading: then
        # number again (a few tries; one still arriving goes in a later bundle).
        for _ in range(3):
            await ledger.number_receipts_now(ctx.sessionmaker, school_id=school)
            read = await receipt_docs(reader, head, school_id=school, day=on)
            docs = [(payment_id, doc) for payment_id, doc in read if doc is not None]
            if len(docs) == len(read):
                break
    await progress.report(
        ctx.sessionmaker, job, done=0, total=len(docs), message="rendering receipts"
    )
    result: dict[str, Any] = {"date": day, "receipts": len(docs), "storage_key": None}
    if docs:
        key = f"fees/{school}/receipts-by-day/{day}-{job}.pdf"
        await storage.put(key, render_receipts_bundle([doc for _, doc in docs]), PDF)
        result["storage_key"] = key
    await progress.finish(
        ctx.session,
        job,
        result=result,
        message=f"{len(docs)} receipts" if docs else "no receipts that day",
    )
