"""Orders: the amount comes from the server, a family orders only its own invoices,
a closed invoice cannot be ordered, and checkout verification trusts only the order id
we stored."""

from __future__ import annotations

from typing import Any

import httpx

from erplake.core.db import transaction
from erplake.core.settings import Settings
from erplake.fees import ledger
from erplake.integrations.fakes.razorpay import FakeRazorpay
from erplake.integrations.razorpay import checkout_signature
from tests.payments.conftest import (
    RAZORPAY_KEY_ID,
    RAZORPAY_KEY_SECRET,
    Fees,
    count,
    invoice,
    order_for,
    rows,
)


async def test_a_parent_orders_a_childs_invoice_for_its_balance(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    database_url: str,
    pay_settings: Settings,
) -> None:
    order = await order_for(billing, fees.vikram, fees.invoices["Diya"])
    (student_id,) = rows(
        database_url, "SELECT student_id FROM invoices WHERE id = %s", fees.invoices["Diya"]
    )[0]

    assert order["amount"] == 150_000
    assert order["currency"] == "INR"
    assert order["status"] == "created"
    assert order["key_id"] == RAZORPAY_KEY_ID
    assert order["allocations"] == [
        {
            "invoice_id": str(fees.invoices["Diya"]),
            "student_id": str(student_id),
            "amount": 150_000,
        }
    ]
    at_razorpay = fake_razorpay.order(order["provider_order_id"])
    assert at_razorpay["amount"] == 150_000
    assert at_razorpay["receipt"] == "erp_" + order["id"].replace("-", "")
    assert at_razorpay["notes"]["order_id"] == order["id"]
    assert order["checkout_url"].startswith(
        f"{pay_settings.razorpay_api_base}/checkout/{order['provider_order_id']}?callback_url="
    )
    assert rows(database_url, "SELECT via_link, created_by_id FROM payment_orders") == [
        (False, fees.vikram.user_id)
    ]


async def test_an_amount_sent_by_the_client_is_refused(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, database_url: str
) -> None:
    answer = await billing.post(
        "/orders",
        json={"invoice_ids": [str(fees.invoices["Diya"])], "amount": 100},
        headers=fees.vikram.headers,
    )
    assert answer.status_code == 422
    assert fake_razorpay.requests_received == 0
    assert count(database_url, "payment_orders") == 0


async def test_a_parent_cannot_order_another_familys_invoice(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, database_url: str
) -> None:
    for invoice_ids in ([fees.invoices["Aarav"]], [fees.invoices["Diya"], fees.invoices["Aarav"]]):
        answer = await billing.post(
            "/orders",
            json={"invoice_ids": [str(i) for i in invoice_ids]},
            headers=fees.vikram.headers,
        )
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "invoice_not_found"
        assert answer.json()["error"]["details"] == {"invoice_ids": [str(fees.invoices["Aarav"])]}
    assert fake_razorpay.requests_received == 0
    assert count(database_url, "payment_orders") == 0


async def test_who_may_order(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, make_user: Any
) -> None:
    body = {"invoice_ids": [str(fees.invoices["Aarav"])]}
    accountant = await make_user("accountant")
    principal = await make_user("principal")
    teacher = await make_user("teacher")

    assert (await billing.post("/orders", json=body)).status_code == 401
    assert (await billing.post("/orders", json=body, headers=teacher.headers)).status_code == 403
    # Sees invoices but does not take payments: as if the invoice were not there.
    assert (await billing.post("/orders", json=body, headers=principal.headers)).status_code == 404
    assert (await billing.post("/orders", json=body, headers=fees.neha.headers)).status_code == 201
    staff = await billing.post(
        "/orders", json={"invoice_ids": [str(fees.invoices["Rohan"])]}, headers=accountant.headers
    )
    assert staff.status_code == 201


async def test_a_paid_or_cancelled_invoice_cannot_be_ordered(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    resources: Any,
    database_url: str,
) -> None:
    async with transaction(resources.sessionmaker) as session:
        await ledger.cancel_invoice(
            session, None, school_id=fees.school_id, invoice_id=fees.invoices["Diya"], reason="left"
        )
    answer = await billing.post(
        "/orders", json={"invoice_ids": [str(fees.invoices["Diya"])]}, headers=fees.vikram.headers
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "invoice_not_payable"
    assert fake_razorpay.requests_received == 0


async def test_asking_twice_gives_the_same_order(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, database_url: str
) -> None:
    first = await order_for(billing, fees.vikram, fees.invoices["Diya"])
    again = await order_for(billing, fees.vikram, fees.invoices["Diya"])
    assert again["id"] == first["id"]
    assert len(fake_razorpay.orders) == 1
    assert count(database_url, "payment_orders") == 1


async def test_the_provider_being_down_leaves_nothing_behind(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, database_url: str
) -> None:
    fake_razorpay.fail_next(5, status=503)
    answer = await billing.post(
        "/orders", json={"invoice_ids": [str(fees.invoices["Diya"])]}, headers=fees.vikram.headers
    )
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "provider_unavailable"
    assert count(database_url, "payment_orders") == 0


async def test_verification_with_a_forged_signature_is_refused(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, database_url: str
) -> None:
    order = await order_for(billing, fees.vikram, fees.invoices["Diya"])
    other = await order_for(billing, fees.vikram, fees.invoices["Rohan"])
    payment_id = await fake_razorpay.pay(other["provider_order_id"])
    attempts = [
        # Signed for another order of ours: the signature is genuine, the order is not.
        (
            other["provider_order_id"],
            checkout_signature(other["provider_order_id"], payment_id, RAZORPAY_KEY_SECRET),
        ),
        (
            order["provider_order_id"],
            checkout_signature(other["provider_order_id"], payment_id, RAZORPAY_KEY_SECRET),
        ),
        (
            order["provider_order_id"],
            checkout_signature(order["provider_order_id"], payment_id, "guessed-secret"),
        ),
    ]
    for razorpay_order_id, signature in attempts:
        answer = await billing.post(
            f"/orders/{order['id']}/verify",
            json={
                "razorpay_order_id": razorpay_order_id,
                "razorpay_payment_id": payment_id,
                "razorpay_signature": signature,
            },
            headers=fees.vikram.headers,
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "invalid_signature"
    assert count(database_url, "payments") == 0
    assert invoice(database_url, fees.invoices["Diya"])[0] == "issued"


async def test_orders_are_read_only_by_their_payer_and_the_accounts_office(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, make_user: Any
) -> None:
    order = await order_for(billing, fees.vikram, fees.invoices["Diya"])
    accountant = await make_user("accountant")

    assert (
        await billing.get(f"/orders/{order['id']}", headers=fees.neha.headers)
    ).status_code == 404
    mine = await billing.get(f"/orders/{order['id']}", headers=fees.vikram.headers)
    assert mine.json()["status"] == "created"
    listed = await billing.get("/orders", params={"status": "created"}, headers=accountant.headers)
    assert [o["id"] for o in listed.json()["items"]] == [order["id"]]
    assert (await billing.get("/orders", headers=fees.neha.headers)).json()["total"] == 0


async def test_an_order_someone_else_started_is_not_handed_to_the_next_payer(
    billing: httpx.AsyncClient, fake_razorpay: FakeRazorpay, fees: Fees, make_user: Any
) -> None:
    """The accounts office started an order for Aarav's invoice; his mother then taps
    Pay: she gets an order of her own, which she can read and verify (another payer's
    order would be 404 to her)."""
    accountant = await make_user("accountant")
    office = await order_for(billing, accountant, fees.invoices["Aarav"])
    mine = await order_for(billing, fees.neha, fees.invoices["Aarav"])

    assert mine["id"] != office["id"]
    read = await billing.get(f"/orders/{mine['id']}", headers=fees.neha.headers)
    assert read.status_code == 200, read.text
    again = await order_for(billing, fees.neha, fees.invoices["Aarav"])
    assert again["id"] == mine["id"]
