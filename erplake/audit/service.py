"""The audit log: append-only, one row per write — who, what, when, from where."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.models.identity import AuditEntry


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
        insert(AuditEntry).values(
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
