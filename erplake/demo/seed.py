"""The demo school: built on first start of `erplake run`, or by `erplake seed`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from erplake.core.db import create_engine, create_sessionmaker, transaction
from erplake.core.settings import Settings
from erplake.identity.rbac import ensure_builtin_roles, grant_role
from erplake.models.identity import User
from erplake.models.school import School

DEMO_SCHOOL_CODE = "demo"

# Demo staff: phone numbers start with 9, as fixtures should. The parent and
# teacher rows below are what a newcomer signs in with (code from the dev inbox).
DEMO_USERS: list[tuple[str, str, str]] = [
    ("+919800000001", "Asha Verma", "admin"),
    ("+919800000002", "Rajesh Iyer", "principal"),
    ("+919800000003", "Meena Gupta", "accountant"),
    ("+919800000004", "Sunita Rao", "teacher"),
    ("+919800000005", "Vikram Singh", "parent"),
]


async def seed_demo_school(settings: Settings, *, students: int = 1500, seed: int = 42) -> bool:
    """Create the demo school if absent. Returns True when it was created."""
    engine = create_engine(settings, role="seed", pooled=False)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            existing = (
                await session.execute(select(School.id).where(School.code == DEMO_SCHOOL_CODE))
            ).scalar_one_or_none()
            if existing is not None:
                return False
            school = School(
                code=DEMO_SCHOOL_CODE,
                name="Green Valley Public School",
                timezone=settings.school_timezone,
                address="14 MG Road, Pune, Maharashtra 411001",
                phone="+919800000000",
                email="office@greenvalley.example",
            )
            session.add(school)
            await session.flush()
            role_ids = await ensure_builtin_roles(session, school_id=school.id)
            for phone, name, role in DEMO_USERS:
                user_id = (
                    await session.execute(
                        insert(User)
                        .values(school_id=school.id, phone=phone, name=name)
                        .returning(User.id)
                    )
                ).scalar_one()
                await grant_role(session, user_id=user_id, role_id=role_ids[role])
            return True
    finally:
        await engine.dispose()
