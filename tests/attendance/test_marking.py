"""Marking a register: one request per section, idempotent, refused on closed or
future days, teachers only in their own sections, edits after the day only for
permitted roles within the window, all audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.school_records import academic_year_of, post_ok, today


def register(records, label: str, codes: dict[str, str], day=None, **extra) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "section_id": str(records.sections[label]),
        "date": str(day or today()),
        "marks": [{"student_id": str(records.students[n]), "code": c} for n, c in codes.items()],
        **extra,
    }


def yesterday_in_year() -> Any:
    _, starts, _ = academic_year_of(today())
    if today() == starts:
        pytest.skip("the academic year starts today: no earlier day to edit")
    return today() - timedelta(days=1)


async def test_class_teacher_marks_the_section_in_one_request(client_for, records) -> None:
    body = register(records, "6-A", {"Aarav": "P", "Diya": "a", "Kabir": "L"})
    async with client_for("api") as api:
        answer = await api.post("/attendance/bulk", json=body, headers=records.sunita.headers)
        sheet = (
            await api.get(
                f"/attendance/register?section_id={records.sections['6-A']}&date={today()}",
                headers=records.sunita.headers,
            )
        ).json()
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["marked"], result["changed"]) == (3, 3)
    assert result["counts"] == {"P": 1, "A": 1, "L": 1}
    assert [(r["name"], r["code"]) for r in sheet["rows"]] == [
        ("Aarav Sharma", "P"),
        ("Diya Singh", "A"),
        ("Kabir Khan", "L"),
    ]
    assert sheet["not_marked"] == 0


async def test_teacher_is_refused_on_another_teachers_section(client_for, records) -> None:
    body = register(records, "6-B", {"Ishaan": "P", "Meera": "P"})
    async with client_for("api") as api:
        answer = await api.post("/attendance/bulk", json=body, headers=records.sunita.headers)
        sheet = (
            await api.get(
                f"/attendance/register?section_id={records.sections['6-B']}&date={today()}",
                headers=records.ravi.headers,
            )
        ).json()
        peek = await api.get(
            f"/attendance/register?section_id={records.sections['6-B']}&date={today()}",
            headers=records.sunita.headers,
        )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "not_your_section"
    assert "6-B" in answer.json()["error"]["message"]
    assert sheet["not_marked"] == 2
    assert peek.status_code == 404


async def test_a_repeat_with_the_same_key_returns_the_first_answer(client_for, records) -> None:
    body = register(records, "6-A", {"Aarav": "P", "Diya": "A", "Kabir": "P"})
    headers = {**records.sunita.headers, "Idempotency-Key": "6a-today-1"}
    async with client_for("api") as api:
        first = await api.post("/attendance/bulk", json=body, headers=headers)
        again = await api.post("/attendance/bulk", json=body, headers=headers)
        changed = register(records, "6-A", {"Aarav": "A", "Diya": "A", "Kabir": "P"})
        clash = await api.post("/attendance/bulk", json=changed, headers=headers)
        fresh = await api.post(
            "/attendance/bulk",
            json=body,
            headers={**records.sunita.headers, "Idempotency-Key": "6a-2"},
        )
        audit = (
            await api.get("/audit?entity=attendance_register", headers=records.admin.headers)
        ).json()
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "idempotency_key_reused"
    # Sent again under a new key: nothing changes, so nothing is rewritten.
    assert fresh.json()["changed"] == 0
    assert audit["total"] == 2  # the replay wrote nothing


async def test_holidays_weekly_offs_and_future_dates_are_refused(client_for, records) -> None:
    h = records.admin.headers
    day = today()
    async with client_for("api") as api:
        future = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "P"}, day=day + timedelta(days=1)),
            headers=h,
        )
        holiday = await post_ok(api, "/holidays", {"date": str(day), "name": "Diwali"}, h)
        on_holiday = await api.post(
            "/attendance/bulk", json=register(records, "6-A", {"Aarav": "P"}), headers=h
        )
        await api.delete(f"/holidays/{holiday['id']}", headers=h)
        weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
        await api.put("/calendar", json={"weekly_offs": [weekday]}, headers=h)
        weekly_off = await api.post(
            "/attendance/bulk", json=register(records, "6-A", {"Aarav": "P"}), headers=h
        )
        sheet = (
            await api.get(
                f"/attendance/register?section_id={records.sections['6-A']}&date={day}", headers=h
            )
        ).json()
    assert future.status_code == 422
    assert future.json()["error"]["code"] == "date_in_future"
    assert on_holiday.status_code == 422
    assert on_holiday.json()["error"]["code"] == "not_a_school_day"
    assert "Diwali" in on_holiday.json()["error"]["message"]
    assert weekly_off.status_code == 422
    assert sheet["not_marked"] == 3


async def test_unknown_codes_and_strangers_are_refused_whole(client_for, records) -> None:
    h = records.sunita.headers
    async with client_for("api") as api:
        unknown = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "P", "Diya": "Z"}),
            headers=h,
        )
        stranger = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "P", "Rohan": "P"}),
            headers=h,
        )
        twice = await api.post(
            "/attendance/bulk",
            json={
                **register(records, "6-A", {"Aarav": "P"}),
                "marks": [
                    {"student_id": str(records.students["Aarav"]), "code": "P"},
                    {"student_id": str(records.students["Aarav"]), "code": "A"},
                ],
            },
            headers=h,
        )
        sheet = (
            await api.get(
                f"/attendance/register?section_id={records.sections['6-A']}&date={today()}",
                headers=h,
            )
        ).json()
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_attendance_code"
    assert stranger.status_code == 422
    assert stranger.json()["error"]["code"] == "student_not_in_section"
    assert stranger.json()["error"]["details"]["student_ids"] == [str(records.students["Rohan"])]
    assert twice.status_code == 422
    assert sheet["not_marked"] == 3  # Aarav's P was not kept either


async def test_only_permitted_roles_edit_after_the_day_within_the_window(
    client_for, records, make_user
) -> None:
    principal = await make_user("principal", name="Rajesh Iyer")
    day = yesterday_in_year()
    async with client_for("api") as api:
        marked = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "A", "Diya": "P"}, day=day),
            headers=records.admin.headers,
        )
        teacher_late = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "P"}, day=day),
            headers=records.sunita.headers,
        )
        teacher_fix = await api.post(
            "/attendance/corrections",
            json=register(records, "6-A", {"Aarav": "P"}, day=day),
            headers=records.sunita.headers,
        )
        corrected = await api.post(
            "/attendance/corrections",
            json=register(records, "6-A", {"Aarav": "P"}, day=day),
            headers=principal.headers,
        )
        await api.put(
            "/attendance/settings",
            json={"mode": "daily", "edit_window_days": 0},
            headers=records.admin.headers,
        )
        too_late = await api.post(
            "/attendance/corrections",
            json=register(records, "6-A", {"Aarav": "A"}, day=day),
            headers=principal.headers,
        )
        audit = (
            await api.get("/audit?action=attendance.correct", headers=records.admin.headers)
        ).json()
    assert marked.status_code == 200, marked.text
    assert teacher_late.status_code == 403
    assert teacher_late.json()["error"]["code"] == "edit_not_allowed"
    assert teacher_fix.status_code == 403  # corrections need attendance:edit
    assert corrected.status_code == 200 and corrected.json()["changed"] == 1
    assert too_late.status_code == 403
    assert too_late.json()["error"]["code"] == "edit_window_closed"
    latest = audit["items"][0]
    assert latest["actor_user_id"] == str(principal.user_id)
    assert latest["changes"]["edits"] == {
        str(records.students["Aarav"]): {"before": "A", "after": "P"}
    }


async def test_period_wise_mode_marks_each_lesson(client_for, records) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        await api.put(
            "/attendance/settings", json={"mode": "period", "periods_per_day": 6}, headers=h
        )
        without = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "P"}),
            headers=records.sunita.headers,
        )
        first = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "P", "Diya": "P", "Kabir": "P"}, period=1),
            headers=records.sunita.headers,
        )
        third = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "P", "Diya": "A", "Kabir": "P"}, period=3),
            headers=records.sunita.headers,
        )
        beyond = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "P"}, period=7),
            headers=records.sunita.headers,
        )
        lesson = (
            await api.get(
                f"/attendance/register?section_id={records.sections['6-A']}"
                f"&date={today()}&period=3",
                headers=h,
            )
        ).json()
    assert without.status_code == 422 and without.json()["error"]["code"] == "wrong_period"
    assert first.status_code == third.status_code == 200
    assert beyond.status_code == 422
    assert [r["code"] for r in lesson["rows"]] == ["P", "A", "P"]


async def test_codes_are_configurable_per_school(client_for, records) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        defaults = (await api.get("/attendance/codes", headers=h)).json()
        added = await api.put(
            "/attendance/codes/SL",
            json={"label": "Sick leave", "counts_as_present": False, "sort_order": 7},
            headers=h,
        )
        used = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "SL"}),
            headers=records.sunita.headers,
        )
        await api.put(
            "/attendance/codes/SL",
            json={"label": "Sick leave", "counts_as_present": False, "is_active": False},
            headers=h,
        )
        retired = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Diya": "SL"}),
            headers=records.sunita.headers,
        )
        teacher = await api.put(
            "/attendance/codes/XX",
            json={"label": "X", "counts_as_present": True},
            headers=records.sunita.headers,
        )
    assert [(c["code"], c["counts_as_present"], c["alerts_guardians"]) for c in defaults] == [
        ("P", True, False),
        ("A", False, True),
        ("L", True, False),
        ("HD", True, False),
        ("LV", False, False),
        ("EX", True, False),
    ]
    assert added.status_code == 200
    assert used.json()["counts"] == {"SL": 1}
    assert retired.status_code == 422
    assert teacher.status_code == 403
