"""Idempotent writes: a repeat with the same key and body returns the first answer;
the same key with a different body is refused with 409.

The key row is inserted inside the request's own transaction, so a concurrent
repeat waits on the unique index until the first commits (then replays it) or
rolls back (then runs itself). Nothing is recorded for a request that failed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.core.errors import Conflict, Unprocessable
from erplake.models.outbox import IdempotencyRecord

ResponseT = TypeVar("ResponseT", bound=BaseModel)

MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


def fingerprint(payload: Any) -> str:
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_idempotent(
    session: AsyncSession,
    *,
    scope: str,
    key: str | None,
    payload: Any,
    response_model: type[ResponseT],
    handler: Callable[[], Awaitable[ResponseT]],
) -> ResponseT:
    """Run `handler` once per (scope, key); with no key, just run it.

    `scope` should include the caller's school (and user where keys are per user)
    so two clients can never collide on one key.
    """
    if key is None:
        return await handler()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Unprocessable(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters long")
    digest = fingerprint(payload)
    inserted = (
        await session.execute(
            insert(IdempotencyRecord)
            .values(scope=scope, key=key, fingerprint=digest)
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.key)
        )
    ).scalar_one_or_none()
    if inserted is None:
        record = (
            await session.execute(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
                )
            )
        ).scalar_one()
        if record.fingerprint != digest:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different request body",
                details={"idempotency_key": key},
            )
        return TypeAdapter(response_model).validate_python(record.response)
    result = await handler()
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        .values(status_code=200, response=result.model_dump(mode="json"))
    )
    return result
