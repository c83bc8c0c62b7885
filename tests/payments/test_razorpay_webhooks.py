"""Razorpay webhooks: signature before anything, one credit per payment whatever the
number, order or concurrency of deliveries, never un-paying, flagging a mismatch."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from erplake.integrations.fakes.razorpay import FakeRazorpay
from erplake.integrations.razorpay import webhook_signature
from erplake.payments.reconcile import book_pending_refunds, number_waiting_receipts
from tests.payments.conftest import (
    RAZORPAY_WEBHOOK_SECRET,
    BillingClient,
    Fees,
    assert_ledger_agrees,
    count,
    deliver,
    invoice,
    order_for,
    raised,
    rows,
)


async def _paid_order(billing: httpx.AsyncClient, fake: FakeRazorpay, fees: Fees) -> dict[str, Any]:
    order = await order_for(billing, fees.vikram, fees.invoices["Diya"])
    order["payment_id"] = await fake.pay(order["provider_order_id"])
    return order


async def test_forged_or_missing_signature_is_refused_and_nothing_is_written(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, database_url: str
) -> None:
    await _paid_order(billing, fake_razorpay, fees)
    body, headers = raised(fake_razorpay, "payment.captured")
    forged = {**headers, "X-Razorpay-Signature": webhook_signature(body, "not-our-secret")}
    missing = {k: v for k, v in headers.items() if k != "X-Razorpay-Signature"}
    tampered_body = body.replace(b'"captured"', b'"captured" ', 1)

    for sent_body, sent_headers in ((body, forged), (body, missing), (tampered_body, headers)):
        answer = await deliver(billing, sent_body, sent_headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_signature"

    assert count(database_url, "webhook_events") == 0
    assert count(database_url, "payments") == 0
    assert rows(database_url, "SELECT status FROM payment_orders") == [("created",)]
    assert invoice(database_url, fees.invoices["Diya"])[0] == "issued"


async def test_a_webhook_without_an_event_id_is_refused(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, database_url: str
) -> None:
    await _paid_order(billing, fake_razorpay, fees)
    body, headers = raised(fake_razorpay, "payment.captured")
    del headers["x-razorpay-event-id"]
    answer = await deliver(billing, body, headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "event_id_missing"
    assert count(database_url, "payments") == 0


async def test_the_same_webhook_five_times_credits_once(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    database_url: str,
    resources: Any,
) -> None:
    order = await _paid_order(billing, fake_razorpay, fees)
    body, headers = raised(fake_razorpay, "payment.captured")

    answers = [await deliver(billing, body, headers) for _ in range(5)]

    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["outcome"] for a in answers] == ["credited"] + ["duplicate"] * 4
    assert rows(database_url, "SELECT amount, method, provider_payment_id FROM payments") == [
        (150_000, "razorpay", order["payment_id"])
    ]
    assert invoice(database_url, fees.invoices["Diya"]) == ("paid", 150_000, 0)
    assert rows(database_url, "SELECT status, outcome FROM payment_orders, webhook_events") == [
        ("paid", "credited")
    ]
    await assert_ledger_agrees(resources, fees.school_id)


async def test_captured_order_paid_and_checkout_verification_credit_once(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    database_url: str,
    resources: Any,
) -> None:
    order = await _paid_order(billing, fake_razorpay, fees)
    captured = raised(fake_razorpay, "payment.captured")
    order_paid = raised(fake_razorpay, "order.paid")
    from erplake.integrations.razorpay import checkout_signature
    from tests.payments.conftest import RAZORPAY_KEY_SECRET

    verified = await billing.post(
        f"/orders/{order['id']}/verify",
        json={
            "razorpay_order_id": order["provider_order_id"],
            "razorpay_payment_id": order["payment_id"],
            "razorpay_signature": checkout_signature(
                order["provider_order_id"], order["payment_id"], RAZORPAY_KEY_SECRET
            ),
        },
        headers=fees.vikram.headers,
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "paid"
    assert (await deliver(billing, *order_paid)).json()["outcome"] == "already_paid"
    assert (await deliver(billing, *captured)).json()["outcome"] == "already_paid"

    assert count(database_url, "payments") == 1
    assert invoice(database_url, fees.invoices["Diya"]) == ("paid", 150_000, 0)
    await assert_ledger_agrees(resources, fees.school_id)


async def test_concurrent_duplicate_deliveries_credit_once(
    billing_for: BillingClient,
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    database_url: str,
    resources: Any,
) -> None:
    await _paid_order(billing, fake_razorpay, fees)
    events = [raised(fake_razorpay, "payment.captured"), raised(fake_razorpay, "order.paid")]

    async def one_client(n: int) -> list[httpx.Response]:
        async with billing_for() as client:
            return [await deliver(client, *events[(n + k) % 2]) for k in range(2)]

    answers = [
        a for batch in await asyncio.gather(*(one_client(n) for n in range(6))) for a in batch
    ]

    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    outcomes = sorted(a.json()["outcome"] for a in answers)
    assert outcomes.count("credited") == 1
    assert set(outcomes) <= {"credited", "already_paid", "duplicate"}
    assert count(database_url, "payments") == 1
    assert count(database_url, "webhook_events") == 2
    assert invoice(database_url, fees.invoices["Diya"]) == ("paid", 150_000, 0)
    await assert_ledger_agrees(resources, fees.school_id)


async def test_payment_failed_after_captured_does_not_unpay(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    database_url: str,
) -> None:
    order = await _paid_order(billing, fake_razorpay, fees)
    await deliver(billing, *raised(fake_razorpay, "payment.captured"))
    await fake_razorpay.fail(order["provider_order_id"])

    answer = await deliver(billing, *raised(fake_razorpay, "payment.failed"))

    assert answer.json()["outcome"] == "payment_failed_ignored"
    assert rows(database_url, "SELECT status FROM payment_orders") == [("paid",)]
    assert invoice(database_url, fees.invoices["Diya"]) == ("paid", 150_000, 0)


async def test_a_failed_attempt_then_a_capture_credits(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, database_url: str
) -> None:
    order = await order_for(billing, fees.vikram, fees.invoices["Diya"])
    await fake_razorpay.fail(order["provider_order_id"])
    failed = await deliver(billing, *raised(fake_razorpay, "payment.failed"))
    assert failed.json()["outcome"] == "payment_failed"
    assert rows(database_url, "SELECT status FROM payment_orders") == [("failed",)]

    await fake_razorpay.pay(order["provider_order_id"])
    # order.paid first: events come in any order.
    assert (await deliver(billing, *raised(fake_razorpay, "order.paid"))).json()[
        "outcome"
    ] == "credited"
    assert rows(database_url, "SELECT status FROM payment_orders") == [("paid",)]
    assert invoice(database_url, fees.invoices["Diya"])[0] == "paid"


def _signed(event: str, **entities: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    fake = FakeRazorpay(webhook_secret=RAZORPAY_WEBHOOK_SECRET)
    return fake.build_event(event, **entities)


async def test_a_mismatched_amount_or_currency_is_flagged_not_credited(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    database_url: str,
) -> None:
    await _paid_order(billing, fake_razorpay, fees)
    body, _ = raised(fake_razorpay, "payment.captured")
    payment = json.loads(body)["payload"]["payment"]["entity"]

    short = await deliver(billing, *_signed("payment.captured", payment={**payment, "amount": 100}))

    assert short.status_code == 200
    assert short.json()["outcome"] == "flagged"
    status, reason = rows(database_url, "SELECT status, flag_reason FROM payment_orders")[0]
    assert status == "flagged"
    assert "100 INR" in reason and "150000 INR" in reason
    assert count(database_url, "payments") == 0
    assert invoice(database_url, fees.invoices["Diya"]) == ("issued", 0, 150_000)
    # The genuine event afterwards does not credit a flagged order either: a person
    # looks at it first.
    assert (await deliver(billing, *raised(fake_razorpay, "payment.captured"))).json()[
        "outcome"
    ] == "flagged"
    assert count(database_url, "payments") == 0

    other = await order_for(billing, fees.vikram, fees.invoices["Rohan"])
    await fake_razorpay.pay(other["provider_order_id"])
    body, _ = raised(fake_razorpay, "payment.captured")
    payment = json.loads(body)["payload"]["payment"]["entity"]
    dollars = await deliver(
        billing, *_signed("payment.captured", payment={**payment, "currency": "USD"})
    )
    assert dollars.json()["outcome"] == "flagged"
    assert count(database_url, "payments") == 0


async def test_one_order_for_two_children_credits_each_child(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    database_url: str,
    resources: Any,
) -> None:
    order = await order_for(billing, fees.vikram, fees.invoices["Diya"], fees.invoices["Rohan"])
    assert order["amount"] == 270_000
    await fake_razorpay.pay(order["provider_order_id"])

    await deliver(billing, *raised(fake_razorpay, "order.paid"))

    assert sorted(r[0] for r in rows(database_url, "SELECT amount FROM payments")) == [
        120_000,
        150_000,
    ]
    assert invoice(database_url, fees.invoices["Diya"])[0] == "paid"
    assert invoice(database_url, fees.invoices["Rohan"])[0] == "paid"
    # Each child's receipt is rendered by the worker once the credit commits.
    queued = rows(
        database_url,
        "SELECT o.payload->>'payment_id' FROM outbox_jobs o"
        " WHERE o.task = 'fees.render_receipt_pdf' ORDER BY 1",
    )
    assert queued == rows(database_url, "SELECT CAST(id AS text) FROM payments ORDER BY 1")
    await assert_ledger_agrees(resources, fees.school_id)


async def test_refund_processed_is_booked_once(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    database_url: str,
    resources: Any,
) -> None:
    order = await _paid_order(billing, fake_razorpay, fees)
    await deliver(billing, *raised(fake_razorpay, "payment.captured"))
    await fake_razorpay.refund(order["payment_id"], 50_000)
    processed = raised(fake_razorpay, "refund.processed")

    answers = [await deliver(billing, *processed) for _ in range(3)]
    ignored = await deliver(billing, *raised(fake_razorpay, "refund.created"))

    assert [a.json()["outcome"] for a in answers] == ["refund_booked"] + ["duplicate"] * 2
    assert ignored.json()["outcome"] == "ignored"
    assert rows(database_url, "SELECT refunded FROM payments") == [(50_000,)]
    assert invoice(database_url, fees.invoices["Diya"]) == ("partially_paid", 100_000, 50_000)
    await assert_ledger_agrees(resources, fees.school_id)


async def test_a_refund_before_its_capture_is_booked_once_the_payment_is_credited(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    database_url: str,
    resources: Any,
) -> None:
    order = await _paid_order(billing, fake_razorpay, fees)
    await fake_razorpay.refund(order["payment_id"])

    early = await deliver(billing, *raised(fake_razorpay, "refund.processed"))
    assert early.json()["outcome"] == "refund_pending"
    assert count(database_url, "payments") == 0

    await deliver(billing, *raised(fake_razorpay, "payment.captured"))
    assert await book_pending_refunds(resources.sessionmaker) == 1
    assert await book_pending_refunds(resources.sessionmaker) == 0

    assert rows(database_url, "SELECT refunded FROM payments") == [(150_000,)]
    assert invoice(database_url, fees.invoices["Diya"]) == ("issued", 0, 150_000)
    outcomes = rows(database_url, "SELECT event_type, outcome FROM webhook_events ORDER BY id")
    assert outcomes == [("refund.processed", "refund_booked"), ("payment.captured", "credited")]
    await assert_ledger_agrees(resources, fees.school_id)


async def test_an_event_for_an_order_that_is_not_ours_is_acknowledged(
    billing: httpx.AsyncClient, database_url: str, fees: Fees
) -> None:
    payment = {
        "id": "pay_NotOurs0000001",
        "entity": "payment",
        "amount": 5000,
        "currency": "INR",
        "status": "captured",
        "order_id": "order_NotOurs000001",
        "captured": True,
    }
    answer = await deliver(billing, *_signed("payment.captured", payment=payment))
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "unknown_order"
    assert rows(database_url, "SELECT outcome, school_id FROM webhook_events") == [
        ("unknown_order", None)
    ]
    assert count(database_url, "payments") == 0


async def test_the_family_finds_the_receipts_of_its_online_order(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    client_for: Any,
) -> None:
    order = await order_for(billing, fees.vikram, fees.invoices["Diya"], fees.invoices["Rohan"])
    await fake_razorpay.pay(order["provider_order_id"])
    await deliver(billing, *raised(fake_razorpay, "order.paid"))

    async with client_for("api") as api:
        mine = await api.get(
            "/payments", params={"order_id": order["id"]}, headers=fees.vikram.headers
        )
        theirs = await api.get(
            "/payments", params={"order_id": order["id"]}, headers=fees.neha.headers
        )

    assert mine.status_code == 200, mine.text
    assert sorted(p["amount"] for p in mine.json()["items"]) == [120_000, 150_000]
    assert {p["order_id"] for p in mine.json()["items"]} == {order["id"]}
    assert theirs.json()["items"] == []  # another family sees none of them


async def test_online_receipts_are_numbered_by_their_receipt_job_not_by_the_webhook(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    client_for: Any,
    database_url: str,
    drain_outbox: Any,
    settings: Any,
    resources: Any,
) -> None:
    """The webhook credits without a receipt number (it never waits on the school's
    receipt counter); the receipt job numbers the school's waiting receipts, in the
    order they were recorded, then renders them."""
    order = await order_for(billing, fees.vikram, fees.invoices["Diya"], fees.invoices["Rohan"])
    await fake_razorpay.pay(order["provider_order_id"])
    await deliver(billing, *raised(fake_razorpay, "order.paid"))

    assert rows(database_url, "SELECT receipt_number, receipt_label FROM payments") == [
        (None, None),
        (None, None),
    ]
    async with client_for("api") as api:
        waiting = await api.get(
            "/payments", params={"order_id": order["id"]}, headers=fees.vikram.headers
        )
        assert [p["receipt_label"] for p in waiting.json()["items"]] == [None, None]
        await drain_outbox(settings)
        numbered = await api.get(
            "/payments", params={"order_id": order["id"]}, headers=fees.vikram.headers
        )

    recorded = rows(
        database_url, "SELECT receipt_number, receipt_label FROM payments ORDER BY created_at, id"
    )
    assert [n for n, _ in recorded] == [1, 2]
    assert all(label.endswith(f"/0000{n}") for n, label in recorded)
    items = numbered.json()["items"]
    assert sorted(p["receipt_number"] for p in items) == [1, 2]
    assert all(p["receipt_ready"] for p in items)
    # Nothing is left for the reconciliation job's safety net.
    assert await number_waiting_receipts(resources.sessionmaker) == 0
    await assert_ledger_agrees(resources, fees.school_id)


async def test_a_receipt_downloaded_before_its_job_ran_is_numbered_first(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    client_for: Any,
    database_url: str,
) -> None:
    order = await order_for(billing, fees.vikram, fees.invoices["Diya"])
    await fake_razorpay.pay(order["provider_order_id"])
    await deliver(billing, *raised(fake_razorpay, "payment.captured"))
    ((payment_id,),) = rows(database_url, "SELECT CAST(id AS text) FROM payments")

    async with client_for("api") as api:
        pdf = await api.get(f"/payments/{payment_id}/receipt.pdf", headers=fees.vikram.headers)

    assert pdf.status_code == 200, pdf.text
    ((number, label),) = rows(database_url, "SELECT receipt_number, receipt_label FROM payments")
    assert number == 1
    assert label.replace("/", "-") in pdf.headers["content-disposition"]


async def test_the_reconciliation_safety_net_numbers_receipts_whose_job_never_ran(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    database_url: str,
    resources: Any,
) -> None:
    order = await order_for(billing, fees.vikram, fees.invoices["Diya"], fees.invoices["Rohan"])
    await fake_razorpay.pay(order["provider_order_id"])
    await deliver(billing, *raised(fake_razorpay, "order.paid"))

    assert await number_waiting_receipts(resources.sessionmaker) == 2
    assert await number_waiting_receipts(resources.sessionmaker) == 0
    assert sorted(r[0] for r in rows(database_url, "SELECT receipt_number FROM payments")) == [
        1,
        2,
    ]


async def test_a_second_payment_on_a_paid_order_is_kept_for_a_person_not_credited(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    database_url: str,
    resources: Any,
) -> None:
    """The payer paid twice (two tabs): the first is credited, the second is money to
    give back, audited on the order; the order keeps its first payment."""
    order = await _paid_order(billing, fake_razorpay, fees)
    first = await deliver(billing, *raised(fake_razorpay, "payment.captured"))
    body, _ = raised(fake_razorpay, "payment.captured")
    payment = json.loads(body)["payload"]["payment"]["entity"]

    second = await deliver(
        billing, *_signed("payment.captured", payment={**payment, "id": "pay_SecondTab0001"})
    )

    assert (first.json()["outcome"], second.json()["outcome"]) == ("credited", "second_payment")
    assert rows(database_url, "SELECT status, provider_payment_id FROM payment_orders") == [
        ("paid", order["payment_id"])
    ]
    assert count(database_url, "payments") == 1
    assert invoice(database_url, fees.invoices["Diya"]) == ("paid", 150_000, 0)
    audited = rows(
        database_url,
        "SELECT changes->'provider_payment_id'->>'after' FROM audit_log"
        " WHERE action = 'payment_order.second_payment'",
    )
    assert audited == [("pay_SecondTab0001",)]
    await assert_ledger_agrees(resources, fees.school_id)


async def test_an_event_is_kept_with_its_orders_school(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, database_url: str
) -> None:
    await _paid_order(billing, fake_razorpay, fees)
    await deliver(billing, *raised(fake_razorpay, "payment.captured"))
    assert rows(database_url, "SELECT event_type, outcome, school_id FROM webhook_events") == [
        ("payment.captured", "credited", fees.school_id)
    ]
