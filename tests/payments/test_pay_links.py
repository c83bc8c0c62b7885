"""Pay by link: a secret per invoice, no sign-in, that one invoice and nothing else."""

from __future__ import annotations

import uuid

import httpx

from erplake.core.settings import Settings
from erplake.integrations.fakes.razorpay import FakeRazorpay
from erplake.payments.links import invoice_id_from_token, pay_link_path, pay_link_token
from tests.payments.conftest import Fees, deliver, invoice, raised, rows


def test_a_pay_link_names_its_invoice_and_nothing_can_be_forged(settings: Settings) -> None:
    invoice_id = uuid.uuid4()
    token = pay_link_token(settings, invoice_id)

    assert pay_link_path(settings, invoice_id) == f"/pay/{token}"
    assert len(token) == 43 and token.replace("-", "").replace("_", "").isalnum()
    assert invoice_id_from_token(settings, token) == invoice_id
    other = settings.model_copy(update={"jwt_secret": "another-secret-another-secret-123"})
    assert invoice_id_from_token(other, token) is None
    # Another invoice's id with this token's MAC; one flipped character; junk.
    raw_other = pay_link_token(settings, uuid.uuid4())
    assert invoice_id_from_token(settings, raw_other[:22] + token[22:]) is None
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert invoice_id_from_token(settings, flipped) is None
    for junk in ("", "x" * 43, "é" * 43, token + "A", "../" * 14 + "a"):
        assert invoice_id_from_token(settings, junk) is None


async def test_a_pay_link_shows_only_its_invoice(
    billing: httpx.AsyncClient, fees: Fees, pay_settings: Settings
) -> None:
    token = pay_link_token(pay_settings, fees.invoices["Diya"])

    answer = await billing.get(f"/pay/{token}")

    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert set(shown) == {
        "school_name",
        "student_first_name",
        "invoice_number",
        "instalment",
        "due_on",
        "status",
        "lines",
        "total",
        "paid",
        "balance",
        "payable",
    }
    assert shown["school_name"] == "Test Public School"
    assert shown["student_first_name"] == "Diya"
    assert shown["instalment"] == "April"
    assert shown["lines"] == [{"description": "Tuition", "amount": 150_000, "concession": 0}]
    assert (shown["total"], shown["paid"], shown["balance"]) == (150_000, 0, 150_000)
    assert shown["payable"] is True
    assert "Singh" not in answer.text and str(fees.invoices["Diya"]) not in answer.text


async def test_a_wrong_pay_link_is_404(
    billing: httpx.AsyncClient, fees: Fees, pay_settings: Settings, database_url: str
) -> None:
    token = pay_link_token(pay_settings, fees.invoices["Diya"])
    unknown = pay_link_token(pay_settings, uuid.uuid4())
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for wrong in (flipped, unknown, "not-a-token"):
        for answer in (
            await billing.get(f"/pay/{wrong}"),
            await billing.post(f"/pay/{wrong}/order"),
        ):
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] in ("pay_link_not_found", "invoice_not_found")
    assert rows(database_url, "SELECT count(*) FROM payment_orders") == [(0,)]


async def test_paying_by_link_pays_that_invoice_only(
    billing: httpx.AsyncClient,
    fake_razorpay: FakeRazorpay,
    fees: Fees,
    pay_settings: Settings,
    database_url: str,
) -> None:
    token = pay_link_token(pay_settings, fees.invoices["Diya"])

    started = await billing.post(f"/pay/{token}/order")

    assert started.status_code == 201, started.text
    order = started.json()
    assert [a["invoice_id"] for a in order["allocations"]] == [str(fees.invoices["Diya"])]
    assert [a["student_id"] for a in order["allocations"]] == [None]  # no internal ids
    assert order["amount"] == 150_000
    assert "callback_url=" in order["checkout_url"]
    assert rows(database_url, "SELECT via_link, created_by_id FROM payment_orders") == [
        (True, None)
    ]
    await fake_razorpay.pay(order["provider_order_id"])
    await deliver(billing, *raised(fake_razorpay, "payment.captured"))
    assert invoice(database_url, fees.invoices["Diya"])[0] == "paid"
    assert invoice(database_url, fees.invoices["Rohan"])[0] == "issued"
    after = (await billing.get(f"/pay/{token}")).json()
    assert (after["status"], after["balance"], after["payable"]) == ("paid", 0, False)
    again = await billing.post(f"/pay/{token}/order")
    assert again.status_code == 409
