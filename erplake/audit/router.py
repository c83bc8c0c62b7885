from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from erplake.audit import service
from erplake.core.db import DbSession
from erplake.core.pagination import Page, Pagination
from erplake.core.permissions import P
from erplake.core.security import Principal, require
from erplake.identity.schemas import AuditOut

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
    items, total = await service.list_entries(
        session,
        school_id=principal.school_id,
        page=page,
        entity=entity,
        entity_id=entity_id,
        action=action,
        actor_user_id=actor_user_id,
        since=since,
        until=until,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
