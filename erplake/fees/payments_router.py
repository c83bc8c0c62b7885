"""Counter payments, refunds at the counter, receipts and invoice PDFs (api role)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import select

from erplake.audit.deps import AuditActor
from erplake.core import progress
from erplake.core.db import DbSession
from erplake.core.idempotency import run_idempotent
from erplake.core.pagination import Page, Pagination
from erplake.core.permissions import P
from erplake.core.schemas import Schema
from erplake.core.security import Principal, require
from erplake.fees import counter, documents
from erplake.fees.counter import CounterPaymentIn, PaymentDetail, PaymentOut, ReceiptOut, RefundIn
from erplake.models.fees import Invoice
from erplake.storage import get_storage
from erplake.students.scopes import student_filter

router = APIRouter(prefix="/payments", tags=["payments"])
invoice_pdfs = APIRouter(prefix="/invoices", tags=["invoices"])
receipts = APIRouter(prefix="/receipts", tags=["payments"])

Cashier = Annotated[Principal, require(P.payments_record)]
Reader = Annotated[Principal, require(P.invoices_read)]
RequiredKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        description="Required: a double click or a retry with the same key records the "
        "payment once and answers the same receipt",
    ),
]
OptionalKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="A repeat with the same key refunds once"),
]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not found, or not yours"}}


def _pdf(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type=documents.PDF,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post(
    "",
    response_model=ReceiptOut,
    status_code=201,
    responses={
        409: {"description": "Idempotency-Key reused with another body"},
        422: {"description": "future date, missing reference, invoice not this student's"},
    },
)
async def record_payment(
    body: CounterPaymentIn,
    session: DbSession,
    principal: Cashier,
    actor: AuditActor,
    idempotency_key: RequiredKey,
) -> ReceiptOut:
    """Record money taken at the counter (cash, cheque, UPI reference, bank transfer)
    and issue the next receipt number, gapless per school and academic year. The money
    pays the chosen invoices, or the oldest due first; what no invoice needs is kept as
    the family's advance. The receipt PDF is rendered right after."""

    async def handler() -> ReceiptOut:
        return await counter.record(session, actor, school_id=principal.school_id, body=body)

    return await run_idempotent(
        session,
        scope=f"payments.counter:{principal.school_id}:{principal.user_id}",
        key=idempotency_key,
        payload=body,
        response_model=ReceiptOut,
        handler=handler,
    )


@router.get("", response_model=Page[PaymentOut])
async def list_payments(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    from_date: Annotated[date | None, Query(alias="from")] = None,
    to_date: Annotated[date | None, Query(alias="to")] = None,
    method: Literal["cash", "cheque", "upi", "bank_transfer", "razorpay", "stripe"] | None = None,
    student_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
) -> Page[PaymentOut]:
    """Payments received, newest first, by date range (received on), method, student
    and online order. A parent sees only their own children's."""
    items, total = await counter.list_payments(
        session,
        principal,
        page=page,
        from_date=from_date,
        to_date=to_date,
        method=method,
        student_id=student_id,
        order_id=order_id,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{payment_id}", response_model=PaymentDetail, responses=_NOT_FOUND)
async def get_payment(
    payment_id: uuid.UUID, session: DbSession, principal: Reader
) -> PaymentDetail:
    """One payment with what it pays per invoice (net of refunds) and its advance."""
    return await counter.detail(session, principal, payment_id)


@router.post("/{payment_id}/refund", response_model=PaymentDetail, responses=_NOT_FOUND)
async def refund_payment(
    payment_id: uuid.UUID,
    body: RefundIn,
    session: DbSession,
    principal: Cashier,
    actor: AuditActor,
    idempotency_key: OptionalKey = None,
) -> PaymentDetail:
    """Give money back at the counter, with a reason (audited): the payment's advance
    first, then the invoices it paid, newest first, which open again. Online payments
    are refunded through their provider (409)."""

    async def handler() -> PaymentDetail:
        return await counter.refund(session, actor, principal, payment_id=payment_id, body=body)

    return await run_idempotent(
        session,
        scope=f"payments.refund:{principal.school_id}:{payment_id}",
        key=idempotency_key,
        payload=body,
        response_model=PaymentDetail,
        handler=handler,
    )


@router.get(
    "/{payment_id}/receipt.pdf",
    response_class=Response,
    responses={**_NOT_FOUND, 200: {"content": {"application/pdf": {}}}},
)
async def receipt_pdf(
    payment_id: uuid.UUID, request: Request, session: DbSession, principal: Reader
) -> Response:
    """The payment's receipt as a PDF (the kept copy; rendered on the spot if the
    worker has not made it yet, and an online payment of the last few seconds given
    its receipt number first). A parent gets only their own children's."""
    payment, _, _ = await counter.get_visible(session, principal, payment_id)
    data = await documents.stored_receipt_pdf(
        request.app.state.sessionmaker,
        session,
        get_storage(request.app.state.settings),
        school_id=principal.school_id,
        payment=payment,
    )
    label = payment.receipt_label or str(payment.id)
    return _pdf(data, f"receipt-{label.replace('/', '-')}.pdf")


@invoice_pdfs.get(
    "/{invoice_id}/invoice.pdf",
    response_class=Response,
    responses={**_NOT_FOUND, 200: {"content": {"application/pdf": {}}}},
)
async def invoice_pdf(
    invoice_id: uuid.UUID, request: Request, session: DbSession, principal: Reader
) -> Response:
    """The invoice as a PDF, with its figures as they stand now and, while something is
    due, the family's pay link. A parent gets only their own children's."""
    number = (
        await session.execute(
            select(Invoice.number).where(
                Invoice.id == invoice_id,
                Invoice.school_id == principal.school_id,
                student_filter(principal, Invoice.student_id),
            )
        )
    ).scalar_one_or_none()
    if number is None:
        raise documents.InvoiceNotFound(
            "invoice not found", details={"invoice_id": str(invoice_id)}
        )
    settings = request.app.state.settings
    data = await documents.invoice_pdf(
        session,
        settings,
        get_storage(settings),
        school_id=principal.school_id,
        invoice_id=invoice_id,
    )
    return _pdf(data, f"invoice-{number.replace('/', '-')}.pdf")


class DayReceiptsIn(Schema):
    date: date


class DayReceiptsStarted(Schema):
    job_id: uuid.UUID
    status_url: str
    download_url: str


@receipts.post("/day", response_model=DayReceiptsStarted, status_code=202)
async def start_day_receipts(
    body: DayReceiptsIn, request: Request, session: DbSession, principal: Cashier
) -> DayReceiptsStarted:
    """All receipts of a day in one PDF, for printing: a job. Poll `status_url`; when it
    is done, `download_url` gives the PDF (404 while running, or if nobody paid that
    day: see the job's `result.receipts`)."""
    job_id = await documents.start_day_bundle(
        session, school_id=principal.school_id, user_id=principal.user_id, day=body.date
    )
    # Paths as the client reaches them (behind /api in the one-process server).
    return DayReceiptsStarted(
        job_id=job_id,
        status_url=request.url_for("get_job", job_id=str(job_id)).path,
        download_url=request.url_for("day_receipts_pdf", job_id=str(job_id)).path,
    )


@receipts.get(
    "/day/{job_id}.pdf",
    response_class=Response,
    responses={**_NOT_FOUND, 200: {"content": {"application/pdf": {}}}},
)
async def day_receipts_pdf(
    job_id: uuid.UUID, request: Request, session: DbSession, principal: Cashier
) -> Response:
    """The PDF a finished "receipts of a day" job made."""
    job = await progress.get_visible(session, principal, job_id)
    if job.kind != documents.DAY_KIND:
        raise progress.JobNotFound("job not found")
    data = await documents.day_bundle_pdf(
        get_storage(request.app.state.settings), result=job.result
    )
    return _pdf(data, f"receipts-{(job.result or {}).get('date', 'day')}.pdf")
