"""Pay-by-link: a secret, URL-safe token per invoice that lets anyone holding it see
and pay that one invoice without signing in.

Nothing is stored: the token is the invoice id and an HMAC of it under a key derived
from the app's secret, so a token cannot be guessed for another invoice and rotating
`JWT_SECRET` revokes every link at once. The link lands on the web app's public page
(`/pay/<token>`), which reads `GET /billing/pay/<token>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid

from erplake.core.settings import Settings

_KEY_LABEL = b"erplake.pay-link.v1"
_MAC_BYTES = 16
_TOKEN_BYTES = 16 + _MAC_BYTES


def _key(settings: Settings) -> bytes:
    # A key of its own, so a pay-link MAC is never also a valid signature elsewhere.
    return hmac.new(settings.jwt_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def _mac(settings: Settings, invoice_id: uuid.UUID) -> bytes:
    return hmac.new(_key(settings), invoice_id.bytes, hashlib.sha256).digest()[:_MAC_BYTES]


def pay_link_token(settings: Settings, invoice_id: uuid.UUID) -> str:
    """The secret token of an invoice's pay link (43 URL-safe characters)."""
    raw = invoice_id.bytes + _mac(settings, invoice_id)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pay_link_path(settings: Settings, invoice_id: uuid.UUID) -> str:
    """The path of an invoice's pay link, to put after `PUBLIC_BASE_URL`."""
    return f"/pay/{pay_link_token(settings, invoice_id)}"


def pay_link_url(settings: Settings, invoice_id: uuid.UUID) -> str:
    """The full pay link a reminder or a receipt sends to a guardian."""
    return settings.public_base_url.rstrip("/") + pay_link_path(settings, invoice_id)


def invoice_id_from_token(settings: Settings, token: str) -> uuid.UUID | None:
    """The invoice a token opens, or None for anything that is not a genuine token."""
    if len(token) != 43:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return None
    # Re-encoding refuses the variants that differ only in the last character's
    # unused bits: one invoice, one token.
    if len(raw) != _TOKEN_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=") != token.encode():
        return None
    invoice_id = uuid.UUID(bytes=raw[:16])
    if not hmac.compare_digest(raw[16:], _mac(settings, invoice_id)):
        return None
    return invoice_id
