from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from erplake.audit.deps import AuditActor, client_ip, rate_limit_key, request_origin
from erplake.core.db import DbSession
from erplake.core.pagination import Page, Pagination
from erplake.core.permissions import DESCRIPTIONS, P
from erplake.core.phone import parse_mobile
from erplake.core.security import CurrentPrincipal, Principal, require
from erplake.identity import otp, service
from erplake.identity.schemas import (
    Me,
    OtpStart,
    OtpStarted,
    OtpVerify,
    PermissionOut,
    RefreshRequest,
    RoleCreate,
    RoleOut,
    RolesAssign,
    RoleUpdate,
    TokenPair,
    UserInvite,
    UserOut,
)

auth = APIRouter(prefix="/auth", tags=["auth"])
admin = APIRouter(tags=["users and roles"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "wrong or expired code"},
    429: {"description": "rate limited"},
}


@auth.post("/otp/start", response_model=OtpStarted, responses=_ERRORS)
async def otp_start(body: OtpStart, request: Request, session: DbSession) -> OtpStarted:
    """Send a 6-digit sign-in code on WhatsApp. The answer is the same whether or
    not the number has an account; at most 5 codes per number and 20 per network
    an hour, one every 30 seconds."""
    result = await otp.start(
        session,
        request.app.state.redis,
        request.app.state.rate_limiter,
        request.app.state.settings,
        phone=parse_mobile(body.phone),
        client_ip=rate_limit_key(client_ip(request)),
    )
    return OtpStarted(resend_after=result.resend_after, expires_in=result.expires_in)


@auth.post("/otp/verify", response_model=TokenPair, responses=_ERRORS)
async def otp_verify(body: OtpVerify, request: Request, session: DbSession) -> TokenPair:
    """Exchange the code for an access token (15 minutes) and a refresh token."""
    phone = parse_mobile(body.phone)
    await otp.verify(
        request.app.state.redis, request.app.state.settings, phone=phone, code=body.code
    )
    return await service.login(
        session,
        request.app.state.settings,
        request_origin(request),
        phone=phone,
        school_code=body.school_code,
    )


@auth.post("/refresh", response_model=TokenPair, responses={401: {"description": "ended"}})
async def refresh(
    body: RefreshRequest, request: Request, session: DbSession
) -> TokenPair | JSONResponse:
    """Rotate the refresh token. Presenting an already-used one ends that login
    everywhere (it was copied)."""
    result = await service.refresh(
        session,
        request.app.state.settings,
        request.app.state.epochs,
        request_origin(request),
        refresh_token=body.refresh_token,
    )
    if isinstance(result, service.RefreshReused):
        # Returned, not raised, so the family revocation commits.
        return JSONResponse(result.to_body(), status_code=result.status_code)
    return result


@auth.post("/logout", status_code=204)
async def logout(body: RefreshRequest, request: Request, session: DbSession) -> Response:
    """End this login (its refresh token family)."""
    await service.logout(session, request_origin(request), refresh_token=body.refresh_token)
    return Response(status_code=204)


@auth.get("/me", response_model=Me)
async def whoami(session: DbSession, principal: CurrentPrincipal) -> Me:
    """Who is signed in: roles, permissions, and a parent's children or a
    teacher's sections."""
    return await service.me(session, user_id=principal.user_id)


@admin.get("/users", response_model=Page[UserOut])
async def list_users(
    session: DbSession,
    principal: Annotated[Principal, require(P.users_manage)],
    page: Pagination,
    role: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    active: bool | None = None,
) -> Page[UserOut]:
    """The school's users, filtered by role, name/phone and active state."""
    items, total = await service.list_users(
        session, school_id=principal.school_id, page=page, role=role, q=q, active=active
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@admin.post("/users", response_model=UserOut, status_code=201)
async def invite_user(
    body: UserInvite,
    session: DbSession,
    principal: Annotated[Principal, require(P.users_manage)],
    actor: AuditActor,
) -> UserOut:
    """Add a user by phone with roles; they sign in with a WhatsApp code."""
    return await service.invite_user(
        session,
        actor,
        school_id=principal.school_id,
        phone=body.phone,
        name=body.name,
        roles=body.roles,
        preferred_language=body.preferred_language,
    )


@admin.put("/users/{user_id}/roles", response_model=UserOut)
async def assign_roles(
    user_id: uuid.UUID,
    body: RolesAssign,
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, require(P.users_manage)],
    actor: AuditActor,
) -> UserOut:
    """Replace a user's roles; their current access tokens stop working at once."""
    return await service.assign_roles(
        session,
        request.app.state.epochs,
        actor,
        school_id=principal.school_id,
        user_id=user_id,
        roles=body.roles,
    )


@admin.post("/users/{user_id}/deactivate", response_model=UserOut)
async def deactivate_user(
    user_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, require(P.users_manage)],
    actor: AuditActor,
) -> UserOut:
    """Deactivate a user: every token they hold stops working at once."""
    return await service.set_active(
        session,
        request.app.state.epochs,
        actor,
        school_id=principal.school_id,
        user_id=user_id,
        active=False,
    )


@admin.post("/users/{user_id}/activate", response_model=UserOut)
async def activate_user(
    user_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, require(P.users_manage)],
    actor: AuditActor,
) -> UserOut:
    """Let a deactivated user sign in again."""
    return await service.set_active(
        session,
        request.app.state.epochs,
        actor,
        school_id=principal.school_id,
        user_id=user_id,
        active=True,
    )


@admin.get("/roles", response_model=list[RoleOut])
async def list_roles(
    session: DbSession, principal: Annotated[Principal, require(P.users_manage)]
) -> list[RoleOut]:
    """Built-in and custom roles with their permissions."""
    return await service.list_roles(session, school_id=principal.school_id)


@admin.post("/roles", response_model=RoleOut, status_code=201)
async def create_role(
    body: RoleCreate,
    session: DbSession,
    principal: Annotated[Principal, require(P.users_manage)],
    actor: AuditActor,
) -> RoleOut:
    """Create a custom role from the permission list."""
    return await service.create_role(
        session,
        actor,
        school_id=principal.school_id,
        name=body.name,
        description=body.description,
        permissions=body.permissions,
    )


@admin.patch("/roles/{role_id}", response_model=RoleOut)
async def update_role(
    role_id: uuid.UUID,
    body: RoleUpdate,
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, require(P.users_manage)],
    actor: AuditActor,
) -> RoleOut:
    """Change a custom role; holders' access tokens are renewed on next refresh."""
    return await service.update_role(
        session,
        request.app.state.epochs,
        actor,
        school_id=principal.school_id,
        role_id=role_id,
        description=body.description,
        permissions=body.permissions,
    )


@admin.get("/permissions", response_model=list[PermissionOut])
async def list_permissions(
    principal: Annotated[Principal, require(P.users_manage)],
) -> list[PermissionOut]:
    """Every permission a role can grant."""
    return [PermissionOut(code=str(p), description=DESCRIPTIONS[p]) for p in P]
