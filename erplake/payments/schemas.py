from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import Field, field_validator

from erplake.core.money import Paise
from erplake.core.schemas import Schema

MAX_INVOICES_PER_ORDER = 50


class OrderIn(Schema):
    invoice_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MAX_INVOICES_PER_ORDER,
        description="The invoices to pay, possibly of several children of a family. The "
        "amount is each invoice's balance now, never a figure from the client.",
    )

    @field_validator("invoice_ids")
    @classmethod
    def _distinct(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        return list(dict.fromkeys(value))


class OrderAllocationOut(Schema):
    invoice_id: uuid.UUID
    student_id: uuid.UUID | None = Field(
        description="Left out of a pay link's order: its opener has not signed in"
    )
    amount: Paise


class OrderOut(Schema):
    """What the web checkout needs. With Razorpay, open Checkout with `key_id` and
    `provider_order_id` (or, with the fake provider of a demo, go to `checkout_url`);
    with Stripe, go to `checkout_url`."""

    id: uuid.UUID
    provider: Literal["razorpay", "stripe"]
    provider_order_id: str
    status: Literal["created", "paid", "failed", "flagged", "expired"]
    amount: Paise
    currency: str
    key_id: str | None = Field(description="Razorpay's public key id for Checkout")
    checkout_url: str | None
    allocations: list[OrderAllocationOut]
    created_at: datetime
    settled_at: datetime | None


class OrderListItem(Schema):
    id: uuid.UUID
    provider: str
    provider_order_id: str
    status: str
    amount: Paise
    currency: str
    via_link: bool
    provider_payment_id: str | None
    flag_reason: str | None
    invoice_count: int
    created_at: datetime
    settled_at: datetime | None


class CheckoutVerifyIn(Schema):
    """The three fields Razorpay Checkout hands the browser after a payment."""

    razorpay_payment_id: str = Field(min_length=1, max_length=64)
    razorpay_order_id: str = Field(min_length=1, max_length=100)
    razorpay_signature: str = Field(min_length=1, max_length=128)


class WebhookAck(Schema):
    ok: bool = True
    duplicate: bool = Field(default=False, description="This event id was already handled")
    outcome: str


class PayLinkLineOut(Schema):
    description: str
    amount: Paise
    concession: Paise


class PayLinkInvoiceOut(Schema):
    """Only what a parent holding the link needs to pay this one invoice."""

    school_name: str
    student_first_name: str
    invoice_number: str
    instalment: str
    due_on: date
    status: str
    lines: list[PayLinkLineOut]
    total: Paise
    paid: Paise
    balance: Paise
    payable: bool
