"""Counter payments: cash, cheque, UPI reference or bank transfer taken by the
accountant, with a gapless receipt (the ledger's `record_payment` does the money);
the payments list and detail, and refunds given back at the counter.

Who sees a payment is decided once, here, by `students.scopes.student_filter`: staff
the whole school, a parent their own children's.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.audit.service import Actor
from erplake.core.clock import school_today
from erplake.core.errors import Conflict, NotFound, Unprocessable
from erplake.core.money import Paise
from erplake.core.pagination import PageParams, paginate_rows
from erplake.core.schemas import Schema
from erplake.core.security import Principal
from erplake.fees import documents, ledger
from erplake.fees.schemas import PositivePaise
from erplake.models.fees import COUNTER_METHODS, Payment
from erplake.models.school import School
from erplake.models.students import Student
from erplake.students.scopes import student_filter

# The counter methods of models.fees.COUNTER_METHODS.
CounterMethod = Literal["cash", "cheque", "upi", "bank_transfer"]


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class FutureReceipt(Unprocessable):
    code = "received_in_future"


class OnlineRefund(Conflict):
    code = "refund_through_provider"


class CounterPaymentIn(Schema):
    student_id: uuid.UUID
    amount: PositivePaise = Field(examples=[250000])
    method: CounterMethod
    reference: str | None = Field(
        default=None,
        max_length=100,
        description="Cheque number, UPI reference or bank transfer UTR (not for cash)",
    )
    received_on: date
    invoice_ids: list[uuid.UUID] | None = Field(
        default=None,
        max_length=50,
        description="Pay these invoices (in due order); without: the oldest due first",
    )

    @model_validator(mode="after")
    def _reference_unless_cash(self) -> CounterPaymentIn:
        if self.method != "cash" and not self.reference:
            raise ValueError(f"a reference is required for {self.method.replace('_', ' ')}")
        return self


class RefundIn(Schema):
    amount: PositivePaise
    reason: str = Field(min_length=1, max_length=300)


class AllocationOut(Schema):
    invoice_id: uuid.UUID
    invoice_number: str
    amount: Paise


class ReceiptOut(Schema):
    """What the counter hands the family: the receipt and where the money went."""

    payment_id: uuid.UUID
    student_id: uuid.UUID
    receipt_number: int
    receipt_label: str
    amount: Paise
    allocations: list[AllocationOut]
    advance: Paise


class PaymentOut(Schema):
    id: uuid.UUID
    student_id: uuid.UUID
    student_name: str
    admission_number: str
    receipt_number: int | None = Field(
        description="None for a few seconds after an online payment, until it is numbered"
    )
    receipt_label: str | None
    amount: Paise
    refunded: Paise
    method: str
    reference: str | None
    received_on: date
    created_at: datetime
    order_id: uuid.UUID | None = Field(description="The online order it paid, if any")
    receipt_ready: bool = Field(description="The receipt PDF has been rendered and kept")


class PaymentDetail(PaymentOut):
    allocations: list[AllocationOut]
    advance: Paise


async def school_day(session: AsyncSession, *, school_id: uuid.UUID) -> date:
    tz = await session.scalar(select(School.timezone).where(School.id == school_id))
    return school_today(tz or "Asia/Kolkata")


_ALLOCATED = text(
    """
    SELECT e.invoice_id, i.number, -sum(e.amount) AS amount
    FROM ledger_entries e JOIN invoices i ON i.id = e.invoice_id
    WHERE e.payment_id = :payment_id AND e.kind IN ('payment', 'refund')
    GROUP BY e.invoice_id, i.number, i.due_on
    HAVING sum(e.amount) <> 0
    ORDER BY i.due_on, i.number
    """
)


async def _allocations(session: AsyncSession, payment_id: uuid.UUID) -> list[AllocationOut]:
    """What the payment covers per invoice now (net of refunds)."""
    return [
        AllocationOut(invoice_id=r.invoice_id, invoice_number=r.number, amount=int(r.amount))
        for r in await session.execute(_ALLOCATED, {"payment_id": payment_id})
    ]


async def record(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: CounterPaymentIn
) -> ReceiptOut:
    """Take a counter payment: refused (nothing written, no receipt number used) for a
    future date or an invoice that is not this student's open invoice."""
    today = await school_day(session, school_id=school_id)
    if body.received_on > today:
        raise FutureReceipt(
            "a payment cannot be received on a future date",
            details={"received_on": body.received_on.isoformat(), "today": today.isoformat()},
        )
    recorded = await ledger.record_payment(
        session,
        actor,
        school_id=school_id,
        student_id=body.student_id,
        amount=body.amount,
        method=body.method,
        received_on=body.received_on,
        reference=body.reference,
        invoice_ids=body.invoice_ids,
        recorded_by_id=actor.user_id,
    )
    allocations = await _allocations(session, recorded.payment_id)
    await documents.queue_invoices(
        session, school_id=school_id, invoice_ids=[a.invoice_id for a in allocations]
    )
    return ReceiptOut(
        payment_id=recorded.payment_id,
        student_id=recorded.student_id,
        receipt_number=recorded.receipt_number,
        receipt_label=recorded.receipt_label,
        amount=recorded.amount,
        allocations=allocations,
        advance=recorded.advance,
    )


def _visible(principal: Principal) -> Any:
    return (
        select(Payment, Student.name, Student.admission_number)
        .join(Student, Student.id == Payment.student_id)
        .where(Payment.school_id == principal.school_id)
        .where(student_filter(principal, Payment.student_id))
    )


def _out(payment: Payment, name: str, admission_number: str) -> PaymentOut:
    return PaymentOut(
        id=payment.id,
        student_id=payment.student_id,
        student_name=name,
        admission_number=admission_number,
        receipt_number=payment.receipt_number,
        receipt_label=payment.receipt_label,
        amount=payment.amount,
        refunded=payment.refunded,
        method=payment.method,
        reference=payment.reference,
        received_on=payment.received_on,
        created_at=payment.created_at,
        order_id=payment.order_id,
        receipt_ready=payment.receipt_key is not None,
    )


async def list_payments(
    session: AsyncSession,
    principal: Principal,
    *,
    page: PageParams,
    from_date: date | None,
    to_date: date | None,
    method: str | None,
    student_id: uuid.UUID | None,
    order_id: uuid.UUID | None = None,
) -> tuple[list[PaymentOut], int]:
    stmt = _visible(principal)
    if order_id is not None:
        stmt = stmt.where(Payment.order_id == order_id)
    if from_date is not None:
        stmt = stmt.where(Payment.received_on >= from_date)
    if to_date is not None:
        stmt = stmt.where(Payment.received_on <= to_date)
    if method is not None:
        stmt = stmt.where(Payment.method == method)
    if student_id is not None:
        stmt = stmt.where(Payment.student_id == student_id)
    rows, total = await paginate_rows(
        session,
        stmt.order_by(
            Payment.received_on.desc(),
            Payment.receipt_number.desc().nulls_first(),  # the newest online ones
            Payment.created_at.desc(),
            Payment.id.desc(),
        ),
        page,
    )
    return [_out(p, name, adm) for p, name, adm in rows], total


async def get_visible(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID
) -> tuple[Payment, str, str]:
    """404 for a payment the caller may not see, as for one that does not exist."""
    row = (await session.execute(_visible(principal).where(Payment.id == payment_id))).first()
    if row is None:
        raise PaymentNotFound("payment not found", details={"payment_id": str(payment_id)})
    payment, name, admission_number = row
    return payment, name, admission_number


async def detail(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID
) -> PaymentDetail:
    payment, name, admission_number = await get_visible(session, principal, payment_id)
    allocations = await _allocations(session, payment.id)
    return PaymentDetail(
        **_out(payment, name, admission_number).model_dump(),
        allocations=allocations,
        advance=payment.amount - payment.refunded - sum(a.amount for a in allocations),
    )


async def refund(
    session: AsyncSession,
    actor: Actor,
    principal: Principal,
    *,
    payment_id: uuid.UUID,
    body: RefundIn,
) -> PaymentDetail:
    """Money given back at the counter: the payment's advance first, then the invoices
    it paid, newest first (they open again). An online payment is refunded through its
    provider, whose event books it."""
    payment, _, _ = await get_visible(session, principal, payment_id)
    if payment.method not in COUNTER_METHODS:
        raise OnlineRefund(
            f"a {payment.method} payment is refunded through {payment.method}, not at the counter"
        )
    await ledger.refund(
        session,
        actor,
        school_id=principal.school_id,
        payment_id=payment_id,
        amount=body.amount,
        external_ref=None,
        memo=body.reason,
    )
    await session.refresh(payment)
    result = await detail(session, principal, payment_id)
    touched = [
        row.invoice_id
        for row in await session.execute(
            text(
                "SELECT DISTINCT invoice_id FROM ledger_entries"
                " WHERE payment_id = :payment_id AND invoice_id IS NOT NULL"
            ),
            {"payment_id": payment_id},
        )
    ]
    await documents.queue_invoices(session, school_id=principal.school_id, invoice_ids=touched)
    return result
