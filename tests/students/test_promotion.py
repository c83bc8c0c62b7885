"""Year-end promotion: preview, then apply; held back stay, leavers leave, class 12
graduates; applying twice changes nothing."""

from __future__ import annotations

from datetime import date

import pytest

from tests.school_records import academic_year_of, post_ok, student_body, today


@pytest.fixture
async def next_year(client_for, records):  # type: ignore[no-untyped-def]
    _, starts, ends = academic_year_of(today())
    following = f"{starts.year + 1}-{str(starts.year + 2)[-2:]}"
    async with client_for("api") as api:
        twelve = await post_ok(
            api,
            "/sections",
            {"class_id": str(records.classes["12"]), "name": "A"},
            records.admin.headers,
        )
        graduate = await post_ok(
            api,
            "/students",
            student_body("GV-012", "Nikhil Das", twelve["id"], 1, []),
            records.admin.headers,
        )
        records.students["Nikhil"] = graduate["id"]
        year = await post_ok(
            api,
            "/academic-years",
            {
                "name": following,
                "starts_on": str(date(starts.year + 1, 4, 1)),
                "ends_on": str(date(ends.year + 1, 3, 31)),
            },
            records.admin.headers,
        )
    return year


def _body(next_year, records, **lists):  # type: ignore[no-untyped-def]
    return {
        "to_academic_year_id": next_year["id"],
        "held_back": [str(records.students[n]) for n in lists.get("held_back", [])],
        "leaving": [str(records.students[n]) for n in lists.get("leaving", [])],
    }


async def test_preview_shows_each_section_move_and_writes_nothing(
    client_for, records, next_year
) -> None:
    body = _body(next_year, records, held_back=["Kabir"], leaving=["Meera"])
    async with client_for("api") as api:
        answer = await api.post("/promotions/preview", json=body, headers=records.admin.headers)
        sections = (
            await api.get(
                f"/sections?academic_year_id={next_year['id']}", headers=records.admin.headers
            )
        ).json()
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    moves = {m["from_label"]: m for m in preview["moves"]}
    assert (moves["6-A"]["to_label"], moves["6-A"]["promoted"], moves["6-A"]["held_back"]) == (
        "7-A",
        2,
        1,
    )
    assert (moves["6-B"]["promoted"], moves["6-B"]["leaving"]) == (1, 1)
    assert moves["12-A"] | {"from_section_id": None} == {
        "from_section_id": None,
        "from_label": "12-A",
        "to_label": None,
        "to_exists": True,
        "promoted": 0,
        "held_back": 0,
        "leaving": 0,
        "graduating": 1,
    }
    assert (
        preview["promoted"],
        preview["held_back"],
        preview["leaving"],
        preview["graduating"],
    ) == (4, 1, 1, 1)
    assert preview["sections_to_create"] == ["6-A", "7-A", "7-B", "8-A"]
    assert sections == []


async def test_apply_moves_everyone_up_except_the_named_and_twice_changes_nothing(
    client_for, records, next_year
) -> None:
    h = records.admin.headers
    body = _body(next_year, records, held_back=["Kabir"], leaving=["Meera"])
    async with client_for("api") as api:
        first = await api.post("/promotions/apply", json=body, headers=h)
        second = await api.post("/promotions/apply", json=body, headers=h)
        await api.post(f"/academic-years/{next_year['id']}/make-current", headers=h)
        placed = {
            s["name"]: (s["class_name"], s["section_name"], s["roll_number"], s["status"])
            for s in (await api.get("/students?limit=100", headers=h)).json()["items"]
        }
        kabir = (await api.get(f"/students/{records.students['Kabir']}", headers=h)).json()
        preview_after = await api.post("/promotions/preview", json=body, headers=h)
        audit = (await api.get("/audit?action=students.promote", headers=h)).json()
    assert first.json() == {
        "sections_created": 4,
        "enrolled": 5,
        "marked_left": 1,
        "marked_alumni": 1,
        "outcomes_recorded": 7,
    }
    assert second.json() == {
        "sections_created": 0,
        "enrolled": 0,
        "marked_left": 0,
        "marked_alumni": 0,
        "outcomes_recorded": 0,
    }
    # Roll numbers in the new sections follow names.
    assert placed == {
        "Aarav Sharma": ("7", "A", 1, "active"),
        "Diya Singh": ("7", "A", 2, "active"),
        "Kabir Khan": ("6", "A", 1, "active"),
        "Ishaan Patel": ("7", "B", 1, "active"),
        "Meera Iyer": (None, None, None, "left"),
        "Rohan Singh": ("8", "A", 1, "active"),
        "Nikhil Das": (None, None, None, "alumni"),
    }
    assert [e["outcome"] for e in kabir["enrolments"]] == [None, "held_back"]
    # The new year is current now: there is nothing left to promote into it.
    assert preview_after.status_code == 422
    assert audit["total"] == 1


async def test_a_named_student_not_enrolled_this_year_is_refused(
    client_for, records, next_year
) -> None:
    body = _body(next_year, records)
    body["held_back"] = [str(records.year_id)]  # not a student at all
    both = _body(next_year, records, held_back=["Aarav"], leaving=["Aarav"])
    async with client_for("api") as api:
        unknown = await api.post("/promotions/preview", json=body, headers=records.admin.headers)
        clash = await api.post("/promotions/apply", json=both, headers=records.admin.headers)
        teacher = await api.post(
            "/promotions/apply", json=_body(next_year, records), headers=records.sunita.headers
        )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "promotion_refused"
    assert clash.status_code == 422
    assert teacher.status_code == 403
