"""A fake Stripe for Checkout Sessions, speaking the real wire format, for tests and demo.

It creates and retrieves Checkout Sessions as `api.stripe.com` does (form-encoded,
Bearer secret key, Stripe's error shape, `Idempotency-Key` replays), serves a tiny
payment page at the session's `url`, and builds `checkout.session.completed` events
signed the way Stripe signs them (`Stripe-Signature: t=…,v1=…`), with a timestamp of
the test's choosing so that "older than the tolerance" can be tested.
"""

from __future__ import annotations

import html
import json
import secrets
import string
import threading
import time
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

import httpx
import stripe
from pydantic import BaseModel, ConfigDict
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from erplake.core.money import format_inr

Entity = dict[str, Any]

SESSIONS_PATH = "/v1/checkout/sessions"
API_VERSION = "2025-09-30.clover"
_ALPHABET = string.ascii_letters + string.digits
# Credentials of the fake itself (demo mode and tests), never of a real account.
FAKE_SECRET_KEY = "sk_test_fake"  # noqa: S105
FAKE_WEBHOOK_SECRET = "whsec_fake"  # noqa: S105


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class RecordedRequest(BaseModel):
    """An API request that reached the fake (refused and failed ones included)."""

    model_config = ConfigDict(frozen=True)

    method: str
    path: str
    form: dict[str, str]
    authenticated: bool
    idempotency_key: str | None = None


class StripeDelivery(BaseModel):
    """One POST of an event to a webhook URL and how our side answered."""

    model_config = ConfigDict(frozen=True)

    event_type: str
    url: str
    status_code: int | None
    error: str | None = None


@dataclass
class _Failure:
    remaining: int
    status: int


class _Refused(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.code = code
        self.param = param


class FakeStripe:
    """The fake server; serve `fake.app` and point the adapter's base URL at it.

    Thread-safe: the app runs on uvicorn's thread while tests act on it from theirs.
    """

    def __init__(
        self,
        secret_key: str = FAKE_SECRET_KEY,
        webhook_secret: str = FAKE_WEBHOOK_SECRET,
        *,
        webhook_url: str | None = None,
    ) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self._lock = threading.Lock()
        self._sessions: dict[str, Entity] = {}
        self._idempotent: dict[str, str] = {}
        self._requests: list[RecordedRequest] = []
        self._deliveries: list[StripeDelivery] = []
        self._failure: _Failure | None = None
        self.app = Starlette(
            routes=[
                Route(SESSIONS_PATH, self._create_session, methods=["POST"]),
                Route(SESSIONS_PATH + "/{session_id}", self._get_session, methods=["GET"]),
                Route("/c/pay/{session_id}", self._pay_page, methods=["GET"]),
                Route("/c/pay/{session_id}", self._pay_button, methods=["POST"]),
            ]
        )

    # --- What tests read -------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def requests_received(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def deliveries(self) -> list[StripeDelivery]:
        with self._lock:
            return list(self._deliveries)

    def session(self, session_id: str) -> Entity:
        """The session as Stripe would show it (a copy); KeyError if unknown."""
        with self._lock:
            return deepcopy(self._sessions[session_id])

    @property
    def sessions(self) -> list[Entity]:
        with self._lock:
            return [deepcopy(s) for s in self._sessions.values()]

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._idempotent.clear()
            self._requests.clear()
            self._deliveries.clear()
            self._failure = None

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next `n` API requests with `status` in Stripe's error shape."""
        with self._lock:
            self._failure = _Failure(remaining=n, status=status)

    # --- Acting as the payer and as Stripe -------------------------------------------

    def complete(self, session_id: str) -> Entity:
        """Mark a session paid (status complete, a `pi_…` payment intent); idempotent."""
        with self._lock:
            session = self._sessions[session_id]
            if session["payment_status"] != "paid":
                session["status"] = "complete"
                session["payment_status"] = "paid"
                session["payment_intent"] = new_id("pi_")
            return deepcopy(session)

    def build_event(
        self, event_type: str, data_object: Mapping[str, Any], *, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """An event as Stripe would POST it: the raw body and its headers, signed with
        the webhook secret at `timestamp` (now by default)."""
        now = int(time.time())
        event = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": timestamp if timestamp is not None else now,
            "data": {"object": dict(data_object)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        payload = json.dumps(event, indent=2)
        header = stripe.WebhookSignature.generate_signature_header(
            payload, self.webhook_secret, timestamp=timestamp if timestamp is not None else now
        )
        return payload.encode(), {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": header,
        }

    def checkout_completed_event(
        self, session_id: str, *, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """A signed `checkout.session.completed` for a session, completing it first."""
        return self.build_event(
            "checkout.session.completed", self.complete(session_id), timestamp=timestamp
        )

    async def deliver(
        self, body: bytes, headers: Mapping[str, str], url: str | None = None
    ) -> httpx.Response:
        """POST one event to `url` (default `webhook_url`) and return our answer."""
        target = url or self.webhook_url
        if target is None:
            raise ValueError("no webhook URL: set fake.webhook_url or pass url")
        try:
            event_type = str(json.loads(body).get("type", ""))
        except ValueError:
            event_type = ""
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                response = await client.post(target, content=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            self._record(
                StripeDelivery(event_type=event_type, url=target, status_code=None, error=repr(exc))
            )
            raise
        self._record(
            StripeDelivery(event_type=event_type, url=target, status_code=response.status_code)
        )
        return response

    async def pay(self, session_id: str) -> Entity:
        """Pay a session as its page's button does: complete it and, when `webhook_url`
        is set, deliver `checkout.session.completed`. Returns the session."""
        body, headers = self.checkout_completed_event(session_id)
        if self.webhook_url is not None:
            try:
                await self.deliver(body, headers)
            except httpx.HTTPError:
                pass  # recorded; Stripe would retry for three days
        return self.session(session_id)

    def _record(self, delivery: StripeDelivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)

    # --- API endpoints ---------------------------------------------------------------

    async def _api(self, request: Request) -> tuple[FormData | None, Response | None]:
        form = await request.form() if request.method == "POST" else None
        authorization = request.headers.get("Authorization", "")
        authenticated = authorization == f"Bearer {self.secret_key}"
        idempotency_key = request.headers.get("Idempotency-Key")
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.url.path,
                    form={k: v for k, v in (form or {}).items() if isinstance(v, str)},
                    authenticated=authenticated,
                    idempotency_key=idempotency_key,
                )
            )
            failure = self._failure
            if failure is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failure = None
        if failure is not None:
            return form, _error(
                _Refused(failure.status, "An unknown error occurred", error_type="api_error")
            )
        if not authenticated:
            shown = authorization.removeprefix("Bearer ")[-4:]
            return form, _error(_Refused(401, f"Invalid API Key provided: sk_****{shown}"))
        return form, None

    async def _create_session(self, request: Request) -> Response:
        form, refused = await self._api(request)
        if refused is not None or form is None:
            return refused or _error(_Refused(400, "Missing body"))
        key = request.headers.get("Idempotency-Key")
        with self._lock:
            replay = self._sessions.get(self._idempotent.get(key, "")) if key else None
            if replay is not None:
                return JSONResponse(deepcopy(replay), headers={"Idempotent-Replayed": "true"})
        try:
            session = self._new_session(form, str(request.base_url).rstrip("/"))
        except _Refused as exc:
            return _error(exc)
        with self._lock:
            self._sessions[session["id"]] = session
            if key:
                self._idempotent[key] = session["id"]
            return JSONResponse(deepcopy(session))

    async def _get_session(self, request: Request) -> Response:
        _, refused = await self._api(request)
        if refused is not None:
            return refused
        session_id = request.path_params["session_id"]
        with self._lock:
            session = deepcopy(self._sessions.get(session_id))
        if session is None:
            return _error(
                _Refused(
                    404,
                    f"No such checkout.session: '{session_id}'",
                    code="resource_missing",
                    param="session",
                )
            )
        return JSONResponse(session)

    def _new_session(self, form: FormData, base_url: str) -> Entity:
        def required(name: str) -> str:
            value = form.get(name)
            if not isinstance(value, str) or not value:
                raise _Refused(
                    400, f"Missing required param: {name}.", code="parameter_missing", param=name
                )
            return value

        def integer(name: str) -> int:
            raw = required(name)
            if not raw.isdigit():
                raise _Refused(
                    400, f"Invalid integer: {raw}", code="parameter_invalid_integer", param=name
                )
            return int(raw)

        mode = required("mode")
        if mode != "payment":
            raise _Refused(400, "This fake supports mode=payment only.", param="mode")
        currency = required("line_items[0][price_data][currency]").lower()
        unit_amount = integer("line_items[0][price_data][unit_amount]")
        required("line_items[0][price_data][product_data][name]")
        quantity = integer("line_items[0][quantity]")
        success_url = required("success_url")
        cancel_url = form.get("cancel_url")
        reference = form.get("client_reference_id")
        metadata = {
            key[len("metadata[") : -1]: value
            for key, value in form.items()
            if key.startswith("metadata[") and key.endswith("]") and isinstance(value, str)
        }
        session_id = new_id("cs_test_", 58)
        created = int(time.time())
        total = unit_amount * quantity
        return {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": cancel_url if isinstance(cancel_url, str) else None,
            "client_reference_id": reference if isinstance(reference, str) else None,
            "created": created,
            "currency": currency,
            "customer": None,
            "customer_details": None,
            "expires_at": created + 24 * 3600,
            "livemode": False,
            "metadata": metadata,
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": success_url,
            "url": f"{base_url}/c/pay/{session_id}",
        }

    # --- The payment page ------------------------------------------------------------

    async def _pay_page(self, request: Request) -> Response:
        with self._lock:
            session = deepcopy(self._sessions.get(request.path_params["session_id"]))
        if session is None:
            return HTMLResponse("<!doctype html><p>No such session.</p>", 404)
        amount = html.escape(format_inr(int(session["amount_total"])))
        if session["payment_status"] == "paid":
            body = f"<p>{amount}</p><p>Already paid.</p>"
        else:
            body = (
                f"<p style='font-size:2rem'>{amount}</p>"
                f'<form method="post"><button type="submit">Pay {amount}</button></form>'
            )
        return HTMLResponse(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Stripe Checkout (test mode)</title></head>"
            f"<body><h1>Stripe Checkout (test mode)</h1>{body}</body></html>"
        )

    async def _pay_button(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        try:
            session = await self.pay(session_id)
        except KeyError:
            return HTMLResponse("<!doctype html><p>No such session.</p>", 404)
        target = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session_id)
        return RedirectResponse(target, status_code=303)


def _error(refused: _Refused) -> Response:
    error: dict[str, Any] = {"message": refused.message, "type": refused.error_type}
    if refused.code:
        error["code"] = refused.code
    if refused.param:
        error["param"] = refused.param
    return JSONResponse({"error": error}, refused.status)
