"""A fake Gupshup WhatsApp API that speaks the real wire format, for tests and demo mode.

It accepts the same form-encoded requests as `api.gupshup.io`, answers the way Gupshup
does (including JSON labelled `text/html`), keeps every accepted message in memory so
a test or the developer inbox can read the OTP that was "sent", can be told to fail or
stall, and can POST Gupshup-format delivery callbacks back to us.

It is written from the wire format, not from our adapter, so that the adapter's tests
catch the adapter disagreeing with Gupshup.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

MessageKind = Literal["text", "template"]
EventStatus = Literal["enqueued", "failed", "sent", "delivered", "read"]

TEXT_PATH = "/wa/api/v1/msg"
TEMPLATE_PATH = "/wa/api/v1/template/msg"
INBOX_PATH = "/inbox"


class ReceivedMessage(BaseModel):
    """A message the fake accepted, as Gupshup would have understood it."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    kind: MessageKind
    destination: str
    """Digits without the plus, exactly as posted (`919876543210`)."""
    source: str
    app_name: str
    text: str | None = None
    template_id: str | None = None
    params: tuple[str, ...] = ()
    received_at: datetime


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: float | None


class _Refused(Exception):
    """A request the fake answers with Gupshup's error shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeGupshup:
    """The fake server; serve `fake.app` (e.g. with `serve_in_thread`) and point the
    adapter's base URL at it.

    Thread-safe: the app runs on uvicorn's thread while tests inspect it from theirs.
    """

    def __init__(
        self,
        api_key: str = "fake-gupshup-key",
        *,
        source: str | None = None,
        app_name: str | None = None,
        text_content_type: str = "application/json",
        template_content_type: str = "text/html",
    ) -> None:
        """`source`/`app_name`, when given, must match what is posted (else "Invalid App
        Details"). The content types are those of the success answers; Gupshup really
        does label JSON `text/html` at times, so the template endpoint does by default.
        """
        self.api_key = api_key
        self.source = source
        self.app_name = app_name
        self.text_content_type = text_content_type
        self.template_content_type = template_content_type
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._whatsapp_ids: dict[str, str] = {}
        self._failure: _Failure | None = None
        self._delays: list[float] = []
        self._requests_received = 0
        self.app = Starlette(
            routes=[
                Route(TEXT_PATH, self._send_text, methods=["POST"]),
                Route(TEMPLATE_PATH, self._send_template, methods=["POST"]),
                Route(INBOX_PATH, self._inbox, methods=["GET"]),
            ]
        )

    # --- What tests read -------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Every accepted message, oldest first (a copy)."""
        with self._lock:
            return list(self._messages)

    @property
    def requests_received(self) -> int:
        """Send requests that reached the fake, including refused and failed ones."""
        with self._lock:
            return self._requests_received

    def messages_to(self, destination: str) -> list[ReceivedMessage]:
        """Messages to a number given as E.164 (`+91…`) or Gupshup digits (`91…`)."""
        digits = destination.removeprefix("+")
        with self._lock:
            return [m for m in self._messages if m.destination == digits]

    def last_to(self, destination: str) -> ReceivedMessage | None:
        found = self.messages_to(destination)
        return found[-1] if found else None

    def clear(self) -> None:
        """Forget messages, counters and any failure or delay not yet used."""
        with self._lock:
            self._messages.clear()
            self._whatsapp_ids.clear()
            self._failure = None
            self._delays.clear()
            self._requests_received = 0

    # --- Failure injection -----------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, *, retry_after: float | None = None) -> None:
        """Answer the next `n` send requests with `status` (e.g. 500, 502, 429)."""
        with self._lock:
            self._failure = _Failure(remaining=n, status=status, retry_after=retry_after)

    def delay_next(self, seconds: float, n: int = 1) -> None:
        """Stall the next `n` send requests for `seconds` before answering.

        A stalled request whose client gives up (times out) is dropped unrecorded, as if
        Gupshup never finished reading it; this keeps retry tests deterministic.
        """
        with self._lock:
            self._delays.extend([seconds] * n)

    # --- Endpoints -------------------------------------------------------------------

    async def _send_text(self, request: Request) -> Response:
        return await self._accept(request, "text")

    async def _send_template(self, request: Request) -> Response:
        return await self._accept(request, "template")

    async def _inbox(self, request: Request) -> Response:
        return HTMLResponse(render_inbox_html(self.messages))

    async def _accept(self, request: Request, kind: MessageKind) -> Response:
        with self._lock:
            self._requests_received += 1
            failure = self._take_failure()
            delay = self._delays.pop(0) if self._delays else None
        if failure is not None:
            headers: dict[str, str] = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = f"{failure.retry_after:g}"
            reason = "Too Many Requests" if failure.status == 429 else "Internal Server Error"
            return _error(failure.status, reason, headers=headers)

        form = await request.form()
        if delay is not None and await _stall(request, delay):
            return Response(status_code=499)  # nobody is listening any more

        try:
            if request.headers.get("apikey") != self.api_key:
                raise _Refused(401, "Authentication Failed")
            message = self._read_message(form, kind)
        except _Refused as refused:
            return _error(refused.status, refused.message)

        with self._lock:
            self._messages.append(message)
        content_type = self.text_content_type if kind == "text" else self.template_content_type
        body = json.dumps({"status": "submitted", "messageId": message.message_id})
        return Response(body, status_code=202, media_type=content_type)

    def _take_failure(self) -> _Failure | None:
        # Called with the lock held.
        failure = self._failure
        if failure is None:
            return None
        failure.remaining -= 1
        if failure.remaining <= 0:
            self._failure = None
        return failure

    def _read_message(self, form: FormData, kind: MessageKind) -> ReceivedMessage:
        channel = _field(form, "channel")
        source = _field(form, "source")
        destination = _field(form, "destination")
        app_name = _field(form, "src.name")
        if channel != "whatsapp":
            raise _Refused(400, "Invalid Channel")
        if not source.isdigit() or not app_name:
            raise _Refused(400, "Invalid App Details")
        if (self.source is not None and source != self.source.removeprefix("+")) or (
            self.app_name is not None and app_name != self.app_name
        ):
            raise _Refused(400, "Invalid App Details")
        if not destination.isdigit() or not 8 <= len(destination) <= 15:
            raise _Refused(400, "Invalid Destination")

        text: str | None = None
        template_id: str | None = None
        params: tuple[str, ...] = ()
        if kind == "text":
            content = _json_object(_field(form, "message"))
            text = content.get("text") if content.get("type") == "text" else None
            if not isinstance(text, str) or not text:
                raise _Refused(400, "Invalid Message")
        else:
            template = _json_object(_field(form, "template"))
            template_id = template.get("id")
            raw_params = template.get("params", [])
            if (
                not isinstance(template_id, str)
                or not template_id
                or not isinstance(raw_params, list)
                or not all(isinstance(p, str) for p in raw_params)
            ):
                raise _Refused(400, "Invalid Template")
            params = tuple(raw_params)
        return ReceivedMessage(
            message_id=str(uuid.uuid4()),
            kind=kind,
            destination=destination,
            source=source,
            app_name=app_name,
            text=text,
            template_id=template_id,
            params=params,
            received_at=datetime.now(UTC),
        )

    # --- Callbacks to us -------------------------------------------------------------

    def message_event_body(
        self,
        message_id: str,
        status: EventStatus,
        *,
        destination: str | None = None,
        code: int | None = None,
        reason: str | None = None,
        include_gs_id: bool = True,
    ) -> dict[str, Any]:
        """The JSON Gupshup POSTs for a status change of `message_id` (v2 message-event).

        `destination` defaults to the recorded message's. `include_gs_id=False` mimics an
        event more than a week late, which Gupshup sends without `gsId`.
        """
        if destination is None:
            with self._lock:
                sent = next((m for m in self._messages if m.message_id == message_id), None)
            destination = sent.destination if sent else ""
        now_ms = int(time.time() * 1000)
        event: dict[str, Any] = {"type": status, "destination": destination.removeprefix("+")}
        if status == "enqueued":
            event["id"] = message_id
            event["payload"] = {"whatsappMessageId": self._whatsapp_id(message_id)}
        elif status == "failed":
            event["id"] = message_id
            event["payload"] = {
                "code": code if code is not None else 1002,
                "reason": reason if reason is not None else "Number Does Not Exists On WhatsApp",
            }
        else:
            # Delivery reports carry WhatsApp's id in `id` and ours in `gsId`.
            event["id"] = self._whatsapp_id(message_id)
            if include_gs_id:
                event["gsId"] = message_id
            event["payload"] = {"ts": now_ms // 1000}
        return {
            "app": self.app_name or "FakeApp",
            "timestamp": now_ms,
            "version": 2,
            "type": "message-event",
            "payload": event,
        }

    async def post_delivery_callback(
        self,
        callback_url: str,
        message_id: str,
        status: EventStatus,
        *,
        code: int | None = None,
        reason: str | None = None,
        destination: str | None = None,
        include_gs_id: bool = True,
    ) -> httpx.Response:
        """POST a delivery event to our callback URL the way Gupshup does; returns our answer.

        Gupshup waits up to 10 s for a 2xx, so that is the timeout here too.
        """
        body = self.message_event_body(
            message_id,
            status,
            destination=destination,
            code=code,
            reason=reason,
            include_gs_id=include_gs_id,
        )
        async with httpx.AsyncClient(timeout=10.0) as client:
            return await client.post(callback_url, json=body)

    def _whatsapp_id(self, message_id: str) -> str:
        # WhatsApp's own id for a message stays the same across its events.
        with self._lock:
            if message_id not in self._whatsapp_ids:
                self._whatsapp_ids[message_id] = "gBEG" + secrets.token_urlsafe(18)
            return self._whatsapp_ids[message_id]


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _error(status: int, message: str, *, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"status": "error", "message": message}, status, headers=headers)


async def _stall(request: Request, seconds: float) -> bool:
    """Wait `seconds`, returning early with True if the client hangs up meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return True
        await asyncio.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
    return await request.is_disconnected()


def render_inbox_html(
    messages: Sequence[ReceivedMessage],
    *,
    title: str = "WhatsApp inbox (fake Gupshup)",
    tz: tzinfo = UTC,
    limit: int = 100,
) -> str:
    """A plain HTML page of the most recent messages, newest first; everything escaped.

    Message texts come from our own templates but parameters carry user input (names),
    so nothing is inserted unescaped.
    """
    # Reversed first so that messages with equal timestamps still list newest first.
    newest_first = sorted(reversed(messages), key=lambda m: m.received_at, reverse=True)[:limit]
    rows = []
    for message in newest_first:
        if message.kind == "text":
            content = f'<div class="text">{html.escape(message.text or "")}</div>'
        else:
            items = "".join(f"<li>{html.escape(p)}</li>" for p in message.params)
            content = (
                f"<div>template <code>{html.escape(message.template_id or '')}</code></div>"
                f"<ol>{items}</ol>"
            )
        when = message.received_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")
        rows.append(
            "<tr>"
            f"<td>+{html.escape(message.destination)}</td>"
            f"<td>{html.escape(when)}</td>"
            f"<td>{content}</td>"
            "</tr>"
        )
    body = (
        "<table><thead><tr><th>To</th><th>Time</th><th>Message</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else "<p>No messages yet.</p>"
    )
    return (
        "<!doctype html>"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>"
        "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
        "table{border-collapse:collapse;width:100%}"
        "th,td{border-bottom:1px solid #ddd;padding:.5rem;text-align:left;vertical-align:top}"
        ".text{white-space:pre-wrap}"
        "</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
