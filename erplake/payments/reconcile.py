"""Reconciliation: orders nobody told us about.

A webhook can be lost (our outage longer than the provider's retries, a disabled
webhook) and a payer can close the tab before checkout reports back. Every few minutes
the job asks the provider about each order still open after 15 minutes, credits the
paid ones through the same `credit` as the webhooks, and marks orders expired after
two days. It also books refunds that arrived before the payment they refund, and
numbers online receipts their receipt job has not numbered yet (a safety net).

No transaction is held open while the provider answers: each order is looked up, then
settled in its own short transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from erplake.core.clock import utcnow
from erplake.core.db import transaction
from erplake.core.errors import AppError
from erplake.core.settings import Settings
from erplake.fees import ledger
from erplake.integrations.razorpay import RazorpayClient, parse_webhook
from erplake.integrations.stripe import StripeClient
from erplake.models.fees import Payment, PaymentOrder, WebhookEvent
from erplake.payments import service
from erplake.payments.service import ProviderPayment

log = structlog.get_logger(__name__)

PENDING_AFTER = timedelta(minutes=15)
EXPIRE_AFTER = timedelta(days=2)
BATCH = 200


@dataclass
class ReconcileResult:
    checked: int = 0
    credited: int = 0
    expired: int = 0
    errors: int = 0
    refunds_booked: int = 0
    receipts_numbered: int = 0


@dataclass(frozen=True)
class _Pending:
    id: uuid.UUID
    provider: str
    provider_order_id: str
    created_at: datetime


async def _lookup(
    pending: _Pending,
    razorpay: RazorpayClient,
    stripe_client: StripeClient,
) -> tuple[ProviderPayment | None, bool]:
    """(the captured payment if the provider has one, whether the provider closed it)."""
    if pending.provider == "stripe":
        session = await stripe_client.retrieve_checkout_session(pending.provider_order_id)
        if session.payment_status == "paid" and session.amount_total is not None:
            paid = ProviderPayment(
                provider="stripe",
                provider_order_id=session.id,
                payment_id=session.payment_intent or session.id,
                amount=session.amount_total,
                currency=session.currency or "",
            )
            return paid, False
        return None, session.status == "expired"
    order = await razorpay.fetch_order(pending.provider_order_id)
    if order.status != "paid":
        return None, False
    for payment in await razorpay.fetch_order_payments(order.id):
        if payment.captured:
            paid = ProviderPayment(
                provider="razorpay",
                provider_order_id=order.id,
                payment_id=payment.id,
                amount=payment.amount,
                currency=payment.currency,
            )
            return paid, False
    return None, False


async def reconcile_pending(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
) -> ReconcileResult:
    """Settle open orders older than 15 minutes, then book waiting refunds."""
    now = now or utcnow()
    result = ReconcileResult()
    async with transaction(sessionmaker) as session:
        rows = (
            await session.execute(
                select(
                    PaymentOrder.id,
                    PaymentOrder.provider,
                    PaymentOrder.provider_order_id,
                    PaymentOrder.created_at,
                )
                .where(
                    PaymentOrder.status.in_(("created", "failed")),
                    PaymentOrder.created_at < now - PENDING_AFTER,
                )
                .order_by(PaymentOrder.created_at)
                .limit(batch)
            )
        ).all()
    pending = [_Pending(*row) for row in rows]
    async with (
        RazorpayClient.from_settings(settings) as razorpay,
        StripeClient.from_settings(settings) as stripe_client,
    ):
        for order in pending:
            result.checked += 1
            try:
                paid, closed = await _lookup(order, razorpay, stripe_client)
            except AppError as exc:
                # One order the provider will not tell us about must not stop the rest.
                log.warning("reconcile_lookup_failed", order_id=str(order.id), error=exc.code)
                result.errors += 1
                continue
            async with transaction(sessionmaker) as session:
                if paid is not None:
                    outcome = await service.credit(session, None, paid)
                    result.credited += outcome == "credited"
                elif closed or order.created_at < now - EXPIRE_AFTER:
                    outcome = await service.expire(
                        session, provider=order.provider, provider_order_id=order.provider_order_id
                    )
                    result.expired += outcome == "expired"
    result.refunds_booked = await book_pending_refunds(sessionmaker)
    result.receipts_numbered = await number_waiting_receipts(sessionmaker)
    log.info("payments_reconciled", **vars(result))
    return result


async def number_waiting_receipts(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Number the online receipts still without one (each payment's receipt job numbers
    them within seconds; this catches a job that failed), a school at a time."""
    async with transaction(sessionmaker) as session:
        schools = (
            (
                await session.execute(
                    select(Payment.school_id).where(Payment.receipt_number.is_(None)).distinct()
                )
            )
            .scalars()
            .all()
        )
    numbered = 0
    for school_id in schools:
        numbered += await ledger.number_receipts_now(sessionmaker, school_id=school_id)
    return numbered


async def book_pending_refunds(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Refunds that came before their payment was credited, booked now that it is."""
    booked = 0
    async with transaction(sessionmaker) as session:
        events = (
            await session.execute(
                select(WebhookEvent.id, WebhookEvent.payload)
                .where(
                    WebhookEvent.provider == "razorpay",
                    WebhookEvent.outcome == "refund_pending",
                )
                .order_by(WebhookEvent.id)
                .with_for_update(skip_locked=True)
                .limit(BATCH)
            )
        ).all()
        for event_id, payload in events:
            booked += await _book_waiting_refund(session, event_id, payload)
    return booked


async def _book_waiting_refund(session: AsyncSession, event_id: int, payload: object) -> int:
    event = parse_webhook(json.dumps(payload).encode())
    refund = event.refund
    if refund is None:
        return 0
    outcome = await service.book_refund(
        session,
        provider_payment_id=refund.payment_id,
        refund_id=refund.id,
        amount=refund.amount,
        provider_order_id=event.payment.order_id if event.payment else None,
    )
    if outcome == "refund_pending":
        return 0
    await session.execute(
        update(WebhookEvent).where(WebhookEvent.id == event_id).values(outcome=outcome)
    )
    return int(outcome == "refund_booked")
