"""Sign-in, tokens, users and roles."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from functools import partial

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core.authcache import EpochCache
from erplake.core.clock import utcnow
from erplake.core.db import on_commit
from erplake.core.errors import Conflict, NotFound, Unauthorized, Unprocessable
from erplake.core.pagination import PageParams, paginate_rows
from erplake.core.permissions import P
from erplake.core.phone import parse_mobile
from erplake.core.security import (
    PermissionDenied,
    hash_token,
    issue_access_token,
    new_opaque_token,
)
from erplake.core.settings import Settings
from erplake.identity import rbac
from erplake.identity.schemas import (
    Me,
    RoleOut,
    SchoolBrief,
    TokenPair,
    UserBrief,
    UserOut,
)
from erplake.models.identity import RefreshToken, Role, RolePermission, User, UserRole
from erplake.models.school import School


class RefreshInvalid(Unauthorized):
    code = "refresh_invalid"


class RefreshReused(Unauthorized):
    code = "refresh_reused"


class UserNotFound(NotFound):
    code = "user_not_found"


class RoleNotFound(NotFound):
    code = "role_not_found"


class SchoolChoiceRequired(Conflict):
    code = "school_choice_required"


class NoAccount(Unauthorized):
    code = "no_account"


# ---- sign-in and tokens ---------------------------------------------------


async def user_for_login(session: AsyncSession, *, phone: str, school_code: str | None) -> User:
    stmt = (
        select(User, School.code)
        .join(School, School.id == User.school_id)
        .where(User.phone == phone, User.is_active.is_(True))
    )
    if school_code:
        stmt = stmt.where(School.code == school_code)
    rows = (await session.execute(stmt)).all()
    if not rows:
        # Reached only with a correct code, so this reveals nothing new.
        raise NoAccount("this number has no ERPLake account; ask the school office")
    if len(rows) > 1:
        raise SchoolChoiceRequired(
            "this number belongs to several schools; choose one",
            details={"school_codes": sorted(r[1] for r in rows)},
        )
    return rows[0][0]


async def issue_tokens(
    session: AsyncSession,
    settings: Settings,
    *,
    user: User,
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    roles, permissions = await rbac.roles_and_permissions(session, user_id=user.id)
    access, ttl = issue_access_token(
        settings,
        user_id=user.id,
        school_id=user.school_id,
        roles=roles,
        permissions=permissions,
        epoch=user.auth_epoch,
    )
    refresh = new_opaque_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=hash_token(refresh),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.flush()
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=ttl)


async def login(
    session: AsyncSession,
    settings: Settings,
    origin: Actor,
    *,
    phone: str,
    school_code: str | None,
) -> TokenPair:
    user = await user_for_login(session, phone=phone, school_code=school_code)
    user.last_login_at = utcnow()
    await audit.record(
        session,
        replace(origin, school_id=user.school_id, user_id=user.id),
        action="auth.login",
        entity="user",
        entity_id=user.id,
        changes={},
    )
    return await issue_tokens(session, settings, user=user)


async def refresh(
    session: AsyncSession,
    settings: Settings,
    epochs: EpochCache,
    origin: Actor,
    *,
    refresh_token: str,
) -> TokenPair | RefreshReused:
    """Rotate a refresh token. Presenting one already rotated means it was copied:
    the whole family is revoked, the user's access tokens stop working, the event
    is audited, and the caller must commit all that before refusing (hence the
    error is returned, not raised)."""
    token = (
        await session.execute(
            select(RefreshToken)
            .where(RefreshToken.token_hash == hash_token(refresh_token))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
        raise RefreshInvalid("your session has ended; please sign in again")
    if token.used_at is not None:
        await revoke_family(session, family_id=token.family_id)
        await _bump_epoch(session, epochs, user_ids=[token.user_id])
        owner = await session.get(User, token.user_id)
        await audit.record(
            session,
            replace(origin, school_id=owner.school_id if owner else None, user_id=token.user_id),
            action="auth.refresh_reused",
            entity="user",
            entity_id=token.user_id,
            changes={"family_id": str(token.family_id), "revoked": True},
        )
        return RefreshReused("this session was used elsewhere and has been ended; sign in again")
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise RefreshInvalid("your session has ended; please sign in again")
    token.used_at = utcnow()
    return await issue_tokens(session, settings, user=user, family_id=token.family_id)


async def revoke_family(session: AsyncSession, *, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def logout(session: AsyncSession, origin: Actor, *, refresh_token: str) -> None:
    token = (
        await session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == hash_token(refresh_token))
        )
    ).scalar_one_or_none()
    if token is None or token.revoked_at is not None:
        return
    await revoke_family(session, family_id=token.family_id)
    owner = await session.get(User, token.user_id)
    await audit.record(
        session,
        replace(origin, school_id=owner.school_id if owner else None, user_id=token.user_id),
        action="auth.logout",
        entity="user",
        entity_id=token.user_id,
        changes={"family_id": str(token.family_id)},
    )


async def me(session: AsyncSession, *, user_id: uuid.UUID) -> Me:
    from erplake.identity.scopes import children_of, sections_of

    row = (
        await session.execute(
            select(User, School).join(School, School.id == User.school_id).where(User.id == user_id)
        )
    ).one_or_none()
    if row is None:
        raise UserNotFound("user not found")
    user, school = row
    roles, permissions = await rbac.roles_and_permissions(session, user_id=user.id)
    return Me(
        user=UserBrief.model_validate(user),
        school=SchoolBrief.model_validate(school),
        roles=roles,
        permissions=permissions,
        children=await children_of(session, user_id=user.id) if "parent" in roles else [],
        sections=await sections_of(session, user_id=user.id) if "teacher" in roles else [],
    )


# ---- users and roles (admin) ----------------------------------------------


async def _bump_epoch(
    session: AsyncSession, epochs: EpochCache, *, user_ids: list[uuid.UUID]
) -> None:
    """Old access tokens of these users stop working at once."""
    if not user_ids:
        return
    rows = (
        await session.execute(
            update(User)
            .where(User.id.in_(user_ids))
            .values(auth_epoch=User.auth_epoch + 1)
            .returning(User.id, User.auth_epoch, User.is_active)
        )
    ).all()
    # Told to every process once committed: a rolled-back change publishes nothing.
    for user_id, epoch, active in rows:
        on_commit(session, partial(epochs.publish, user_id, epoch, active))


async def _role_ids(
    session: AsyncSession, *, school_id: uuid.UUID, names: list[str]
) -> dict[str, uuid.UUID]:
    found = dict(
        (
            await session.execute(
                select(Role.name, Role.id).where(Role.school_id == school_id, Role.name.in_(names))
            )
        ).all()
    )
    missing = sorted(set(names) - set(found))
    if missing:
        raise Unprocessable(
            f"unknown role: {', '.join(missing)}", details={"unknown_roles": missing}
        )
    return found


async def _user_out(session: AsyncSession, user: User) -> UserOut:
    roles, _ = await rbac.roles_and_permissions(session, user_id=user.id)
    return UserOut(
        id=user.id,
        name=user.name,
        phone=user.phone,
        is_active=user.is_active,
        preferred_language=user.preferred_language,
        roles=roles,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


async def get_user(session: AsyncSession, *, school_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = (
        await session.execute(select(User).where(User.id == user_id, User.school_id == school_id))
    ).scalar_one_or_none()
    if user is None:
        raise UserNotFound("user not found")
    return user


async def list_users(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    page: PageParams,
    role: str | None,
    q: str | None,
    active: bool | None,
) -> tuple[list[UserOut], int]:
    stmt = select(User).where(User.school_id == school_id)
    if role:
        stmt = stmt.where(
            User.id.in_(
                select(UserRole.user_id)
                .join(Role, Role.id == UserRole.role_id)
                .where(Role.name == role, Role.school_id == school_id)
            )
        )
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(User.name.ilike(like) | User.phone.ilike(like))
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    rows, total = await paginate_rows(session, stmt.order_by(User.name, User.id), page)
    return [await _user_out(session, r[0]) for r in rows], total


async def invite_user(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    phone: str,
    name: str,
    roles: list[str],
    preferred_language: str,
) -> UserOut:
    e164 = parse_mobile(phone)
    role_ids = await _role_ids(session, school_id=school_id, names=roles)
    exists = (
        await session.execute(
            select(User.id).where(User.school_id == school_id, User.phone == e164)
        )
    ).scalar_one_or_none()
    if exists is not None:
        raise Conflict(f"a user with phone {e164} already exists", details={"user_id": str(exists)})
    user = User(school_id=school_id, phone=e164, name=name, preferred_language=preferred_language)
    session.add(user)
    await session.flush()
    for role_id in role_ids.values():
        await rbac.grant_role(session, user_id=user.id, role_id=role_id)
    await audit.record(
        session,
        actor,
        action="user.invite",
        entity="user",
        entity_id=user.id,
        after={"phone": e164, "name": name, "roles": sorted(roles)},
    )
    await session.refresh(user)
    return await _user_out(session, user)


ADMIN = "admin"


async def _active_admin_ids(session: AsyncSession, *, school_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        (
            await session.execute(
                select(User.id)
                .join(UserRole, UserRole.user_id == User.id)
                .join(Role, Role.id == UserRole.role_id)
                .where(Role.school_id == school_id, Role.name == ADMIN, User.is_active.is_(True))
                .with_for_update(of=User)
            )
        ).scalars()
    )


async def _guard_admin_change(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    user_id: uuid.UUID,
    grants_admin: bool,
    removes_admin: bool,
) -> None:
    """Only an admin makes admins (users:manage alone must not be a way up), and
    a school always keeps one active admin."""
    if not (grants_admin or removes_admin):
        return
    admins = await _active_admin_ids(session, school_id=school_id)
    if grants_admin and actor.user_id not in admins:
        raise PermissionDenied("only an admin can make someone an admin", details={"role": ADMIN})
    if removes_admin and admins <= {user_id}:
        raise Conflict("the school must keep at least one active admin")


async def assign_roles(
    session: AsyncSession,
    epochs: EpochCache,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    user_id: uuid.UUID,
    roles: list[str],
) -> UserOut:
    user = await get_user(session, school_id=school_id, user_id=user_id)
    before, _ = await rbac.roles_and_permissions(session, user_id=user.id)
    role_ids = await _role_ids(session, school_id=school_id, names=roles)
    await _guard_admin_change(
        session,
        actor,
        school_id=school_id,
        user_id=user.id,
        grants_admin=ADMIN in roles and ADMIN not in before,
        removes_admin=ADMIN in before and ADMIN not in roles,
    )
    await session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    for role_id in role_ids.values():
        await rbac.grant_role(session, user_id=user.id, role_id=role_id)
    await _bump_epoch(session, epochs, user_ids=[user.id])
    await audit.record(
        session,
        actor,
        action="user.roles",
        entity="user",
        entity_id=user.id,
        before={"roles": before},
        after={"roles": sorted(roles)},
    )
    await session.refresh(user)
    return await _user_out(session, user)


async def set_active(
    session: AsyncSession,
    epochs: EpochCache,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    user_id: uuid.UUID,
    active: bool,
) -> UserOut:
    user = await get_user(session, school_id=school_id, user_id=user_id)
    if not active and user.id == actor.user_id:
        raise Conflict("you cannot deactivate yourself")
    if not active and user.is_active:
        roles, _ = await rbac.roles_and_permissions(session, user_id=user.id)
        await _guard_admin_change(
            session,
            actor,
            school_id=school_id,
            user_id=user.id,
            grants_admin=False,
            removes_admin=ADMIN in roles,
        )
    was = user.is_active
    user.is_active = active
    await session.flush()
    if not active:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )
    await _bump_epoch(session, epochs, user_ids=[user.id])
    await audit.record(
        session,
        actor,
        action="user.activate" if active else "user.deactivate",
        entity="user",
        entity_id=user.id,
        before={"is_active": was},
        after={"is_active": active},
    )
    await session.refresh(user)
    return await _user_out(session, user)


async def list_roles(session: AsyncSession, *, school_id: uuid.UUID) -> list[RoleOut]:
    roles = (
        (await session.execute(select(Role).where(Role.school_id == school_id).order_by(Role.name)))
        .scalars()
        .all()
    )
    grants = (
        await session.execute(
            select(RolePermission.role_id, RolePermission.permission_code).where(
                RolePermission.role_id.in_([r.id for r in roles])
            )
        )
    ).all()
    by_role: dict[uuid.UUID, list[str]] = {}
    for role_id, code in grants:
        by_role.setdefault(role_id, []).append(code)
    return [
        RoleOut(
            id=r.id,
            name=r.name,
            description=r.description,
            is_builtin=r.is_builtin,
            permissions=sorted(by_role.get(r.id, [])),
        )
        for r in roles
    ]


def _check_permissions(codes: list[str]) -> list[str]:
    known = {str(p) for p in P}
    unknown = sorted(set(codes) - known)
    if unknown:
        raise Unprocessable(
            f"unknown permission: {', '.join(unknown)}", details={"unknown_permissions": unknown}
        )
    return sorted(set(codes))


async def create_role(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    name: str,
    description: str,
    permissions: list[str],
) -> RoleOut:
    codes = _check_permissions(permissions)
    exists = (
        await session.execute(select(Role.id).where(Role.school_id == school_id, Role.name == name))
    ).scalar_one_or_none()
    if exists is not None:
        raise Conflict(f"a role named {name!r} already exists")
    role = Role(school_id=school_id, name=name, description=description, is_builtin=False)
    session.add(role)
    await session.flush()
    for code in codes:
        session.add(RolePermission(role_id=role.id, permission_code=code))
    await session.flush()
    await audit.record(
        session,
        actor,
        action="role.create",
        entity="role",
        entity_id=role.id,
        after={"name": name, "permissions": codes},
    )
    return RoleOut(
        id=role.id, name=name, description=description, is_builtin=False, permissions=codes
    )


async def update_role(
    session: AsyncSession,
    epochs: EpochCache,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    role_id: uuid.UUID,
    description: str | None,
    permissions: list[str] | None,
) -> RoleOut:
    role = (
        await session.execute(select(Role).where(Role.id == role_id, Role.school_id == school_id))
    ).scalar_one_or_none()
    if role is None:
        raise RoleNotFound("role not found")
    if role.is_builtin:
        raise Conflict("built-in roles cannot be changed; create a custom role instead")
    before = [
        c
        for c in (
            await session.execute(
                select(RolePermission.permission_code).where(RolePermission.role_id == role.id)
            )
        ).scalars()
    ]
    if description is not None:
        role.description = description
    if permissions is not None:
        codes = _check_permissions(permissions)
        await session.execute(delete(RolePermission).where(RolePermission.role_id == role.id))
        for code in codes:
            session.add(RolePermission(role_id=role.id, permission_code=code))
        await session.flush()
        holders = list(
            (
                await session.execute(select(UserRole.user_id).where(UserRole.role_id == role.id))
            ).scalars()
        )
        await _bump_epoch(session, epochs, user_ids=holders)
    await audit.record(
        session,
        actor,
        action="role.update",
        entity="role",
        entity_id=role.id,
        before={"permissions": sorted(before)},
        after={"permissions": sorted(permissions) if permissions is not None else sorted(before)},
    )
    roles = await list_roles(session, school_id=school_id)
    return next(r for r in roles if r.id == role.id)
