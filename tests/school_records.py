"""A small school built through the API, shared by the academics, students and
attendance tests (imported by their conftest files).

    2026-27 (the year containing today) is current; weekly offs are cleared so that
    "today" is a school day whatever day the suite runs.
    6-A  class teacher Sunita (teacher), 3 students: Aarav, Diya, Kabir
    6-B  class teacher Ravi (teacher), 2 students: Ishaan, Meera
    7-A  no teacher, 1 student: Rohan
    Parent Vikram (+919800000005) is the guardian of Diya (6-A) and Rohan (7-A).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest

from erplake.core.clock import school_today

PARENT_PHONE = "+919800000005"


def academic_year_of(day: date) -> tuple[str, date, date]:
    start_year = day.year if day.month >= 4 else day.year - 1
    return (
        f"{start_year}-{str(start_year + 1)[-2:]}",
        date(start_year, 4, 1),
        date(start_year + 1, 3, 31),
    )


def today() -> date:
    return school_today("Asia/Kolkata")


@dataclass
class SchoolRecords:
    admin: Any
    sunita: Any  # class teacher of 6-A
    ravi: Any  # class teacher of 6-B
    parent: Any  # guardian of Diya and Rohan
    year_id: uuid.UUID
    classes: dict[str, uuid.UUID]
    sections: dict[str, uuid.UUID]
    students: dict[str, uuid.UUID] = field(default_factory=dict)
    guardians: dict[str, uuid.UUID] = field(default_factory=dict)


async def post_ok(
    api: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str], status: int = 201
) -> Any:
    answer = await api.post(path, json=body, headers=headers)
    assert answer.status_code == status, answer.text
    return answer.json()


def student_body(
    admission: str,
    name: str,
    section_id: uuid.UUID | None,
    roll: int | None,
    guardians: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "admission_number": admission,
        "name": name,
        "date_of_birth": "2014-06-15",
        "gender": extra.pop("gender", "female"),
        "section_id": None if section_id is None else str(section_id),
        "roll_number": roll,
        "guardians": guardians,
        **extra,
    }


@pytest.fixture
async def records(client_for, make_user) -> SchoolRecords:  # type: ignore[no-untyped-def]
    admin = await make_user("admin", phone="+919800000001", name="Asha Verma")
    sunita = await make_user("teacher", phone="+919800000004", name="Sunita Rao")
    ravi = await make_user("teacher", phone="+919800000006", name="Ravi Kumar")
    parent = await make_user("parent", phone=PARENT_PHONE, name="Vikram Singh")
    h = admin.headers
    name, starts, ends = academic_year_of(today())
    async with client_for("api") as api:
        year = await post_ok(
            api,
            "/academic-years",
            {"name": name, "starts_on": str(starts), "ends_on": str(ends), "is_current": True},
            h,
        )
        answer = await api.put("/calendar", json={"weekly_offs": []}, headers=h)
        assert answer.status_code == 200, answer.text
        classes = {
            c["name"]: uuid.UUID(c["id"]) for c in (await api.get("/classes", headers=h)).json()
        }
        sections = {}
        for label in ("6-A", "6-B", "7-A"):
            class_name, section_name = label.split("-")
            sections[label] = uuid.UUID(
                (
                    await post_ok(
                        api,
                        "/sections",
                        {"class_id": str(classes[class_name]), "name": section_name},
                        h,
                    )
                )["id"]
            )
        for teacher, label in ((sunita, "6-A"), (ravi, "6-B")):
            await post_ok(
                api,
                "/teacher-assignments",
                {
                    "section_id": str(sections[label]),
                    "teacher_id": str(teacher.user_id),
                    "role": "class_teacher",
                },
                h,
            )
        school = SchoolRecords(
            admin, sunita, ravi, parent, uuid.UUID(year["id"]), classes, sections
        )
        vikram = {
            "name": "Vikram Singh",
            "relation": "father",
            "phone": "98000 00005",
            "whatsapp_opt_in": True,
            "preferred_language": "hi",
        }
        roster = [
            (
                "GV-001",
                "Aarav Sharma",
                "6-A",
                1,
                [
                    {
                        "name": "Neha Sharma",
                        "relation": "mother",
                        "phone": "+91 98100 00001",
                        "whatsapp_opt_in": True,
                    }
                ],
                "male",
            ),
            (
                "GV-002",
                "Diya Singh",
                "6-A",
                2,
                [
                    vikram,
                    {
                        "name": "Anita Singh",
                        "relation": "mother",
                        "phone": "98100 00002",
                        "whatsapp_opt_in": False,
                    },
                ],
                "female",
            ),
            (
                "GV-003",
                "Kabir Khan",
                "6-A",
                3,
                [
                    {
                        "name": "Imran Khan",
                        "relation": "father",
                        "phone": "98100 00003",
                        "whatsapp_opt_in": True,
                    }
                ],
                "male",
            ),
            (
                "GV-004",
                "Ishaan Patel",
                "6-B",
                1,
                [
                    {
                        "name": "Kiran Patel",
                        "relation": "father",
                        "phone": "98100 00004",
                        "whatsapp_opt_in": True,
                    }
                ],
                "male",
            ),
            (
                "GV-005",
                "Meera Iyer",
                "6-B",
                2,
                [{"name": "Lakshmi Iyer", "relation": "mother", "phone": "98100 00005"}],
                "female",
            ),
            ("GV-006", "Rohan Singh", "7-A", 1, [vikram], "male"),
        ]
        for admission, student_name, label, roll, guardians, gender in roster:
            created = await post_ok(
                api,
                "/students",
                student_body(
                    admission, student_name, sections[label], roll, guardians, gender=gender
                ),
                h,
            )
            school.students[student_name.split()[0]] = uuid.UUID(created["id"])
            for g in created["guardians"]:
                school.guardians[g["name"].split()[0]] = uuid.UUID(g["id"])
    return school
