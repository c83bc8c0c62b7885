"""Leave: a parent applies for their child, the class teacher approves, the days
become LV, and an absence marked on such a day is leave (no alert)."""

from __future__ import annotations

from datetime import timedelta

from tests.attendance.test_marking import register
from tests.school_records import post_ok, today


def _leave(records, name: str, days: int = 2, start=None) -> dict:  # type: ignore[no-untyped-def, type-arg]
    start = start or today()
    return {
        "student_id": str(records.students[name]),
        "from_date": str(start),
        "to_date": str(start + timedelta(days=days)),
        "reason": "Family wedding in Jaipur",
    }


async def test_parent_applies_class_teacher_approves_and_days_become_leave(
    client_for, records
) -> None:
    p = records.parent.headers
    async with client_for("api") as api:
        applied = await api.post("/leave-applications", json=_leave(records, "Diya"), headers=p)
        leave_id = applied.json()["id"]
        other_teacher = await api.post(
            f"/leave-applications/{leave_id}/approve", json={}, headers=records.ravi.headers
        )
        # Teaching a subject in 6-A shows Ravi the child, but he is not her class teacher.
        maths = await post_ok(
            api, "/subjects", {"code": "MATH", "name": "Maths"}, records.admin.headers
        )
        await post_ok(
            api,
            "/teacher-assignments",
            {
                "section_id": str(records.sections["6-A"]),
                "teacher_id": str(records.ravi.user_id),
                "role": "subject_teacher",
                "subject_id": maths["id"],
            },
            records.admin.headers,
        )
        subject_teacher = await api.post(
            f"/leave-applications/{leave_id}/approve", json={}, headers=records.ravi.headers
        )
        approved = await api.post(
            f"/leave-applications/{leave_id}/approve",
            json={"note": "Enjoy"},
            headers=records.sunita.headers,
        )
        twice = await api.post(
            f"/leave-applications/{leave_id}/approve", json={}, headers=records.sunita.headers
        )
        # The teacher marks the register later and ticks Diya absent: it is leave.
        marked = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "P", "Diya": "A", "Kabir": "P"}),
            headers=records.sunita.headers,
        )
        sheet = (
            await api.get(
                f"/attendance/register?section_id={records.sections['6-A']}&date={today()}",
                headers=records.sunita.headers,
            )
        ).json()
        listed = (await api.get("/leave-applications", headers=p)).json()
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "pending"
    assert other_teacher.status_code == 404
    assert subject_teacher.status_code == 403
    assert subject_teacher.json()["error"]["code"] == "not_class_teacher"
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["days_marked"]) == ("approved", 3)
    assert twice.status_code == 409
    assert (marked.json()["on_leave"], marked.json()["alerts_queued"]) == (1, 0)
    assert [r["code"] for r in sheet["rows"]] == ["P", "LV", "P"]
    assert [item["decision_note"] for item in listed["items"]] == ["Enjoy"]


async def test_parent_cannot_apply_for_someone_elses_child(client_for, records) -> None:
    async with client_for("api") as api:
        answer = await api.post(
            "/leave-applications", json=_leave(records, "Aarav"), headers=records.parent.headers
        )
        teacher = await api.post(
            "/leave-applications", json=_leave(records, "Aarav"), headers=records.sunita.headers
        )
    assert answer.status_code == 404
    assert teacher.status_code == 403  # teachers do not apply for leave


async def test_rejecting_overlapping_and_withdrawing(client_for, records) -> None:
    p = records.parent.headers
    async with client_for("api") as api:
        first = (
            await api.post("/leave-applications", json=_leave(records, "Rohan"), headers=p)
        ).json()
        overlap = await api.post(
            "/leave-applications",
            json=_leave(records, "Rohan", start=today() + timedelta(days=1)),
            headers=p,
        )
        # 7-A has no class teacher: staff decide.
        by_teacher = await api.post(
            f"/leave-applications/{first['id']}/reject", json={}, headers=records.sunita.headers
        )
        rejected = await api.post(
            f"/leave-applications/{first['id']}/reject",
            json={"note": "Exams that week"},
            headers=records.admin.headers,
        )
        second = (
            await api.post("/leave-applications", json=_leave(records, "Rohan"), headers=p)
        ).json()
        withdrawn = await api.post(f"/leave-applications/{second['id']}/cancel", headers=p)
        pending = (
            await api.get("/leave-applications?status=pending", headers=records.admin.headers)
        ).json()
    assert overlap.status_code == 409
    assert by_teacher.status_code == 404  # Rohan is not in Sunita's sections
    assert rejected.json()["status"] == "rejected"
    assert withdrawn.json()["status"] == "cancelled"
    assert pending["total"] == 0
