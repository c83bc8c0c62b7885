"""A fresh install gets its real school and first admin from the command line."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from erplake.identity import rbac
from erplake.models.identity import User
from erplake.models.school import School


def _create(settings, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ERPLAKE_ENV": "test",
        "JWT_SECRET": settings.jwt_secret,
    }
    return subprocess.run(
        [sys.executable, "-m", "erplake", "create-school", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_create_school_makes_the_school_roles_and_first_admin(settings, resources) -> None:
    done = _create(
        settings,
        "--code",
        "gvps",
        "--name",
        "Green Valley",
        "--admin-phone",
        "98765 43210",
        "--admin-name",
        "Asha Verma",
    )
    assert done.returncode == 0, done.stderr
    async with resources.sessionmaker() as session:
        school = (await session.execute(select(School).where(School.code == "gvps"))).scalar_one()
        admin = (
            await session.execute(select(User).where(User.school_id == school.id))
        ).scalar_one()
        roles, permissions = await rbac.roles_and_permissions(session, user_id=admin.id)
    assert admin.phone == "+919876543210"
    assert roles == ["admin"]
    assert "users:manage" in permissions


async def test_create_school_refuses_a_taken_code_and_a_landline(settings, resources) -> None:
    first = _create(
        settings,
        "--code",
        "gvps",
        "--name",
        "A",
        "--admin-phone",
        "9876543210",
        "--admin-name",
        "A",
    )
    again = _create(
        settings,
        "--code",
        "gvps",
        "--name",
        "B",
        "--admin-phone",
        "9876543211",
        "--admin-name",
        "B",
    )
    landline = _create(
        settings,
        "--code",
        "other",
        "--name",
        "C",
        "--admin-phone",
        "011 2345 6789",
        "--admin-name",
        "C",
    )
    assert first.returncode == 0
    assert again.returncode == 1 and "already exists" in again.stderr
    assert landline.returncode != 0
    async with resources.sessionmaker() as session:
        codes = (await session.execute(select(School.code))).scalars().all()
    assert codes == ["gvps"]
