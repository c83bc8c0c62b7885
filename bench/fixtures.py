from __future__ import annotations

import uuid

from sqlalchemy import select

from bench.common import Servers
from erplake.core.db import create_engine, create_sessionmaker, transaction
from erplake.core.security import issue_access_token
from erplake.demo.seed import DEMO_SCHOOL_CODE, seed_demo_school
from erplake.identity import rbac
from erplake.models.identity import User
from erplake.models.school import School


async def demo_school_and_admin_token(servers: Servers) -> tuple[uuid.UUID, str]:
    settings = servers.settings()
    await seed_demo_school(settings)
    engine = create_engine(settings, role="bench", pooled=False)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            school = (
                await session.execute(select(School).where(School.code == DEMO_SCHOOL_CODE))
            ).scalar_one()
            admin = (
                await session.execute(select(User).where(User.phone == "+919800000001"))
            ).scalar_one()
            roles, perms = await rbac.roles_and_permissions(session, user_id=admin.id)
            token, _ = issue_access_token(
                settings,
                user_id=admin.id,
                school_id=school.id,
                roles=roles,
                permissions=perms,
                epoch=admin.auth_epoch,
            )
            return school.id, token
    finally:
        await engine.dispose()
