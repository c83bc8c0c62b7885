from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from erplake.core.db import DbSession
from erplake.core.permissions import P
from erplake.core.security import Principal, require
from erplake.schools import service
from erplake.schools.schemas import SchoolOut

router = APIRouter(prefix="/school", tags=["school"])


@router.get("", response_model=SchoolOut)
async def get_school(
    session: DbSession, principal: Annotated[Principal, require(P.school_read)]
) -> SchoolOut:
    """The caller's school profile."""
    return await service.get_profile(session, school_id=principal.school_id)
