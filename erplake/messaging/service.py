"""Outgoing WhatsApp: a message row plus an outbox job in the caller's transaction;
the worker sends it through the Gupshup adapter and records the answer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text, update
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
    dedupe_key: str | None = None,
) -> uuid.UUID | None:
    """Queue a template message (its parameters are stored: no secrets here; a
    sign-in code goes through `send_now` from its own job). Returns None when
    `dedupe_key` was already used (a repeat is a no-op)."""
    message = WhatsAppMessage(
        id=uuid.uuid4(),
        school_id=school_id,
        purpose=purpose,
        destination=destination,
        template_id=template_id,
        params=params,
    )
    job_id = await jobs.enqueue(
        session,
        SEND_TASK,
        {"message_id": str(message.id)},
        school_id=school_id,
        queue="high",
        dedupe_key=dedupe_key,
    )
    if job_id is None:
        return None
    session.add(message)
    await session.flush()
    return message.id


@dataclass(frozen=True)
class TemplateMessage:
    destination: str
    template_id: str
    params: list[str]
    dedupe_key: str


async def queue_templates(
    session: AsyncSession,
    *,
    school_id: uuid.UUID | None,
    purpose: str,
    messages: Sequence[TemplateMessage],
    delay: timedelta | None = None,
) -> int:
    """`queue_template` for many messages in a few statements (a whole school's
    absence alerts). A dedupe key already used is skipped, unless its job was
    cancelled before it ran: asked for again, it is reinstated. Returns how many
    messages are now queued."""
    if not messages:
        return 0
    ids = {m.dedupe_key: uuid.uuid4() for m in messages}
    written = set(
        await jobs.enqueue_many(
            session,
            SEND_TASK,
            [({"message_id": str(ids[m.dedupe_key])}, m.dedupe_key) for m in messages],
            school_id=school_id,
            queue="high",
            delay=delay,
        )
    )
    new = [m for m in messages if m.dedupe_key in written]
    if new:
        await session.execute(
            text(
                "INSERT INTO whatsapp_messages"
                " (id, school_id, purpose, destination, template_id, params)"
                " SELECT id, CAST(:school_id AS uuid), CAST(:purpose AS text), d, t,"
                " CAST(p AS jsonb)"
                " FROM unnest(CAST(:ids AS uuid[]), CAST(:destinations AS text[]),"
                " CAST(:templates AS text[]), CAST(:params AS text[])) AS m(id, d, t, p)"
            ),
            {
                "school_id": school_id,
                "purpose": purpose,
                "ids": [ids[m.dedupe_key] for m in new],
                "destinations": [m.destination for m in new],
                "templates": [m.template_id for m in new],
                "params": [json.dumps(m.params) for m in new],
            },
        )
    reinstated = await jobs.reinstate(
        session, [m.dedupe_key for m in messages if m.dedupe_key not in written], delay=delay
    )
    if reinstated:
        await _set_status(session, [p for _, p in reinstated], old="cancelled", new="queued")
    return len(new) + len(reinstated)


async def _set_status(
    session: AsyncSession, payloads: list[dict[str, Any]], *, old: str, new: str
) -> None:
    await session.execute(
        text(
            "UPDATE whatsapp_messages SET status = CAST(:new AS text), updated_at = now()"
            " WHERE id = ANY(CAST(:ids AS uuid[])) AND status = CAST(:old AS text)"
        ),
        {"ids": [uuid.UUID(p["message_id"]) for p in payloads], "old": old, "new": new},
    )


async def cancel_templates(session: AsyncSession, dedupe_keys: Sequence[str]) -> int:
    """Cancel queued messages that have not been sent yet; returns how many."""
    cancelled = await jobs.cancel_many(session, dedupe_keys)
    if cancelled:
        await _set_status(session, [p for _, p in cancelled], old="queued", new="cancelled")
    return len(cancelled)


async def send_now(
    ctx: jobs.JobContext,
    *,
    school_id: uuid.UUID | None,
    purpose: str,
    destination: str,
    template_id: str,
    params: list[str],
    stored_params: list[Any] | None = None,
) -> str | None:
    """Send a template from a job and record it in the job's transaction. The
    HTTP call comes first, so no transaction waits on Gupshup; an outage raises
    (the job is retried), a refusal is recorded as failed. `stored_params`
    replaces secrets (a sign-in code) in what is kept."""
    status, provider_id, error = "submitted", None, None
    async with GupshupClient.from_settings(ctx.settings) as client:
        try:
            provider_id = await client.send_template(destination, template_id, params)
        except GupshupError as exc:
            status, error = "failed", exc.provider_message[:300]
    ctx.session.add(
        WhatsAppMessage(
            id=uuid.uuid4(),
            school_id=school_id,
            purpose=purpose,
            destination=destination,
            template_id=template_id,
            params=stored_params if stored_params is not None else params,
            status=status,
            provider_message_id=provider_id,
            error_reason=error,
            sent_at=utcnow() if provider_id else None,
        )
    )
    await ctx.session.flush()
    return provider_id


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
