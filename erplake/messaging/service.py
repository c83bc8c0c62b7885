"""Outgoing WhatsApp: a message row plus an outbox job in the caller's transaction;
the worker sends it through the Gupshup adapter and records the answer."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.core import jobs
from erplake.core.clock import utcnow
from erplake.integrations.gupshup import GupshupClient, GupshupError, parse_delivery_event
from erplake.models.messaging import WhatsAppMessage

SEND_TASK = "messaging.send_whatsapp"


async def queue_template(
    session: AsyncSession,
    *,
    school_id: uuid.UUID | None,
    purpose: str,
    destination: str,
    template_id: str,
    params: list[str],
    stored_params: list[Any] | None = None,
    task_payload: dict[str, Any] | None = None,
    task_name: str = SEND_TASK,
    dedupe_key: str | None = None,
) -> uuid.UUID | None:
    """Queue a template message. `stored_params` replaces `params` in the database
    when they carry a secret; the secret then reaches the task another way.
    Returns None when `dedupe_key` was already used (a repeat is a no-op)."""
    message = WhatsAppMessage(
        id=uuid.uuid4(),
        school_id=school_id,
        purpose=purpose,
        destination=destination,
        template_id=template_id,
        params=stored_params if stored_params is not None else params,
    )
    job_id = await jobs.enqueue(
        session,
        task_name,
        {"message_id": str(message.id), **(task_payload or {})},
        school_id=school_id,
        queue="high",
        dedupe_key=dedupe_key,
    )
    if job_id is None:
        return None
    session.add(message)
    await session.flush()
    return message.id


async def deliver(
    ctx: jobs.JobContext, *, message_id: uuid.UUID, params: list[str] | None = None
) -> None:
    """Send a queued message. The HTTP call happens before the job's transaction
    is touched, so no transaction waits on Gupshup."""
    async with ctx.sessionmaker() as reader:
        message = await reader.get(WhatsAppMessage, message_id)
    if message is None or message.status != "queued":
        return
    status, provider_id, error = "submitted", None, None
    async with GupshupClient.from_settings(ctx.settings) as client:
        try:
            provider_id = await client.send_template(
                message.destination,
                message.template_id or "",
                [str(p) for p in (params if params is not None else message.params)],
            )
        except GupshupError as exc:
            # A refusal (bad number, not opted in) is final: record it, do not retry.
            status, error = "failed", exc.provider_message[:300]
    await ctx.session.execute(
        update(WhatsAppMessage)
        .where(WhatsAppMessage.id == message_id)
        .values(
            status=status,
            provider_message_id=provider_id,
            error_reason=error,
            sent_at=utcnow() if provider_id else None,
        )
    )


_STATUS_RANK = {"queued": 0, "submitted": 1, "enqueued": 1, "sent": 2, "delivered": 3, "read": 4}


async def record_delivery_event(session: AsyncSession, body: dict[str, Any]) -> bool:
    """Apply a Gupshup delivery callback. Events may repeat or arrive out of order:
    a status never moves backwards, and failure is kept with its reason."""
    event = parse_delivery_event(body)
    if event is None:
        return False
    message = (
        await session.execute(
            WhatsAppMessage.__table__.select().where(
                WhatsAppMessage.provider_message_id == event.message_id
            )
        )
    ).first()
    if message is None:
        return False
    new = str(event.status)
    values: dict[str, Any] = {}
    if new == "failed":
        values = {
            "status": "failed",
            "error_code": None if event.code is None else str(event.code),
            "error_reason": event.reason,
        }
    elif _STATUS_RANK.get(new, 0) > _STATUS_RANK.get(message.status, 0):
        values = {"status": new}
        if new == "delivered":
            values["delivered_at"] = event.timestamp or utcnow()
        if new == "read":
            values["read_at"] = event.timestamp or utcnow()
    if values:
        await session.execute(
            update(WhatsAppMessage)
            .where(WhatsAppMessage.provider_message_id == event.message_id)
            .values(**values)
        )
    return True
