"""Academic years (one current), classes in promotion order, sections, subjects,
teacher assignments and the holiday calendar."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest

from erplake.core.db import libpq_url
from tests.school_records import academic_year_of, post_ok, today


@pytest.fixture
async def admin(make_user):  # type: ignore[no-untyped-def]
    return await make_user("admin", phone="+919800000001", name="Asha Verma")


async def test_first_academic_year_brings_nursery_to_12_in_promotion_order(
    client_for, admin
) -> None:
    name, starts, ends = academic_year_of(today())
    async with client_for("api") as api:
        year = await post_ok(
            api,
            "/academic-years",
            {"name": name, "starts_on": str(starts), "ends_on": str(ends), "is_current": True},
            admin.headers,
        )
        classes = (await api.get("/classes", headers=admin.headers)).json()
    assert year["is_current"] is True
    assert [c["name"] for c in classes] == ["Nursery", "LKG", "UKG"] + [
        str(n) for n in range(1, 13)
    ]
    assert [c["sequence"] for c in classes] == sorted(c["sequence"] for c in classes)


async def test_only_one_year_is_current_even_in_the_database(
    client_for, admin, database_url
) -> None:
    async with client_for("api") as api:
        first = await post_ok(
            api,
            "/academic-years",
            {
                "name": "2025-26",
                "starts_on": "2025-04-01",
                "ends_on": "2026-03-31",
                "is_current": True,
            },
            admin.headers,
        )
        second = await post_ok(
            api,
            "/academic-years",
            {
                "name": "2026-27",
                "starts_on": "2026-04-01",
                "ends_on": "2027-03-31",
                "is_current": True,
            },
            admin.headers,
        )
        overlapping = await api.post(
            "/academic-years",
            json={"name": "2026-27b", "starts_on": "2026-06-01", "ends_on": "2027-05-31"},
            headers=admin.headers,
        )
        years = (await api.get("/academic-years", headers=admin.headers)).json()
    assert [y["name"] for y in years if y["is_current"]] == ["2026-27"]
    assert overlapping.status_code == 409
    # The partial unique index refuses a second current year whatever the code does.
    with (
        psycopg.connect(libpq_url(database_url)) as conn,
        pytest.raises(psycopg.errors.UniqueViolation),
    ):
        conn.execute("UPDATE academic_years SET is_current = true WHERE id = %s", (first["id"],))
    assert second["is_current"]


async def test_sections_subjects_and_teacher_assignments(client_for, admin, make_user) -> None:
    teacher = await make_user("teacher", name="Sunita Rao")
    other = await make_user("teacher", name="Ravi Kumar")
    name, starts, ends = academic_year_of(today())
    h = admin.headers
    async with client_for("api") as api:
        await post_ok(
            api,
            "/academic-years",
            {"name": name, "starts_on": str(starts), "ends_on": str(ends), "is_current": True},
            h,
        )
        six = next(c for c in (await api.get("/classes", headers=h)).json() if c["name"] == "6")
        section = await post_ok(api, "/sections", {"class_id": six["id"], "name": "a"}, h)
        again = await api.post("/sections", json={"class_id": six["id"], "name": "A"}, headers=h)
        maths = await post_ok(api, "/subjects", {"code": "math", "name": "Mathematics"}, h)
        class_teacher = await post_ok(
            api,
            "/teacher-assignments",
            {
                "section_id": section["id"],
                "teacher_id": str(teacher.user_id),
                "role": "class_teacher",
            },
            h,
        )
        second_class_teacher = await api.post(
            "/teacher-assignments",
            json={
                "section_id": section["id"],
                "teacher_id": str(other.user_id),
                "role": "class_teacher",
            },
            headers=h,
        )
        await post_ok(
            api,
            "/teacher-assignments",
            {
                "section_id": section["id"],
                "teacher_id": str(other.user_id),
                "role": "subject_teacher",
                "subject_id": maths["id"],
            },
            h,
        )
        listed = (await api.get("/sections", headers=h)).json()
        me = (await api.get("/auth/me", headers=other.headers)).json()
        teacher_tries = await api.post(
            "/sections", json={"class_id": six["id"], "name": "Z"}, headers=teacher.headers
        )
        audit = (await api.get("/audit?entity=section", headers=h)).json()
    assert section["label"] == "6-A"
    assert again.status_code == 409
    assert maths["code"] == "MATH"
    assert class_teacher["teacher"]["name"] == "Sunita Rao"
    assert second_class_teacher.status_code == 409
    assert "Sunita Rao" in second_class_teacher.json()["error"]["message"]
    assert listed[0]["class_teacher"]["name"] == "Sunita Rao"
    # A subject teacher's section is one of their own sections too.
    assert [(s["class_name"], s["name"]) for s in me["sections"]] == [("6", "A")]
    assert teacher_tries.status_code == 403
    assert [a["action"] for a in audit["items"]] == ["section.create"]


async def test_weekly_offs_and_holidays_close_the_school(client_for, admin) -> None:
    name, starts, ends = academic_year_of(today())
    h = admin.headers
    async with client_for("api") as api:
        await post_ok(
            api,
            "/academic-years",
            {"name": name, "starts_on": str(starts), "ends_on": str(ends), "is_current": True},
            h,
        )
        offs = (await api.get("/calendar", headers=h)).json()["weekly_offs"]
        # Find a month's Saturdays and a Sunday in the year.
        first = date(starts.year, 7, 1)
        saturdays = [
            first + timedelta(days=d)
            for d in range(31)
            if (first + timedelta(days=d)).weekday() == 5
        ]
        sunday = saturdays[0] + timedelta(days=1)
        monday = sunday + timedelta(days=1)
        holiday = await post_ok(api, "/holidays", {"date": str(monday), "name": "Eid"}, h)
        twice = await api.post("/holidays", json={"date": str(monday), "name": "Eid"}, headers=h)
        days = {
            d: (await api.get(f"/calendar/days/{d}", headers=h)).json()
            for d in (saturdays[0], saturdays[1], sunday, monday)
        }
        changed = await api.put(
            "/calendar", json={"weekly_offs": ["sun", "sat-2", "sat-4"]}, headers=h
        )
        bad = await api.put("/calendar", json={"weekly_offs": ["funday"]}, headers=h)
        await api.delete(f"/holidays/{holiday['id']}", headers=h)
        monday_again = (await api.get(f"/calendar/days/{monday}", headers=h)).json()
    assert offs == ["sun", "sat-2"]
    assert days[saturdays[0]]["is_school_day"] is True
    assert days[saturdays[1]] == {
        "date": str(saturdays[1]),
        "is_school_day": False,
        "reason": "second Saturday",
    }
    assert days[sunday]["reason"] == "Sunday"
    assert days[monday]["reason"] == "Eid"
    assert twice.status_code == 409
    assert changed.json()["weekly_offs"] == ["sat-2", "sat-4", "sun"]
    assert bad.status_code == 422
    assert monday_again["is_school_day"] is True


async def test_a_section_with_students_cannot_be_deleted(client_for, records) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        refused = await api.delete(f"/sections/{records.sections['6-A']}", headers=h)
        empty = await post_ok(
            api, "/sections", {"class_id": str(records.classes["8"]), "name": "C"}, h
        )
        deleted = await api.delete(f"/sections/{empty['id']}", headers=h)
    assert refused.status_code == 409
    assert "3 students" in refused.json()["error"]["message"]
    assert deleted.status_code == 204
