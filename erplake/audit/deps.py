from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from erplake.audit.service import Actor
from erplake.core.security import CurrentPrincipal


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _actor(request: Request, principal: CurrentPrincipal) -> Actor:
    return Actor(
        school_id=principal.school_id,
        user_id=principal.user_id,
        ip=client_ip(request) if request.client else None,
        request_id=request.scope.get("state", {}).get("request_id"),
    )


AuditActor = Annotated[Actor, Depends(_actor)]
