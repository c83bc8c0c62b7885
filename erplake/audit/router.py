from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from erplake.core.db import DbSession
from erplake.core.pagination import Page, Pagination, paginate_rows
from erplake.core.permissions import P
from erplake.core.security import Principal, require
from erplake.identity.schemas import AuditOut
from erplake.models.identity import AuditEntry

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditOut])
async def list_audit(
    session: DbSession,
    principal: Annotated[Principal, require(P.audit_read)],
    page: Pagination,
    entity: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_user_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditOut]:
    """The school's audit log, newest first, with filters."""
    stmt = select(AuditEntry).where(AuditEntry.school_id == principal.school_id)
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
    items = [
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
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
