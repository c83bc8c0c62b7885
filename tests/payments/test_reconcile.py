"""Reconciliation: an order whose webhook was lost is credited from the provider's own
record; old unpaid orders expire; the cron slot makes one job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from erplake.core.settings import Settings
from erplake.integrations.fakes.razorpay import FakeRazorpay
from erplake.integrations.fakes.stripe import FakeStripe
from erplake.models.outbox import OutboxJob
from erplake.payments.reconcile import reconcile_pending
from erplake.payments.tasks import RECONCILE_TASK, schedule_reconcile
from tests.payments.conftest import (
    BillingClient,
    Fees,
    assert_ledger_agrees,
    count,
    invoice,
    order_for,
    rows,
)


def _age(database_url: str, minutes: int) -> None:
    import psycopg

    from erplake.core.db import libpq_url

    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute(
            "UPDATE payment_orders SET created_at = now() - make_interval(mins => %s)", (minutes,)
        )


async def test_reconciliation_credits_a_payment_whose_webhook_was_lost(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    pay_settings: Settings,
    resources: Any,
    database_url: str,
) -> None:
    paid = await order_for(billing, fees.vikram, fees.invoices["Diya"])
    unpaid = await order_for(billing, fees.vikram, fees.invoices["Rohan"])
    payment_id = await fake_razorpay.pay(paid["provider_order_id"])  # webhooks go nowhere

    fresh = await reconcile_pending(resources.sessionmaker, pay_settings)
    assert fresh.checked == 0  # younger than 15 minutes: the webhook may still come

    _age(database_url, 20)
    result = await reconcile_pending(resources.sessionmaker, pay_settings)

    assert (result.checked, result.credited, result.expired) == (2, 1, 0)
    assert rows(database_url, "SELECT provider_payment_id FROM payments") == [(payment_id,)]
    assert invoice(database_url, fees.invoices["Diya"]) == ("paid", 150_000, 0)
    statuses = dict(rows(database_url, "SELECT provider_order_id, status FROM payment_orders"))
    assert statuses == {paid["provider_order_id"]: "paid", unpaid["provider_order_id"]: "created"}
    again = await reconcile_pending(resources.sessionmaker, pay_settings)
    assert (again.checked, again.credited) == (1, 0)
    assert count(database_url, "payments") == 1
    await assert_ledger_agrees(resources, fees.school_id)


async def test_reconciliation_expires_old_unpaid_orders_and_survives_provider_errors(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    pay_settings: Settings,
    resources: Any,
    database_url: str,
) -> None:
    await order_for(billing, fees.vikram, fees.invoices["Diya"])
    _age(database_url, 3 * 24 * 60)
    fake_razorpay.fail_next(2, status=500)  # both attempts of one lookup
    down = await reconcile_pending(resources.sessionmaker, pay_settings)
    assert (down.errors, down.expired) == (1, 0)

    result = await reconcile_pending(resources.sessionmaker, pay_settings)
    assert result.expired == 1
    assert rows(database_url, "SELECT status FROM payment_orders") == [("expired",)]


async def test_reconciliation_credits_a_completed_stripe_session(
    billing_for: BillingClient,
    fake_stripe: FakeStripe,
    fees: Fees,
    stripe_settings: Settings,
    resources: Any,
    database_url: str,
) -> None:
    async with billing_for(stripe_settings) as billing:
        order = await order_for(billing, fees.vikram, fees.invoices["Diya"])
    fake_stripe.complete(order["provider_order_id"])
    _age(database_url, 20)

    result = await reconcile_pending(resources.sessionmaker, stripe_settings)

    assert result.credited == 1
    assert invoice(database_url, fees.invoices["Diya"])[0] == "paid"


async def test_one_reconcile_job_per_cron_slot_and_it_runs(
    resources: Any, pay_settings: Settings, drain_outbox: Any, database_url: str
) -> None:
    slot = datetime(2026, 11, 26, 10, 5, tzinfo=UTC)
    assert await schedule_reconcile(resources.sessionmaker, slot=slot) is not None
    assert await schedule_reconcile(resources.sessionmaker, slot=slot) is None
    assert (
        await schedule_reconcile(resources.sessionmaker, slot=slot + timedelta(minutes=5))
        is not None
    )
    assert await drain_outbox(pay_settings) == 2
    done = rows(database_url, f"SELECT task, status FROM {OutboxJob.__tablename__}")
    assert done == [(RECONCILE_TASK, "done"), (RECONCILE_TASK, "done")]
