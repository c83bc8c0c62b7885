"""The audit log: append-only, one row per write — who, what, when, from where."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.core.pagination import PageParams, paginate_rows
from erplake.identity.schemas import AuditOut
from erplake.models.identity import AuditEntry

# A Core insert on the table: the ORM's bulk-insert layer costs CPU on every write.
_AUDIT = cast(Table, AuditEntry.__table__)


@dataclass(frozen=True)
class Actor:
    """Who did it, from where: built once per request by the audit dependency."""

    school_id: uuid.UUID | None
    user_id: uuid.UUID | None
    ip: str | None
    request_id: str | None


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Only the fields that changed, as {field: {"before": x, "after": y}}."""
    before, after = before or {}, after or {}
    changed = {}
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            changed[key] = {"before": before.get(key), "after": after.get(key)}
    return changed


async def record(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    entity: str,
    entity_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        insert(_AUDIT).values(
            school_id=actor.school_id,
            actor_user_id=actor.user_id,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            changes=changes if changes is not None else diff(before, after),
            ip=actor.ip,
            request_id=actor.request_id,
        )
    )


async def list_entries(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    page: PageParams,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    actor_user_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditOut], int]:
    stmt = select(AuditEntry).where(AuditEntry.school_id == school_id)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor_user_id:
        stmt = stmt.where(AuditEntry.actor_user_id == actor_user_id)
    if since:
        stmt = stmt.where(AuditEntry.created_at >= since)
    if until:
        stmt = stmt.where(AuditEntry.created_at < until)
    rows, total = await paginate_rows(
        session, stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()), page
    )
    return [
        AuditOut(
            id=e.id,
            actor_user_id=e.actor_user_id,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            changes=e.changes,
            ip=None if e.ip is None else str(e.ip),
            request_id=e.request_id,
            created_at=e.created_at,
        )
        for (e,) in rows
    ], total
