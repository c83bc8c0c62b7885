"""A fake Razorpay that speaks the real wire format, for tests and demo mode.

It answers the Orders and Payment Links APIs as `api.razorpay.com` does (Basic auth,
paise, Razorpay's error shape), serves a tiny checkout page whose "Pay" button marks
the order paid, and then does what Razorpay does after a payment: POSTs signed
webhooks (`payment.captured`, then `order.paid`) to our webhook URL and sends the
browser back to our callback URL with `razorpay_payment_id`, `razorpay_order_id` and
`razorpay_signature`.

It is written from the wire format (INTEGRATIONS.md), not from our adapter, so that
the adapter's tests catch the adapter disagreeing with Razorpay. Where Razorpay's exact
words are not documented (some error descriptions), the fake's are close but not
guaranteed identical: never match on them.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
import string
import threading
import time
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from erplake.core.money import format_inr
from erplake.integrations.razorpay import (
    checkout_signature,
    payment_link_signature,
    webhook_signature,
)

Entity = dict[str, Any]
CallbackMethod = Literal["get", "post"]

_ALPHABET = string.ascii_letters + string.digits
# Credentials of the fake itself (demo mode and tests), never of a real account.
FAKE_KEY_ID = "rzp_test_fake"
FAKE_KEY_SECRET = "fake-key-secret"  # noqa: S105
FAKE_WEBHOOK_SECRET = "fake-webhook-secret"  # noqa: S105
# Razorpay gives up on a webhook delivery after a few seconds; so does the fake.
WEBHOOK_TIMEOUT_SECONDS = 5.0


class RecordedRequest(BaseModel):
    """An API request that reached the fake (refused and failed ones included)."""

    model_config = ConfigDict(frozen=True)

    method: str
    path: str
    body: Any = None
    """The JSON body, parsed; None for GETs and unreadable bodies."""
    authenticated: bool


class WebhookDelivery(BaseModel):
    """One POST of an event to a webhook URL, and how our side answered."""

    model_config = ConfigDict(frozen=True)

    event: str
    event_id: str
    url: str | None
    """None when no webhook URL was configured: the event was raised, not sent."""
    status_code: int | None
    """Our answer; None when it was not sent or the connection failed."""
    error: str | None = None
    body: bytes
    headers: dict[str, str]


@dataclass
class _Failure:
    remaining: int
    status: int


class _Refused(Exception):
    """A request the fake answers with Razorpay's error shape."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        field: str | None = None,
        code: str = "BAD_REQUEST_ERROR",
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.field = field
        self.code = code


def new_id(prefix: str) -> str:
    """A Razorpay-looking id: the entity prefix and 14 base62 characters."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(14))


class FakeRazorpay:
    """The fake server; serve `fake.app` (e.g. with `serve_in_thread`) and point the
    adapter's base URL at it. Set `webhook_url` to where our webhook route listens.

    Thread-safe: the app runs on uvicorn's thread while tests act on it from theirs.
    The async helpers (`pay`, `fail`, `refund`, `deliver`) may run on any event loop.
    """

    def __init__(
        self,
        key_id: str = FAKE_KEY_ID,
        key_secret: str = FAKE_KEY_SECRET,
        webhook_secret: str = FAKE_WEBHOOK_SECRET,
        *,
        webhook_url: str | None = None,
        callback_url: str | None = None,
        callback_method: CallbackMethod = "get",
        account_id: str = "acc_FakeERPLake001",
    ) -> None:
        """`callback_url` is where the checkout page sends the browser after paying when
        neither the page's `?callback_url=` nor the order's `notes["callback_url"]` says
        otherwise. `callback_method="get"` redirects with the three `razorpay_*` fields
        in the query; `"post"` submits them as a form, which is what Razorpay Checkout
        does with its `callback_url` option (unverified: accept both on our side).
        """
        self.key_id = key_id
        self.key_secret = key_secret
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.callback_url = callback_url
        self.callback_method: CallbackMethod = callback_method
        self.account_id = account_id
        self._lock = threading.Lock()
        self._orders: dict[str, Entity] = {}
        self._payments: dict[str, Entity] = {}
        self._refunds: dict[str, Entity] = {}
        self._links: dict[str, Entity] = {}
        self._requests: list[RecordedRequest] = []
        self._deliveries: list[WebhookDelivery] = []
        self._failure: _Failure | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/orders", self._create_order, methods=["POST"]),
                Route("/v1/orders/{order_id}", self._get_order, methods=["GET"]),
                Route("/v1/orders/{order_id}/payments", self._get_order_payments, methods=["GET"]),
                Route("/v1/payments/{payment_id}", self._get_payment, methods=["GET"]),
                Route("/v1/payment_links", self._create_link, methods=["POST"]),
                Route("/v1/payment_links/{link_id}", self._get_link, methods=["GET"]),
                Route("/checkout/{order_id}", self._checkout_page, methods=["GET"]),
                Route("/checkout/{order_id}/pay", self._checkout_pay, methods=["POST"]),
                Route("/checkout/{order_id}/fail", self._checkout_fail, methods=["POST"]),
                Route("/i/{link_id}", self._link_page, methods=["GET"]),
                Route("/i/{link_id}/pay", self._link_pay, methods=["POST"]),
            ]
        )

    # --- What tests read -------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every API request, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def requests_received(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        """Every webhook the fake raised or sent, oldest first (a copy)."""
        with self._lock:
            return list(self._deliveries)

    @property
    def orders(self) -> list[Entity]:
        with self._lock:
            return [deepcopy(o) for o in self._orders.values()]

    def order(self, order_id: str) -> Entity:
        """The order entity as Razorpay would show it (a copy); KeyError if unknown."""
        with self._lock:
            return deepcopy(self._orders[order_id])

    def payment(self, payment_id: str) -> Entity:
        with self._lock:
            return deepcopy(self._payments[payment_id])

    def payments_of(self, order_id: str) -> list[Entity]:
        with self._lock:
            return [deepcopy(p) for p in self._payments.values() if p["order_id"] == order_id]

    def link(self, link_id: str) -> Entity:
        with self._lock:
            return deepcopy(self._links[link_id])

    def clear(self) -> None:
        """Forget every entity, request, delivery and pending failure."""
        with self._lock:
            self._orders.clear()
            self._payments.clear()
            self._refunds.clear()
            self._links.clear()
            self._requests.clear()
            self._deliveries.clear()
            self._failure = None

    # --- Failure injection -----------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next `n` API requests with `status` in Razorpay's error shape."""
        with self._lock:
            self._failure = _Failure(remaining=n, status=status)

    # --- Acting as the payer, and as Razorpay after a payment ------------------------

    async def pay(self, order_id: str, *, method: str = "upi") -> str:
        """Pay an order in full, as the checkout page's button does; returns `pay_…`.

        Posts `payment.captured` then `order.paid` to `webhook_url` (when set) and
        waits for our answers, which `deliveries` records.
        """
        payment, order = self._capture(order_id, method)
        await self._raise_event("payment.captured", payment=payment)
        await self._raise_event("order.paid", payment=payment, order=order)
        return str(payment["id"])

    async def fail(
        self,
        order_id: str,
        *,
        method: str = "upi",
        description: str = "Payment failed because the payer cancelled it.",
    ) -> str:
        """A failed payment attempt on an order (`payment.failed`); returns `pay_…`."""
        payment = self._attempt_failed(order_id, method, description)
        await self._raise_event("payment.failed", payment=payment)
        return str(payment["id"])

    async def refund(self, payment_id: str, amount: int | None = None) -> str:
        """Refund `amount` paise (all that is left by default) of a captured payment.

        Raises `refund.created` then `refund.processed`, as Razorpay does for a refund
        that goes through; returns `rfnd_…`.
        """
        refund, payment = self._book_refund(payment_id, amount)
        await self._raise_event("refund.created", refund=refund, payment=payment)
        processed = self._set_refund_status(str(refund["id"]), "processed")
        await self._raise_event("refund.processed", refund=processed, payment=payment)
        return str(refund["id"])

    async def pay_link(self, link_id: str, *, method: str = "upi") -> str:
        """Pay a payment link, as its page's button does; returns `pay_…`.

        Razorpay pays a link through an order of its own, so this raises
        `payment.captured`, `order.paid` and `payment_link.paid`.
        """
        payment, order, link = self._capture_link(link_id, method)
        await self._raise_event("payment.captured", payment=payment)
        await self._raise_event("order.paid", payment=payment, order=order)
        await self._raise_event(
            "payment_link.paid", payment_link=link, order=order, payment=payment
        )
        return str(payment["id"])

    def build_event(
        self, event: str, **entities: Mapping[str, Any]
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook as Razorpay would POST it: the raw body and its headers.

        `entities` are the payload's entities by name (`payment=…, order=…`); the body
        is signed with the webhook secret and carries a fresh `x-razorpay-event-id`.
        """
        envelope = {
            "entity": "event",
            "account_id": self.account_id,
            "event": event,
            "contains": list(entities),
            "payload": {name: {"entity": dict(entity)} for name, entity in entities.items()},
            "created_at": int(time.time()),
        }
        body = json.dumps(envelope, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": webhook_signature(body, self.webhook_secret),
            "x-razorpay-event-id": new_id(""),
        }
        return body, headers

    async def deliver(
        self, body: bytes, headers: Mapping[str, str], url: str | None = None
    ) -> httpx.Response:
        """POST one webhook (again, if you like: duplicates are normal) and return our
        answer. `url` defaults to `webhook_url`. Connection errors propagate."""
        target = url or self.webhook_url
        if target is None:
            raise ValueError("no webhook URL: set fake.webhook_url or pass url")
        event, event_id = _event_name(body), headers.get("x-razorpay-event-id", "")
        try:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS) as client:
                response = await client.post(target, content=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            self._record_delivery(event, event_id, target, None, body, headers, repr(exc))
            raise
        self._record_delivery(event, event_id, target, response.status_code, body, headers)
        return response

    async def _raise_event(self, event: str, **entities: Mapping[str, Any]) -> None:
        body, headers = self.build_event(event, **entities)
        event_id = headers["x-razorpay-event-id"]
        if self.webhook_url is None:
            self._record_delivery(event, event_id, None, None, body, headers)
            return
        try:
            await self.deliver(body, headers)
        except httpx.HTTPError:
            # Recorded by `deliver`; Razorpay would retry later, a test can redeliver.
            pass

    def _record_delivery(
        self,
        event: str,
        event_id: str,
        url: str | None,
        status_code: int | None,
        body: bytes,
        headers: Mapping[str, str],
        error: str | None = None,
    ) -> None:
        delivery = WebhookDelivery(
            event=event,
            event_id=event_id,
            url=url,
            status_code=status_code,
            error=error,
            body=body,
            headers=dict(headers),
        )
        with self._lock:
            self._deliveries.append(delivery)

    # --- State changes (each under the lock, returning copies for events) ------------

    def _new_order(
        self, amount: int, currency: str, receipt: str | None, notes: Mapping[str, str]
    ) -> Entity:
        order: Entity = {
            "id": new_id("order_"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency,
            "receipt": receipt,
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            # Razorpay really does send an empty list, not an object, for no notes.
            "notes": dict(notes) if notes else [],
            "created_at": int(time.time()),
        }
        with self._lock:
            self._orders[order["id"]] = order
            return deepcopy(order)

    def _new_payment(self, order: Entity, method: str, status: str) -> Entity:
        # Called with the lock held.
        captured = status == "captured"
        payment: Entity = {
            "id": new_id("pay_"),
            "entity": "payment",
            "amount": order["amount"],
            "currency": order["currency"],
            "status": status,
            "order_id": order["id"],
            "invoice_id": None,
            "international": False,
            "method": method,
            "amount_refunded": 0,
            "refund_status": None,
            "captured": captured,
            "description": order.get("receipt"),
            "card_id": None,
            "bank": "HDFC" if method == "netbanking" else None,
            "wallet": None,
            "vpa": "success@razorpay" if method == "upi" else None,
            "email": "payer@example.com",
            "contact": "+919876543210",
            # Checkout passes the order's notes on in our integration; Razorpay itself
            # keeps payment notes separate from order notes.
            "notes": deepcopy(order["notes"]),
            "fee": (order["amount"] * 2 // 100) if captured else None,
            "tax": (order["amount"] * 2 // 100 * 18 // 118) if captured else None,
            "error_code": None,
            "error_description": None,
            "error_source": None,
            "error_step": None,
            "error_reason": None,
            "created_at": int(time.time()),
        }
        self._payments[payment["id"]] = payment
        return payment

    def _capture(self, order_id: str, method: str) -> tuple[Entity, Entity]:
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                raise KeyError(f"no such order {order_id!r}")
            if order["status"] == "paid":
                raise ValueError(f"order {order_id} is already paid")
            payment = self._new_payment(order, method, "captured")
            order["attempts"] += 1
            order["status"] = "paid"
            order["amount_paid"] = order["amount"]
            order["amount_due"] = 0
            return deepcopy(payment), deepcopy(order)

    def _attempt_failed(self, order_id: str, method: str, description: str) -> Entity:
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                raise KeyError(f"no such order {order_id!r}")
            payment = self._new_payment(order, method, "failed")
            payment.update(
                error_code="BAD_REQUEST_ERROR",
                error_description=description,
                error_source="customer",
                error_step="payment_authentication",
                error_reason="payment_cancelled",
            )
            order["attempts"] += 1
            if order["status"] == "created":
                order["status"] = "attempted"
            return deepcopy(payment)

    def _book_refund(self, payment_id: str, amount: int | None) -> tuple[Entity, Entity]:
        with self._lock:
            payment = self._payments.get(payment_id)
            if payment is None:
                raise KeyError(f"no such payment {payment_id!r}")
            left = payment["amount"] - payment["amount_refunded"]
            amount = left if amount is None else amount
            if payment["status"] not in ("captured", "refunded") or not 0 < amount <= left:
                raise ValueError(f"cannot refund {amount} of {payment_id} ({left} left)")
            refund: Entity = {
                "id": new_id("rfnd_"),
                "entity": "refund",
                "amount": amount,
                "currency": payment["currency"],
                "payment_id": payment_id,
                "notes": [],
                "receipt": None,
                "acquirer_data": {"arn": None},
                "created_at": int(time.time()),
                "batch_id": None,
                "status": "pending",
                "speed_processed": "normal",
                "speed_requested": "normal",
            }
            self._refunds[refund["id"]] = refund
            payment["amount_refunded"] += amount
            full = payment["amount_refunded"] == payment["amount"]
            payment["refund_status"] = "full" if full else "partial"
            if full:
                payment["status"] = "refunded"
            # The order stays `paid`, as at Razorpay.
            return deepcopy(refund), deepcopy(payment)

    def _set_refund_status(self, refund_id: str, status: str) -> Entity:
        with self._lock:
            refund = self._refunds[refund_id]
            refund["status"] = status
            return deepcopy(refund)

    def _capture_link(self, link_id: str, method: str) -> tuple[Entity, Entity, Entity]:
        with self._lock:
            link = self._links.get(link_id)
            if link is None:
                raise KeyError(f"no such payment link {link_id!r}")
            if link["status"] != "created":
                raise ValueError(f"payment link {link_id} is {link['status']}")
            order_id = link.get("order_id")
            if order_id is None:
                order_id = new_id("order_")
                link["order_id"] = order_id
                self._orders[order_id] = {
                    "id": order_id,
                    "entity": "order",
                    "amount": link["amount"],
                    "amount_paid": 0,
                    "amount_due": link["amount"],
                    "currency": link["currency"],
                    "receipt": link["reference_id"],
                    "offer_id": None,
                    "status": "created",
                    "attempts": 0,
                    "notes": deepcopy(link["notes"]) or [],
                    "created_at": int(time.time()),
                }
        payment, order = self._capture(order_id, method)
        with self._lock:
            link = self._links[link_id]
            link["status"] = "paid"
            link["amount_paid"] = link["amount"]
            link["payments"] = [
                {
                    "amount": payment["amount"],
                    "created_at": payment["created_at"],
                    "method": method,
                    "payment_id": payment["id"],
                    "status": "captured",
                }
            ]
            link["updated_at"] = int(time.time())
            return payment, order, deepcopy(link)

    # --- API endpoints ---------------------------------------------------------------

    async def _api(self, request: Request) -> tuple[bool, Any, Response | None]:
        """Record the request and apply auth and failure injection: (authed, body, error
        response or None)."""
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        authenticated = _basic_auth(request) == (self.key_id, self.key_secret)
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.url.path,
                    body=body,
                    authenticated=authenticated,
                )
            )
            failure = self._take_failure()
        if failure is not None:
            return authenticated, body, _server_error(failure.status)
        if not authenticated:
            return False, body, _error(_Refused(401, "Authentication failed"))
        return True, body, None

    def _take_failure(self) -> _Failure | None:
        # Called with the lock held.
        failure = self._failure
        if failure is None:
            return None
        failure.remaining -= 1
        if failure.remaining <= 0:
            self._failure = None
        return failure

    async def _create_order(self, request: Request) -> Response:
        _, body, refused = await self._api(request)
        if refused is not None:
            return refused
        try:
            if not isinstance(body, dict):
                raise _Refused(400, "The request body must be a JSON object")
            amount = _amount(body.get("amount"))
            currency = _currency(body.get("currency"))
            receipt = body.get("receipt")
            if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
                raise _Refused(
                    400, "The receipt may not be greater than 40 characters.", field="receipt"
                )
            notes = _notes(body.get("notes"))
        except _Refused as exc:
            return _error(exc)
        return JSONResponse(self._new_order(amount, currency, receipt, notes))

    async def _get_order(self, request: Request) -> Response:
        _, _, refused = await self._api(request)
        if refused is not None:
            return refused
        with self._lock:
            order = deepcopy(self._orders.get(request.path_params["order_id"]))
        return JSONResponse(order) if order else _error(_not_found())

    async def _get_order_payments(self, request: Request) -> Response:
        _, _, refused = await self._api(request)
        if refused is not None:
            return refused
        order_id = request.path_params["order_id"]
        with self._lock:
            if order_id not in self._orders:
                return _error(_not_found())
            items = [deepcopy(p) for p in self._payments.values() if p["order_id"] == order_id]
        return JSONResponse({"entity": "collection", "count": len(items), "items": items})

    async def _get_payment(self, request: Request) -> Response:
        _, _, refused = await self._api(request)
        if refused is not None:
            return refused
        with self._lock:
            payment = deepcopy(self._payments.get(request.path_params["payment_id"]))
        return JSONResponse(payment) if payment else _error(_not_found())

    async def _create_link(self, request: Request) -> Response:
        _, body, refused = await self._api(request)
        if refused is not None:
            return refused
        try:
            if not isinstance(body, dict):
                raise _Refused(400, "The request body must be a JSON object")
            amount = _amount(body.get("amount"))
            currency = _currency(body.get("currency"))
            reference_id = body.get("reference_id")
            if reference_id is not None and (
                not isinstance(reference_id, str) or len(reference_id) > 40
            ):
                raise _Refused(
                    400,
                    "The reference id may not be greater than 40 characters.",
                    field="reference_id",
                )
            notes = _notes(body.get("notes"))
            callback_url = body.get("callback_url")
            if callback_url is not None and body.get("callback_method") != "get":
                raise _Refused(
                    400,
                    "callback_method should be get if callback_url is passed",
                    field="callback_method",
                )
        except _Refused as exc:
            return _error(exc)
        now = int(time.time())
        link_id = new_id("plink_")
        link: Entity = {
            "accept_partial": bool(body.get("accept_partial", False)),
            "amount": amount,
            "amount_paid": 0,
            "callback_method": body.get("callback_method", ""),
            "callback_url": callback_url or "",
            "cancelled_at": 0,
            "created_at": now,
            "currency": currency,
            "customer": body.get("customer") or {},
            "description": body.get("description", ""),
            "expire_by": body.get("expire_by", 0),
            "expired_at": 0,
            "first_min_partial_amount": 0,
            "id": link_id,
            "notes": dict(notes) if notes else None,
            "notify": body.get("notify") or {"email": False, "sms": False},
            "payments": None,
            "reference_id": reference_id or "",
            "reminder_enable": bool(body.get("reminder_enable", False)),
            "reminders": [],
            "short_url": f"{str(request.base_url).rstrip('/')}/i/{link_id}",
            "status": "created",
            "updated_at": now,
            "upi_link": False,
            "user_id": "",
        }
        with self._lock:
            if reference_id and any(
                existing["reference_id"] == reference_id for existing in self._links.values()
            ):
                return _error(
                    _Refused(
                        400,
                        f"payment link with reference id {reference_id} already exists",
                        field="reference_id",
                    )
                )
            self._links[link_id] = link
            return JSONResponse(deepcopy(link))

    async def _get_link(self, request: Request) -> Response:
        _, _, refused = await self._api(request)
        if refused is not None:
            return refused
        with self._lock:
            link = deepcopy(self._links.get(request.path_params["link_id"]))
        return JSONResponse(link) if link else _error(_not_found())

    # --- Pages a browser sees --------------------------------------------------------

    async def _checkout_page(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        with self._lock:
            order = deepcopy(self._orders.get(order_id))
        if order is None:
            return HTMLResponse(_page("Order not found", "<p>No such order.</p>"), 404)
        callback_url = request.query_params.get("callback_url", "")
        return HTMLResponse(render_checkout_html(order, callback_url=callback_url))

    async def _checkout_pay(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        form = await request.form()
        method = _form_text(form.get("method")) or "upi"
        try:
            payment_id = await self.pay(order_id, method=method)
        except KeyError:
            return HTMLResponse(_page("Order not found", "<p>No such order.</p>"), 404)
        except ValueError as exc:
            return HTMLResponse(_page("Cannot pay", f"<p>{html.escape(str(exc))}</p>"), 400)
        fields = {
            "razorpay_payment_id": payment_id,
            "razorpay_order_id": order_id,
            "razorpay_signature": checkout_signature(order_id, payment_id, self.key_secret),
        }
        return self._back_to_merchant(
            self._callback_for(order_id, _form_text(form.get("callback_url"))), fields
        )

    async def _checkout_fail(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        form = await request.form()
        try:
            payment_id = await self.fail(order_id)
        except KeyError:
            return HTMLResponse(_page("Order not found", "<p>No such order.</p>"), 404)
        callback = self._callback_for(order_id, _form_text(form.get("callback_url")))
        fields = {
            "error[code]": "BAD_REQUEST_ERROR",
            "error[description]": "Payment failed",
            "error[reason]": "payment_cancelled",
            "error[metadata]": json.dumps({"payment_id": payment_id, "order_id": order_id}),
        }
        return self._back_to_merchant(callback, fields)

    async def _link_page(self, request: Request) -> Response:
        with self._lock:
            link = deepcopy(self._links.get(request.path_params["link_id"]))
        if link is None:
            return HTMLResponse(_page("Link not found", "<p>No such payment link.</p>"), 404)
        return HTMLResponse(render_link_html(link))

    async def _link_pay(self, request: Request) -> Response:
        link_id = request.path_params["link_id"]
        form = await request.form()
        try:
            payment_id = await self.pay_link(
                link_id, method=_form_text(form.get("method")) or "upi"
            )
        except KeyError:
            return HTMLResponse(_page("Link not found", "<p>No such payment link.</p>"), 404)
        except ValueError as exc:
            return HTMLResponse(_page("Cannot pay", f"<p>{html.escape(str(exc))}</p>"), 400)
        link = self.link(link_id)
        fields = {
            "razorpay_payment_id": payment_id,
            "razorpay_payment_link_id": link_id,
            "razorpay_payment_link_reference_id": link["reference_id"],
            "razorpay_payment_link_status": link["status"],
            "razorpay_signature": payment_link_signature(
                link_id, link["reference_id"], link["status"], payment_id, self.key_secret
            ),
        }
        # Payment links always come back with GET.
        if not link["callback_url"]:
            return HTMLResponse(render_result_html(fields))
        return RedirectResponse(_with_query(link["callback_url"], fields), status_code=303)

    def _callback_for(self, order_id: str, from_page: str) -> str | None:
        if from_page:
            return from_page
        with self._lock:
            notes = self._orders.get(order_id, {}).get("notes") or {}
        return notes.get("callback_url") or self.callback_url

    def _back_to_merchant(self, callback_url: str | None, fields: dict[str, str]) -> Response:
        if not callback_url:
            return HTMLResponse(render_result_html(fields))
        if self.callback_method == "post":
            return HTMLResponse(render_autopost_html(callback_url, fields))
        return RedirectResponse(_with_query(callback_url, fields), status_code=303)


# --- Wire helpers --------------------------------------------------------------------


def _basic_auth(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Refused(400, "The amount must be an integer.", field="amount")
    if value < 100:
        raise _Refused(400, "Order amount less than minimum amount allowed", field="amount")
    return value


def _currency(value: Any) -> str:
    if value is None:
        return "INR"
    if value != "INR":
        raise _Refused(400, "The currency is not supported by this fake.", field="currency")
    return "INR"


def _notes(value: Any) -> dict[str, str]:
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise _Refused(400, "The notes must be an object.", field="notes")
    if len(value) > 15:
        raise _Refused(400, "The notes may not have more than 15 items.", field="notes")
    for key, item in value.items():
        if len(key) > 256 or (isinstance(item, str) and len(item) > 256):
            raise _Refused(
                400, "The notes value may not be greater than 256 characters.", field="notes"
            )
    return {str(k): str(v) for k, v in value.items()}


def _not_found() -> _Refused:
    return _Refused(400, "The id provided does not exist")


def _error(refused: _Refused) -> Response:
    error: dict[str, Any] = {
        "code": refused.code,
        "description": refused.description,
        "source": "business" if refused.field else "NA",
        "step": "payment_initiation" if refused.field else "NA",
        "reason": "input_validation_failed" if refused.field else "NA",
        "metadata": {},
    }
    if refused.field:
        error["field"] = refused.field
    return JSONResponse({"error": error}, refused.status)


def _server_error(status: int) -> Response:
    return _error(
        _Refused(
            status,
            "The server encountered an error. The incident has been reported to admins.",
            code="SERVER_ERROR",
        )
    )


def _event_name(body: bytes) -> str:
    try:
        value = json.loads(body).get("event", "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _form_text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _with_query(url: str, fields: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(fields)}" if parts.query else urlencode(fields)
    return urlunsplit(parts._replace(query=query))


# --- HTML ----------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:28rem;color:#222}"
    ".amount{font-size:2rem;margin:.5rem 0 1.5rem}"
    "button{font-size:1.1rem;padding:.6rem 1.4rem;border-radius:.4rem;border:0;"
    "background:#2b6cb0;color:#fff;cursor:pointer}"
    "button.secondary{background:#ddd;color:#222;margin-left:.5rem}"
    "select{font-size:1rem;margin-bottom:1rem}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _method_select() -> str:
    return (
        '<label>Pay with <select name="method">'
        '<option value="upi">UPI</option><option value="card">Card</option>'
        '<option value="netbanking">Netbanking</option></select></label><br>'
    )


def render_checkout_html(order: Mapping[str, Any], *, callback_url: str = "") -> str:
    """The fake checkout page for an order: a "Pay ₹X" button and a "Fail" button.
    Its forms post to relative URLs, so it works wherever the fake is mounted
    (`erplake run` serves it under /_dev/razorpay)."""
    order_id = html.escape(str(order["id"]))
    amount = html.escape(format_inr(int(order["amount"])))
    hidden = f'<input type="hidden" name="callback_url" value="{html.escape(callback_url)}">'
    if order["status"] == "paid":
        body = f'<p class="amount">{amount}</p><p>This order is already paid.</p>'
    else:
        body = (
            f'<p class="amount">{amount}</p>'
            f"<p>Receipt {html.escape(str(order.get('receipt') or ''))}</p>"
            f'<form method="post" action="{order_id}/pay">{hidden}'
            f'{_method_select()}<button type="submit">Pay {amount}</button></form>'
            f'<form method="post" action="{order_id}/fail">{hidden}'
            '<button type="submit" class="secondary">Fail payment</button></form>'
        )
    return _page("Razorpay (test mode)", body)


def render_link_html(link: Mapping[str, Any]) -> str:
    """The fake page a payment link's short URL opens."""
    link_id = html.escape(str(link["id"]))
    amount = html.escape(format_inr(int(link["amount"])))
    description = html.escape(str(link.get("description") or ""))
    if link["status"] != "created":
        body = f'<p class="amount">{amount}</p><p>This link is {html.escape(link["status"])}.</p>'
    else:
        body = (
            f'<p class="amount">{amount}</p><p>{description}</p>'
            f'<form method="post" action="{link_id}/pay">'
            f'{_method_select()}<button type="submit">Pay {amount}</button></form>'
        )
    return _page("Razorpay payment link (test mode)", body)


def render_result_html(fields: Mapping[str, str]) -> str:
    """What the browser sees after paying when there is no callback URL."""
    rows = "".join(
        f"<dt>{html.escape(k)}</dt><dd><code>{html.escape(v)}</code></dd>"
        for k, v in fields.items()
    )
    return _page("Payment done", f"<dl>{rows}</dl>")


def render_autopost_html(callback_url: str, fields: Mapping[str, str]) -> str:
    """A form that submits `fields` to `callback_url` by itself, as Checkout does."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )
    body = (
        f'<form method="post" action="{html.escape(callback_url)}">{inputs}'
        '<noscript><button type="submit">Continue</button></noscript></form>'
        "<script>document.forms[0].submit()</script>"
    )
    return _page("Returning to the school", body)
