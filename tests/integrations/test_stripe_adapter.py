"""The Stripe adapter: Checkout Sessions against the fake Stripe over loopback HTTP, and
webhook verification through the official SDK."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from erplake.core.settings import load_settings
from erplake.integrations.fakes import serve_in_thread
from erplake.integrations.fakes.stripe import FakeStripe
from erplake.integrations.http import ProviderUnavailable
from erplake.integrations.stripe import (
    StripeClient,
    StripeError,
    StripeRequestInvalid,
    StripeSignatureInvalid,
    verify_webhook,
)
from tests.integrations.conftest import STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET

MakeStripe = Callable[..., StripeClient]

SUCCESS_URL = "http://school.test/billing/stripe/done?session={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://school.test/invoices/88"


async def _session(stripe_client: StripeClient, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "amount_paise": 224000,
        "product_name": "Term 1 fees - Aarav Sharma (VII-B)",
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "client_reference_id": "invoice-88",
        "metadata": {"invoice_id": "88", "school": "svm"},
    } | overrides
    return await stripe_client.create_checkout_session(**options)


# --- Checkout Sessions -------------------------------------------------------------


async def test_checkout_session_is_created_with_the_line_amount_and_our_references(
    stripe_client: StripeClient, fake_stripe: FakeStripe, stripe_url: str
) -> None:
    session = await _session(stripe_client)

    [request] = fake_stripe.requests
    assert request.method == "POST"
    assert request.path == "/v1/checkout/sessions"
    assert request.authenticated
    assert request.idempotency_key
    assert request.form == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "inr",
        "line_items[0][price_data][unit_amount]": "224000",
        "line_items[0][price_data][product_data][name]": "Term 1 fees - Aarav Sharma (VII-B)",
        "line_items[0][quantity]": "1",
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "client_reference_id": "invoice-88",
        "metadata[invoice_id]": "88",
        "metadata[school]": "svm",
    }
    assert session.id.startswith("cs_")
    assert session.url == f"{stripe_url}/c/pay/{session.id}"
    assert session.status == "open"
    assert session.payment_status == "unpaid"
    assert session.amount_total == 224000
    assert session.currency == "inr"
    assert session.client_reference_id == "invoice-88"
    assert session.metadata == {"invoice_id": "88", "school": "svm"}
    assert session.payment_intent is None


async def test_retrieved_session_is_paid_once_the_payer_has_paid(
    stripe_client: StripeClient, fake_stripe: FakeStripe
) -> None:
    session = await _session(stripe_client)
    fake_stripe.complete(session.id)

    fetched = await stripe_client.retrieve_checkout_session(session.id)

    assert fetched.id == session.id
    assert fetched.status == "complete"
    assert fetched.payment_status == "paid"
    assert fetched.payment_intent is not None
    assert fetched.payment_intent.startswith("pi_")


async def test_create_retried_after_a_server_error_reuses_its_idempotency_key(
    stripe_client: StripeClient, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_next(1, status=500)

    session = await _session(stripe_client)

    first, second = fake_stripe.requests
    assert first.idempotency_key == second.idempotency_key
    assert [s["id"] for s in fake_stripe.sessions] == [session.id]


async def test_the_same_idempotency_key_gives_back_the_same_session(
    stripe_client: StripeClient, fake_stripe: FakeStripe
) -> None:
    first = await _session(stripe_client, idempotency_key="invoice-88-attempt-1")
    again = await _session(stripe_client, idempotency_key="invoice-88-attempt-1")

    assert again.id == first.id
    assert len(fake_stripe.sessions) == 1


async def test_persistent_server_errors_raise_provider_unavailable(
    make_stripe: MakeStripe, fake_stripe: FakeStripe
) -> None:
    stripe_client = make_stripe(retries=1)
    fake_stripe.fail_next(5, status=502)

    with pytest.raises(ProviderUnavailable, match="Stripe"):
        await _session(stripe_client)

    assert fake_stripe.requests_received == 2


async def test_wrong_secret_key_is_a_stripe_error_without_retrying(
    make_stripe: MakeStripe, fake_stripe: FakeStripe
) -> None:
    stripe_client = make_stripe(secret_key="sk_test_wrong", retries=3)

    with pytest.raises(StripeError) as caught:
        await _session(stripe_client)

    assert caught.value.http_status == 401
    assert caught.value.provider_type == "invalid_request_error"
    assert "Invalid API Key" in caught.value.provider_message
    assert caught.value.status_code == 502
    assert fake_stripe.requests_received == 1


async def test_unknown_session_is_stripes_resource_missing(stripe_client: StripeClient) -> None:
    with pytest.raises(StripeError) as caught:
        await stripe_client.retrieve_checkout_session("cs_test_DoesNotExist")

    assert caught.value.provider_code == "resource_missing"
    assert caught.value.http_status == 404


@pytest.mark.parametrize(
    ("overrides", "bad_field"),
    [
        ({"amount_paise": 49}, "amount"),
        ({"amount_paise": 100.0}, "amount"),
        ({"product_name": "  "}, "product_name"),
        ({"client_reference_id": ""}, "client_reference_id"),
        ({"client_reference_id": "x" * 201}, "client_reference_id"),
        ({"metadata": {"a[b]": "1"}}, "metadata"),
        ({"metadata": {"k" * 41: "1"}}, "metadata"),
        ({"metadata": {"k": "v" * 501}}, "metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
    ],
    ids=[
        "below-minimum",
        "float",
        "blank-name",
        "no-reference",
        "long-reference",
        "bracket-in-key",
        "long-key",
        "long-value",
        "51-keys",
    ],
)
async def test_session_stripe_would_refuse_is_refused_before_any_request(
    stripe_client: StripeClient,
    fake_stripe: FakeStripe,
    overrides: dict[str, Any],
    bad_field: str,
) -> None:
    with pytest.raises(StripeRequestInvalid) as caught:
        await _session(stripe_client, **overrides)

    assert caught.value.field == bad_field
    assert fake_stripe.requests_received == 0


async def test_session_id_that_is_not_one_never_reaches_the_url(
    stripe_client: StripeClient, fake_stripe: FakeStripe
) -> None:
    with pytest.raises(StripeRequestInvalid):
        await stripe_client.retrieve_checkout_session("cs_x/../../v1/charges")

    assert fake_stripe.requests_received == 0


async def test_client_built_from_settings_uses_the_configured_gateway(
    stripe_url: str, fake_stripe: FakeStripe
) -> None:
    settings = load_settings(stripe_api_base=stripe_url, stripe_secret_key=STRIPE_SECRET_KEY)

    async with StripeClient.from_settings(settings) as stripe_client:
        session = await _session(stripe_client)

    assert fake_stripe.session(session.id)["amount_total"] == 224000


# --- Webhook verification ----------------------------------------------------------


async def test_signed_checkout_completed_event_is_verified_and_read(
    stripe_client: StripeClient, fake_stripe: FakeStripe
) -> None:
    session = await _session(stripe_client)
    body, headers = fake_stripe.checkout_completed_event(session.id)

    event = verify_webhook(body, headers["Stripe-Signature"], STRIPE_WEBHOOK_SECRET)

    assert event.type == "checkout.session.completed"
    assert event.id.startswith("evt_")
    assert event.created.tzinfo is not None
    completed = event.checkout_session()
    assert completed is not None
    assert completed.id == session.id
    assert completed.payment_status == "paid"
    assert completed.amount_total == 224000
    assert completed.currency == "inr"
    assert completed.client_reference_id == "invoice-88"
    assert completed.metadata == {"invoice_id": "88", "school": "svm"}
    assert completed.payment_intent is not None


def test_fake_signs_the_way_stripe_documents_it(fake_stripe: FakeStripe) -> None:
    body, headers = fake_stripe.build_event("payment_intent.succeeded", {"object": "x"})

    parts = dict(item.split("=", 1) for item in headers["Stripe-Signature"].split(","))
    signed = f"{parts['t']}.".encode() + body
    expected = hmac.new(STRIPE_WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert parts["v1"] == expected


def test_event_signed_with_another_secret_is_refused(fake_stripe: FakeStripe) -> None:
    body, headers = fake_stripe.build_event("checkout.session.completed", {"object": "x"})

    with pytest.raises(StripeSignatureInvalid) as caught:
        verify_webhook(body, headers["Stripe-Signature"], "whsec_someone_else")

    assert caught.value.status_code == 400
    assert caught.value.code == "invalid_signature"


def test_event_older_than_five_minutes_is_refused(fake_stripe: FakeStripe) -> None:
    body, headers = fake_stripe.build_event(
        "checkout.session.completed", {"object": "x"}, timestamp=int(time.time()) - 301
    )

    with pytest.raises(StripeSignatureInvalid, match="invalid or too old") as caught:
        verify_webhook(body, headers["Stripe-Signature"], STRIPE_WEBHOOK_SECRET)

    assert "tolerance" in str(caught.value.details)


def test_event_a_little_under_five_minutes_old_is_accepted(fake_stripe: FakeStripe) -> None:
    body, headers = fake_stripe.build_event(
        "payment_intent.succeeded", {"object": "payment_intent"}, timestamp=int(time.time()) - 240
    )

    event = verify_webhook(body, headers["Stripe-Signature"], STRIPE_WEBHOOK_SECRET)

    assert event.type == "payment_intent.succeeded"
    assert event.checkout_session() is None


@pytest.mark.parametrize(
    "header",
    [None, "", "garbage", "t=notanumber,v1=abc", "t=1700000000"],
    ids=["missing", "empty", "garbage", "bad-timestamp", "no-v1"],
)
def test_missing_or_malformed_signature_header_is_refused(
    fake_stripe: FakeStripe, header: str | None
) -> None:
    body, _ = fake_stripe.build_event("checkout.session.completed", {"object": "x"})

    with pytest.raises(StripeSignatureInvalid):
        verify_webhook(body, header, STRIPE_WEBHOOK_SECRET)


def test_body_changed_after_signing_is_refused(fake_stripe: FakeStripe) -> None:
    body, headers = fake_stripe.build_event(
        "checkout.session.completed", {"object": "checkout.session", "amount_total": 100}
    )
    reserialised = json.dumps(json.loads(body)).encode()

    with pytest.raises(StripeSignatureInvalid):
        verify_webhook(reserialised, headers["Stripe-Signature"], STRIPE_WEBHOOK_SECRET)


def test_signed_body_that_is_not_an_event_is_refused() -> None:
    import stripe

    body = b"not json at all"
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), STRIPE_WEBHOOK_SECRET)

    with pytest.raises(StripeSignatureInvalid, match="not a Stripe event"):
        verify_webhook(body, header, STRIPE_WEBHOOK_SECRET)


def test_a_tolerance_that_would_switch_the_age_check_off_is_a_programming_error(
    fake_stripe: FakeStripe,
) -> None:
    body, headers = fake_stripe.build_event("checkout.session.completed", {"object": "x"})

    with pytest.raises(ValueError, match="tolerance"):
        verify_webhook(body, headers["Stripe-Signature"], STRIPE_WEBHOOK_SECRET, tolerance=0)


# --- The fake's payment page -------------------------------------------------------


@dataclass
class StripeInbox:
    url: str = ""
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture(scope="module")
def stripe_inbox() -> Iterator[StripeInbox]:
    inbox = StripeInbox()

    async def receive(request: Request) -> Response:
        body = await request.body()
        with inbox.lock:
            inbox.received.append((body, dict(request.headers)))
        return Response(status_code=200)

    app = Starlette(routes=[Route("/billing/webhooks/stripe", receive, methods=["POST"])])
    with serve_in_thread(app) as served:
        inbox.url = f"{served.url}/billing/webhooks/stripe"
        yield inbox


async def test_paying_on_the_session_page_posts_a_verifiable_event_and_returns_the_payer(
    stripe_client: StripeClient, fake_stripe: FakeStripe, stripe_inbox: StripeInbox
) -> None:
    fake_stripe.webhook_url = stripe_inbox.url
    session = await _session(stripe_client)
    assert session.url is not None

    async with httpx.AsyncClient() as browser:
        page = await browser.get(session.url)
        answer = await browser.post(session.url)

    assert "Pay ₹2,240.00" in page.text
    assert answer.status_code == 303
    assert answer.headers["location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    with stripe_inbox.lock:
        body, headers = stripe_inbox.received[-1]
    event = verify_webhook(body, headers["stripe-signature"], STRIPE_WEBHOOK_SECRET)
    completed = event.checkout_session()
    assert completed is not None
    assert completed.id == session.id
    assert completed.payment_status == "paid"
    assert [(d.event_type, d.status_code) for d in fake_stripe.deliveries] == [
        ("checkout.session.completed", 200)
    ]
