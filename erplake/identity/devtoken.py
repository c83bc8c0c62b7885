"""A development shortcut: an access token without the WhatsApp round trip."""

from __future__ import annotations

from sqlalchemy import select

from erplake.core.db import create_engine, create_sessionmaker, transaction
from erplake.core.errors import NotFound
from erplake.core.phone import parse_mobile
from erplake.core.security import issue_access_token
from erplake.core.settings import Settings
from erplake.identity import rbac
from erplake.models.identity import Role, User, UserRole
from erplake.models.school import School


class DevTokenRefused(RuntimeError):
    pass


async def dev_access_token(
    settings: Settings, *, school: str, phone: str | None, role: str | None
) -> str:
    if settings.is_production:
        raise DevTokenRefused("development tokens are refused in production")
    engine = create_engine(settings, role="cli", pooled=False)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            stmt = (
                select(User)
                .join(School, School.id == User.school_id)
                .where(School.code == school, User.is_active.is_(True))
            )
            if phone is not None:
                stmt = stmt.where(User.phone == parse_mobile(phone))
            else:
                stmt = (
                    stmt.join(UserRole, UserRole.user_id == User.id)
                    .join(Role, Role.id == UserRole.role_id)
                    .where(Role.name == role)
                )
            user = (await session.execute(stmt.order_by(User.created_at).limit(1))).scalar()
            if user is None:
                raise NotFound(f"no active user found in school {school!r}")
            roles, permissions = await rbac.roles_and_permissions(session, user_id=user.id)
            token, _ = issue_access_token(
                settings,
                user_id=user.id,
                school_id=user.school_id,
                roles=roles,
                permissions=permissions,
                epoch=user.auth_epoch,
            )
            return token
    finally:
        await engine.dispose()
