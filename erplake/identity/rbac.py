"""Persisted RBAC: the permission catalogue and built-in roles in the database."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.core.permissions import BUILTIN_ROLES, DESCRIPTIONS, P
from erplake.models.identity import Permission, Role, RolePermission, UserRole


async def sync_permissions(session: AsyncSession) -> None:
    rows = [{"code": str(p), "description": DESCRIPTIONS[p]} for p in P]
    stmt = insert(Permission).values(rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Permission.code], set_={"description": stmt.excluded.description}
        )
    )


async def ensure_builtin_roles(
    session: AsyncSession, *, school_id: uuid.UUID
) -> dict[str, uuid.UUID]:
    """Create the built-in roles for a school and grant their permissions (idempotent)."""
    await sync_permissions(session)
    stmt = insert(Role).values(
        [
            {"school_id": school_id, "name": name, "description": desc, "is_builtin": True}
            for name, (desc, _) in BUILTIN_ROLES.items()
        ]
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[Role.school_id, Role.name]))
    role_ids = dict(
        (
            await session.execute(
                select(Role.name, Role.id).where(
                    Role.school_id == school_id, Role.name.in_(list(BUILTIN_ROLES))
                )
            )
        ).all()
    )
    grants = [
        {"role_id": role_ids[name], "permission_code": str(p)}
        for name, (_, perms) in BUILTIN_ROLES.items()
        for p in perms
    ]
    await session.execute(insert(RolePermission).values(grants).on_conflict_do_nothing())
    return role_ids


async def grant_role(session: AsyncSession, *, user_id: uuid.UUID, role_id: uuid.UUID) -> None:
    await session.execute(
        insert(UserRole).values(user_id=user_id, role_id=role_id).on_conflict_do_nothing()
    )


async def roles_and_permissions(
    session: AsyncSession, *, user_id: uuid.UUID
) -> tuple[list[str], list[str]]:
    roles = (
        (
            await session.execute(
                select(Role.name)
                .join(UserRole, UserRole.role_id == Role.id)
                .where(UserRole.user_id == user_id)
                .order_by(Role.name)
            )
        )
        .scalars()
        .all()
    )
    perms = (
        (
            await session.execute(
                select(RolePermission.permission_code)
                .join(UserRole, UserRole.role_id == RolePermission.role_id)
                .where(UserRole.user_id == user_id)
                .distinct()
                .order_by(RolePermission.permission_code)
            )
        )
        .scalars()
        .all()
    )
    return list(roles), list(perms)
