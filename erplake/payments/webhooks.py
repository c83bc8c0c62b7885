"""Provider webhooks: verified over the raw body first, kept once per event id, then
applied through the same crediting path as checkout and reconciliation.

Providers deliver an event more than once and in any order, and retry anything but a
2xx. So a duplicate answers 200 and does nothing; an event about something we cannot
act on yet (a refund of a payment not credited yet) is kept with outcome
`refund_pending` and booked by the reconciliation job; `webhook_events.outcome` says
what each event did.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.audit.service import Actor
from erplake.core.db import driver_connection
from erplake.core.errors import BadRequest
from erplake.integrations.razorpay import RazorpayWebhook, parse_webhook
from erplake.integrations.stripe import StripeEvent
from erplake.payments import service
from erplake.payments.schemas import WebhookAck
from erplake.payments.service import ProviderPayment

log = structlog.get_logger(__name__)

MAX_EVENT_ID_CHARS = 100


class EventIdMissing(BadRequest):
    code = "event_id_missing"


# The hot path of a provider's burst of deliveries runs on the driver (the session's
# own connection and transaction): SQLAlchemy's per-statement work cost more than the
# statements. The payload is kept as the provider sent it (PostgreSQL parses it).
_RECORD = (
    "INSERT INTO webhook_events (provider, event_id, event_type, payload, school_id)"
    " VALUES ($1::text, $2, $3, $4, (SELECT school_id FROM payment_orders"
    " WHERE provider = $1::text AND provider_order_id = $5))"
    " ON CONFLICT (provider, event_id) DO NOTHING RETURNING id"
)
# Only the outcome changes afterwards (no indexed column: an in-place update).
_FINISH = "UPDATE webhook_events SET outcome = $2 WHERE id = $1"


async def record_event(
    session: AsyncSession,
    *,
    provider: str,
    event_id: str,
    event_type: str,
    raw_body: bytes,
    order_id: str | None,
) -> int | None:
    """Keep an accepted event, with the school of its order (`order_id`, the
    provider's) if it is ours; None when this event id was already handled (a
    concurrent delivery of the same id waits here until the first commits)."""
    row_id = await (await driver_connection(session)).fetchval(
        _RECORD, provider, event_id, event_type[:64], raw_body.decode(), order_id
    )
    return None if row_id is None else int(row_id)


async def _finish(session: AsyncSession, row_id: int, outcome: str) -> None:
    await (await driver_connection(session)).execute(_FINISH, row_id, outcome)


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
        raw_body=raw_body,
        order_id=_order_of(event),
    )
    if row_id is None:
        return WebhookAck(duplicate=True, outcome="duplicate")
    outcome = await apply_razorpay(session, actor, event)
    await _finish(session, row_id, outcome)
    log.info("razorpay_webhook", event_type=event.event, outcome=outcome, event_id=event_id)
    return WebhookAck(outcome=outcome)


def _order_of(event: RazorpayWebhook) -> str | None:
    if event.payment is not None and event.payment.order_id is not None:
        return event.payment.order_id
    return event.order.id if event.order is not None else None


async def apply_razorpay(session: AsyncSession, actor: Actor | None, event: RazorpayWebhook) -> str:
    """What one event did (its outcome)."""
    payment = event.payment
    if event.event in ("payment.captured", "order.paid"):
        if payment is None or payment.order_id is None:
            return "ignored_no_order"
        if payment.status not in ("captured", "refunded") and not payment.captured:
            return "ignored_not_captured"
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
        return outcome
    if event.event == "payment.failed":
        if payment is None or payment.order_id is None:
            return "ignored_no_order"
        return await service.record_failure(
            session, provider="razorpay", provider_order_id=payment.order_id
        )
    if event.event == "refund.processed":
        refund = event.refund
        if refund is None:
            return "ignored_no_refund"
        order_id = payment.order_id if payment is not None else None
        return await service.book_refund(
            session,
            provider_payment_id=refund.payment_id,
            refund_id=refund.id,
            amount=refund.amount,
            provider_order_id=order_id,
        )
    return "ignored"


async def handle_stripe(
    session: AsyncSession, actor: Actor | None, *, event: StripeEvent, raw_body: bytes
) -> WebhookAck:
    """Apply one Stripe event verified by `verify_webhook`."""
    checkout = event.checkout_session()
    row_id = await record_event(
        session,
        provider="stripe",
        event_id=event.id,
        event_type=event.type,
        raw_body=raw_body,
        order_id=checkout.id if checkout is not None else None,
    )
    if row_id is None:
        return WebhookAck(duplicate=True, outcome="duplicate")
    outcome = "ignored"
    if checkout is not None:
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
    await _finish(session, row_id, outcome)
    log.info("stripe_webhook", event_type=event.type, outcome=outcome, event_id=event.id)
    return WebhookAck(outcome=outcome)
