"""The audit log: append-only, one row per write — who, what, when, from where."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.core.db import driver_connection
from erplake.core.pagination import PageParams, paginate_rows
from erplake.identity.schemas import AuditOut
from erplake.models.identity import AuditEntry

_COLUMNS = "school_id, actor_user_id, action, entity, entity_id, changes, ip, request_id"


def insert_sql(first: int = 1) -> str:
    """The audit row's INSERT for the driver, its 8 parameters numbered from `first`:
    a hot path can write the row in the same statement as the change it records
    (`insert_args` gives the values)."""
    params = ", ".join(f"${n}" for n in range(first, first + 8))
    return f"INSERT INTO audit_log ({_COLUMNS}) VALUES ({params})"  # noqa: S608


# Every write records one, so it goes straight to the driver on the session's own
# connection and transaction: SQLAlchemy's per-statement work (building the insert,
# its cache key, the execution context) cost several times the insert itself.
_INSERT = insert_sql()


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


def insert_args(
    actor: Actor,
    *,
    action: str,
    entity: str,
    entity_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """The values for `insert_sql`, in its order."""
    return (
        actor.school_id,
        actor.user_id,
        action,
        entity,
        None if entity_id is None else str(entity_id),
        json.dumps(changes if changes is not None else diff(before, after)),
        actor.ip,
        actor.request_id,
    )


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
    await (await driver_connection(session)).execute(
        _INSERT,
        *insert_args(
            actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            changes=changes,
        ),
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
