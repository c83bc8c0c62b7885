"""Stripe adapter: Checkout Sessions, and verification of Stripe's webhooks.

Wire format: the Stripe section of INTEGRATIONS.md. API calls are form-encoded with
`Authorization: Bearer <secret key>` and go through our own httpx client and retries
(so the base URL comes from settings and the fake can answer); amounts are in the
smallest unit (paise). Webhooks are verified with the official SDK's
`stripe.Webhook.construct_event`, which checks the `Stripe-Signature` header's HMAC
over `"{t}.{raw body}"` and refuses a timestamp older than the tolerance.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Annotated, Any, Self

import httpx
import stripe
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from erplake.core.errors import AppError, BadRequest, Unprocessable
from erplake.core.settings import Settings
from erplake.integrations.http import request_with_retries

logger = logging.getLogger(__name__)

CHECKOUT_SESSIONS_PATH = "/v1/checkout/sessions"
WEBHOOK_TOLERANCE_SECONDS = 300

# Stripe's smallest charge in INR is ₹0.50 (its "minimum charge amounts" table).
MIN_AMOUNT_PAISE = 50
MAX_CLIENT_REFERENCE_CHARS = 200
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_CHARS = 40
MAX_METADATA_VALUE_CHARS = 500

_SESSION_ID = re.compile(r"^cs_[A-Za-z0-9_]{1,255}$")


class StripeSignatureInvalid(BadRequest):
    """A webhook whose `Stripe-Signature` is missing, forged, or too old."""

    code = "invalid_signature"


class StripeError(AppError):
    """Stripe refused a request; `provider_message` is its own reason."""

    status_code = 502
    code = "payment_provider_error"

    def __init__(
        self,
        provider_message: str,
        *,
        provider_type: str | None = None,
        provider_code: str | None = None,
        param: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(
            f"Stripe refused the request: {provider_message}",
            details={
                "provider_message": provider_message,
                "provider_type": provider_type,
                "provider_code": provider_code,
                "param": param,
                "http_status": http_status,
            },
        )
        self.provider_message = provider_message
        self.provider_type = provider_type
        self.provider_code = provider_code
        self.param = param
        self.http_status = http_status


class StripeRequestInvalid(Unprocessable):
    """A request Stripe would refuse, caught before it was sent (no HTTP call made)."""

    code = "payment_request_invalid"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, details={"field": field})
        self.field = field


def _object_id(value: Any) -> Any:
    # An expandable field is an id, or the whole object when expanded.
    if isinstance(value, Mapping):
        return value.get("id")
    return value


class CheckoutSession(BaseModel):
    """A Checkout Session (`cs_…`): `url` is where the payer goes; `payment_status` is
    `paid` once the money is in."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    object: str = "checkout.session"
    url: str | None = None
    status: str | None = None
    """open, complete or expired."""
    payment_status: str
    """paid, unpaid or no_payment_required."""
    amount_total: int | None = None
    currency: str | None = None
    client_reference_id: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    payment_intent: Annotated[str | None, BeforeValidator(_object_id)] = None
    created: datetime | None = None
    expires_at: datetime | None = None


class StripeEvent(BaseModel):
    """A verified webhook event; `data_object` is the object it is about."""

    model_config = ConfigDict(frozen=True)

    id: str
    type: str
    created: datetime
    livemode: bool = False
    api_version: str | None = None
    data_object: dict[str, Any]

    def checkout_session(self) -> CheckoutSession | None:
        """The session a `checkout.session.*` event is about; None for other events."""
        if self.data_object.get("object") != "checkout.session":
            return None
        return CheckoutSession.model_validate(self.data_object)


def verify_webhook(
    payload: bytes,
    sig_header: str | None,
    webhook_secret: str,
    *,
    tolerance: int = WEBHOOK_TOLERANCE_SECONDS,
) -> StripeEvent:
    """Verify a webhook's `Stripe-Signature` over the raw body and read the event.

    Raises `StripeSignatureInvalid` (400) for a missing, malformed or forged signature,
    a timestamp older than `tolerance` seconds, or a body that is not a Stripe event.
    """
    if tolerance <= 0:
        # The SDK treats a falsy tolerance as "do not check the age": never that here.
        raise ValueError("tolerance must be positive")
    if not webhook_secret:
        raise StripeSignatureInvalid("Stripe webhook secret is not configured")
    try:
        event = stripe.Webhook.construct_event(
            payload, sig_header, webhook_secret, tolerance=tolerance
        )
        values = event.to_dict()
        return StripeEvent(
            id=values["id"],
            type=values["type"],
            created=values["created"],
            livemode=bool(values.get("livemode", False)),
            api_version=values.get("api_version"),
            data_object=values["data"]["object"],
        )
    except stripe.SignatureVerificationError as exc:
        logger.warning("stripe webhook refused: %s", exc.user_message or exc)
        raise StripeSignatureInvalid(
            "Stripe webhook signature is invalid or too old",
            details={"reason": str(exc.user_message or exc)},
        ) from None
    except (ValueError, KeyError, TypeError, ValidationError):
        # Signed correctly but not an event we can read (or not JSON / not UTF-8).
        raise StripeSignatureInvalid("Stripe webhook body is not a Stripe event") from None


class _ErrorBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message: str = "no message"
    type: str | None = None
    code: str | None = None
    param: str | None = None


class _ErrorEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    error: _ErrorBody


class StripeClient:
    """Creates and reads Checkout Sessions; one connection pool per instance.

    Use it as `async with StripeClient.from_settings(settings) as stripe_client: ...`.
    Each create sends an `Idempotency-Key` (a fresh one unless given), so a POST
    retried after a timeout cannot open two sessions.
    """

    def __init__(
        self,
        base_url: str,
        secret_key: str,
        timeout: float,
        retries: int,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        backoff_base: float = 0.2,
    ) -> None:
        self.retries = retries
        self.backoff_base = backoff_base
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {secret_key}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> Self:
        return cls(
            base_url=settings.stripe_api_base,
            secret_key=settings.stripe_secret_key,
            timeout=settings.http_timeout_seconds,
            retries=settings.http_retries,
            transport=transport,
        )

    async def create_checkout_session(
        self,
        *,
        amount_paise: int,
        product_name: str,
        success_url: str,
        cancel_url: str,
        client_reference_id: str,
        metadata: Mapping[str, str] | None = None,
        currency: str = "inr",
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        """A one-line Checkout Session (mode=payment) for `amount_paise`.

        `client_reference_id` and `metadata` come back on the session and in the
        `checkout.session.completed` event. Bad values raise `StripeRequestInvalid`
        before any request is made.
        """
        if isinstance(amount_paise, bool) or not isinstance(amount_paise, int):
            raise StripeRequestInvalid("amount must be an integer in paise", field="amount")
        if amount_paise < MIN_AMOUNT_PAISE:
            raise StripeRequestInvalid(
                f"amount must be at least {MIN_AMOUNT_PAISE} paise, not {amount_paise}",
                field="amount",
            )
        if not product_name.strip():
            raise StripeRequestInvalid("product name is empty", field="product_name")
        if not client_reference_id or len(client_reference_id) > MAX_CLIENT_REFERENCE_CHARS:
            raise StripeRequestInvalid(
                f"client_reference_id must be 1 to {MAX_CLIENT_REFERENCE_CHARS} characters",
                field="client_reference_id",
            )
        form: dict[str, str] = {
            "mode": "payment",
            "line_items[0][price_data][currency]": currency.lower(),
            "line_items[0][price_data][unit_amount]": str(amount_paise),
            "line_items[0][price_data][product_data][name]": product_name,
            "line_items[0][quantity]": "1",
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": client_reference_id,
        }
        for key, value in _checked_metadata(metadata).items():
            form[f"metadata[{key}]"] = value
        response = await self._call(
            "POST",
            CHECKOUT_SESSIONS_PATH,
            data=form,
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
        )
        session = _parse_session(response)
        logger.info(
            "stripe checkout session created",
            extra={"session_id": session.id, "client_reference_id": client_reference_id},
        )
        return session

    async def retrieve_checkout_session(self, session_id: str) -> CheckoutSession:
        """The session as Stripe has it now (for reconciliation)."""
        if not _SESSION_ID.match(session_id):
            raise StripeRequestInvalid("not a Checkout Session id", field="session_id")
        response = await self._call("GET", f"{CHECKOUT_SESSIONS_PATH}/{session_id}")
        return _parse_session(response)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await request_with_retries(
            self._http,
            method,
            path,
            retries=self.retries,
            backoff_base=self.backoff_base,
            provider="Stripe",
            **kwargs,
        )
        if response.is_success:
            return response
        try:
            error = _ErrorEnvelope.model_validate_json(response.content).error
        except ValidationError:
            error = _ErrorBody(message=f"HTTP {response.status_code} without a Stripe error body")
        logger.warning(
            "stripe refused %s %s: %s",
            method,
            path,
            error.message,
            extra={"http_status": response.status_code, "stripe_code": error.code},
        )
        raise StripeError(
            error.message,
            provider_type=error.type,
            provider_code=error.code,
            param=error.param,
            http_status=response.status_code,
        )

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


def _checked_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    metadata = dict(metadata or {})
    if len(metadata) > MAX_METADATA_KEYS:
        raise StripeRequestInvalid(
            f"at most {MAX_METADATA_KEYS} metadata keys are allowed", field="metadata"
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise StripeRequestInvalid("metadata keys and values must be text", field="metadata")
        # Square brackets would change the meaning of the form field name.
        if not key or len(key) > MAX_METADATA_KEY_CHARS or "[" in key or "]" in key:
            raise StripeRequestInvalid(
                f"metadata key {key[:60]!r} must be 1 to {MAX_METADATA_KEY_CHARS} characters "
                "without square brackets",
                field="metadata",
            )
        if len(value) > MAX_METADATA_VALUE_CHARS:
            raise StripeRequestInvalid(
                f"metadata value for {key!r} is longer than {MAX_METADATA_VALUE_CHARS} characters",
                field="metadata",
            )
    return metadata


def _parse_session(response: httpx.Response) -> CheckoutSession:
    try:
        return CheckoutSession.model_validate_json(response.content)
    except ValidationError:
        raise StripeError(
            f"unreadable answer (HTTP {response.status_code}, {len(response.content)} bytes)",
            http_status=response.status_code,
        ) from None
