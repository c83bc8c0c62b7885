"""Spreadsheet import (preview lists every bad row, commit writes all or none, as a
job with progress) and export in the same columns (round trip)."""

from __future__ import annotations

import csv
import io

import psycopg
from openpyxl import Workbook, load_workbook

from erplake.core.db import libpq_url
from erplake.students.spreadsheet import COLUMNS

GOOD = {
    "admission_number": "GV-500",
    "name": "Zoya Ahmed",
    "date_of_birth": "14/08/2015",
    "gender": "F",
    "category": "",
    "status": "",
    "class": "VI",
    "section": "a",
    "roll_number": "10",
    "admitted_on": "",
    "guardian1_name": "Farhan Ahmed",
    "guardian1_relation": "Father",
    "guardian1_phone": "98200 00001",
    "guardian1_whatsapp": "yes",
    "guardian1_language": "Hindi",
    "guardian2_name": "",
    "guardian2_relation": "",
    "guardian2_phone": "",
    "guardian2_whatsapp": "",
    "guardian2_language": "",
}


def _csv(rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _row(**changes: str) -> dict[str, str]:
    return {**GOOD, **changes}


def _upload(data: bytes, name: str = "roster.csv") -> dict:  # type: ignore[type-arg]
    return {"file": (name, data, "text/csv")}


async def _count_students(api, headers) -> int:  # type: ignore[no-untyped-def]
    return int((await api.get("/students?limit=1", headers=headers)).json()["total"])


async def test_preview_lists_every_bad_row_kind_and_writes_nothing(client_for, records) -> None:
    rows = [
        _row(),  # row 2: good
        _row(admission_number=""),  # 3
        _row(admission_number="GV-500", name="Again"),  # 4: repeats row 2
        _row(admission_number="GV-001"),  # 5: already in the school
        _row(admission_number="GV-501", name=""),  # 6
        _row(admission_number="GV-502", date_of_birth="31/02/2015"),  # 7
        _row(admission_number="GV-503", date_of_birth="2099-01-01"),  # 8
        _row(admission_number="GV-504", gender="x"),  # 9
        _row(admission_number="GV-505", category="vip"),  # 10
        _row(admission_number="GV-506", **{"class": "13"}),  # 11
        _row(admission_number="GV-507", section="Q"),  # 12
        _row(admission_number="GV-508", roll_number="ten"),  # 13
        _row(admission_number="GV-509"),  # 14: roll 10 in 6-A again (row 2)
        _row(admission_number="GV-510", roll_number="1"),  # 15: roll 1 taken by Aarav
        _row(admission_number="GV-511", guardian1_phone="011 2345 6789"),  # 16: landline
        _row(admission_number="GV-512", roll_number="", guardian1_phone=""),  # 17
        _row(admission_number="GV-513", roll_number="", guardian1_name="Someone Else"),  # 18
        _row(admission_number="GV-514", roll_number="", guardian1_whatsapp="maybe"),  # 19
        _row(admission_number="GV-515", roll_number="", guardian1_language="fr"),  # 20
        _row(admission_number="GV-516", roll_number="", guardian2_phone="98200 00009"),  # 21
        _row(admission_number="GV 517", roll_number=""),  # 22
        _row(admission_number="GV-518", roll_number="", section=""),  # 23
    ]
    h = records.admin.headers
    async with client_for("api") as api:
        before = await _count_students(api, h)
        answer = await api.post("/students/import/preview", files=_upload(_csv(rows)), headers=h)
        after = await _count_students(api, h)
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    found = {(e["row"], e["column"]): e["reason"] for e in preview["errors"]}
    expected = {
        (3, "admission_number"): "required",
        (4, "admission_number"): "repeats row 2",
        (5, "admission_number"): "already used by a student of this school",
        (6, "name"): "required",
        (7, "date_of_birth"): "not a date (use YYYY-MM-DD or DD/MM/YYYY)",
        (8, "date_of_birth"): "not a plausible date of birth",
        (9, "gender"): "unknown gender (use female, male, other)",
        (10, "category"): "unknown category (use ews, general, obc, sc, st)",
        (11, "class"): "no such class",
        (12, "section"): "no section 6-Q in " + preview_year(records),
        (13, "roll_number"): "a whole number from 1 to 999",
        (14, "roll_number"): "repeats row 2 in the same section",
        (15, "roll_number"): "already taken in this section",
        (17, "guardian1_phone"): "required with a guardian name",
        (18, "guardian1_phone"): "row 2 gives this phone to Farhan Ahmed",
        (19, "guardian1_whatsapp"): "use yes or no",
        (20, "guardian1_language"): "unknown language (use en, hi)",
        (21, "guardian2_name"): "required with a guardian phone",
        (23, "section"): "required",
    }
    for key, reason in expected.items():
        assert found.get(key) == reason, (key, found.get(key))
    assert "landline" in found[(16, "guardian1_phone")]
    assert (22, "admission_number") in found
    assert preview["rows"] == 22
    assert preview["valid"] == 1
    assert preview["sample"][0]["name"] == "Zoya Ahmed"
    assert before == after


def preview_year(records) -> str:  # type: ignore[no-untyped-def]
    from tests.school_records import academic_year_of, today

    return academic_year_of(today())[0]


async def test_a_missing_column_is_reported_on_the_header_row(client_for, records) -> None:
    columns = [c for c in COLUMNS if c != "date_of_birth"]
    async with client_for("api") as api:
        answer = await api.post(
            "/students/import/preview",
            files=_upload(_csv([_row()], columns)),
            headers=records.admin.headers,
        )
    assert answer.json()["errors"] == [
        {"row": 1, "column": "date_of_birth", "reason": "missing column", "value": None}
    ]


async def test_commit_with_a_bad_row_is_refused_whole(client_for, records) -> None:
    rows = [_row(), _row(admission_number="GV-501", gender="?")]
    h = records.admin.headers
    async with client_for("api") as api:
        before = await _count_students(api, h)
        answer = await api.post("/students/import", files=_upload(_csv(rows)), headers=h)
        after = await _count_students(api, h)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "import_rejected"
    assert answer.json()["error"]["details"]["errors"][0]["row"] == 3
    assert before == after


async def test_import_is_a_job_with_progress_that_writes_every_row(
    client_for, records, drain_outbox, settings
) -> None:
    rows = [
        _row(),
        # A sibling: the same guardian phone is one guardian.
        _row(admission_number="GV-501", name="Adil Ahmed", gender="m", roll_number="11"),
        _row(
            admission_number="GV-502",
            name="Sara Thomas",
            roll_number="",
            section="B",
            guardian1_name="Jacob Thomas",
            guardian1_phone="98200 00002",
            guardian2_name="Mary Thomas",
            guardian2_relation="mother",
            guardian2_phone="98200 00003",
            guardian2_whatsapp="no",
        ),
    ]
    h = records.admin.headers
    async with client_for("api") as api:
        started = await api.post("/students/import", files=_upload(_csv(rows)), headers=h)
        assert started.status_code == 202, started.text
        job = started.json()
        queued = (await api.get(job["status_url"], headers=h)).json()
        hidden = await api.get(job["status_url"], headers=records.sunita.headers)
        assert await drain_outbox(settings) == 1
        done = (await api.get(job["status_url"], headers=h)).json()
        zoya = (await api.get("/students?q=zoya", headers=h)).json()["items"][0]
        farhan = (await api.get("/guardians?q=Farhan", headers=h)).json()["items"][0]
        audit = (await api.get("/audit?action=students.import", headers=h)).json()
    assert job["rows"] == 3
    assert (queued["status"], queued["total"], queued["percent"]) == ("pending", 3, 0)
    assert hidden.status_code == 404
    assert done["status"] == "done" and done["percent"] == 100
    assert done["result"] == {"students": 3, "guardians_created": 3, "enrolments": 3}
    assert (zoya["class_name"], zoya["section_name"], zoya["roll_number"]) == ("6", "A", 10)
    assert [c["name"] for c in farhan["children"]] == ["Adil Ahmed", "Zoya Ahmed"]
    assert farhan["preferred_language"] == "hi" and farhan["whatsapp_opt_in"] is True
    assert audit["total"] == 1


async def test_import_writes_nothing_when_a_clash_appears_before_the_job_runs(
    client_for, records, drain_outbox, settings
) -> None:
    rows = [_row(), _row(admission_number="GV-501", name="Adil Ahmed", roll_number="11")]
    h = records.admin.headers
    async with client_for("api") as api:
        job = (await api.post("/students/import", files=_upload(_csv(rows)), headers=h)).json()
        # Someone admits GV-501 by hand before the worker gets to the file.
        await api.post(
            "/students",
            json={
                "admission_number": "GV-501",
                "name": "By Hand",
                "date_of_birth": "2015-01-01",
                "gender": "male",
            },
            headers=h,
        )
        before = await _count_students(api, h)
        await drain_outbox(settings)
        failed = (await api.get(job["status_url"], headers=h)).json()
        after = await _count_students(api, h)
    assert failed["status"] == "failed"
    assert failed["error"]["details"]["errors"][0]["reason"] == (
        "already used by a student of this school"
    )
    assert before == after  # all or none: Zoya (row 2) was not written either


async def test_csv_export_imports_back_unchanged(
    client_for, records, drain_outbox, settings, database_url
) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        exported = await api.get("/students/export", headers=h)
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        _forget_students(database_url)
        started = await api.post("/students/import", files=_upload(exported.content), headers=h)
        assert started.status_code == 202, started.text
        await drain_outbox(settings)
        again = await api.get("/students/export", headers=h)
    assert again.content == exported.content
    header, *lines = exported.content.decode().splitlines()
    assert header.split(",") == COLUMNS
    assert len(lines) == 6


async def test_xlsx_export_imports_back_unchanged(
    client_for, records, drain_outbox, settings, database_url
) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        exported = await api.get("/students/export?format=xlsx", headers=h)
        _forget_students(database_url)
        started = await api.post(
            "/students/import",
            files={"file": ("roster.xlsx", exported.content, "application/octet-stream")},
            headers=h,
        )
        assert started.status_code == 202, started.text
        await drain_outbox(settings)
        again = await api.get("/students/export?format=xlsx", headers=h)
    first = list(load_workbook(io.BytesIO(exported.content)).active.values)
    second = list(load_workbook(io.BytesIO(again.content)).active.values)
    assert first == second
    assert list(first[0]) == COLUMNS and len(first) == 7


async def test_xlsx_cells_typed_as_numbers_and_dates_are_read(client_for, records) -> None:
    from datetime import datetime

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    values = dict(GOOD)
    row = [values[c] for c in COLUMNS]
    row[COLUMNS.index("date_of_birth")] = datetime(2015, 8, 14)
    row[COLUMNS.index("roll_number")] = 10
    row[COLUMNS.index("guardian1_phone")] = 9820000001
    sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    async with client_for("api") as api:
        answer = await api.post(
            "/students/import/preview",
            files={"file": ("roster.xlsx", out.getvalue(), "application/octet-stream")},
            headers=records.admin.headers,
        )
    assert answer.json()["errors"] == []
    assert answer.json()["valid"] == 1


def _forget_students(database_url: str) -> None:
    """The school loses its roster (as a new install would not have it)."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("DELETE FROM students")
        conn.execute("DELETE FROM guardians")


async def test_a_refusal_midway_through_writing_keeps_nothing(
    client_for, records, drain_outbox, settings, monkeypatch
) -> None:
    """A clash found while writing (after some rows were flushed) rolls back all."""
    from erplake.core.errors import Conflict
    from erplake.students import spreadsheet

    original = spreadsheet._write_students
    calls = 0

    async def clash_on_second_chunk(session, school_id, part):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Conflict("admission number taken meanwhile")
        return await original(session, school_id, part)

    monkeypatch.setattr(spreadsheet, "_write_students", clash_on_second_chunk)
    monkeypatch.setattr(spreadsheet, "WRITE_CHUNK", 1)
    rows = [_row(), _row(admission_number="GV-501", name="Adil Ahmed", roll_number="11")]
    h = records.admin.headers
    async with client_for("api") as api:
        before = await _count_students(api, h)
        guardians_before = (await api.get("/guardians", headers=h)).json()["total"]
        job = (await api.post("/students/import", files=_upload(_csv(rows)), headers=h)).json()
        await drain_outbox(settings)
        failed = (await api.get(job["status_url"], headers=h)).json()
        after = await _count_students(api, h)
        guardians_after = (await api.get("/guardians", headers=h)).json()["total"]
    assert failed["status"] == "failed"
    assert calls == 2, "the import never reached its second chunk"
    assert (after, guardians_after) == (before, guardians_before)
