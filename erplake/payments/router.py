"""The billing role: online orders, checkout verification, pay links and the
providers' webhooks (served under /billing)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request

from erplake.audit.deps import AuditActor, request_origin
from erplake.core.db import DbSession
from erplake.core.pagination import Page, Pagination
from erplake.core.permissions import P
from erplake.core.security import Principal, require
from erplake.core.settings import Settings
from erplake.integrations.razorpay import webhook_signature_valid
from erplake.integrations.stripe import verify_webhook
from erplake.payments import service, webhooks
from erplake.payments.links import invoice_id_from_token, pay_link_url
from erplake.payments.schemas import (
    CheckoutVerifyIn,
    OrderIn,
    OrderListItem,
    OrderOut,
    PayLinkInvoiceOut,
    WebhookAck,
)

router = APIRouter(tags=["payments"])

Payer = Annotated[Principal, require(P.invoices_read)]

_ORDER_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "an invoice that does not exist or is not yours"},
    409: {"description": "an invoice that is paid, cancelled or has nothing due"},
    422: {"description": "too many invoices, or an amount the provider refuses"},
    502: {"description": "the payment provider refused the order"},
    503: {"description": "the payment provider is unreachable; try again"},
}
_WEBHOOK_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "missing or invalid signature, or not an event: nothing written"},
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


class PayLinkNotFound(service.InvoiceNotFound):
    code = "pay_link_not_found"


def _invoice_of(request: Request, token: str) -> uuid.UUID:
    invoice_id = invoice_id_from_token(_settings(request), token)
    if invoice_id is None:
        raise PayLinkNotFound("this pay link is not valid")
    return invoice_id


@router.post("/orders", response_model=OrderOut, status_code=201, responses=_ORDER_ERRORS)
async def create_order(
    body: OrderIn, request: Request, principal: Payer, actor: AuditActor
) -> OrderOut:
    """Start an online payment for invoices: a parent for their own children's, staff
    who record payments for any. The amount is each invoice's balance now, never a
    client's figure. The same payer asking again for the same invoices within 30
    minutes gets the same order (Razorpay)."""
    return await service.create_order(
        request.app.state.sessionmaker,
        _settings(request),
        actor,
        principal,
        school_id=principal.school_id,
        invoice_ids=body.invoice_ids,
        return_to=_settings(request).public_base_url.rstrip("/") + "/",
    )


@router.get("/orders", response_model=Page[OrderListItem])
async def list_orders(
    session: DbSession,
    principal: Payer,
    page: Pagination,
    status: Annotated[
        Literal["created", "paid", "failed", "flagged", "expired"] | None, Query()
    ] = None,
) -> Page[OrderListItem]:
    """Online orders, newest first: the school's for staff who record payments (e.g.
    `status=flagged` to reconcile), otherwise the caller's own."""
    items, total = await service.list_orders(session, principal, page=page, status=status)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/orders/{order_id}", response_model=OrderOut, responses={404: {}})
async def get_order(
    order_id: uuid.UUID, request: Request, session: DbSession, principal: Payer
) -> OrderOut:
    """An order and its status (the web app polls it after checkout)."""
    order = await service.get_order(session, principal, order_id=order_id)
    return service.order_out(order, _settings(request), None)


@router.post(
    "/orders/{order_id}/verify",
    response_model=OrderOut,
    responses={400: {"description": "the signature does not prove this order's payment"}},
)
async def verify_order(
    order_id: uuid.UUID,
    body: CheckoutVerifyIn,
    request: Request,
    session: DbSession,
    principal: Payer,
    actor: AuditActor,
) -> OrderOut:
    """Razorpay Checkout's success handler: the signature is checked against the order
    id we stored, then the payment is credited (once, whichever of this, the webhook or
    reconciliation comes first)."""
    order = await service.get_order(session, principal, order_id=order_id)
    await service.verify_checkout(
        session,
        _settings(request),
        actor,
        order,
        razorpay_order_id=body.razorpay_order_id,
        razorpay_payment_id=body.razorpay_payment_id,
        razorpay_signature=body.razorpay_signature,
    )
    await session.refresh(order)
    return service.order_out(order, _settings(request), None)


@router.get("/pay/{token}", response_model=PayLinkInvoiceOut, responses={404: {}})
async def pay_link(token: str, request: Request, session: DbSession) -> PayLinkInvoiceOut:
    """The one invoice a pay link opens, without signing in: school, the child's first
    name, instalment, lines and balance; nothing else. A wrong token is 404."""
    _, invoice = await service.pay_link_invoice(session, invoice_id=_invoice_of(request, token))
    return invoice


@router.post(
    "/pay/{token}/order", response_model=OrderOut, status_code=201, responses=_ORDER_ERRORS
)
async def pay_link_order(token: str, request: Request) -> OrderOut:
    """Start paying the pay link's invoice (its whole balance), without signing in."""
    invoice_id = _invoice_of(request, token)
    return await service.create_link_order(
        request.app.state.sessionmaker,
        _settings(request),
        request_origin(request),
        invoice_id=invoice_id,
        return_to=pay_link_url(_settings(request), invoice_id),
    )


@router.post("/webhooks/razorpay", response_model=WebhookAck, responses=_WEBHOOK_ERRORS)
async def razorpay_webhook(
    request: Request,
    session: DbSession,
    signature: Annotated[str | None, Header(alias="X-Razorpay-Signature")] = None,
    event_id: Annotated[str | None, Header(alias="x-razorpay-event-id")] = None,
) -> WebhookAck:
    """Razorpay's events. The signature (HMAC of the raw body with the webhook secret)
    is checked before anything is read; an event id already handled answers 200 and
    does nothing; `payment.captured` / `order.paid` credit once, `payment.failed` is
    recorded without ever un-paying, `refund.processed` books a refund."""
    raw = await request.body()
    if not webhook_signature_valid(raw, signature, _settings(request).razorpay_webhook_secret):
        raise service.SignatureInvalid("the webhook signature is missing or invalid")
    return await webhooks.handle_razorpay(
        session,
        request_origin(request),
        raw_body=raw,
        event_id=webhooks.checked_event_id(event_id),
    )


@router.post("/webhooks/stripe", response_model=WebhookAck, responses=_WEBHOOK_ERRORS)
async def stripe_webhook(
    request: Request,
    session: DbSession,
    signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookAck:
    """Stripe's events, verified with the SDK (signature over the raw body, at most 300
    seconds old); `checkout.session.completed` credits once per event and session."""
    raw = await request.body()
    event = verify_webhook(raw, signature, _settings(request).stripe_webhook_secret)
    return await webhooks.handle_stripe(session, request_origin(request), event=event, raw_body=raw)
