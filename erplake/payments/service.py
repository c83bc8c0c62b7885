"""Online payments: orders at Razorpay or Stripe for invoices, and crediting them.

An order's amount is the invoices' balances when it is made, snapshotted in
`payment_orders.allocations`; a payment is credited by `credit`, the one path that the
webhooks, the checkout verification and the reconciliation job all take. `credit`
locks the order row, so whichever path comes first credits and the others find the
order paid; the ledger's unique provider-payment index backs that up.

Outside calls (creating an order or a Checkout Session) happen with no database
transaction open: the invoices are read first, the provider is called, then the order
is written in a short transaction of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import structlog
from sqlalchemy import and_, cast, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core.clock import school_today, utcnow
from erplake.core.db import driver_connection, transaction
from erplake.core.errors import BadRequest, Conflict, NotFound
from erplake.core.pagination import PageParams, paginate_rows
from erplake.core.permissions import P
from erplake.core.security import Principal
from erplake.core.settings import PaymentProvider, Settings
from erplake.fees import ledger
from erplake.integrations.razorpay import RazorpayClient, checkout_signature_valid
from erplake.integrations.stripe import StripeClient
from erplake.models.fees import (
    FeeInstalment,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    Payment,
    PaymentOrder,
)
from erplake.models.school import School
from erplake.models.students import Student
from erplake.payments.schemas import (
    OrderAllocationOut,
    OrderListItem,
    OrderOut,
    PayLinkInvoiceOut,
    PayLinkLineOut,
)
from erplake.students.scopes import guardian_student_ids

log = structlog.get_logger(__name__)

CURRENCY = "INR"
REAL_RAZORPAY_API = "https://api.razorpay.com"
# A parent who taps "Pay" twice gets the same order while it is this fresh.
REUSE_ORDER_FOR = timedelta(minutes=30)


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"


class InvoiceNotPayable(Conflict):
    code = "invoice_not_payable"


class OrderNotFound(NotFound):
    code = "order_not_found"


class SignatureInvalid(BadRequest):
    code = "invalid_signature"


# --- Who may pay what ----------------------------------------------------------------


def _invoice_scope(principal: Principal | None, school_id: uuid.UUID) -> Any:
    """The condition on invoices a caller may order: staff who record payments the
    whole school, a parent their own children's; None (a pay link) checks nothing more."""
    condition = Invoice.school_id == school_id
    if principal is None or principal.has(P.payments_record):
        return condition
    if principal.has_role("parent"):
        return and_(
            condition,
            Invoice.student_id.in_(
                guardian_student_ids(school_id=school_id, user_id=principal.user_id)
            ),
        )
    return Invoice.id.is_(None)


async def payable_allocations(
    session: AsyncSession,
    principal: Principal | None,
    *,
    school_id: uuid.UUID,
    invoice_ids: Sequence[uuid.UUID],
) -> list[dict[str, Any]]:
    """Each invoice's balance now, in due order: the order's allocations snapshot.
    An invoice the caller may not see is reported exactly as one that does not exist."""
    rows = (
        await session.execute(
            select(Invoice.id, Invoice.student_id, Invoice.status, Invoice.balance)
            .where(Invoice.id.in_(list(invoice_ids)), _invoice_scope(principal, school_id))
            .order_by(Invoice.due_on, Invoice.number)
        )
    ).all()
    missing = set(invoice_ids) - {row.id for row in rows}
    if missing:
        raise InvoiceNotFound(
            "invoice not found", details={"invoice_ids": sorted(str(i) for i in missing)}
        )
    closed = [row for row in rows if row.status not in ledger.OPEN_STATUSES or row.balance <= 0]
    if closed:
        raise InvoiceNotPayable(
            "only issued invoices with something left to pay can be paid online",
            details={"invoices": [{"id": str(r.id), "status": r.status} for r in closed]},
        )
    return [
        {"invoice_id": str(r.id), "student_id": str(r.student_id), "amount": int(r.balance)}
        for r in rows
    ]


# --- Orders --------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkout:
    provider_order_id: str
    checkout_url: str | None


def _razorpay_checkout_url(
    settings: Settings, provider_order_id: str, return_to: str
) -> str | None:
    """Real Razorpay has no checkout page of its own (the web app opens Checkout.js);
    the fake of demos and tests does, at `{base}/checkout/{order}`."""
    base = settings.razorpay_api_base.rstrip("/")
    if base == REAL_RAZORPAY_API:
        return None
    return f"{base}/checkout/{provider_order_id}?{urlencode({'callback_url': return_to})}"


async def open_checkout(
    settings: Settings,
    *,
    order_id: uuid.UUID,
    school_id: uuid.UUID,
    amount: int,
    description: str,
    return_to: str,
) -> Checkout:
    """Create the order (Razorpay) or Checkout Session (Stripe) for our order id."""
    if settings.payment_provider is PaymentProvider.stripe:
        async with StripeClient.from_settings(settings) as stripe_client:
            session = await stripe_client.create_checkout_session(
                amount_paise=amount,
                product_name=description,
                success_url=return_to,
                cancel_url=return_to,
                client_reference_id=str(order_id),
                metadata={"order_id": str(order_id), "school_id": str(school_id)},
                currency=CURRENCY.lower(),
                idempotency_key=f"order-{order_id}",
            )
        return Checkout(session.id, session.url)
    async with RazorpayClient.from_settings(settings) as razorpay:
        order = await razorpay.create_order(
            amount,
            receipt=f"erp_{order_id.hex}",
            notes={
                "order_id": str(order_id),
                "school_id": str(school_id),
                "description": description[:256],
            },
            currency=CURRENCY,
        )
    return Checkout(order.id, _razorpay_checkout_url(settings, order.id, return_to))


def order_out(order: PaymentOrder, settings: Settings, checkout_url: str | None) -> OrderOut:
    return OrderOut(
        id=order.id,
        provider=order.provider,  # type: ignore[arg-type]
        provider_order_id=order.provider_order_id,
        status=order.status,  # type: ignore[arg-type]
        amount=order.amount,
        currency=order.currency,
        key_id=settings.razorpay_key_id if order.provider == "razorpay" else None,
        checkout_url=checkout_url,
        allocations=[OrderAllocationOut.model_validate(a) for a in order.allocations],
        created_at=order.created_at,
        settled_at=order.settled_at,
    )


async def _reusable_order(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    provider: str,
    allocations: list[dict[str, Any]],
    payer_id: uuid.UUID | None,
) -> PaymentOrder | None:
    """The caller's own fresh order for the same balances (a pay link's: one made by
    a link). Never another payer's: they could not read or verify it."""
    payer = (
        PaymentOrder.via_link.is_(True)
        if payer_id is None
        else PaymentOrder.created_by_id == payer_id
    )
    return (
        await session.execute(
            select(PaymentOrder)
            .where(
                PaymentOrder.school_id == school_id,
                PaymentOrder.provider == provider,
                payer,
                PaymentOrder.status == "created",
                PaymentOrder.allocations == cast(allocations, JSONB),
                PaymentOrder.created_at > utcnow() - REUSE_ORDER_FOR,
            )
            .order_by(PaymentOrder.created_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def _describe(session: AsyncSession, invoice_ids: Sequence[uuid.UUID]) -> str:
    numbers = (
        (
            await session.execute(
                select(Invoice.number)
                .where(Invoice.id.in_(list(invoice_ids)))
                .order_by(Invoice.number)
            )
        )
        .scalars()
        .all()
    )
    return "School fees: " + ", ".join(numbers)


async def create_order(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    actor: Actor,
    principal: Principal | None,
    *,
    school_id: uuid.UUID,
    invoice_ids: Sequence[uuid.UUID],
    return_to: str,
) -> OrderOut:
    """An order for the invoices' balances now. `principal` None is a pay link (the
    caller already proved the link's token)."""
    provider = settings.payment_provider.value
    async with transaction(sessionmaker) as session:
        allocations = await payable_allocations(
            session, principal, school_id=school_id, invoice_ids=invoice_ids
        )
        existing = await _reusable_order(
            session,
            school_id=school_id,
            provider=provider,
            allocations=allocations,
            payer_id=principal.user_id if principal else None,
        )
        description = await _describe(session, invoice_ids)
    if existing is not None and provider == "razorpay":
        return order_out(
            existing,
            settings,
            _razorpay_checkout_url(settings, existing.provider_order_id, return_to),
        )
    # A Stripe session's URL is not kept, so a repeat opens a new session.
    order_id = uuid.uuid4()
    amount = sum(a["amount"] for a in allocations)
    checkout = await open_checkout(
        settings,
        order_id=order_id,
        school_id=school_id,
        amount=amount,
        description=description,
        return_to=return_to,
    )
    async with transaction(sessionmaker) as session:
        order = PaymentOrder(
            id=order_id,
            school_id=school_id,
            provider=provider,
            provider_order_id=checkout.provider_order_id,
            amount=amount,
            currency=CURRENCY,
            status="created",
            allocations=allocations,
            created_by_id=principal.user_id if principal else None,
            via_link=principal is None,
        )
        session.add(order)
        await session.flush()
        await session.refresh(order)
        await audit.record(
            session,
            actor,
            action="payment_order.created",
            entity="payment_order",
            entity_id=order.id,
            after={
                "provider": provider,
                "provider_order_id": checkout.provider_order_id,
                "amount": amount,
                "invoices": [a["invoice_id"] for a in allocations],
                "via_link": principal is None,
            },
        )
    return order_out(order, settings, checkout.checkout_url)


async def create_link_order(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    origin: Actor,
    *,
    invoice_id: uuid.UUID,
    return_to: str,
) -> OrderOut:
    """An order for a pay link's invoice (the caller proved the link's token)."""
    async with transaction(sessionmaker) as session:
        school_id = await session.scalar(select(Invoice.school_id).where(Invoice.id == invoice_id))
    if school_id is None:
        raise InvoiceNotFound("this pay link is not valid")
    order = await create_order(
        sessionmaker,
        settings,
        system_actor(school_id, origin),
        None,
        school_id=school_id,
        invoice_ids=[invoice_id],
        return_to=return_to,
    )
    # Whoever holds the link sees the invoice, not our ids for the child.
    hidden = [a.model_copy(update={"student_id": None}) for a in order.allocations]
    return order.model_copy(update={"allocations": hidden})


def _order_scope(principal: Principal) -> Any:
    """Orders a caller may read: all of the school's for staff who record payments,
    otherwise the ones they started."""
    condition = PaymentOrder.school_id == principal.school_id
    if principal.has(P.payments_record):
        return condition
    return and_(condition, PaymentOrder.created_by_id == principal.user_id)


async def get_order(
    session: AsyncSession, principal: Principal, *, order_id: uuid.UUID
) -> PaymentOrder:
    order = (
        await session.execute(
            select(PaymentOrder).where(PaymentOrder.id == order_id, _order_scope(principal))
        )
    ).scalar_one_or_none()
    if order is None:
        raise OrderNotFound("order not found", details={"order_id": str(order_id)})
    return order


async def list_orders(
    session: AsyncSession, principal: Principal, *, page: PageParams, status: str | None
) -> tuple[list[OrderListItem], int]:
    stmt = select(PaymentOrder).where(_order_scope(principal))
    if status is not None:
        stmt = stmt.where(PaymentOrder.status == status)
    rows, total = await paginate_rows(
        session, stmt.order_by(PaymentOrder.created_at.desc(), PaymentOrder.id), page
    )
    return [
        OrderListItem(
            id=o.id,
            provider=o.provider,
            provider_order_id=o.provider_order_id,
            status=o.status,
            amount=o.amount,
            currency=o.currency,
            via_link=o.via_link,
            provider_payment_id=o.provider_payment_id,
            flag_reason=o.flag_reason,
            invoice_count=len(o.allocations),
            created_at=o.created_at,
            settled_at=o.settled_at,
        )
        for (o,) in rows
    ], total


# --- Crediting -----------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderPayment:
    """A payment as the provider reports it (webhook, checkout, reconciliation)."""

    provider: str
    provider_order_id: str
    payment_id: str
    amount: int
    currency: str


def system_actor(school_id: uuid.UUID | None, actor: Actor | None = None) -> Actor:
    """Who a provider-driven write is audited as: nobody signed in, from where it came."""
    return Actor(
        school_id=school_id,
        user_id=actor.user_id if actor else None,
        ip=actor.ip if actor else None,
        request_id=actor.request_id if actor else None,
    )


# Crediting runs on the driver (the session's own connection and transaction): it is
# the hot path of a provider's burst of webhooks, and SQLAlchemy's per-statement work
# cost more than the statements. Settling the order is the statement that locks it:
# of two deliveries of one payment, the second waits here, then finds the order paid.
_SETTLE = """
    UPDATE payment_orders o
    SET status = 'paid', flag_reason = NULL, provider_payment_id = $3,
        settled_at = now(), updated_at = now()
    FROM schools s
    WHERE o.provider = $1 AND o.provider_order_id = $2
      AND o.status NOT IN ('paid', 'flagged') AND o.amount = $4 AND o.currency = $5
      AND s.id = o.school_id
    RETURNING o.id, o.school_id, o.allocations, s.timezone
"""
# Why an order was not settled: it is paid or flagged already, the amount or
# currency disagrees, or it is not ours.
_LOCK = """
    SELECT id, school_id, status, provider_payment_id, amount, currency
    FROM payment_orders
    WHERE provider = $1 AND provider_order_id = $2
    FOR UPDATE
"""
_FLAG = """
    UPDATE payment_orders
    SET status = 'flagged', flag_reason = $2, provider_payment_id = $3,
        settled_at = now(), updated_at = now()
    WHERE id = $1
"""


async def credit(session: AsyncSession, actor: Actor | None, paid: ProviderPayment) -> str:
    """Credit a provider's payment to its order's invoices, once. Returns the outcome:
    `credited`, `already_paid`, `second_payment`, `flagged`, `unknown_order`."""
    db = await driver_connection(session)
    settled = await db.fetchrow(
        _SETTLE,
        paid.provider,
        paid.provider_order_id,
        paid.payment_id,
        paid.amount,
        paid.currency.upper(),
    )
    if settled is None:
        return await _not_credited(session, actor, paid)
    school_id: uuid.UUID = settled["school_id"]
    who = system_actor(school_id, actor)
    received_on = school_today(settled["timezone"])
    per_student: dict[str, list[dict[str, Any]]] = {}
    for allocation in settled["allocations"]:
        per_student.setdefault(allocation["student_id"], []).append(allocation)
    for student_id, allocations in per_student.items():
        await ledger.record_payment(
            session,
            who,
            school_id=school_id,
            student_id=uuid.UUID(student_id),
            amount=sum(int(a["amount"]) for a in allocations),
            method=paid.provider,
            received_on=received_on,
            reference=paid.payment_id,
            invoice_ids=[uuid.UUID(a["invoice_id"]) for a in allocations],
            order_id=settled["id"],
            provider_payment_id=paid.payment_id,
        )
    return "credited"


async def _not_credited(session: AsyncSession, actor: Actor | None, paid: ProviderPayment) -> str:
    db = await driver_connection(session)
    order = await db.fetchrow(_LOCK, paid.provider, paid.provider_order_id)
    if order is None:
        log.warning("payment_for_unknown_order", provider_order_id=paid.provider_order_id)
        return "unknown_order"
    who = system_actor(order["school_id"], actor)
    if order["status"] == "paid":
        if order["provider_payment_id"] != paid.payment_id:
            # A second payment on a paid order: money to give back, by a person.
            log.warning("second_payment_on_paid_order", order_id=str(order["id"]))
            await audit.record(
                session,
                who,
                action="payment_order.second_payment",
                entity="payment_order",
                entity_id=order["id"],
                after={"provider_payment_id": paid.payment_id, "amount": paid.amount},
            )
            return "second_payment"
        return "already_paid"
    if order["status"] == "flagged":
        return "flagged"
    reason = (
        f"paid {paid.amount} {paid.currency.upper()} for an order of "
        f"{order['amount']} {order['currency']}; not credited"
    )
    await db.execute(_FLAG, order["id"], reason, paid.payment_id)
    await audit.record(
        session,
        who,
        action="payment_order.flagged",
        entity="payment_order",
        entity_id=order["id"],
        after={"reason": reason, "provider_payment_id": paid.payment_id},
    )
    return "flagged"


async def record_failure(session: AsyncSession, *, provider: str, provider_order_id: str) -> str:
    """A failed attempt: the order shows `failed` unless it is settled already (a
    failure never un-pays); the payer may still try again on the same order."""
    changed = (
        await session.execute(
            update(PaymentOrder)
            .where(
                PaymentOrder.provider == provider,
                PaymentOrder.provider_order_id == provider_order_id,
                PaymentOrder.status == "created",
            )
            .values(status="failed", updated_at=func.now())
            .returning(PaymentOrder.id)
        )
    ).scalar_one_or_none()
    return "payment_failed" if changed is not None else "payment_failed_ignored"


async def expire(session: AsyncSession, *, provider: str, provider_order_id: str) -> str:
    changed = (
        await session.execute(
            update(PaymentOrder)
            .where(
                PaymentOrder.provider == provider,
                PaymentOrder.provider_order_id == provider_order_id,
                PaymentOrder.status.in_(("created", "failed")),
            )
            .values(status="expired", updated_at=func.now())
            .returning(PaymentOrder.id)
        )
    ).scalar_one_or_none()
    return "expired" if changed is not None else "expire_ignored"


async def verify_checkout(
    session: AsyncSession,
    settings: Settings,
    actor: Actor | None,
    order: PaymentOrder,
    *,
    razorpay_order_id: str,
    razorpay_payment_id: str,
    razorpay_signature: str,
) -> str:
    """Checkout's success, proven by its signature over the order id WE stored. A
    Razorpay order takes only its full amount, so a genuine signature is a payment of
    exactly the order."""
    if order.provider != "razorpay" or razorpay_order_id != order.provider_order_id:
        raise SignatureInvalid("this payment is not for this order")
    if not checkout_signature_valid(
        order.provider_order_id,
        razorpay_payment_id,
        razorpay_signature,
        settings.razorpay_key_secret,
    ):
        raise SignatureInvalid("the payment signature is not valid")
    return await credit(
        session,
        actor,
        ProviderPayment(
            provider="razorpay",
            provider_order_id=order.provider_order_id,
            payment_id=razorpay_payment_id,
            amount=order.amount,
            currency=order.currency,
        ),
    )


# --- Refunds -------------------------------------------------------------------------


async def book_refund(
    session: AsyncSession,
    *,
    provider_payment_id: str,
    refund_id: str,
    amount: int,
    provider_order_id: str | None,
    provider: str = "razorpay",
) -> str:
    """Book a provider's refund against the payments it credited (once per refund id).
    `refund_pending` when the payment is ours but not credited yet: the reconciliation
    job books it once it is. One order may have paid for several children: the refund
    is taken from their receipts newest first."""
    payments = (
        (
            await session.execute(
                select(Payment)
                .where(Payment.provider_payment_id == provider_payment_id)
                .order_by(Payment.created_at.desc(), Payment.id.desc())
            )
        )
        .scalars()
        .all()
    )
    if not payments:
        known = provider_order_id is not None and (
            await session.scalar(
                select(PaymentOrder.id).where(
                    PaymentOrder.provider == provider,
                    PaymentOrder.provider_order_id == provider_order_id,
                )
            )
        )
        return "refund_pending" if known else "unknown_payment"
    school_id = payments[0].school_id
    booked = await session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(
            LedgerEntry.school_id == school_id,
            LedgerEntry.kind == "refund",
            LedgerEntry.external_ref.in_(
                [refund_id, *(f"{refund_id}#{n}" for n in range(1, len(payments)))]
            ),
        )
    )
    if booked:
        return "refund_duplicate"
    if amount > sum(p.amount - p.refunded for p in payments):
        log.warning("refund_exceeds_payment", provider_payment_id=provider_payment_id)
        return "refund_exceeds_payment"
    who = system_actor(school_id)
    left = amount
    for n, payment in enumerate(payments):
        take = min(left, payment.amount - payment.refunded)
        if take <= 0:
            continue
        await ledger.refund(
            session,
            who,
            school_id=school_id,
            payment_id=payment.id,
            amount=take,
            external_ref=refund_id if n == 0 else f"{refund_id}#{n}",
            memo=f"{provider.title()} refund {refund_id}",
        )
        left -= take
        if left == 0:
            break
    return "refund_booked"


# --- Pay links -----------------------------------------------------------------------


async def pay_link_invoice(
    session: AsyncSession, *, invoice_id: uuid.UUID
) -> tuple[uuid.UUID, PayLinkInvoiceOut]:
    """The invoice a pay link opens, with nothing about anyone else: (school id, view)."""
    row = (
        await session.execute(
            select(Invoice, School.name, Student.name, FeeInstalment.name)
            .join(School, School.id == Invoice.school_id)
            .join(Student, Student.id == Invoice.student_id)
            .join(FeeInstalment, FeeInstalment.id == Invoice.instalment_id)
            .where(Invoice.id == invoice_id)
        )
    ).first()
    if row is None or row[0].status == "draft":
        raise InvoiceNotFound("this pay link is not valid")
    invoice, school_name, student_name, instalment = row
    lines = (
        await session.execute(
            select(InvoiceLine.description, InvoiceLine.amount, InvoiceLine.concession)
            .where(InvoiceLine.invoice_id == invoice_id)
            .order_by(InvoiceLine.kind, InvoiceLine.description)
        )
    ).all()
    return invoice.school_id, PayLinkInvoiceOut(
        school_name=school_name,
        student_first_name=student_name.split()[0] if student_name.split() else student_name,
        invoice_number=invoice.number,
        instalment=instalment,
        due_on=invoice.due_on,
        status=invoice.status,
        lines=[PayLinkLineOut(description=d, amount=a, concession=c) for d, a, c in lines],
        total=invoice.total,
        paid=invoice.paid,
        balance=invoice.balance,
        payable=invoice.status in ledger.OPEN_STATUSES and invoice.balance > 0,
    )
