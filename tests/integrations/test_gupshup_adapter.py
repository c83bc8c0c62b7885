"""The Gupshup adapter against the fake Gupshup, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from erplake.core.settings import load_settings
from erplake.integrations.fakes import serve_in_thread
from erplake.integrations.fakes.gupshup import FakeGupshup, render_inbox_html
from erplake.integrations.gupshup import (
    DeliveryStatus,
    GupshupClient,
    GupshupError,
    parse_delivery_event,
)
from erplake.integrations.http import ProviderUnavailable

MakeGupshup = Callable[..., GupshupClient]

GUARDIAN = "+919876543210"
OTP_TEMPLATE = "6f1c2b3a-0000-4000-8000-000000000001"


# --- Sending ---------------------------------------------------------------------------


async def test_text_message_reaches_gupshup_with_digits_destination_and_text_json(
    gupshup: GupshupClient, fake_gupshup: FakeGupshup
) -> None:
    message_id = await gupshup.send_text(GUARDIAN, "Aarav was absent today. उपस्थिति")

    [received] = fake_gupshup.messages
    assert received.message_id == message_id
    assert received.kind == "text"
    assert received.destination == "919876543210"
    assert received.source == fake_gupshup.source
    assert received.app_name == fake_gupshup.app_name
    assert received.text == "Aarav was absent today. उपस्थिति"


async def test_template_message_reaches_gupshup_with_template_id_and_ordered_params(
    gupshup: GupshupClient, fake_gupshup: FakeGupshup
) -> None:
    message_id = await gupshup.send_template(GUARDIAN, OTP_TEMPLATE, ["482913", "10"])

    received = fake_gupshup.last_to(GUARDIAN)
    assert received is not None
    assert received.message_id == message_id
    assert received.kind == "template"
    assert received.destination == "919876543210"
    assert received.template_id == OTP_TEMPLATE
    assert received.params == ("482913", "10")
    assert received.text is None


async def test_answers_labelled_text_html_are_read_as_json(
    gupshup: GupshupClient, fake_gupshup: FakeGupshup
) -> None:
    fake_gupshup.text_content_type = "text/html"
    fake_gupshup.template_content_type = "text/html"

    text_id = await gupshup.send_text(GUARDIAN, "Fee receipt ready")
    template_id = await gupshup.send_template(GUARDIAN, OTP_TEMPLATE, ["111222"])

    assert [m.message_id for m in fake_gupshup.messages_to("919876543210")] == [
        text_id,
        template_id,
    ]


async def test_wrong_api_key_raises_gupshup_error_without_retrying(
    make_gupshup: MakeGupshup, fake_gupshup: FakeGupshup
) -> None:
    gupshup = make_gupshup(api_key="not-the-key", retries=3)

    with pytest.raises(GupshupError) as caught:
        await gupshup.send_template(GUARDIAN, OTP_TEMPLATE, ["482913"])

    assert caught.value.provider_message == "Authentication Failed"
    assert caught.value.http_status == 401
    assert caught.value.status_code == 502
    assert caught.value.code == "whatsapp_error"
    assert fake_gupshup.requests_received == 1
    assert fake_gupshup.messages == []


async def test_refusal_carries_gupshups_own_reason(
    make_gupshup: MakeGupshup, fake_gupshup: FakeGupshup
) -> None:
    gupshup = make_gupshup(app_name="SomeoneElsesApp")

    with pytest.raises(GupshupError, match="Invalid App Details"):
        await gupshup.send_text(GUARDIAN, "hello")


async def test_server_error_then_success_is_retried_and_sent_once(
    gupshup: GupshupClient, fake_gupshup: FakeGupshup
) -> None:
    fake_gupshup.fail_next(1, status=500)

    message_id = await gupshup.send_template(GUARDIAN, OTP_TEMPLATE, ["482913"])

    assert fake_gupshup.requests_received == 2
    assert [m.message_id for m in fake_gupshup.messages] == [message_id]


async def test_persistent_server_errors_raise_provider_unavailable_after_all_retries(
    make_gupshup: MakeGupshup, fake_gupshup: FakeGupshup
) -> None:
    gupshup = make_gupshup(retries=3)
    fake_gupshup.fail_next(10, status=503)

    with pytest.raises(ProviderUnavailable) as caught:
        await gupshup.send_template(GUARDIAN, OTP_TEMPLATE, ["482913"])

    assert caught.value.status_code == 503
    assert caught.value.code == "provider_unavailable"
    assert fake_gupshup.requests_received == 4
    assert fake_gupshup.messages == []


async def test_timeout_is_retried_and_message_sent_once(
    make_gupshup: MakeGupshup, fake_gupshup: FakeGupshup
) -> None:
    gupshup = make_gupshup(timeout=0.3, retries=1)
    fake_gupshup.delay_next(5.0)

    message_id = await gupshup.send_template(GUARDIAN, OTP_TEMPLATE, ["482913"])

    assert fake_gupshup.requests_received == 2
    assert [m.message_id for m in fake_gupshup.messages] == [message_id]


async def test_provider_that_keeps_timing_out_is_unavailable(
    make_gupshup: MakeGupshup, fake_gupshup: FakeGupshup
) -> None:
    gupshup = make_gupshup(timeout=0.2, retries=1)
    fake_gupshup.delay_next(5.0, n=2)

    with pytest.raises(ProviderUnavailable, match="Timeout"):
        await gupshup.send_text(GUARDIAN, "hello")

    assert fake_gupshup.requests_received == 2


async def test_rate_limit_is_retried_after_the_wait_gupshup_asks_for(
    make_gupshup: MakeGupshup, fake_gupshup: FakeGupshup
) -> None:
    # A backoff this long would blow the time limit: finishing proves Retry-After: 0 won.
    gupshup = make_gupshup(backoff_base=60.0)
    fake_gupshup.fail_next(1, status=429, retry_after=0)

    async with asyncio.timeout(5):
        message_id = await gupshup.send_text(GUARDIAN, "hello")

    assert fake_gupshup.requests_received == 2
    assert [m.message_id for m in fake_gupshup.messages] == [message_id]


async def test_rate_limit_with_a_long_wait_gives_up_at_once(
    gupshup: GupshupClient, fake_gupshup: FakeGupshup
) -> None:
    fake_gupshup.fail_next(1, status=429, retry_after=120)

    with pytest.raises(ProviderUnavailable) as caught:
        await gupshup.send_text(GUARDIAN, "hello")

    assert caught.value.headers == {"Retry-After": "120"}
    assert fake_gupshup.requests_received == 1


async def test_unreachable_gupshup_is_provider_unavailable(make_gupshup: MakeGupshup) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    gupshup = make_gupshup(base_url=f"http://127.0.0.1:{closed_port}", retries=1)

    with pytest.raises(ProviderUnavailable, match="ConnectError after 2 attempts"):
        await gupshup.send_text(GUARDIAN, "hello")


async def test_message_text_never_reaches_the_logs(
    make_gupshup: MakeGupshup, fake_gupshup: FakeGupshup, caplog: pytest.LogCaptureFixture
) -> None:
    gupshup = make_gupshup(retries=1)
    fake_gupshup.fail_next(1, status=500)
    caplog.set_level(logging.DEBUG)

    await gupshup.send_text(GUARDIAN, "Your login code is 937261")
    await gupshup.send_template(GUARDIAN, OTP_TEMPLATE, ["937261"])

    assert caplog.records, "the adapter should log what it did"
    assert "937261" not in caplog.text
    assert "9876543210" not in caplog.text


async def test_client_built_from_settings_sends_through_the_configured_gateway(
    gupshup_url: str, fake_gupshup: FakeGupshup
) -> None:
    assert fake_gupshup.source is not None
    settings = load_settings(
        gupshup_api_base=gupshup_url,
        gupshup_api_key=fake_gupshup.api_key,
        gupshup_source="+" + fake_gupshup.source,
        gupshup_app_name=fake_gupshup.app_name,
    )

    async with GupshupClient.from_settings(settings) as gupshup:
        message_id = await gupshup.send_text(GUARDIAN, "hello")

    received = fake_gupshup.last_to(GUARDIAN)
    assert received is not None
    assert received.message_id == message_id
    assert received.source == fake_gupshup.source


# --- Delivery callbacks ----------------------------------------------------------------


@dataclass
class CallbackInbox:
    """Our side of the callback: records bodies Gupshup POSTs and answers 2xx, empty."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def last(self) -> dict[str, Any]:
        with self.lock:
            return self.bodies[-1]


@pytest.fixture(scope="module")
def callback_inbox() -> Iterator[CallbackInbox]:
    inbox = CallbackInbox(url="")

    async def receive(request: Request) -> Response:
        body = json.loads(await request.body())
        with inbox.lock:
            inbox.bodies.append(body)
        return Response(status_code=200)

    app = Starlette(routes=[Route("/callbacks/gupshup/{token}", receive, methods=["POST"])])
    with serve_in_thread(app) as served:
        inbox.url = f"{served.url}/callbacks/gupshup/secret-token"
        yield inbox


@pytest.mark.parametrize("status", ["enqueued", "sent", "delivered", "read"])
async def test_delivery_callback_is_matched_to_the_message_we_sent(
    status: Literal["enqueued", "sent", "delivered", "read"],
    gupshup: GupshupClient,
    fake_gupshup: FakeGupshup,
    callback_inbox: CallbackInbox,
) -> None:
    message_id = await gupshup.send_template(GUARDIAN, OTP_TEMPLATE, ["482913"])

    answer = await fake_gupshup.post_delivery_callback(callback_inbox.url, message_id, status)
    event = parse_delivery_event(callback_inbox.last())

    assert answer.status_code == 200
    assert event is not None
    assert event.message_id == message_id
    assert event.status == status
    assert event.destination == GUARDIAN
    assert event.code is None
    assert event.timestamp is not None
    assert event.timestamp.tzinfo is not None


async def test_delivery_reports_take_our_id_from_gs_id_not_whatsapps_id(
    gupshup: GupshupClient, fake_gupshup: FakeGupshup, callback_inbox: CallbackInbox
) -> None:
    message_id = await gupshup.send_text(GUARDIAN, "hello")

    await fake_gupshup.post_delivery_callback(callback_inbox.url, message_id, "delivered")
    body = callback_inbox.last()
    event = parse_delivery_event(body)

    assert body["payload"]["gsId"] == message_id
    assert body["payload"]["id"] != message_id
    assert event is not None
    assert event.message_id == message_id


async def test_failed_callback_carries_gupshups_code_and_reason(
    gupshup: GupshupClient, fake_gupshup: FakeGupshup, callback_inbox: CallbackInbox
) -> None:
    message_id = await gupshup.send_template(GUARDIAN, OTP_TEMPLATE, ["482913"])

    await fake_gupshup.post_delivery_callback(
        callback_inbox.url,
        message_id,
        "failed",
        code=1008,
        reason="User is not Opted in and Inactive",
    )
    event = parse_delivery_event(callback_inbox.last())

    assert event is not None
    assert event.message_id == message_id
    assert event.status is DeliveryStatus.failed
    assert event.code == 1008
    assert event.reason == "User is not Opted in and Inactive"


async def test_week_late_delivery_report_without_gs_id_is_ignored(
    gupshup: GupshupClient, fake_gupshup: FakeGupshup, callback_inbox: CallbackInbox
) -> None:
    message_id = await gupshup.send_text(GUARDIAN, "hello")

    await fake_gupshup.post_delivery_callback(
        callback_inbox.url, message_id, "read", include_gs_id=False
    )

    assert parse_delivery_event(callback_inbox.last()) is None


def test_failure_reported_after_sending_is_matched_by_gs_id() -> None:
    body = {
        "app": "ERPLake",
        "timestamp": 1580546677791,
        "version": 2,
        "type": "message-event",
        "payload": {
            "id": "gBEGkYaYVSEEAgnZxQ3JmKK6Wvg",
            "gsId": "ee4a68a0-1203-4c85-8dc3-49d0b3226a35",
            "type": "failed",
            "destination": "919876543210",
            "payload": {"code": 1002, "reason": "Number Does Not Exists On WhatsApp"},
        },
    }

    event = parse_delivery_event(body)

    assert event is not None
    assert event.message_id == "ee4a68a0-1203-4c85-8dc3-49d0b3226a35"
    assert event.code == 1002


@pytest.mark.parametrize(
    "body",
    [
        {"app": "ERPLake", "timestamp": 1, "version": 2, "type": "user-event", "payload": {}},
        {
            "app": "ERPLake",
            "timestamp": 1,
            "version": 2,
            "type": "message",
            "payload": {"id": "ABEGkY", "type": "text", "payload": {"text": "hi"}},
        },
        {
            "type": "message-event",
            "timestamp": 1,
            "payload": {"id": "x", "gsId": "y", "type": "deleted", "destination": "91"},
        },
        {"type": "message-event", "payload": {"type": "enqueued", "destination": "91"}},
        {"unexpected": "shape"},
    ],
    ids=["user-event", "inbound-message", "unknown-status", "enqueued-without-id", "garbage"],
)
def test_callbacks_that_are_not_a_status_of_our_message_parse_to_none(
    body: dict[str, Any],
) -> None:
    assert parse_delivery_event(body) is None


# --- Developer inbox -------------------------------------------------------------------


async def test_inbox_lists_newest_first_and_escapes_what_it_shows(
    gupshup: GupshupClient, fake_gupshup: FakeGupshup, gupshup_url: str
) -> None:
    await gupshup.send_text(GUARDIAN, "first <b>message</b>")
    await gupshup.send_template(GUARDIAN, OTP_TEMPLATE, ["<script>alert(1)</script>"])

    async with httpx.AsyncClient() as client:
        page = (await client.get(f"{gupshup_url}/inbox")).text

    assert page == render_inbox_html(fake_gupshup.messages)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "first &lt;b&gt;message&lt;/b&gt;" in page
    assert page.index(OTP_TEMPLATE) < page.index("first &lt;b&gt;")
