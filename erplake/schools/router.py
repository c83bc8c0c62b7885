from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from erplake.audit.deps import AuditActor
from erplake.core.db import DbSession
from erplake.core.permissions import P
from erplake.core.security import Principal, require
from erplake.schools import service
from erplake.schools.schemas import SchoolOut, SchoolUpdate

router = APIRouter(prefix="/school", tags=["school"])


@router.get("", response_model=SchoolOut)
async def get_school(
    session: DbSession, principal: Annotated[Principal, require(P.school_read)]
) -> SchoolOut:
    """The caller's school profile."""
    return await service.get_profile(session, school_id=principal.school_id)


@router.patch("", response_model=SchoolOut)
async def update_school(
    body: SchoolUpdate,
    session: DbSession,
    actor: AuditActor,
    principal: Annotated[Principal, require(P.settings_manage)],
) -> SchoolOut:
    """Change the school's profile: name, address, phone, email, timezone."""
    return await service.update_profile(session, actor, school_id=principal.school_id, body=body)
