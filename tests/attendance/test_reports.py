"""Reports: section register, month percentages, today's summary per class,
chronic absentees; each also as CSV, each scoped to what the caller may see."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from tests.attendance.test_marking import register
from tests.school_records import academic_year_of, today

PATTERN = {  # the last ten school days, oldest first
    "Aarav": "PPPPPPPPPP",
    "Diya": "PAPAPAPAPP",
    "Kabir": "AAAAPAAAAP",
}


@pytest.fixture
async def history(client_for, records):  # type: ignore[no-untyped-def]
    _, starts, _ = academic_year_of(today())
    if today() - timedelta(days=9) < starts:
        pytest.skip("the academic year is younger than ten days")
    days = [today() - timedelta(days=n) for n in range(9, -1, -1)]
    h = records.admin.headers
    async with client_for("api") as api:
        await api.put(
            "/attendance/settings", json={"mode": "daily", "edit_window_days": 30}, headers=h
        )
        for n, day in enumerate(days):
            codes = {name: marks[n] for name, marks in PATTERN.items()}
            answer = await api.post(
                "/attendance/bulk", json=register(records, "6-A", codes, day=day), headers=h
            )
            assert answer.status_code == 200, answer.text
    return days


def _csv_rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


async def test_section_register_for_a_day_and_as_csv(client_for, records, history) -> None:
    query = f"section_id={records.sections['6-A']}&date={history[1]}"
    async with client_for("api") as api:
        sheet = (
            await api.get(f"/attendance/register?{query}", headers=records.sunita.headers)
        ).json()
        as_csv = await api.get(f"/attendance/register.csv?{query}", headers=records.sunita.headers)
    assert sheet["counts"] == {"P": 1, "A": 2}
    assert _csv_rows(as_csv) == [
        ["roll_number", "admission_number", "name", "code"],
        ["1", "GV-001", "Aarav Sharma", "P"],
        ["2", "GV-002", "Diya Singh", "A"],
        ["3", "GV-003", "Kabir Khan", "A"],
    ]


async def test_month_percentages_for_a_section_and_a_student(client_for, records, history) -> None:
    month = f"{today():%Y-%m}"
    in_month = [n for n, day in enumerate(history) if f"{day:%Y-%m}" == month]

    def expected(name: str) -> tuple[int, int]:
        marks = [PATTERN[name][n] for n in in_month]
        return len(marks), marks.count("P")

    async with client_for("api") as api:
        monthly = (
            await api.get(
                f"/attendance/reports/monthly?section_id={records.sections['6-A']}&month={month}",
                headers=records.sunita.headers,
            )
        ).json()
        as_csv = await api.get(
            f"/attendance/reports/monthly.csv?section_id={records.sections['6-A']}&month={month}",
            headers=records.admin.headers,
        )
        diya = (
            await api.get(
                f"/attendance/reports/students/{records.students['Diya']}?month={month}",
                headers=records.parent.headers,
            )
        ).json()
        diya_csv = await api.get(
            f"/attendance/reports/students/{records.students['Diya']}.csv?month={month}",
            headers=records.parent.headers,
        )
        not_mine = await api.get(
            f"/attendance/reports/students/{records.students['Aarav']}?month={month}",
            headers=records.parent.headers,
        )
        other_section = await api.get(
            f"/attendance/reports/monthly?section_id={records.sections['6-A']}&month={month}",
            headers=records.ravi.headers,
        )
    rows = {r["name"]: (r["marked"], r["present"]) for r in monthly["rows"]}
    assert rows == {
        "Aarav Sharma": expected("Aarav"),
        "Diya Singh": expected("Diya"),
        "Kabir Khan": expected("Kabir"),
    }
    marked, present = expected("Diya")
    assert diya["percent"] == round(present * 100 / marked, 1)
    assert (diya["marked"], diya["present"]) == (marked, present)
    assert len(_csv_rows(as_csv)) == 4
    assert len(_csv_rows(diya_csv)) == marked + 1
    assert not_mine.status_code == 404
    assert other_section.status_code == 404


async def test_today_summary_per_class(client_for, records) -> None:
    async with client_for("api") as api:
        await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "P", "Diya": "A", "Kabir": "L"}),
            headers=records.sunita.headers,
        )
        school = (await api.get("/attendance/reports/today", headers=records.admin.headers)).json()
        teacher = (
            await api.get("/attendance/reports/today", headers=records.sunita.headers)
        ).json()
        as_csv = await api.get("/attendance/reports/today.csv", headers=records.admin.headers)
    by_class = {
        c["class_name"]: (c["enrolled"], c["present"], c["absent"], c["not_marked"])
        for c in school["classes"]
    }
    assert by_class == {"6": (5, 2, 1, 2), "7": (1, 0, 0, 1)}
    assert (school["enrolled"], school["present"], school["absent"], school["not_marked"]) == (
        6,
        2,
        1,
        3,
    )
    assert [(c["class_name"], c["enrolled"]) for c in teacher["classes"]] == [("6", 3)]
    assert _csv_rows(as_csv)[1] == ["6", "5", "2", "1", "2"]


async def test_chronic_absentees_below_the_threshold(client_for, records, history) -> None:
    async with client_for("api") as api:
        report = (
            await api.get(
                "/attendance/reports/chronic-absentees?threshold=75&days=10",
                headers=records.admin.headers,
            )
        ).json()
        stricter = (
            await api.get(
                "/attendance/reports/chronic-absentees?threshold=50&days=10",
                headers=records.admin.headers,
            )
        ).json()
        as_csv = await api.get(
            "/attendance/reports/chronic-absentees.csv?days=10", headers=records.admin.headers
        )
        parent = (
            await api.get("/attendance/reports/chronic-absentees", headers=records.parent.headers)
        ).json()
    assert report["school_days"] == 10
    assert (report["from_date"], report["to_date"]) == (str(history[0]), str(history[-1]))
    assert [(r["name"], r["percent"], r["section_label"]) for r in report["rows"]] == [
        ("Kabir Khan", 20.0, "6-A"),
        ("Diya Singh", 60.0, "6-A"),
    ]
    assert [r["name"] for r in stricter["rows"]] == ["Kabir Khan"]
    assert _csv_rows(as_csv)[1][:3] == ["GV-003", "Kabir Khan", "6-A"]
    assert parent["rows"] == []


async def test_a_teacher_no_longer_reads_last_years_section(client_for, records) -> None:
    section = records.sections["6-A"]
    async with client_for("api") as api:
        before = await api.get(
            f"/attendance/register?section_id={section}&date={today()}",
            headers=records.sunita.headers,
        )
        new_year = await api.post(
            "/academic-years",
            json={
                "name": "2027-28",
                "starts_on": "2027-04-01",
                "ends_on": "2028-03-31",
                "is_current": True,
            },
            headers=records.admin.headers,
        )
        assert new_year.status_code == 201, new_year.text
        after = await api.get(
            f"/attendance/register?section_id={section}&date={today()}",
            headers=records.sunita.headers,
        )
        by_admin = await api.get(
            f"/attendance/register?section_id={section}&date={today()}",
            headers=records.admin.headers,
        )
    assert before.status_code == 200
    assert after.status_code == 404
    assert by_admin.status_code == 200
