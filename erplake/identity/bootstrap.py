"""The first school and its first admin, for a fresh production install."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from erplake.core.db import create_engine, create_sessionmaker, transaction
from erplake.core.errors import Conflict, Unprocessable
from erplake.core.phone import parse_mobile
from erplake.core.settings import Settings
from erplake.identity.rbac import ensure_builtin_roles, grant_role
from erplake.models.identity import User
from erplake.schools import service as schools


class SchoolExists(Conflict):
    code = "school_exists"


async def create_school_with_admin(
    settings: Settings,
    *,
    code: str,
    name: str,
    timezone: str,
    admin_phone: str,
    admin_name: str,
) -> uuid.UUID:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(f"unknown timezone {timezone!r}") from None
    phone = parse_mobile(admin_phone)
    engine = create_engine(settings, role="cli", pooled=False)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            if await schools.get_by_code(session, code=code) is not None:
                raise SchoolExists(f"a school with code {code!r} already exists")
            school = await schools.create(session, code=code, name=name, timezone=timezone)
            roles = await ensure_builtin_roles(session, school_id=school.id)
            admin = User(school_id=school.id, phone=phone, name=admin_name)
            session.add(admin)
            await session.flush()
            await grant_role(session, user_id=admin.id, role_id=roles["admin"])
            return school.id
    finally:
        await engine.dispose()
