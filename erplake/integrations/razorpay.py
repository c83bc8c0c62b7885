"""Razorpay adapter: orders, payment links, and the signatures that prove a payment.

Wire format: the Razorpay section of INTEGRATIONS.md. JSON bodies with HTTP Basic
auth `key_id:key_secret`; amounts are integer paise; errors come back as
`{"error": {"code", "description", "field", "reason", ...}}`.

Signatures are checked here with `hmac` rather than with the official `razorpay`
SDK: its `verify_webhook_signature` wants the body as `str` (a `bytes` body raises
`TypeError`) and signals a mismatch by raising. A webhook must be verified over the
exact bytes Razorpay sent, so we take bytes and answer a plain bool.

The functions that verify signatures do no I/O and never raise on bad input, so a
webhook route can call them before reading anything else.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Annotated, Any, Generic, Self, TypeVar

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from erplake.core.errors import AppError, BadRequest, Unprocessable
from erplake.core.settings import Settings
from erplake.integrations.http import request_with_retries

logger = logging.getLogger(__name__)

ORDERS_PATH = "/v1/orders"
PAYMENT_LINKS_PATH = "/v1/payment_links"

MIN_AMOUNT_PAISE = 100
MAX_RECEIPT_CHARS = 40
MAX_REFERENCE_ID_CHARS = 40
MAX_NOTES = 15
MAX_NOTE_CHARS = 256

# Razorpay ids are a prefix and base62 characters (`order_IluGWxBm9U8zJ8`). Anything
# else would be spliced into a URL path, so it is refused before a request is made.
_RAZORPAY_ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

_Model = TypeVar("_Model", bound=BaseModel)


class RazorpayError(AppError):
    """Razorpay refused a request; `provider_code`/`description` are its own words."""

    status_code = 502
    code = "payment_provider_error"

    def __init__(
        self,
        provider_code: str,
        description: str,
        *,
        field: str | None = None,
        reason: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(
            f"Razorpay refused the request: {description}",
            details={
                "provider_code": provider_code,
                "description": description,
                "field": field,
                "reason": reason,
                "http_status": http_status,
            },
        )
        self.provider_code = provider_code
        self.description = description
        self.field = field
        self.reason = reason
        self.http_status = http_status


class RazorpayRequestInvalid(Unprocessable):
    """A request Razorpay would refuse, caught before it was sent (no HTTP call made)."""

    code = "payment_request_invalid"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, details={"field": field})
        self.field = field


class RazorpayWebhookUnreadable(BadRequest):
    """A webhook body that is not a Razorpay event envelope."""

    code = "webhook_unreadable"


# --- Answer models -------------------------------------------------------------------


def _notes_dict(value: Any) -> Any:
    # Razorpay sends `"notes": []` when an entity has no notes, and may echo numbers.
    if value is None or value == []:
        return {}
    if isinstance(value, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    return value


Notes = Annotated[dict[str, str], BeforeValidator(_notes_dict)]


class _RazorpayEntity(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RazorpayOrder(_RazorpayEntity):
    """An order (`order_…`); status goes created → attempted → paid, and stays paid."""

    id: str
    entity: str = "order"
    amount: int
    amount_paid: int = 0
    amount_due: int = 0
    currency: str
    receipt: str | None = None
    status: str
    attempts: int = 0
    notes: Notes = Field(default_factory=dict)
    created_at: datetime | None = None


class RazorpayPayment(_RazorpayEntity):
    """A payment (`pay_…`); status is created, authorized, captured, refunded or failed."""

    id: str
    entity: str = "payment"
    amount: int
    currency: str
    status: str
    order_id: str | None = None
    method: str | None = None
    captured: bool = False
    amount_refunded: int = 0
    refund_status: str | None = None
    notes: Notes = Field(default_factory=dict)
    error_code: str | None = None
    error_description: str | None = None
    created_at: datetime | None = None


class RazorpayRefund(_RazorpayEntity):
    """A refund (`rfnd_…`) of part or all of a payment; status pending, processed, failed."""

    id: str
    entity: str = "refund"
    payment_id: str
    amount: int
    currency: str = "INR"
    status: str
    notes: Notes = Field(default_factory=dict)
    created_at: datetime | None = None


class PaymentLink(_RazorpayEntity):
    """A payment link (`plink_…`): `short_url` is what the payer opens."""

    id: str
    short_url: str
    status: str
    amount: int | None = None
    currency: str | None = None
    reference_id: str | None = None


class RazorpayCustomer(BaseModel):
    """Who a payment link is for; Razorpay pre-fills checkout with it."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    contact: str | None = None
    """Phone in E.164 (`+919876543210`)."""
    email: str | None = None


class _ErrorBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str = "UNKNOWN_ERROR"
    description: str = "no description"
    field: str | None = None
    reason: str | None = None


class _ErrorEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    error: _ErrorBody


class _PaymentCollection(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[RazorpayPayment]


# --- Client --------------------------------------------------------------------------


class RazorpayClient:
    """Talks to the Razorpay REST API; one connection pool per instance.

    Use it as `async with RazorpayClient.from_settings(settings) as razorpay: ...`, or
    call `aclose()` when done. Every amount is paise computed by our server, never one a
    client sent. 5xx answers and timeouts are retried; Razorpay takes no idempotency
    key for orders, so a retried create may leave an orphan order at Razorpay — harmless,
    because only the order id we stored is ever paid against.
    """

    def __init__(
        self,
        base_url: str,
        key_id: str,
        key_secret: str,
        timeout: float,
        retries: int,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        backoff_base: float = 0.2,
    ) -> None:
        self.key_id = key_id
        self.retries = retries
        self.backoff_base = backoff_base
        self._http = httpx.AsyncClient(
            base_url=base_url,
            auth=httpx.BasicAuth(key_id, key_secret),
            headers={"Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> Self:
        return cls(
            base_url=settings.razorpay_api_base,
            key_id=settings.razorpay_key_id,
            key_secret=settings.razorpay_key_secret,
            timeout=settings.http_timeout_seconds,
            retries=settings.http_retries,
            transport=transport,
        )

    async def create_order(
        self,
        amount_paise: int,
        receipt: str,
        notes: Mapping[str, str] | None = None,
        currency: str = "INR",
    ) -> RazorpayOrder:
        """Create an order for `amount_paise`; checkout is then opened for its id.

        `receipt` is our reference (at most 40 characters); `notes` at most 15 pairs of
        at most 256 characters each. Bad values raise `RazorpayRequestInvalid` before any
        request is made.
        """
        _check_amount(amount_paise)
        _check_currency(currency)
        if not receipt or len(receipt) > MAX_RECEIPT_CHARS:
            raise RazorpayRequestInvalid(
                f"receipt must be 1 to {MAX_RECEIPT_CHARS} characters, not {len(receipt)}",
                field="receipt",
            )
        body = {
            "amount": amount_paise,
            "currency": currency,
            "receipt": receipt,
            "notes": _checked_notes(notes),
        }
        answer = await self._call("POST", ORDERS_PATH, json=body)
        order = _parse(RazorpayOrder, answer)
        logger.info(
            "razorpay order created",
            extra={"order_id": order.id, "amount": order.amount, "receipt": receipt},
        )
        return order

    async def fetch_order(self, order_id: str) -> RazorpayOrder:
        """The order as Razorpay has it now (status, amount_paid, attempts)."""
        answer = await self._call("GET", f"{ORDERS_PATH}/{_checked_id(order_id, 'order_id')}")
        return _parse(RazorpayOrder, answer)

    async def fetch_order_payments(self, order_id: str) -> list[RazorpayPayment]:
        """Every payment attempt on an order, failed ones included (for reconciliation)."""
        path = f"{ORDERS_PATH}/{_checked_id(order_id, 'order_id')}/payments"
        answer = await self._call("GET", path)
        return _parse(_PaymentCollection, answer).items

    async def create_payment_link(
        self,
        *,
        amount_paise: int,
        reference_id: str,
        description: str,
        customer: RazorpayCustomer | Mapping[str, str],
        callback_url: str,
        expire_by: datetime | None = None,
        notes: Mapping[str, str] | None = None,
        currency: str = "INR",
        notify_by_razorpay: bool = False,
    ) -> PaymentLink:
        """Create a payment link; Razorpay redirects the payer to `callback_url` (GET).

        `reference_id` (our reference, at most 40 characters) comes back in the callback
        and is covered by its signature. Razorpay does not send the link by SMS or
        e-mail unless `notify_by_razorpay`: we send reminders ourselves.
        """
        _check_amount(amount_paise)
        _check_currency(currency)
        if not reference_id or len(reference_id) > MAX_REFERENCE_ID_CHARS:
            raise RazorpayRequestInvalid(
                f"reference_id must be 1 to {MAX_REFERENCE_ID_CHARS} characters",
                field="reference_id",
            )
        if expire_by is not None and expire_by.tzinfo is None:
            raise RazorpayRequestInvalid("expire_by must carry a timezone", field="expire_by")
        if not isinstance(customer, RazorpayCustomer):
            customer = RazorpayCustomer.model_validate(dict(customer))
        body: dict[str, Any] = {
            "amount": amount_paise,
            "currency": currency,
            "accept_partial": False,
            "reference_id": reference_id,
            "description": description,
            "customer": customer.model_dump(exclude_none=True),
            "notify": {"sms": notify_by_razorpay, "email": notify_by_razorpay},
            "reminder_enable": False,
            "notes": _checked_notes(notes),
            "callback_url": callback_url,
            "callback_method": "get",
        }
        if expire_by is not None:
            body["expire_by"] = int(expire_by.timestamp())
        answer = await self._call("POST", PAYMENT_LINKS_PATH, json=body)
        link = _parse(PaymentLink, answer)
        logger.info(
            "razorpay payment link created",
            extra={"link_id": link.id, "amount": amount_paise, "reference_id": reference_id},
        )
        return link

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await request_with_retries(
            self._http,
            method,
            path,
            retries=self.retries,
            backoff_base=self.backoff_base,
            provider="Razorpay",
            **kwargs,
        )
        if response.is_success:
            return response
        error = _read_error(response)
        logger.warning(
            "razorpay refused %s %s: %s %s",
            method,
            path,
            error.provider_code,
            error.description,
            extra={"http_status": response.status_code},
        )
        raise error

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _check_amount(amount_paise: int) -> None:
    if isinstance(amount_paise, bool) or not isinstance(amount_paise, int):
        raise RazorpayRequestInvalid("amount must be an integer in paise", field="amount")
    if amount_paise < MIN_AMOUNT_PAISE:
        raise RazorpayRequestInvalid(
            f"amount must be at least {MIN_AMOUNT_PAISE} paise (₹1.00), not {amount_paise}",
            field="amount",
        )


def _check_currency(currency: str) -> None:
    if not _CURRENCY.match(currency):
        raise RazorpayRequestInvalid(
            "currency must be a three-letter ISO code such as INR", field="currency"
        )


def _checked_notes(notes: Mapping[str, str] | None) -> dict[str, str]:
    notes = dict(notes or {})
    if len(notes) > MAX_NOTES:
        raise RazorpayRequestInvalid(
            f"at most {MAX_NOTES} notes are allowed, not {len(notes)}", field="notes"
        )
    for key, value in notes.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise RazorpayRequestInvalid("notes keys and values must be text", field="notes")
        if len(key) > MAX_NOTE_CHARS or len(value) > MAX_NOTE_CHARS:
            raise RazorpayRequestInvalid(
                f"note {key[:40]!r} is longer than {MAX_NOTE_CHARS} characters", field="notes"
            )
    return notes


def _checked_id(value: str, field: str) -> str:
    if not _RAZORPAY_ID.match(value):
        raise RazorpayRequestInvalid(f"{field} is not a Razorpay id", field=field)
    return value


def _parse(model: type[_Model], response: httpx.Response) -> _Model:
    try:
        return model.model_validate_json(response.content)
    except ValidationError:
        content_type = response.headers.get("Content-Type", "no content type")
        raise RazorpayError(
            "UNREADABLE_ANSWER",
            f"unreadable answer (HTTP {response.status_code}, {content_type}, "
            f"{len(response.content)} bytes)",
            http_status=response.status_code,
        ) from None


def _read_error(response: httpx.Response) -> RazorpayError:
    try:
        error = _ErrorEnvelope.model_validate_json(response.content).error
    except ValidationError:
        return RazorpayError(
            "UNREADABLE_ERROR",
            f"HTTP {response.status_code} without a Razorpay error body",
            http_status=response.status_code,
        )
    return RazorpayError(
        error.code,
        error.description,
        field=error.field,
        reason=error.reason,
        http_status=response.status_code,
    )


# --- Signatures ----------------------------------------------------------------------


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _same(expected: str, given: str | None) -> bool:
    # Compared as bytes: `compare_digest` raises on non-ASCII str, and a header can
    # carry anything.
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))


def checkout_signature(order_id: str, payment_id: str, key_secret: str) -> str:
    """The `razorpay_signature` Razorpay returns after a successful checkout."""
    return _hmac_hex(key_secret, f"{order_id}|{payment_id}".encode())


def checkout_signature_valid(
    order_id: str, payment_id: str, signature: str | None, key_secret: str
) -> bool:
    """Whether a checkout success is genuine. `order_id` must be the id WE stored for
    this payment attempt, never the one the browser sent back."""
    if not key_secret or not order_id or not payment_id:
        return False
    return _same(checkout_signature(order_id, payment_id, key_secret), signature)


def payment_link_signature(
    link_id: str, reference_id: str, status: str, payment_id: str, key_secret: str
) -> str:
    """The `razorpay_signature` on a payment link's callback."""
    message = f"{link_id}|{reference_id}|{status}|{payment_id}".encode()
    return _hmac_hex(key_secret, message)


def payment_link_signature_valid(
    link_id: str,
    reference_id: str,
    status: str,
    payment_id: str,
    signature: str | None,
    key_secret: str,
) -> bool:
    """Whether a payment link callback (`razorpay_payment_link_*` query) is genuine."""
    if not key_secret or not link_id or not payment_id:
        return False
    expected = payment_link_signature(link_id, reference_id, status, payment_id, key_secret)
    return _same(expected, signature)


def webhook_signature(raw_body: bytes, webhook_secret: str) -> str:
    """`X-Razorpay-Signature` for a body: hex HMAC-SHA256 keyed with the webhook secret."""
    return _hmac_hex(webhook_secret, raw_body)


def webhook_signature_valid(
    raw_body: bytes, signature_header: str | None, webhook_secret: str
) -> bool:
    """Whether a webhook is genuine. `raw_body` must be the bytes as received: parsing
    and re-serialising changes whitespace or key order and breaks the signature."""
    if not webhook_secret or not isinstance(raw_body, bytes | bytearray):
        return False
    return _same(webhook_signature(bytes(raw_body), webhook_secret), signature_header)


# --- Webhooks ------------------------------------------------------------------------


class RazorpayWebhook(BaseModel):
    """A Razorpay event, with the entities it carries (None when not included).

    `order.paid` carries payment and order; `payment.*` a payment; `refund.*` a refund
    and its payment. Events arrive more than once and in any order.
    """

    model_config = ConfigDict(frozen=True)

    event: str
    account_id: str | None = None
    created_at: datetime | None = None
    contains: tuple[str, ...] = ()
    payment: RazorpayPayment | None = None
    order: RazorpayOrder | None = None
    refund: RazorpayRefund | None = None


class _Wrapped(BaseModel, Generic[_Model]):
    model_config = ConfigDict(extra="ignore")

    entity: _Model


class _WebhookPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    payment: _Wrapped[RazorpayPayment] | None = None
    order: _Wrapped[RazorpayOrder] | None = None
    refund: _Wrapped[RazorpayRefund] | None = None


class _WebhookEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event: str
    account_id: str | None = None
    created_at: datetime | None = None
    contains: list[str] = Field(default_factory=list)
    payload: _WebhookPayload = Field(default_factory=_WebhookPayload)


def parse_webhook(raw_body: bytes) -> RazorpayWebhook:
    """Read a webhook body (verify its signature first). Unknown fields and entities are
    ignored, so new Razorpay fields never break us; raises `RazorpayWebhookUnreadable`
    when the body is not an event envelope at all."""
    try:
        envelope = _WebhookEnvelope.model_validate_json(raw_body)
    except ValidationError as exc:
        problems = [
            {"loc": ".".join(str(p) for p in err["loc"]), "msg": err["msg"]}
            for err in exc.errors()[:5]
        ]
        raise RazorpayWebhookUnreadable(
            "webhook body is not a Razorpay event", details={"problems": problems}
        ) from None
    payload = envelope.payload
    return RazorpayWebhook(
        event=envelope.event,
        account_id=envelope.account_id,
        created_at=envelope.created_at,
        contains=tuple(envelope.contains),
        payment=payload.payment.entity if payload.payment else None,
        order=payload.order.entity if payload.order else None,
        refund=payload.refund.entity if payload.refund else None,
    )
