"""Outbound HTTP with retries, shared by every provider adapter (Gupshup, Razorpay, LLM).

A provider that times out, drops the connection, answers 5xx or rate-limits us (429)
gets a few more tries with exponential backoff and jitter; anything else is the
provider's real answer and goes straight back to the adapter, which knows how to
read it. When the tries run out the caller gets `ProviderUnavailable` (503), never
a raw httpx exception.

Retrying a POST after a timeout can deliver it twice (the provider may have acted
before the connection dropped). Adapters whose provider takes an idempotency key
should send one; for WhatsApp a rare duplicate message is the lesser harm.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
from datetime import UTC, datetime
from typing import Any

import httpx

from erplake.core.errors import AppError

logger = logging.getLogger(__name__)

# Beyond this, a Retry-After is the provider telling us to come back much later:
# holding a request (or a worker) open that long is worse than failing now.
MAX_RETRY_AFTER_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 10.0


class ProviderUnavailable(AppError):
    """An outside provider could not be reached or kept failing; try again later."""

    status_code = 503
    code = "provider_unavailable"


def is_retryable_status(status_code: int) -> bool:
    return status_code == 429 or status_code >= 500


def backoff_delay(attempt: int, backoff_base: float) -> float:
    """Delay before retry number `attempt` (0-based): exponential, capped, jittered.

    "Equal jitter" keeps at least half the exponential delay (so we do back off) while
    spreading retries of many workers that failed together.
    """
    ceiling = min(MAX_BACKOFF_SECONDS, backoff_base * (2**attempt))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not a secret


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds the provider asks us to wait, from `Retry-After` (seconds or HTTP date)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


async def request_with_retries(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    retries: int,
    backoff_base: float = 0.2,
    provider: str | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request, retrying transient failures; return the first final response.

    A final response is any 2xx/3xx/4xx except 429 — a 4xx is the provider refusing
    this request, and sending it again would be refused again. `retries` is the number
    of extra attempts after the first. `provider` names the provider in errors and logs
    (default: the host). `kwargs` go to `httpx.AsyncClient.request`.

    Raises `ProviderUnavailable` when every attempt timed out, failed to connect or was
    answered 5xx/429, or when a 429's Retry-After is too long to wait for.
    """
    target = _absolute_url(client, url)
    name = provider or target.host or "provider"
    # Logged without the query string: some providers put credentials there.
    where = str(target.copy_with(query=None))
    attempts = max(1, retries + 1)
    failure = ""
    for attempt in range(attempts):
        last_try = attempt == attempts - 1
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.UnsupportedProtocol as exc:
            # A misconfigured base URL; no amount of retrying will fix it.
            raise ProviderUnavailable(
                f"{name} is misconfigured: {exc}", details={"provider": name}
            ) from exc
        except httpx.TransportError as exc:  # includes every httpx.TimeoutException
            failure = type(exc).__name__
            if last_try:
                raise _exhausted(name, attempts, failure) from exc
            delay = backoff_delay(attempt, backoff_base)
        else:
            if not is_retryable_status(response.status_code):
                return response
            failure = f"HTTP {response.status_code}"
            wait = retry_after_seconds(response) if response.status_code == 429 else None
            if wait is not None and wait > MAX_RETRY_AFTER_SECONDS:
                raise ProviderUnavailable(
                    f"{name} asked us to retry in {math.ceil(wait)} s",
                    details={"provider": name, "retry_after": math.ceil(wait)},
                    headers={"Retry-After": str(math.ceil(wait))},
                )
            if last_try:
                raise _exhausted(name, attempts, failure)
            delay = wait if wait is not None else backoff_delay(attempt, backoff_base)
        logger.warning(
            "%s %s failed (%s); retry %d of %d in %.2f s",
            method,
            where,
            failure,
            attempt + 1,
            retries,
            delay,
        )
        await asyncio.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _absolute_url(client: httpx.AsyncClient, url: str | httpx.URL) -> httpx.URL:
    """The URL httpx will request: a relative `url` is appended to the client's base."""
    parsed = httpx.URL(url)
    if parsed.is_absolute_url:
        return parsed
    base = client.base_url
    return base.copy_with(raw_path=base.raw_path + parsed.raw_path.lstrip(b"/"))


def _exhausted(name: str, attempts: int, failure: str) -> ProviderUnavailable:
    plural = "attempt" if attempts == 1 else "attempts"
    return ProviderUnavailable(
        f"{name} is unavailable ({failure} after {attempts} {plural})",
        details={"provider": name, "attempts": attempts, "last_failure": failure},
    )
