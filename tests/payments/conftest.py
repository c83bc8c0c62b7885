"""Online payments against the billing role, with a fake Razorpay and a fake Stripe on
loopback (the adapters talk HTTP to them) and the school of tests/school_records.py.

    Vikram (parent) pays for Diya (6-A) and Rohan (7-A); Neha (parent) for Aarav.
    Each of them has one issued tuition invoice for April.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import psycopg
import pytest

from erplake.core.app import Resources
from erplake.core.db import libpq_url, transaction
from erplake.core.settings import PaymentProvider, Settings
from erplake.fees import ledger
from erplake.integrations.fakes import ServedApp, serve_in_thread
from erplake.integrations.fakes.razorpay import FakeRazorpay
from erplake.integrations.fakes.stripe import FakeStripe
from erplake.services.roles import create_app
from tests.fees.factory import FeeLineSpec, add_head, add_instalment, issue_invoice
from tests.school_records import records, today

__all__ = ["records"]

RAZORPAY_KEY_ID = "rzp_test_payments"
RAZORPAY_KEY_SECRET = "payments-key-secret"
RAZORPAY_WEBHOOK_SECRET = "payments-webhook-secret"
STRIPE_SECRET_KEY = "sk_test_payments"
STRIPE_WEBHOOK_SECRET = "whsec_payments"

AMOUNTS = {"Diya": 150_000, "Rohan": 120_000, "Aarav": 90_000}


@pytest.fixture(scope="session")
def _razorpay_server() -> Iterator[tuple[FakeRazorpay, ServedApp]]:
    fake = FakeRazorpay(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET)
    served = serve_in_thread(fake.app)
    yield fake, served
    served.stop()


@pytest.fixture(scope="session")
def _stripe_server() -> Iterator[tuple[FakeStripe, ServedApp]]:
    fake = FakeStripe(STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET)
    served = serve_in_thread(fake.app)
    yield fake, served
    served.stop()


@pytest.fixture
def fake_razorpay(_razorpay_server: tuple[FakeRazorpay, ServedApp]) -> Iterator[FakeRazorpay]:
    """Emptied, with no webhook URL: events it raises are recorded in `deliveries` for
    the test to deliver (again, out of order, concurrently …)."""
    fake, _ = _razorpay_server
    fake.clear()
    fake.webhook_url = None
    yield fake
    fake.clear()
    fake.webhook_url = None


@pytest.fixture
def fake_stripe(_stripe_server: tuple[FakeStripe, ServedApp]) -> Iterator[FakeStripe]:
    fake, _ = _stripe_server
    fake.clear()
    fake.webhook_url = None
    yield fake
    fake.clear()


@pytest.fixture
def pay_settings(
    settings: Settings,
    _razorpay_server: tuple[FakeRazorpay, ServedApp],
    _stripe_server: tuple[FakeStripe, ServedApp],
) -> Settings:
    return settings.model_copy(
        update={
            "payment_provider": PaymentProvider.razorpay,
            "razorpay_api_base": _razorpay_server[1].url,
            "razorpay_key_id": RAZORPAY_KEY_ID,
            "razorpay_key_secret": RAZORPAY_KEY_SECRET,
            "razorpay_webhook_secret": RAZORPAY_WEBHOOK_SECRET,
            "stripe_api_base": _stripe_server[1].url,
            "stripe_secret_key": STRIPE_SECRET_KEY,
            "stripe_webhook_secret": STRIPE_WEBHOOK_SECRET,
            "http_retries": 1,
        }
    )


@pytest.fixture
def stripe_settings(pay_settings: Settings) -> Settings:
    return pay_settings.model_copy(update={"payment_provider": PaymentProvider.stripe})


BillingClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def billing_for(resources: Resources, pay_settings: Settings) -> BillingClient:
    """`async with billing_for() as billing:` — the billing role over ASGI."""

    @asynccontextmanager
    async def _client(settings: Settings | None = None) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app("billing", settings or pay_settings, resources=resources)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c

    return _client


@pytest.fixture
async def billing(billing_for: BillingClient) -> AsyncIterator[httpx.AsyncClient]:
    async with billing_for() as client:
        yield client


@dataclass
class Fees:
    school_id: uuid.UUID
    invoices: dict[str, uuid.UUID]
    vikram: Any
    neha: Any
    admin: Any


@pytest.fixture
async def fees(resources: Resources, records: Any, make_user: Any) -> Fees:
    school_id = records.admin.school_id
    neha = await make_user("parent", phone="+919810000001", name="Neha Sharma")
    invoices: dict[str, uuid.UUID] = {}
    async with transaction(resources.sessionmaker) as session:
        tuition = await add_head(session, school_id, "TUITION", "Tuition")
        april = await add_instalment(session, school_id, "April", date(today().year, 4, 10))
        for name, amount in AMOUNTS.items():
            invoices[name] = await issue_invoice(
                session,
                school_id=school_id,
                student_id=records.students[name],
                instalment_id=april,
                lines=[FeeLineSpec(tuition, amount, 0, "Tuition")],
            )
    return Fees(school_id, invoices, records.parent, neha, records.admin)


def rows(database_url: str, sql: str, *args: Any) -> list[Any]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        return conn.execute(sql, args).fetchall()


def count(database_url: str, table: str) -> int:
    return int(rows(database_url, f"SELECT count(*) FROM {table}")[0][0])


def invoice(database_url: str, invoice_id: uuid.UUID) -> tuple[str, int, int]:
    """(status, paid, balance)"""
    status, paid, balance = rows(
        database_url, "SELECT status, paid, balance FROM invoices WHERE id = %s", invoice_id
    )[0]
    return status, paid, balance


async def assert_ledger_agrees(resources: Resources, school_id: uuid.UUID) -> None:
    async with transaction(resources.sessionmaker) as session:
        assert await ledger.discrepancies(session, school_id=school_id) == []


async def order_for(
    billing: httpx.AsyncClient, user: Any, *invoice_ids: uuid.UUID
) -> dict[str, Any]:
    answer = await billing.post(
        "/orders", json={"invoice_ids": [str(i) for i in invoice_ids]}, headers=user.headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def deliver(
    billing: httpx.AsyncClient, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await billing.post("/webhooks/razorpay", content=body, headers=headers)


def raised(fake: FakeRazorpay, event: str) -> tuple[bytes, dict[str, str]]:
    """The last event of this name the fake raised (not delivered: no webhook URL)."""
    found = [d for d in fake.deliveries if d.event == event]
    assert found, f"the fake raised no {event}"
    return found[-1].body, found[-1].headers
