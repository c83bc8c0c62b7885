"""`erplake run` in development: the fake Razorpay is served at /_dev/razorpay, and a
parent paying on its checkout page gets the invoice paid through the real webhook."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from erplake.core.settings import Env, Settings
from erplake.integrations.fakes.razorpay import FAKE_KEY_ID, FAKE_KEY_SECRET, FAKE_WEBHOOK_SECRET
from erplake.services.combined import DEV_RAZORPAY_PREFIX, create_combined_app, dev_fake_razorpay
from tests.payments.conftest import Fees, invoice, rows


def test_the_dev_fake_is_only_made_for_our_own_dev_mount(pay_settings: Settings) -> None:
    assert dev_fake_razorpay(pay_settings) is None
    local = pay_settings.model_copy(
        update={"razorpay_api_base": f"http://127.0.0.1:8000{DEV_RAZORPAY_PREFIX}"}
    )
    fake = dev_fake_razorpay(local)
    assert fake is not None
    assert fake.webhook_url == "http://127.0.0.1:8000/billing/webhooks/razorpay"
    production = local.model_copy(update={"erplake_env": Env.production})
    assert dev_fake_razorpay(production) is None


@pytest.fixture
def combined(pay_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The one-process server on a real port, as `erplake run` serves it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    origin = f"http://127.0.0.1:{port}"
    settings = pay_settings.model_copy(
        update={
            "public_base_url": origin,
            "razorpay_api_base": origin + DEV_RAZORPAY_PREFIX,
            "razorpay_key_id": FAKE_KEY_ID,
            "razorpay_key_secret": FAKE_KEY_SECRET,
            "razorpay_webhook_secret": FAKE_WEBHOOK_SECRET,
        }
    )
    app = create_combined_app(settings, web_dist=tmp_path)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the combined app did not start"
        time.sleep(0.02)
    try:
        yield origin
    finally:
        server.should_exit = True
        thread.join(10)


async def test_a_parent_pays_on_the_demo_checkout_page(
    combined: str, fees: Fees, database_url: str
) -> None:
    async with httpx.AsyncClient(base_url=combined, timeout=10) as browser:
        started = await browser.post(
            "/billing/orders",
            json={"invoice_ids": [str(fees.invoices["Diya"])]},
            headers=fees.vikram.headers,
        )
        assert started.status_code == 201, started.text
        order: dict[str, Any] = started.json()
        assert order["key_id"] == FAKE_KEY_ID
        page = await browser.get(order["checkout_url"])
        assert page.status_code == 200
        action = re.search(r'action="([^"]+/pay)"', page.text)
        assert action is not None
        paid = await browser.post(
            str(page.url.join(action.group(1))), data={"method": "upi", "callback_url": ""}
        )
        assert paid.status_code == 200, paid.text

    assert invoice(database_url, fees.invoices["Diya"]) == ("paid", 150_000, 0)
    events = rows(database_url, "SELECT event_type, outcome FROM webhook_events ORDER BY id")
    assert events == [("payment.captured", "credited"), ("order.paid", "already_paid")]
