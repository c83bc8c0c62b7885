"""Provider webhooks: verified over the raw body first, kept once per event id, then
applied through the same crediting path as checkout and reconciliation.

Providers deliver an event more than once and in any order, and retry anything but a
2xx. So a duplicate answers 200 and does nothing; an event about something we cannot
act on yet (a refund of a payment not credited yet) is kept with outcome
`refund_pending` and booked by the reconciliation job; `webhook_events.outcome` says
what each event did.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.audit.service import Actor
from erplake.core.errors import BadRequest
from erplake.integrations.razorpay import RazorpayWebhook, parse_webhook
from erplake.integrations.stripe import StripeEvent
from erplake.models.fees import PaymentOrder, WebhookEvent
from erplake.payments import service
from erplake.payments.schemas import WebhookAck
from erplake.payments.service import ProviderPayment

log = structlog.get_logger(__name__)

MAX_EVENT_ID_CHARS = 100


class EventIdMissing(BadRequest):
    code = "event_id_missing"


async def record_event(
    session: AsyncSession,
    *,
    provider: str,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
) -> int | None:
    """Keep an accepted event; None when this event id was already handled (a
    concurrent delivery of the same id waits here until the first commits)."""
    return (
        await session.execute(
            insert(WebhookEvent)
            .values(
                provider=provider, event_id=event_id, event_type=event_type[:64], payload=payload
            )
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(WebhookEvent.id)
        )
    ).scalar_one_or_none()


async def _finish(session: AsyncSession, row_id: int, outcome: str, order_id: str | None) -> None:
    school_id = (
        select(PaymentOrder.school_id)
        .where(PaymentOrder.provider_order_id == order_id)
        .scalar_subquery()
    )
    await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == row_id)
        .values(outcome=outcome, school_id=school_id)
    )


def checked_event_id(event_id: str | None) -> str:
    if not event_id or not event_id.strip():
        raise EventIdMissing("the x-razorpay-event-id header is missing")
    if len(event_id) > MAX_EVENT_ID_CHARS:
        raise EventIdMissing("the x-razorpay-event-id header is too long")
    return event_id.strip()


async def handle_razorpay(
    session: AsyncSession, actor: Actor | None, *, raw_body: bytes, event_id: str
) -> WebhookAck:
    """Apply one Razorpay event whose signature the caller has verified."""
    event = parse_webhook(raw_body)
    row_id = await record_event(
        session,
        provider="razorpay",
        event_id=event_id,
        event_type=event.event,
        payload=json.loads(raw_body),
    )
    if row_id is None:
        return WebhookAck(duplicate=True, outcome="duplicate")
    outcome, order_id = await apply_razorpay(session, actor, event)
    await _finish(session, row_id, outcome, order_id)
    log.info("razorpay_webhook", event_type=event.event, outcome=outcome, event_id=event_id)
    return WebhookAck(outcome=outcome)


async def apply_razorpay(
    session: AsyncSession, actor: Actor | None, event: RazorpayWebhook
) -> tuple[str, str | None]:
    """(outcome, our provider order id or None) for one event."""
    payment = event.payment
    if event.event in ("payment.captured", "order.paid"):
        if payment is None or payment.order_id is None:
            return "ignored_no_order", None
        if payment.status not in ("captured", "refunded") and not payment.captured:
            return "ignored_not_captured", payment.order_id
        outcome = await service.credit(
            session,
            actor,
            ProviderPayment(
                provider="razorpay",
                provider_order_id=payment.order_id,
                payment_id=payment.id,
                amount=payment.amount,
                currency=payment.currency,
            ),
        )
        return outcome, payment.order_id
    if event.event == "payment.failed":
        if payment is None or payment.order_id is None:
            return "ignored_no_order", None
        outcome = await service.record_failure(
            session, provider="razorpay", provider_order_id=payment.order_id
        )
        return outcome, payment.order_id
    if event.event == "refund.processed":
        refund = event.refund
        if refund is None:
            return "ignored_no_refund", None
        order_id = payment.order_id if payment is not None else None
        outcome = await service.book_refund(
            session,
            provider_payment_id=refund.payment_id,
            refund_id=refund.id,
            amount=refund.amount,
            provider_order_id=order_id,
        )
        return outcome, order_id
    return "ignored", payment.order_id if payment is not None else None


async def handle_stripe(
    session: AsyncSession, actor: Actor | None, *, event: StripeEvent, raw_body: bytes
) -> WebhookAck:
    """Apply one Stripe event verified by `verify_webhook`."""
    row_id = await record_event(
        session,
        provider="stripe",
        event_id=event.id,
        event_type=event.type,
        payload=json.loads(raw_body),
    )
    if row_id is None:
        return WebhookAck(duplicate=True, outcome="duplicate")
    checkout = event.checkout_session()
    outcome, order_id = "ignored", None
    if checkout is not None:
        order_id = checkout.id
        if event.type in (
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded",
        ):
            if checkout.payment_status == "paid" and checkout.amount_total is not None:
                outcome = await service.credit(
                    session,
                    actor,
                    ProviderPayment(
                        provider="stripe",
                        provider_order_id=checkout.id,
                        payment_id=checkout.payment_intent or checkout.id,
                        amount=checkout.amount_total,
                        currency=checkout.currency or "",
                    ),
                )
            else:
                outcome = "awaiting_payment"
        elif event.type == "checkout.session.async_payment_failed":
            outcome = await service.record_failure(
                session, provider="stripe", provider_order_id=checkout.id
            )
        elif event.type == "checkout.session.expired":
            outcome = await service.expire(
                session, provider="stripe", provider_order_id=checkout.id
            )
    await _finish(session, row_id, outcome, order_id)
    log.info("stripe_webhook", event_type=event.type, outcome=outcome, event_id=event.id)
    return WebhookAck(outcome=outcome)
