"""The demo school: deterministic from its seed, realistic, and what the demo
logins need (the teacher has a section, the parent two children)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from erplake.core.db import libpq_url
from erplake.core.security import issue_access_token
from erplake.demo.seed import DEMO_PARENT_PHONE, DEMO_TEACHER_PHONE, seed_demo_school
from tests.conftest import text_truncate
from tests.school_records import academic_year_of, today


def _query(database_url: str, sql: str, *args: Any) -> list[Any]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        return conn.execute(sql, args).fetchall()


def _roster(database_url: str) -> list[Any]:
    return _query(
        database_url,
        "SELECT s.admission_number, s.name, s.date_of_birth, c.name, sec.name, e.roll_number,"
        " array_agg(g.phone ORDER BY g.phone)"
        " FROM students s JOIN enrolments e ON e.student_id = s.id"
        " JOIN sections sec ON sec.id = e.section_id JOIN classes c ON c.id = sec.class_id"
        " JOIN student_guardians sg ON sg.student_id = s.id"
        " JOIN guardians g ON g.id = sg.guardian_id"
        " GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1",
    )


async def _signed_in(resources, settings, phone: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from erplake.identity import rbac
    from erplake.models.identity import User

    async with resources.sessionmaker() as session:
        user = (await session.execute(select(User).where(User.phone == phone))).scalar_one()
        roles, perms = await rbac.roles_and_permissions(session, user_id=user.id)
    token, _ = issue_access_token(
        settings,
        user_id=user.id,
        school_id=user.school_id,
        roles=roles,
        permissions=perms,
        epoch=user.auth_epoch,
    )
    return {"Authorization": f"Bearer {token}"}


async def test_the_same_seed_builds_the_same_school(settings, database_url) -> None:
    assert await seed_demo_school(settings, students=150, seed=7, history_days=10) is True
    assert await seed_demo_school(settings, students=150, seed=7) is False  # already there
    first = _roster(database_url)
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute(text_truncate())
    await seed_demo_school(settings, students=150, seed=7, history_days=10)
    assert _roster(database_url) == first
    assert len(first) == 150


async def test_demo_school_is_realistic(settings, database_url) -> None:
    await seed_demo_school(settings, students=400, history_days=61)
    per_class = _query(
        database_url,
        "SELECT c.name, count(DISTINCT sec.id), count(e.id) FROM classes c"
        " JOIN sections sec ON sec.class_id = c.id"
        " LEFT JOIN enrolments e ON e.section_id = sec.id GROUP BY c.name, c.sequence"
        " ORDER BY c.sequence",
    )
    assert [row[0] for row in per_class][:4] == ["Nursery", "LKG", "UKG", "1"]
    assert all(2 <= sections <= 3 for _, sections, _ in per_class)
    assert sum(students for *_, students in per_class) == 400
    phones = [p for (p,) in _query(database_url, "SELECT phone FROM guardians")]
    assert all(p.startswith("+919") for p in phones)
    family_sizes = {
        n
        for (n,) in _query(
            database_url, "SELECT count(*) FROM student_guardians GROUP BY guardian_id"
        )
    }
    assert {1, 2, 3} <= family_sizes
    marks = dict(_query(database_url, "SELECT code, count(*) FROM attendance_records GROUP BY 1"))
    absent_share = marks["A"] / sum(marks.values())
    assert 0.01 < absent_share < 0.12
    _, starts, _ = academic_year_of(today())
    ((first_day, last_day, days),) = _query(
        database_url, "SELECT min(date), max(date), count(DISTINCT date) FROM attendance_records"
    )
    assert first_day >= starts and last_day < today()
    if (today() - starts).days > 61:
        assert (last_day - first_day).days >= 55 and days >= 35  # two months of school days


async def test_demo_logins_have_their_section_and_children(settings, resources, client_for) -> None:
    await seed_demo_school(settings, students=300, history_days=5)
    teacher = await _signed_in(resources, settings, DEMO_TEACHER_PHONE)
    parent = await _signed_in(resources, settings, DEMO_PARENT_PHONE)
    async with client_for("api") as api:
        teacher_me = (await api.get("/auth/me", headers=teacher)).json()
        parent_me = (await api.get("/auth/me", headers=parent)).json()
        own = (await api.get("/students", headers=parent)).json()
        assignments = (
            await api.get(
                f"/teacher-assignments?teacher_id={teacher_me['user']['id']}", headers=teacher
            )
        ).json()
    assert ("6", "A") in [(s["class_name"], s["name"]) for s in teacher_me["sections"]]
    assert any(a["role"] == "class_teacher" and a["section_label"] == "6-A" for a in assignments)
    children = parent_me["children"]
    assert len(children) == 2
    assert len({c["class_name"] for c in children}) == 2
    assert own["total"] == 2


@pytest.mark.parametrize("students", [40])
async def test_a_tiny_demo_school_still_has_every_class(settings, database_url, students) -> None:
    await seed_demo_school(settings, students=students, history_days=3)
    ((count,),) = _query(database_url, "SELECT count(*) FROM students")
    assert count == students
