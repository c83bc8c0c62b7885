"""Gupshup WhatsApp adapter: send session and template messages, read delivery callbacks.

Wire format (the Gupshup section of INTEGRATIONS.md): form-encoded POSTs with an
`apikey` header; the answer is JSON even when Gupshup labels it `text/html`. Message
texts are never logged because they carry OTP codes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from erplake.core.errors import AppError
from erplake.core.phone import to_gupshup
from erplake.core.settings import Settings
from erplake.integrations.http import request_with_retries

logger = logging.getLogger(__name__)

TEXT_MESSAGE_PATH = "/wa/api/v1/msg"
TEMPLATE_MESSAGE_PATH = "/wa/api/v1/template/msg"


class GupshupError(AppError):
    """Gupshup refused a message; `provider_message` is its reason, word for word."""

    status_code = 502
    code = "whatsapp_error"

    def __init__(self, provider_message: str, *, http_status: int | None = None) -> None:
        super().__init__(
            f"WhatsApp provider refused the message: {provider_message}",
            details={"provider_message": provider_message, "http_status": http_status},
        )
        self.provider_message = provider_message
        self.http_status = http_status


class _SubmitAnswer(BaseModel):
    """Gupshup's answer to a send: `submitted` with an id, or `error` with a message."""

    model_config = ConfigDict(extra="ignore")

    status: str
    message_id: str | None = Field(default=None, alias="messageId")
    message: str | None = None


class GupshupClient:
    """Sends WhatsApp messages through Gupshup; one connection pool per instance.

    Use it as `async with GupshupClient.from_settings(settings) as whatsapp: ...`, or call
    `aclose()` when done. `transport` lets a test route requests to an in-process app.
    Destinations are E.164 as `parse_mobile` returns them; anything else raises
    `InvalidPhone` before a request is made.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        source: str,
        app_name: str,
        timeout: float,
        retries: int,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        backoff_base: float = 0.2,
    ) -> None:
        # Gupshup wants our number as digits; settings may carry the E.164 form.
        self.source = source.removeprefix("+")
        self.app_name = app_name
        self.retries = retries
        self.backoff_base = backoff_base
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"apikey": api_key, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> Self:
        return cls(
            base_url=settings.gupshup_api_base,
            api_key=settings.gupshup_api_key,
            source=settings.gupshup_source,
            app_name=settings.gupshup_app_name,
            timeout=settings.http_timeout_seconds,
            retries=settings.http_retries,
            transport=transport,
        )

    async def send_text(self, destination_e164: str, text: str) -> str:
        """Send a session (free-form) message; returns Gupshup's messageId.

        Session messages reach a user only within 24 hours of their last message to us;
        outside that window use `send_template`.
        """
        message = json.dumps({"type": "text", "text": text})
        return await self._submit(TEXT_MESSAGE_PATH, destination_e164, {"message": message})

    async def send_template(
        self, destination_e164: str, template_id: str, params: list[str]
    ) -> str:
        """Send an approved template (e.g. the OTP template); returns Gupshup's messageId."""
        template = json.dumps({"id": template_id, "params": list(params)})
        return await self._submit(TEMPLATE_MESSAGE_PATH, destination_e164, {"template": template})

    async def _submit(self, path: str, destination_e164: str, fields: Mapping[str, str]) -> str:
        destination = to_gupshup(destination_e164)
        form = {
            "channel": "whatsapp",
            "source": self.source,
            "destination": destination,
            "src.name": self.app_name,
            **fields,
        }
        response = await request_with_retries(
            self._http,
            "POST",
            path,
            data=form,
            retries=self.retries,
            backoff_base=self.backoff_base,
            provider="Gupshup",
        )
        answer = _read_answer(response)
        if answer.status == "submitted" and answer.message_id and response.is_success:
            logger.info(
                "whatsapp message submitted",
                extra={"message_id": answer.message_id, "destination": _masked(destination)},
            )
            return answer.message_id
        reason = answer.message or f"unexpected answer status {answer.status!r}"
        logger.warning(
            "whatsapp message refused: %s",
            reason,
            extra={"http_status": response.status_code, "destination": _masked(destination)},
        )
        raise GupshupError(reason, http_status=response.status_code)

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


def _read_answer(response: httpx.Response) -> _SubmitAnswer:
    # Parsed whatever the Content-Type: Gupshup sometimes labels its JSON text/html.
    try:
        return _SubmitAnswer.model_validate_json(response.content)
    except ValidationError:
        # The body itself stays out of the error: it could echo the message we sent.
        content_type = response.headers.get("Content-Type", "no content type")
        raise GupshupError(
            f"unreadable answer (HTTP {response.status_code}, {content_type}, "
            f"{len(response.content)} bytes)",
            http_status=response.status_code,
        ) from None


def _masked(digits: str) -> str:
    """A phone number fit for logs: country code and last four digits only."""
    return digits[:2] + "*" * max(0, len(digits) - 6) + digits[-4:]


# --- Delivery callbacks -------------------------------------------------------------


class DeliveryStatus(StrEnum):
    enqueued = "enqueued"
    failed = "failed"
    sent = "sent"
    delivered = "delivered"
    read = "read"


class DeliveryEvent(BaseModel):
    """One status change of a message we sent, read from a Gupshup callback."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    """Gupshup's messageId, as returned by `send_text`/`send_template`."""
    status: DeliveryStatus
    destination: str | None
    """The recipient in E.164 (`+919876543210`)."""
    code: int | None = None
    """Failure code for `failed` events (1002 not on WhatsApp, 1008 not opted in, ...)."""
    reason: str | None = None
    timestamp: datetime | None = None
    """When Gupshup raised the event (UTC)."""


class _EventPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    gs_id: str | None = Field(default=None, alias="gsId")
    type: str
    destination: str | None = None
    payload: dict[str, Any] | None = None


class _MessageEventEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    timestamp: int | None = None
    payload: _EventPayload


def parse_delivery_event(body: Mapping[str, Any]) -> DeliveryEvent | None:
    """Read a Gupshup v2 callback body; None when it is not a status of a message we sent.

    None covers inbound messages, user and billing events, unknown event types, and
    status events without our messageId (Gupshup drops `gsId` from events more than a
    week late): the caller acknowledges those with 2xx and moves on.
    """
    try:
        envelope = _MessageEventEnvelope.model_validate(body)
    except ValidationError:
        return None
    if envelope.type != "message-event":
        return None
    event = envelope.payload
    try:
        status = DeliveryStatus(event.type)
    except ValueError:
        return None
    if status is DeliveryStatus.enqueued:
        message_id = event.id
    elif status is DeliveryStatus.failed:
        # A synchronous failure carries our messageId in `id`. A failure WhatsApp reports
        # after sending looks like the sent/delivered/read events (`id` is WhatsApp's own
        # id, `gsId` ours), so prefer gsId whenever it is present.
        message_id = event.gs_id or event.id
    else:
        # For sent/delivered/read, `id` is WhatsApp's id, never ours.
        message_id = event.gs_id
    if not message_id:
        return None
    detail = event.payload or {}
    return DeliveryEvent(
        message_id=message_id,
        status=status,
        destination=_e164_or_none(event.destination),
        code=_int_or_none(detail.get("code")),
        reason=detail.get("reason") if isinstance(detail.get("reason"), str) else None,
        timestamp=_from_epoch_ms(envelope.timestamp),
    )


def _e164_or_none(digits: str | None) -> str | None:
    if not digits:
        return None
    return digits if digits.startswith("+") else f"+{digits}"


def _from_epoch_ms(value: int | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
