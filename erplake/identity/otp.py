"""One-time codes over WhatsApp.

Codes are 6 digits from `secrets`, kept in Redis only as an HMAC for 5 minutes.
The plain code reaches the worker through a short-lived Redis key named in the
job, so it is never written to the database or a log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.core import jobs
from erplake.core.errors import BadRequest, TooManyRequests
from erplake.core.jobs import JobContext, task
from erplake.core.ratelimit import RateLimiter
from erplake.core.redis import create_async_redis
from erplake.core.settings import Settings
from erplake.messaging import service as messaging
from erplake.models.identity import User

CODE_TTL_SECONDS = 300
RESEND_COOLDOWN_SECONDS = 30
MAX_WRONG_TRIES = 5
PHONE_STARTS_PER_HOUR = "5/hour"
IP_STARTS_PER_HOUR = "20/hour"
SEND_OTP_TASK = "identity.send_otp"


class OtpInvalid(BadRequest):
    code = "otp_invalid"


class OtpExpired(BadRequest):
    code = "otp_expired"


class OtpLocked(TooManyRequests):
    code = "otp_locked"


class OtpCooldown(TooManyRequests):
    code = "otp_cooldown"


@dataclass(frozen=True)
class OtpStartResult:
    resend_after: int
    expires_in: int


def _code_key(phone: str) -> str:
    return f"otp:code:{phone}"


def _cooldown_key(phone: str) -> str:
    return f"otp:cooldown:{phone}"


def _delivery_key(token: str) -> str:
    return f"otp:delivery:{token}"


def _digest(settings: Settings, phone: str, code: str) -> str:
    return hmac.new(
        settings.jwt_secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


async def start(
    session: AsyncSession,
    redis: aioredis.Redis,
    limiter: RateLimiter,
    settings: Settings,
    *,
    phone: str,
    client_ip: str,
) -> OtpStartResult:
    """Issue a code. Known and unknown phones get the same answer, the same limits
    and the same work here (so not even the response time tells them apart); the
    worker looks the phone up and sends only to a known, active user."""
    await limiter.hit(
        IP_STARTS_PER_HOUR,
        "otp-ip",
        client_ip,
        message="too many sign-in attempts from this network; try again later",
    )
    if not await redis.set(_cooldown_key(phone), "1", nx=True, ex=RESEND_COOLDOWN_SECONDS):
        wait = await redis.ttl(_cooldown_key(phone))
        raise OtpCooldown(
            "a code was sent just now; wait before asking for another",
            retry_after=max(1, int(wait)),
        )
    try:
        await limiter.hit(
            PHONE_STARTS_PER_HOUR,
            "otp-phone",
            phone,
            message="too many codes requested for this number; try again later",
        )
    except TooManyRequests:
        await redis.delete(_cooldown_key(phone))
        raise
    code = new_code()
    delivery = uuid.uuid4().hex
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(_code_key(phone), mapping={"digest": _digest(settings, phone, code), "wrong": 0})
        pipe.expire(_code_key(phone), CODE_TTL_SECONDS)
        pipe.set(_delivery_key(delivery), code, ex=CODE_TTL_SECONDS)
        await pipe.execute()
    await jobs.enqueue(session, SEND_OTP_TASK, {"phone": phone, "delivery": delivery}, queue="high")
    return OtpStartResult(resend_after=RESEND_COOLDOWN_SECONDS, expires_in=CODE_TTL_SECONDS)


_CHECK_SCRIPT = """
local digest = redis.call('HGET', KEYS[1], 'digest')
if not digest then return -1 end
if digest == ARGV[1] then redis.call('DEL', KEYS[1]) return 0 end
local wrong = redis.call('HINCRBY', KEYS[1], 'wrong', 1)
if wrong >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return wrong
"""


async def verify(redis: aioredis.Redis, settings: Settings, *, phone: str, code: str) -> None:
    """Burn the code if right; count a wrong try atomically (a Lua script), and
    burn the code on the fifth wrong try."""
    digest = _digest(settings, phone, code.strip())
    outcome = redis.eval(_CHECK_SCRIPT, 1, _code_key(phone), digest, str(MAX_WRONG_TRIES))
    result = int(await outcome)  # type: ignore[misc]
    if result == 0:
        return
    if result < 0:
        raise OtpExpired("this code has expired or was already used; ask for a new one")
    left = MAX_WRONG_TRIES - result
    if left <= 0:
        raise OtpLocked(
            "too many wrong codes; ask for a new code", retry_after=RESEND_COOLDOWN_SECONDS
        )
    raise OtpInvalid(
        "that code is not right; check the WhatsApp message and try again",
        details={"attempts_left": left},
    )


@task(SEND_OTP_TASK)
async def send_otp(ctx: JobContext, *, phone: str, delivery: str) -> None:
    """Send the code if the phone belongs to an active user. The code stays in
    Redis until Gupshup has taken it, so a retry after an outage still has it."""
    redis = create_async_redis(ctx.settings)
    try:
        async with ctx.sessionmaker() as reader:
            school_id = (
                await reader.execute(
                    select(User.school_id)
                    .where(User.phone == phone, User.is_active.is_(True))
                    .order_by(User.created_at)
                    .limit(1)
                )
            ).scalar_one_or_none()
        code = await redis.get(_delivery_key(delivery))
        if school_id is None or code is None:
            # Unknown phone (nothing is sent), or expired before we got to it.
            await redis.delete(_delivery_key(delivery))
            return
        await messaging.send_now(
            ctx,
            school_id=school_id,
            purpose="otp",
            destination=phone,
            template_id=ctx.settings.gupshup_otp_template_id,
            params=[code.decode()],
            stored_params=["******"],
        )
        await redis.delete(_delivery_key(delivery))
    finally:
        await redis.aclose()
