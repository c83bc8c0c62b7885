"""A fake Gupshup served on loopback for the whole session, cleared before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from erplake.integrations.fakes import ServedApp, serve_in_thread
from erplake.integrations.fakes.gupshup import FakeGupshup
from erplake.integrations.gupshup import GupshupClient

GUPSHUP_API_KEY = "test-gupshup-key"
GUPSHUP_SOURCE = "917834811114"
GUPSHUP_APP_NAME = "ERPLakeTest"

MakeGupshup = Callable[..., GupshupClient]


@pytest.fixture(scope="session")
def _gupshup_server() -> Iterator[tuple[FakeGupshup, ServedApp]]:
    fake = FakeGupshup(GUPSHUP_API_KEY, source=GUPSHUP_SOURCE, app_name=GUPSHUP_APP_NAME)
    served = serve_in_thread(fake.app)
    yield fake, served
    served.stop()


@pytest.fixture
def fake_gupshup(_gupshup_server: tuple[FakeGupshup, ServedApp]) -> Iterator[FakeGupshup]:
    fake, _ = _gupshup_server
    fake.clear()
    fake.text_content_type = "application/json"
    fake.template_content_type = "text/html"
    yield fake
    fake.clear()


@pytest.fixture
def gupshup_url(_gupshup_server: tuple[FakeGupshup, ServedApp]) -> str:
    return _gupshup_server[1].url


@pytest.fixture
async def make_gupshup(gupshup_url: str, fake_gupshup: FakeGupshup) -> AsyncIterator[MakeGupshup]:
    """Build GupshupClients aimed at a freshly cleared fake; tiny backoff keeps retry
    tests fast."""
    clients: list[GupshupClient] = []

    def make(**overrides: Any) -> GupshupClient:
        options: dict[str, Any] = {
            "base_url": gupshup_url,
            "api_key": GUPSHUP_API_KEY,
            "source": GUPSHUP_SOURCE,
            "app_name": GUPSHUP_APP_NAME,
            "timeout": 2.0,
            "retries": 2,
            "backoff_base": 0.001,
        } | overrides
        client = GupshupClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def gupshup(make_gupshup: MakeGupshup) -> GupshupClient:
    return make_gupshup()


# --- Payments: a fake Razorpay and a fake Stripe, served for the session ---------------
# Appended to this module (rather than at the top) so the Gupshup fixtures above stay as
# they were; hence the late imports.

from erplake.integrations.fakes.razorpay import FakeRazorpay  # noqa: E402
from erplake.integrations.fakes.stripe import FakeStripe  # noqa: E402
from erplake.integrations.razorpay import RazorpayClient  # noqa: E402
from erplake.integrations.stripe import StripeClient  # noqa: E402

RAZORPAY_KEY_ID = "rzp_test_erplake"
RAZORPAY_KEY_SECRET = "test-razorpay-key-secret"
RAZORPAY_WEBHOOK_SECRET = "test-razorpay-webhook-secret"
STRIPE_SECRET_KEY = "sk_test_erplake"
STRIPE_WEBHOOK_SECRET = "whsec_test_erplake"

MakeRazorpay = Callable[..., RazorpayClient]
MakeStripe = Callable[..., StripeClient]


@pytest.fixture(scope="session")
def _razorpay_server() -> Iterator[tuple[FakeRazorpay, ServedApp]]:
    fake = FakeRazorpay(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET)
    served = serve_in_thread(fake.app)
    yield fake, served
    served.stop()


@pytest.fixture
def fake_razorpay(_razorpay_server: tuple[FakeRazorpay, ServedApp]) -> Iterator[FakeRazorpay]:
    """The session's fake Razorpay, emptied, with no webhook or callback URL set."""
    fake, _ = _razorpay_server
    fake.clear()
    fake.webhook_url = None
    fake.callback_url = None
    fake.callback_method = "get"
    yield fake
    fake.clear()
    fake.webhook_url = None


@pytest.fixture
def razorpay_url(_razorpay_server: tuple[FakeRazorpay, ServedApp]) -> str:
    return _razorpay_server[1].url


@pytest.fixture
async def make_razorpay(
    razorpay_url: str, fake_razorpay: FakeRazorpay
) -> AsyncIterator[MakeRazorpay]:
    """Build RazorpayClients aimed at a freshly cleared fake; tiny backoff keeps retry
    tests fast."""
    clients: list[RazorpayClient] = []

    def make(**overrides: Any) -> RazorpayClient:
        options: dict[str, Any] = {
            "base_url": razorpay_url,
            "key_id": RAZORPAY_KEY_ID,
            "key_secret": RAZORPAY_KEY_SECRET,
            "timeout": 2.0,
            "retries": 2,
            "backoff_base": 0.001,
        } | overrides
        client = RazorpayClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def razorpay(make_razorpay: MakeRazorpay) -> RazorpayClient:
    return make_razorpay()


@pytest.fixture(scope="session")
def _stripe_server() -> Iterator[tuple[FakeStripe, ServedApp]]:
    fake = FakeStripe(STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET)
    served = serve_in_thread(fake.app)
    yield fake, served
    served.stop()


@pytest.fixture
def fake_stripe(_stripe_server: tuple[FakeStripe, ServedApp]) -> Iterator[FakeStripe]:
    fake, _ = _stripe_server
    fake.clear()
    fake.webhook_url = None
    yield fake
    fake.clear()
    fake.webhook_url = None


@pytest.fixture
def stripe_url(_stripe_server: tuple[FakeStripe, ServedApp]) -> str:
    return _stripe_server[1].url


@pytest.fixture
async def make_stripe(stripe_url: str, fake_stripe: FakeStripe) -> AsyncIterator[MakeStripe]:
    clients: list[StripeClient] = []

    def make(**overrides: Any) -> StripeClient:
        options: dict[str, Any] = {
            "base_url": stripe_url,
            "secret_key": STRIPE_SECRET_KEY,
            "timeout": 2.0,
            "retries": 2,
            "backoff_base": 0.001,
        } | overrides
        client = StripeClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def stripe_client(make_stripe: MakeStripe) -> StripeClient:
    return make_stripe()
