"""Stripe, when PAYMENT_PROVIDER=stripe: a Checkout Session per order, and its webhook
verified by the SDK (signature over the raw body, at most 300 seconds old)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from erplake.core.settings import Settings
from erplake.integrations.fakes.stripe import FakeStripe
from tests.payments.conftest import (
    BillingClient,
    Fees,
    assert_ledger_agrees,
    count,
    invoice,
    order_for,
    rows,
)


@pytest.fixture
async def stripe_billing(
    billing_for: BillingClient, stripe_settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with billing_for(stripe_settings) as client:
        yield client


async def _post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/webhooks/stripe", content=body, headers=headers)


async def test_a_stripe_checkout_is_credited_once(
    stripe_billing: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    fees: Fees,
    database_url: str,
    resources: Any,
) -> None:
    order = await order_for(stripe_billing, fees.vikram, fees.invoices["Diya"])
    session = fake_stripe.session(order["provider_order_id"])
    assert order["provider"] == "stripe"
    assert order["key_id"] is None
    assert order["checkout_url"] == session["url"]
    assert session["client_reference_id"] == order["id"]
    assert session["amount_total"] == 150_000

    body, headers = fake_stripe.checkout_completed_event(order["provider_order_id"])
    answers = [await _post(stripe_billing, body, headers) for _ in range(3)]

    assert [a.json()["outcome"] for a in answers] == ["credited", "duplicate", "duplicate"]
    assert rows(database_url, "SELECT method, amount FROM payments") == [("stripe", 150_000)]
    assert invoice(database_url, fees.invoices["Diya"]) == ("paid", 150_000, 0)
    # The same session completed again under a new event id: still one credit.
    body, headers = fake_stripe.checkout_completed_event(order["provider_order_id"])
    assert (await _post(stripe_billing, body, headers)).json()["outcome"] == "already_paid"
    assert count(database_url, "payments") == 1
    await assert_ledger_agrees(resources, fees.school_id)


async def test_a_stale_or_forged_stripe_event_is_refused(
    stripe_billing: httpx.AsyncClient, fake_stripe: FakeStripe, fees: Fees, database_url: str
) -> None:
    order = await order_for(stripe_billing, fees.vikram, fees.invoices["Diya"])
    session_id = order["provider_order_id"]

    stale = fake_stripe.checkout_completed_event(session_id, timestamp=int(time.time()) - 301)
    body, headers = fake_stripe.checkout_completed_event(session_id)
    forged_body = body.replace(b"150000", b"1")
    unsigned = {k: v for k, v in headers.items() if k != "Stripe-Signature"}

    for sent_body, sent_headers in (stale, (forged_body, headers), (body, unsigned)):
        answer = await _post(stripe_billing, sent_body, sent_headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_signature"
    assert count(database_url, "webhook_events") == 0
    assert count(database_url, "payments") == 0


async def test_a_stripe_amount_mismatch_is_flagged(
    stripe_billing: httpx.AsyncClient, fake_stripe: FakeStripe, fees: Fees, database_url: str
) -> None:
    order = await order_for(stripe_billing, fees.vikram, fees.invoices["Diya"])
    completed = fake_stripe.complete(order["provider_order_id"])
    body, headers = fake_stripe.build_event(
        "checkout.session.completed", {**completed, "amount_total": 100}
    )
    answer = await _post(stripe_billing, body, headers)
    assert answer.json()["outcome"] == "flagged"
    assert rows(database_url, "SELECT status FROM payment_orders") == [("flagged",)]
    assert count(database_url, "payments") == 0
