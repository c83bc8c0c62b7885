"""The Razorpay adapter against the fake Razorpay over loopback HTTP, and the signature
checks that decide whether a payment is believed."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from erplake.core.settings import load_settings
from erplake.integrations.fakes import serve_in_thread
from erplake.integrations.fakes.razorpay import FakeRazorpay
from erplake.integrations.http import ProviderUnavailable
from erplake.integrations.razorpay import (
    RazorpayClient,
    RazorpayCustomer,
    RazorpayError,
    RazorpayRequestInvalid,
    RazorpayWebhookUnreadable,
    checkout_signature,
    checkout_signature_valid,
    parse_webhook,
    payment_link_signature,
    payment_link_signature_valid,
    webhook_signature,
    webhook_signature_valid,
)
from tests.integrations.conftest import (
    RAZORPAY_KEY_ID,
    RAZORPAY_KEY_SECRET,
    RAZORPAY_WEBHOOK_SECRET,
)

MakeRazorpay = Callable[..., RazorpayClient]

NOTES = {"invoice_ids": "3f2b9c1e-0000-4000-8000-000000000088", "student": "SVM/2019/0421"}
RETURN_URL = "http://school.test/billing/razorpay/return?invoice=88"


def _hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# --- Orders ------------------------------------------------------------------------


async def test_order_is_created_with_our_amount_receipt_and_notes(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay
) -> None:
    order = await razorpay.create_order(50000, "INV/2026-27/00088", NOTES)

    [request] = fake_razorpay.requests
    assert request.method == "POST"
    assert request.path == "/v1/orders"
    assert request.authenticated
    assert request.body == {
        "amount": 50000,
        "currency": "INR",
        "receipt": "INV/2026-27/00088",
        "notes": NOTES,
    }
    assert order.id.startswith("order_")
    assert order.id == fake_razorpay.orders[0]["id"]
    assert (order.amount, order.amount_paid, order.amount_due) == (50000, 0, 50000)
    assert order.currency == "INR"
    assert order.receipt == "INV/2026-27/00088"
    assert order.status == "created"
    assert order.attempts == 0
    assert order.notes == NOTES
    assert order.created_at is not None
    assert order.created_at.tzinfo is not None


async def test_a_receipt_of_exactly_forty_characters_is_accepted(
    razorpay: RazorpayClient,
) -> None:
    order = await razorpay.create_order(100, "R" * 40)

    assert order.receipt == "R" * 40
    assert order.amount == 100


async def test_order_without_notes_reads_razorpays_empty_list_as_no_notes(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay
) -> None:
    order = await razorpay.create_order(25000, "INV-1")

    assert fake_razorpay.order(order.id)["notes"] == []
    assert order.notes == {}


@pytest.mark.parametrize(
    ("amount", "receipt", "notes", "currency", "bad_field"),
    [
        (99, "INV-1", None, "INR", "amount"),
        (0, "INV-1", None, "INR", "amount"),
        (-5000, "INV-1", None, "INR", "amount"),
        (500.0, "INV-1", None, "INR", "amount"),
        (True, "INV-1", None, "INR", "amount"),
        (50000, "R" * 41, None, "INR", "receipt"),
        (50000, "", None, "INR", "receipt"),
        (50000, "INV-1", {f"k{i}": "v" for i in range(16)}, "INR", "notes"),
        (50000, "INV-1", {"student": "x" * 257}, "INR", "notes"),
        (50000, "INV-1", {"k" * 257: "x"}, "INR", "notes"),
        (50000, "INV-1", {"count": 3}, "INR", "notes"),
        (50000, "INV-1", None, "inr", "currency"),
    ],
    ids=[
        "99-paise",
        "zero",
        "negative",
        "float",
        "bool",
        "receipt-41-chars",
        "receipt-empty",
        "16-notes",
        "note-value-257-chars",
        "note-key-257-chars",
        "note-not-text",
        "lowercase-currency",
    ],
)
async def test_order_razorpay_would_refuse_is_refused_before_any_request(
    razorpay: RazorpayClient,
    fake_razorpay: FakeRazorpay,
    amount: Any,
    receipt: str,
    notes: dict[str, Any] | None,
    currency: str,
    bad_field: str,
) -> None:
    with pytest.raises(RazorpayRequestInvalid) as caught:
        await razorpay.create_order(amount, receipt, notes, currency=currency)

    assert caught.value.field == bad_field
    assert caught.value.status_code == 422
    assert fake_razorpay.requests_received == 0


async def test_fifteen_notes_of_256_characters_are_accepted(razorpay: RazorpayClient) -> None:
    notes = {f"note_{i:02d}": "x" * 256 for i in range(15)}

    order = await razorpay.create_order(10000, "INV-15", notes)

    assert order.notes == notes


@pytest.mark.parametrize("order_id", ["../payments", "order_1/payments", "", "order id"])
async def test_ids_that_are_not_razorpay_ids_never_reach_the_url(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay, order_id: str
) -> None:
    with pytest.raises(RazorpayRequestInvalid):
        await razorpay.fetch_order(order_id)
    with pytest.raises(RazorpayRequestInvalid):
        await razorpay.fetch_order_payments(order_id)

    assert fake_razorpay.requests_received == 0


async def test_fetched_order_shows_it_paid_after_the_payer_pays(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay
) -> None:
    order = await razorpay.create_order(120000, "INV-2", NOTES)
    await fake_razorpay.pay(order.id)

    fetched = await razorpay.fetch_order(order.id)

    assert fetched.id == order.id
    assert fetched.status == "paid"
    assert fetched.amount_paid == 120000
    assert fetched.amount_due == 0
    assert fetched.attempts == 1


async def test_order_payments_list_failed_and_captured_attempts_for_reconciliation(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay
) -> None:
    order = await razorpay.create_order(75000, "INV-3")
    failed_id = await fake_razorpay.fail(order.id)
    paid_id = await fake_razorpay.pay(order.id, method="card")

    payments = await razorpay.fetch_order_payments(order.id)

    by_id = {p.id: p for p in payments}
    assert set(by_id) == {failed_id, paid_id}
    assert by_id[failed_id].status == "failed"
    assert by_id[failed_id].captured is False
    assert by_id[failed_id].error_code == "BAD_REQUEST_ERROR"
    assert by_id[paid_id].status == "captured"
    assert by_id[paid_id].captured is True
    assert by_id[paid_id].method == "card"
    assert by_id[paid_id].amount == 75000
    assert by_id[paid_id].order_id == order.id


async def test_order_with_no_payments_yet_has_an_empty_list(razorpay: RazorpayClient) -> None:
    order = await razorpay.create_order(10000, "INV-4")

    assert await razorpay.fetch_order_payments(order.id) == []


async def test_wrong_key_raises_razorpay_error_without_retrying(
    make_razorpay: MakeRazorpay, fake_razorpay: FakeRazorpay
) -> None:
    razorpay = make_razorpay(key_secret="not-the-secret", retries=3)

    with pytest.raises(RazorpayError) as caught:
        await razorpay.create_order(50000, "INV-5")

    assert caught.value.provider_code == "BAD_REQUEST_ERROR"
    assert caught.value.description == "Authentication failed"
    assert caught.value.http_status == 401
    assert caught.value.status_code == 502
    assert caught.value.code == "payment_provider_error"
    assert fake_razorpay.requests_received == 1
    assert fake_razorpay.orders == []


async def test_razorpay_error_json_becomes_razorpay_error_with_its_code_and_field(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay
) -> None:
    # USD passes our checks (a valid ISO code); the fake, like an INR-only account,
    # refuses it.
    with pytest.raises(RazorpayError) as caught:
        await razorpay.create_order(50000, "INV-6", currency="USD")

    assert caught.value.provider_code == "BAD_REQUEST_ERROR"
    assert caught.value.field == "currency"
    assert caught.value.reason == "input_validation_failed"
    assert caught.value.http_status == 400
    assert caught.value.details["description"] == caught.value.description


async def test_unknown_order_is_razorpays_bad_request(razorpay: RazorpayClient) -> None:
    with pytest.raises(RazorpayError, match="does not exist") as caught:
        await razorpay.fetch_order("order_DoesNotExist01")

    assert caught.value.http_status == 400


async def test_server_error_then_success_is_retried_and_creates_one_order(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay
) -> None:
    fake_razorpay.fail_next(1, status=500)

    order = await razorpay.create_order(50000, "INV-7")

    assert fake_razorpay.requests_received == 2
    assert [o["id"] for o in fake_razorpay.orders] == [order.id]


async def test_persistent_server_errors_raise_provider_unavailable_after_all_retries(
    make_razorpay: MakeRazorpay, fake_razorpay: FakeRazorpay
) -> None:
    razorpay = make_razorpay(retries=2)
    fake_razorpay.fail_next(10, status=503)

    with pytest.raises(ProviderUnavailable, match="Razorpay"):
        await razorpay.fetch_order("order_Anything00001")

    assert fake_razorpay.requests_received == 3


async def test_answer_that_is_not_razorpay_json_is_a_razorpay_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>maintenance</html>")

    async with RazorpayClient(
        "https://razorpay.test", "k", "s", 1.0, 0, httpx.MockTransport(answer)
    ) as razorpay:
        with pytest.raises(RazorpayError) as caught:
            await razorpay.create_order(10000, "INV-8")

    assert caught.value.provider_code == "UNREADABLE_ANSWER"


async def test_client_built_from_settings_uses_the_configured_gateway_and_keys(
    razorpay_url: str, fake_razorpay: FakeRazorpay
) -> None:
    settings = load_settings(
        razorpay_api_base=razorpay_url,
        razorpay_key_id=RAZORPAY_KEY_ID,
        razorpay_key_secret=RAZORPAY_KEY_SECRET,
    )

    async with RazorpayClient.from_settings(settings) as razorpay:
        order = await razorpay.create_order(10000, "INV-9")

    assert fake_razorpay.order(order.id)["amount"] == 10000
    assert fake_razorpay.requests[0].authenticated


# --- Payment links -----------------------------------------------------------------


async def test_payment_link_is_created_with_customer_callback_and_expiry(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay, razorpay_url: str
) -> None:
    expire_by = datetime(2031, 3, 31, 18, 30, tzinfo=UTC)

    link = await razorpay.create_payment_link(
        amount_paise=224000,
        reference_id="INV/2026-27/00088",
        description="Term 1 fees, Aarav Sharma (VII-B)",
        customer=RazorpayCustomer(name="Rohit Sharma", contact="+919876543210"),
        callback_url=RETURN_URL,
        expire_by=expire_by,
        notes={"invoice_id": "88"},
    )

    [request] = fake_razorpay.requests
    assert request.path == "/v1/payment_links"
    assert request.body == {
        "amount": 224000,
        "currency": "INR",
        "accept_partial": False,
        "reference_id": "INV/2026-27/00088",
        "description": "Term 1 fees, Aarav Sharma (VII-B)",
        "customer": {"name": "Rohit Sharma", "contact": "+919876543210"},
        "notify": {"sms": False, "email": False},
        "reminder_enable": False,
        "notes": {"invoice_id": "88"},
        "callback_url": RETURN_URL,
        "callback_method": "get",
        "expire_by": int(expire_by.timestamp()),
    }
    assert link.id.startswith("plink_")
    assert link.status == "created"
    assert link.short_url == f"{razorpay_url}/i/{link.id}"
    assert link.amount == 224000
    assert link.reference_id == "INV/2026-27/00088"


@pytest.mark.parametrize(
    ("overrides", "bad_field"),
    [
        ({"amount_paise": 50}, "amount"),
        ({"reference_id": "X" * 41}, "reference_id"),
        ({"expire_by": datetime(2031, 1, 1)}, "expire_by"),  # naive on purpose
        ({"notes": {f"n{i}": "v" for i in range(16)}}, "notes"),
    ],
    ids=["below-one-rupee", "reference-41-chars", "naive-expiry", "16-notes"],
)
async def test_payment_link_razorpay_would_refuse_is_refused_before_any_request(
    razorpay: RazorpayClient,
    fake_razorpay: FakeRazorpay,
    overrides: dict[str, Any],
    bad_field: str,
) -> None:
    options: dict[str, Any] = {
        "amount_paise": 10000,
        "reference_id": "INV-10",
        "description": "fees",
        "customer": {"name": "Rohit Sharma"},
        "callback_url": RETURN_URL,
        "expire_by": datetime.now(UTC) + timedelta(days=30),
    } | overrides

    with pytest.raises(RazorpayRequestInvalid) as caught:
        await razorpay.create_payment_link(**options)

    assert caught.value.field == bad_field
    assert fake_razorpay.requests_received == 0


async def test_paid_link_comes_back_with_a_signature_over_link_reference_status_payment(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay
) -> None:
    link = await razorpay.create_payment_link(
        amount_paise=10000,
        reference_id="INV-11",
        description="fees",
        customer={"name": "Rohit Sharma", "email": "rohit@example.com"},
        callback_url=RETURN_URL,
    )

    async with httpx.AsyncClient() as browser:
        page = await browser.get(link.short_url)
        answer = await browser.post(f"{link.short_url}/pay", data={"method": "upi"})

    assert "Pay ₹100.00" in page.text
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("http://school.test/billing/razorpay/return?invoice=88&")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["razorpay_payment_link_id"] == link.id
    assert query["razorpay_payment_link_reference_id"] == "INV-11"
    assert query["razorpay_payment_link_status"] == "paid"
    assert query["razorpay_payment_id"].startswith("pay_")
    assert payment_link_signature_valid(
        link.id,
        "INV-11",
        "paid",
        query["razorpay_payment_id"],
        query["razorpay_signature"],
        RAZORPAY_KEY_SECRET,
    )
    assert not payment_link_signature_valid(
        link.id,
        "INV-12",  # another invoice's reference
        "paid",
        query["razorpay_payment_id"],
        query["razorpay_signature"],
        RAZORPAY_KEY_SECRET,
    )
    assert fake_razorpay.link(link.id)["status"] == "paid"


def test_payment_link_signature_is_hmac_of_the_four_fields_with_the_key_secret() -> None:
    expected = _hmac(RAZORPAY_KEY_SECRET, b"plink_Abc|INV-1|paid|pay_Xyz")

    made = payment_link_signature("plink_Abc", "INV-1", "paid", "pay_Xyz", RAZORPAY_KEY_SECRET)

    assert made == expected
    assert payment_link_signature_valid(
        "plink_Abc", "INV-1", "paid", "pay_Xyz", expected, RAZORPAY_KEY_SECRET
    )
    assert not payment_link_signature_valid(
        "plink_Abc", "INV-1", "partially_paid", "pay_Xyz", expected, RAZORPAY_KEY_SECRET
    )
    assert not payment_link_signature_valid(
        "plink_Abc", "INV-1", "paid", "pay_Xyz", None, RAZORPAY_KEY_SECRET
    )


# --- Checkout signature ------------------------------------------------------------


def test_checkout_signature_is_hmac_of_order_and_payment_with_the_key_secret() -> None:
    signature = _hmac(RAZORPAY_KEY_SECRET, b"order_IluGWxBm9U8zJ8|pay_IluHs5e1N2h4Xq")

    made = checkout_signature("order_IluGWxBm9U8zJ8", "pay_IluHs5e1N2h4Xq", RAZORPAY_KEY_SECRET)

    assert made == signature
    assert checkout_signature_valid(
        "order_IluGWxBm9U8zJ8", "pay_IluHs5e1N2h4Xq", signature, RAZORPAY_KEY_SECRET
    )


@pytest.mark.parametrize(
    ("order_id", "payment_id", "signature", "secret"),
    [
        ("order_SomeoneElses1", "pay_IluHs5e1N2h4Xq", "good", RAZORPAY_KEY_SECRET),
        ("order_IluGWxBm9U8zJ8", "pay_Other00000001", "good", RAZORPAY_KEY_SECRET),
        ("order_IluGWxBm9U8zJ8", "pay_IluHs5e1N2h4Xq", "good", RAZORPAY_WEBHOOK_SECRET),
        ("order_IluGWxBm9U8zJ8", "pay_IluHs5e1N2h4Xq", "good", ""),
        ("order_IluGWxBm9U8zJ8", "pay_IluHs5e1N2h4Xq", None, RAZORPAY_KEY_SECRET),
        ("order_IluGWxBm9U8zJ8", "pay_IluHs5e1N2h4Xq", "", RAZORPAY_KEY_SECRET),
        ("order_IluGWxBm9U8zJ8", "pay_IluHs5e1N2h4Xq", "0" * 64, RAZORPAY_KEY_SECRET),
        ("order_IluGWxBm9U8zJ8", "pay_IluHs5e1N2h4Xq", "ñ" * 64, RAZORPAY_KEY_SECRET),
    ],
    ids=[
        "tampered-order-id",
        "tampered-payment-id",
        "webhook-secret-not-key-secret",
        "empty-secret",
        "missing",
        "empty",
        "zeros",
        "non-ascii",
    ],
)
def test_checkout_signature_that_does_not_match_is_refused(
    order_id: str, payment_id: str, signature: str | None, secret: str
) -> None:
    good = _hmac(RAZORPAY_KEY_SECRET, b"order_IluGWxBm9U8zJ8|pay_IluHs5e1N2h4Xq")
    given = good if signature == "good" else signature

    assert checkout_signature_valid(order_id, payment_id, given, secret) is False


# --- Webhook signature -------------------------------------------------------------

CAPTURED = (
    b'{"entity":"event","account_id":"acc_BFQ7uQEaa7j2z7","event":"payment.captured",'
    b'"contains":["payment"],"payload":{"payment":{"entity":{"id":"pay_DESlfW9H8K9uqM",'
    b'"entity":"payment","amount":100,"currency":"INR","status":"captured",'
    b'"order_id":"order_DESlLckIVRkHWj","method":"upi","captured":true,"notes":[]}}},'
    b'"created_at":1567674606}'
)


def test_webhook_signature_is_hmac_of_the_raw_body_with_the_webhook_secret() -> None:
    header = _hmac(RAZORPAY_WEBHOOK_SECRET, CAPTURED)

    assert webhook_signature(CAPTURED, RAZORPAY_WEBHOOK_SECRET) == header
    assert webhook_signature_valid(CAPTURED, header, RAZORPAY_WEBHOOK_SECRET)


def test_webhook_body_reserialised_with_other_whitespace_fails_verification() -> None:
    header = webhook_signature(CAPTURED, RAZORPAY_WEBHOOK_SECRET)
    same_json = json.dumps(json.loads(CAPTURED)).encode()  # ", " and ": " separators

    assert json.loads(same_json) == json.loads(CAPTURED)
    assert webhook_signature_valid(same_json, header, RAZORPAY_WEBHOOK_SECRET) is False


@pytest.mark.parametrize(
    ("header", "secret"),
    [
        (None, RAZORPAY_WEBHOOK_SECRET),
        ("", RAZORPAY_WEBHOOK_SECRET),
        ("key-secret", RAZORPAY_WEBHOOK_SECRET),
        ("good", ""),
        ("good", RAZORPAY_KEY_SECRET),
        ("not hex at all ✓", RAZORPAY_WEBHOOK_SECRET),
    ],
    ids=[
        "missing-header",
        "empty-header",
        "signed-with-key-secret",
        "empty-secret",
        "checked-with-key-secret",
        "garbage",
    ],
)
def test_webhook_with_missing_or_wrong_signature_is_refused(
    header: str | None, secret: str
) -> None:
    given = {
        "good": webhook_signature(CAPTURED, RAZORPAY_WEBHOOK_SECRET),
        "key-secret": webhook_signature(CAPTURED, RAZORPAY_KEY_SECRET),
    }.get(header or "", header)

    assert webhook_signature_valid(CAPTURED, given, secret) is False


def test_webhook_with_a_byte_changed_is_refused() -> None:
    header = webhook_signature(CAPTURED, RAZORPAY_WEBHOOK_SECRET)

    assert not webhook_signature_valid(
        CAPTURED.replace(b'"amount":100', b'"amount":900'), header, RAZORPAY_WEBHOOK_SECRET
    )


# --- Webhook parsing ---------------------------------------------------------------


def test_parsed_webhook_carries_the_payment_entity() -> None:
    event = parse_webhook(CAPTURED)

    assert event.event == "payment.captured"
    assert event.account_id == "acc_BFQ7uQEaa7j2z7"
    assert event.created_at == datetime(2019, 9, 5, 9, 10, 6, tzinfo=UTC)
    assert event.contains == ("payment",)
    assert event.payment is not None
    assert event.payment.id == "pay_DESlfW9H8K9uqM"
    assert event.payment.amount == 100
    assert event.payment.order_id == "order_DESlLckIVRkHWj"
    assert event.payment.captured is True
    assert event.payment.notes == {}
    assert event.order is None
    assert event.refund is None


def test_webhook_with_unknown_fields_entities_and_events_still_parses() -> None:
    body = {
        "entity": "event",
        "account_id": "acc_X",
        "event": "payment.dispute.created",
        "contains": ["payment", "dispute"],
        "payload": {
            "payment": {
                "entity": {
                    "id": "pay_A",
                    "amount": 5000,
                    "currency": "INR",
                    "status": "captured",
                    "brand_new_field": {"nested": True},
                    "notes": {"invoice": 88},
                }
            },
            "dispute": {"entity": {"id": "disp_A", "amount": 5000}},
        },
        "created_at": 1700000000,
        "something_new": 1,
    }

    event = parse_webhook(json.dumps(body).encode())

    assert event.event == "payment.dispute.created"
    assert event.payment is not None
    assert event.payment.id == "pay_A"
    assert event.payment.notes == {"invoice": "88"}
    assert event.payment.order_id is None


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[]", b'{"payload": {}}', b'{"event": "x", "payload": {"payment": 1}}'],
    ids=["empty", "not-json", "array", "no-event", "payment-not-an-object"],
)
def test_body_that_is_not_a_razorpay_event_is_unreadable(raw: bytes) -> None:
    with pytest.raises(RazorpayWebhookUnreadable) as caught:
        parse_webhook(raw)

    assert caught.value.status_code == 400


# --- The fake pays, and posts webhooks back --------------------------------------------


@dataclass
class WebhookInbox:
    """Our side of the webhook: records the raw bodies and headers it is sent."""

    url: str = ""
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def all(self) -> list[tuple[bytes, dict[str, str]]]:
        with self.lock:
            return list(self.received)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()


@pytest.fixture(scope="module")
def _webhook_inbox() -> Iterator[WebhookInbox]:
    inbox = WebhookInbox()

    async def receive(request: Request) -> Response:
        body = await request.body()
        with inbox.lock:
            inbox.received.append((body, dict(request.headers)))
        return Response(status_code=200)

    app = Starlette(routes=[Route("/billing/webhooks/razorpay", receive, methods=["POST"])])
    with serve_in_thread(app) as served:
        inbox.url = f"{served.url}/billing/webhooks/razorpay"
        yield inbox


@pytest.fixture
def webhook_inbox(_webhook_inbox: WebhookInbox, fake_razorpay: FakeRazorpay) -> WebhookInbox:
    _webhook_inbox.clear()
    fake_razorpay.webhook_url = _webhook_inbox.url
    return _webhook_inbox


async def test_paying_posts_signed_captured_then_order_paid_webhooks(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay, webhook_inbox: WebhookInbox
) -> None:
    order = await razorpay.create_order(224000, "INV-20", NOTES)

    payment_id = await fake_razorpay.pay(order.id)

    received = webhook_inbox.all()
    assert len(received) == 2
    for body, headers in received:
        assert webhook_signature_valid(
            body, headers.get("x-razorpay-signature"), RAZORPAY_WEBHOOK_SECRET
        )
        assert not webhook_signature_valid(
            body, headers.get("x-razorpay-signature"), RAZORPAY_KEY_SECRET
        )
    event_ids = [headers["x-razorpay-event-id"] for _, headers in received]
    assert len(set(event_ids)) == 2
    captured, paid = (parse_webhook(body) for body, _ in received)
    assert captured.event == "payment.captured"
    assert captured.payment is not None
    assert captured.payment.id == payment_id
    assert captured.payment.order_id == order.id
    assert captured.payment.amount == 224000
    assert captured.payment.currency == "INR"
    assert captured.payment.status == "captured"
    assert captured.payment.method == "upi"
    assert paid.event == "order.paid"
    assert paid.payment is not None
    assert paid.payment.id == payment_id
    assert paid.order is not None
    assert paid.order.id == order.id
    assert paid.order.status == "paid"
    assert paid.order.amount_paid == 224000
    assert paid.order.notes == NOTES
    assert [(d.event, d.status_code) for d in fake_razorpay.deliveries] == [
        ("payment.captured", 200),
        ("order.paid", 200),
    ]


async def test_checkout_page_pay_button_returns_the_browser_with_a_valid_signature(
    razorpay: RazorpayClient,
    fake_razorpay: FakeRazorpay,
    webhook_inbox: WebhookInbox,
    razorpay_url: str,
) -> None:
    order = await razorpay.create_order(50000, "INV-21")

    async with httpx.AsyncClient(base_url=razorpay_url) as browser:
        page = await browser.get(f"/checkout/{order.id}", params={"callback_url": RETURN_URL})
        answer = await browser.post(
            f"/checkout/{order.id}/pay", data={"callback_url": RETURN_URL, "method": "upi"}
        )

    assert page.status_code == 200
    assert "Pay ₹500.00" in page.text
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith(RETURN_URL + "&")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["razorpay_order_id"] == order.id
    payment_id = query["razorpay_payment_id"]
    signature = query["razorpay_signature"]
    assert checkout_signature_valid(order.id, payment_id, signature, RAZORPAY_KEY_SECRET)
    other = await razorpay.create_order(50000, "INV-22")
    assert not checkout_signature_valid(other.id, payment_id, signature, RAZORPAY_KEY_SECRET)
    assert [parse_webhook(body).event for body, _ in webhook_inbox.all()] == [
        "payment.captured",
        "order.paid",
    ]
    assert fake_razorpay.order(order.id)["status"] == "paid"


async def test_callback_taken_from_order_notes_and_posted_as_a_form_when_asked(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay, razorpay_url: str
) -> None:
    fake_razorpay.callback_method = "post"
    order = await razorpay.create_order(50000, "INV-23", {"callback_url": RETURN_URL})

    async with httpx.AsyncClient(base_url=razorpay_url) as browser:
        answer = await browser.post(f"/checkout/{order.id}/pay")

    assert answer.status_code == 200
    assert f'action="{RETURN_URL}"' in answer.text.replace("&amp;", "&")
    assert 'name="razorpay_signature"' in answer.text
    assert f'value="{order.id}"' in answer.text


async def test_an_order_cannot_be_paid_twice(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay, razorpay_url: str
) -> None:
    order = await razorpay.create_order(50000, "INV-24")
    await fake_razorpay.pay(order.id)

    async with httpx.AsyncClient(base_url=razorpay_url) as browser:
        page = await browser.get(f"/checkout/{order.id}")
        again = await browser.post(f"/checkout/{order.id}/pay")

    assert "already paid" in page.text
    assert again.status_code == 400
    assert len(fake_razorpay.payments_of(order.id)) == 1


async def test_failed_payment_posts_payment_failed_and_leaves_the_order_attempted(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay, webhook_inbox: WebhookInbox
) -> None:
    order = await razorpay.create_order(50000, "INV-25")

    payment_id = await fake_razorpay.fail(order.id)

    [(body, headers)] = webhook_inbox.all()
    assert webhook_signature_valid(body, headers["x-razorpay-signature"], RAZORPAY_WEBHOOK_SECRET)
    event = parse_webhook(body)
    assert event.event == "payment.failed"
    assert event.payment is not None
    assert event.payment.id == payment_id
    assert event.payment.status == "failed"
    assert event.payment.error_description
    assert (await razorpay.fetch_order(order.id)).status == "attempted"


async def test_refund_posts_refund_created_then_processed_and_the_order_stays_paid(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay, webhook_inbox: WebhookInbox
) -> None:
    order = await razorpay.create_order(50000, "INV-26")
    payment_id = await fake_razorpay.pay(order.id)
    webhook_inbox.clear()

    refund_id = await fake_razorpay.refund(payment_id, 20000)

    events = [parse_webhook(body) for body, _ in webhook_inbox.all()]
    assert [e.event for e in events] == ["refund.created", "refund.processed"]
    processed = events[1]
    assert processed.refund is not None
    assert processed.refund.id == refund_id
    assert processed.refund.payment_id == payment_id
    assert processed.refund.amount == 20000
    assert processed.refund.status == "processed"
    assert processed.payment is not None
    assert processed.payment.amount_refunded == 20000
    assert (await razorpay.fetch_order(order.id)).status == "paid"


async def test_built_event_can_be_delivered_again_with_the_same_event_id(
    fake_razorpay: FakeRazorpay, webhook_inbox: WebhookInbox
) -> None:
    payment = {"id": "pay_Dup", "amount": 100, "currency": "INR", "status": "captured"}
    body, headers = fake_razorpay.build_event("payment.captured", payment=payment)

    for _ in range(3):
        answer = await fake_razorpay.deliver(body, headers)
        assert answer.status_code == 200

    received = webhook_inbox.all()
    assert [b for b, _ in received] == [body] * 3
    assert {h["x-razorpay-event-id"] for _, h in received} == {headers["x-razorpay-event-id"]}


async def test_without_a_webhook_url_events_are_recorded_for_later_delivery(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay
) -> None:
    order = await razorpay.create_order(50000, "INV-27")

    await fake_razorpay.pay(order.id)

    deliveries = fake_razorpay.deliveries
    assert [(d.event, d.url, d.status_code) for d in deliveries] == [
        ("payment.captured", None, None),
        ("order.paid", None, None),
    ]
    assert all(
        webhook_signature_valid(d.body, d.headers["X-Razorpay-Signature"], RAZORPAY_WEBHOOK_SECRET)
        for d in deliveries
    )


async def test_delivery_to_an_endpoint_that_is_down_is_recorded_not_raised_by_pay(
    razorpay: RazorpayClient, fake_razorpay: FakeRazorpay
) -> None:
    fake_razorpay.webhook_url = "http://127.0.0.1:9/billing/webhooks/razorpay"
    order = await razorpay.create_order(50000, "INV-28")

    await fake_razorpay.pay(order.id)

    assert [d.status_code for d in fake_razorpay.deliveries] == [None, None]
    assert all(d.error for d in fake_razorpay.deliveries)
    assert fake_razorpay.order(order.id)["status"] == "paid"
