"""Invoice generation (preview, the job, scopes, concessions in SQL, no duplicates
however often or concurrently it runs), invoice lists scoped to what the caller may
see, and cancellation and write-off through the ledger.

The school (tests.school_records): 6-A Aarav, Diya, Kabir; 6-B Ishaan, Meera; 7-A
Rohan. Class 6 pays tuition 12,000.00 a year and transport 4,000.03 a year, both split
into quarters; class 7 pays tuition 4,000.00 in Quarters 1 and 2 only.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from erplake.core.db import transaction
from erplake.fees import ledger
from erplake.fees.invoicing import generate_invoices
from erplake.fees.schemas import InvoiceScope
from erplake.models.fees import Invoice, InvoiceLine, LedgerEntry
from erplake.models.outbox import OutboxJob
from tests.school_records import academic_year_of, today

Q1_CLASS_6 = 300_000 + 100_003
Q1_CLASS_7 = 400_000


@dataclass
class Fees:
    heads: dict[str, str]
    instalments: dict[str, str]


async def ok(api: httpx.AsyncClient, method: str, path: str, h: Any, body: Any = None) -> Any:
    answer = await api.request(method, path, json=body, headers=h)
    assert answer.status_code in (200, 201, 202, 204), answer.text
    return answer.json() if answer.content else None


async def set_up_fees(api: httpx.AsyncClient, records: Any) -> Fees:
    """Heads, the year's quarters and the structures of classes 6 and 7."""
    h = records.admin.headers
    heads = {
        code: (await ok(api, "POST", "/fees/heads", h, {"code": code, "name": name}))["id"]
        for code, name in (("TUITION", "Tuition fee"), ("TRANSPORT", "Transport fee"))
    }
    quarters = await ok(api, "POST", "/fees/instalments/plan", h, {"frequency": "quarterly"})
    instalments = {q["name"]: q["id"] for q in quarters}
    await ok(
        api,
        "POST",
        "/fees/structures",
        h,
        {
            "class_id": str(records.classes["6"]),
            "name": "Class 6",
            "splits": [
                {"head_id": heads["TUITION"], "annual_amount": 1_200_000, "frequency": "quarterly"},
                {"head_id": heads["TRANSPORT"], "annual_amount": 400_003, "frequency": "quarterly"},
            ],
        },
    )
    await ok(
        api,
        "POST",
        "/fees/structures",
        h,
        {
            "class_id": str(records.classes["7"]),
            "name": "Class 7",
            "lines": [
                {"head_id": heads["TUITION"], "instalment_id": instalments[q], "amount": 400_000}
                for q in ("Quarter 1", "Quarter 2")
            ],
        },
    )
    return Fees(heads=heads, instalments=instalments)


async def run_generation(
    api: httpx.AsyncClient, h: Any, drain_outbox: Any, settings: Any, body: dict[str, Any]
) -> dict[str, Any]:
    """Generate through the API and the outbox; the finished job's progress."""
    started = await api.post("/invoices/generate", json=body, headers=h)
    assert started.status_code == 202, started.text
    await drain_outbox(settings)
    job: dict[str, Any] = (await api.get(started.json()["status_url"], headers=h)).json()
    return job


def school_scope(instalment_id: str) -> dict[str, Any]:
    return {"instalment_id": instalment_id, "scope": {"school": True}}


async def invoices_by_student(api: httpx.AsyncClient, h: Any, **filters: Any) -> dict[str, Any]:
    query = "&".join(f"{k}={v}" for k, v in {"limit": 200, **filters}.items())
    page = await ok(api, "GET", f"/invoices?{query}", h)
    return {i["student_name"].split()[0]: i for i in page["items"]}


async def no_discrepancies(resources: Any, school_id: uuid.UUID) -> None:
    async with transaction(resources.sessionmaker) as session:
        assert await ledger.discrepancies(session, school_id=school_id) == []


async def test_preview_then_a_job_invoices_the_whole_school_in_class_order(
    client_for, records, drain_outbox, settings, resources
) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
        body = school_scope(fees.instalments["Quarter 1"])
        preview = await ok(api, "POST", "/invoices/preview", h, body)
        job = await run_generation(api, h, drain_outbox, settings, body)
        invoices = await invoices_by_student(api, h)
        detail = await ok(api, "GET", f"/invoices/{invoices['Diya']['id']}", h)
        again = await ok(api, "POST", "/invoices/preview", h, body)
        rerun = await run_generation(api, h, drain_outbox, settings, body)
        after = await ok(api, "GET", "/invoices", h)
        audit = await ok(api, "GET", "/audit?action=invoices.generate", h)
    year = academic_year_of(today())[0]
    assert preview == {
        "count": 6,
        "total": 5 * Q1_CLASS_6 + Q1_CLASS_7,
        "concession": 0,
        "already_invoiced": 0,
    }
    assert job["status"] == "done" and job["percent"] == 100
    assert job["result"] == {
        "created": 6,
        "total": 5 * Q1_CLASS_6 + Q1_CLASS_7,
        "first_number": f"INV-{year}-000001",
        "last_number": f"INV-{year}-000006",
        "advance_applied": 0,
    }
    numbered = sorted(invoices.values(), key=lambda i: i["number"])
    assert [i["student_name"].split()[0] for i in numbered] == [
        "Aarav",
        "Diya",
        "Kabir",
        "Ishaan",
        "Meera",
        "Rohan",
    ]
    diya = invoices["Diya"]
    assert (diya["status"], diya["subtotal"], diya["total"], diya["balance"]) == (
        "issued",
        Q1_CLASS_6,
        Q1_CLASS_6,
        Q1_CLASS_6,
    )
    assert diya["section_label"] == "6-A" and diya["instalment_name"] == "Quarter 1"
    assert sorted((ln["description"], ln["amount"]) for ln in detail["lines"]) == [
        ("Transport fee", 100_003),
        ("Tuition fee", 300_000),
    ]
    assert [(e["kind"], e["amount"]) for e in detail["entries"]] == [("invoice", Q1_CLASS_6)]
    assert again["count"] == 0 and again["already_invoiced"] == 6
    assert rerun["status"] == "done" and rerun["result"]["created"] == 0
    assert after["total"] == 6
    assert audit["total"] == 1  # the empty rerun wrote nothing
    await no_discrepancies(resources, records.admin.school_id)


async def test_scopes_a_student_a_section_a_class(
    client_for, records, drain_outbox, settings
) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
        q1 = fees.instalments["Quarter 1"]

        async def preview(scope: dict[str, Any], instalment: str = q1) -> dict[str, Any]:
            result: dict[str, Any] = await ok(
                api, "POST", "/invoices/preview", h, {"instalment_id": instalment, "scope": scope}
            )
            return result

        student = await preview({"student_id": str(records.students["Meera"])})
        section = await preview({"section_id": str(records.sections["6-A"])})
        klass = await preview({"class_id": str(records.classes["7"])})
        nothing_billed = await preview(
            {"class_id": str(records.classes["7"])}, fees.instalments["Quarter 3"]
        )
        await run_generation(
            api,
            h,
            drain_outbox,
            settings,
            {"instalment_id": q1, "scope": {"section_id": str(records.sections["6-A"])}},
        )
        after_section = await invoices_by_student(api, h)
        school = await preview({"school": True})
    assert (student["count"], student["total"]) == (1, Q1_CLASS_6)
    assert (section["count"], section["total"]) == (3, 3 * Q1_CLASS_6)
    assert (klass["count"], klass["total"]) == (1, Q1_CLASS_7)
    assert nothing_billed["count"] == 0
    assert sorted(after_section) == ["Aarav", "Diya", "Kabir"]
    assert (school["count"], school["already_invoiced"]) == (3, 3)


async def test_money_paid_ahead_pays_the_new_invoices(
    client_for, records, drain_outbox, settings, resources
) -> None:
    """Rohan's family paid 5,000.00 before anything was invoiced; the Quarter 1 run
    puts it towards his invoice, and the family's balance says what is still due."""
    h = records.admin.headers
    school_id = records.admin.school_id
    async with transaction(resources.sessionmaker) as session:
        ahead = await ledger.record_payment(
            session,
            None,
            school_id=school_id,
            student_id=records.students["Rohan"],
            amount=500_000,
            method="cash",
            received_on=today(),
        )
    assert ahead.advance == 500_000
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
        job = await run_generation(
            api, h, drain_outbox, settings, school_scope(fees.instalments["Quarter 1"])
        )
        invoices = await invoices_by_student(api, h)
    assert job["result"]["advance_applied"] == 400_000  # all his Quarter 1 asks
    assert (invoices["Rohan"]["status"], invoices["Rohan"]["balance"]) == ("paid", 0)
    assert invoices["Aarav"]["status"] == "issued"  # nobody else paid ahead
    async with resources.sessionmaker() as session:
        owed = await ledger.student_balance(
            session, school_id=school_id, student_id=records.students["Rohan"]
        )
    assert owed == -100_000  # 1,000.00 still held for later quarters
    await no_discrepancies(resources, school_id)


async def test_only_active_students_and_active_heads_are_billed(
    client_for, records, drain_outbox, settings
) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
        await ok(api, "POST", f"/students/{records.students['Meera']}/deactivate", h, {})
        await ok(api, "PATCH", f"/fees/heads/{fees.heads['TRANSPORT']}", h, {"is_active": False})
        job = await run_generation(
            api, h, drain_outbox, settings, school_scope(fees.instalments["Quarter 3"])
        )
        invoices = await invoices_by_student(api, h)
    assert job["result"]["created"] == 4  # class 7 is not billed in Quarter 3
    assert sorted(invoices) == ["Aarav", "Diya", "Ishaan", "Kabir"]
    assert {i["subtotal"] for i in invoices.values()} == {300_000}


async def test_approved_concessions_are_applied_per_line_and_stack_to_the_line(
    client_for, records, drain_outbox, settings, resources, make_user
) -> None:
    h = records.admin.headers
    principal = await make_user("principal")
    s = records.students
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
        tuition, transport = fees.heads["TUITION"], fees.heads["TRANSPORT"]

        async def concession(body: dict[str, Any], decide: str | None = "approve") -> None:
            made = await ok(
                api, "POST", "/fees/concessions", h, {"name": "c", "reason": "r", **body}
            )
            if decide:
                await ok(
                    api, "POST", f"/fees/concessions/{made['id']}/{decide}", principal.headers, {}
                )

        for child in ("Diya", "Rohan"):
            await ok(api, "PUT", f"/fees/categories/sibling/students/{s[child]}", h)
        await ok(api, "PUT", f"/fees/categories/rte_ews/students/{s['Kabir']}", h)
        await concession(
            {"kind": "percent", "percent_bp": 1000, "category": "sibling", "head_ids": [tuition]}
        )
        await concession({"kind": "fixed", "amount": 5_000, "student_id": str(s["Diya"])})
        await concession({"kind": "percent", "percent_bp": 10000, "category": "rte_ews"})
        await concession(
            {
                "kind": "fixed",
                "amount": 250_000,
                "student_id": str(s["Ishaan"]),
                "head_ids": [tuition],
            }
        )
        await concession(
            {
                "kind": "percent",
                "percent_bp": 5000,
                "student_id": str(s["Ishaan"]),
                "head_ids": [tuition],
            }
        )
        # 33.33% of 1,000.03 is 333.30999…: floored, not rounded.
        await concession(
            {
                "kind": "percent",
                "percent_bp": 3333,
                "student_id": str(s["Aarav"]),
                "head_ids": [transport],
            }
        )
        await concession({"kind": "fixed", "amount": 9_999, "student_id": str(s["Meera"])}, None)
        await concession(
            {"kind": "fixed", "amount": 9_999, "student_id": str(s["Aarav"])}, "reject"
        )
        body = school_scope(fees.instalments["Quarter 1"])
        preview = await ok(api, "POST", "/invoices/preview", h, body)
        await run_generation(api, h, drain_outbox, settings, body)
        invoices = await invoices_by_student(api, h)
        lines = {
            name: {
                ln["description"]: ln["concession"]
                for ln in (await ok(api, "GET", f"/invoices/{inv['id']}", h))["lines"]
            }
            for name, inv in invoices.items()
        }
        kabir = await ok(api, "GET", f"/invoices/{invoices['Kabir']['id']}", h)
    assert lines["Diya"] == {"Tuition fee": 30_000 + 5_000, "Transport fee": 5_000}
    assert lines["Rohan"] == {"Tuition fee": 40_000}
    assert lines["Kabir"] == {"Tuition fee": 300_000, "Transport fee": 100_003}
    assert lines["Ishaan"] == {"Tuition fee": 300_000, "Transport fee": 0}  # capped at the line
    assert lines["Aarav"] == {"Tuition fee": 0, "Transport fee": 33_330}
    assert lines["Meera"] == {"Tuition fee": 0, "Transport fee": 0}  # pending: not applied
    concessions = {name: inv["concession"] for name, inv in invoices.items()}
    assert preview["concession"] == sum(concessions.values())
    assert preview["total"] == sum(i["total"] for i in invoices.values())
    # A whole-fee concession (RTE): an invoice of zero, paid from the start.
    assert (invoices["Kabir"]["total"], invoices["Kabir"]["status"]) == (0, "paid")
    assert [(e["kind"], e["amount"]) for e in kabir["entries"]] == [
        ("invoice", Q1_CLASS_6),
        ("concession", -Q1_CLASS_6),
    ]
    assert invoices["Diya"]["balance"] == Q1_CLASS_6 - 40_000
    await no_discrepancies(resources, records.admin.school_id)


async def test_an_idempotency_key_answers_the_first_run(
    client_for, records, drain_outbox, settings, resources
) -> None:
    h = {**records.admin.headers, "Idempotency-Key": "q1-run"}
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
        body = school_scope(fees.instalments["Quarter 1"])
        first = await api.post("/invoices/generate", json=body, headers=h)
        second = await api.post("/invoices/generate", json=body, headers=h)
        other = await api.post(
            "/invoices/generate", json=school_scope(fees.instalments["Quarter 2"]), headers=h
        )
        ran = await drain_outbox(settings)
    async with transaction(resources.sessionmaker) as session:
        jobs = await session.scalar(
            select(func.count())
            .select_from(OutboxJob)
            .where(OutboxJob.task == "fees.generate_invoices")
        )
        invoices = await session.scalar(select(func.count()).select_from(Invoice))
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] == second.json()["job_id"]
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert (jobs, ran, invoices) == (1, 1, 6)


async def test_concurrent_runs_never_duplicate_and_number_without_gaps(
    records, client_for, resources
) -> None:
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
    school_id = records.admin.school_id
    q1 = uuid.UUID(fees.instalments["Quarter 1"])

    async def run(scope: InvoiceScope) -> int:
        async with transaction(resources.sessionmaker) as session:
            result = await generate_invoices(
                session, None, school_id=school_id, instalment_id=q1, scope=scope
            )
            await asyncio.sleep(0.05)  # hold the transaction open while the other waits
            return result.created

    created = await asyncio.gather(
        run(InvoiceScope(school=True)),
        run(InvoiceScope(school=True)),
        run(InvoiceScope(class_id=records.classes["6"])),
    )
    async with transaction(resources.sessionmaker) as session:
        numbers = sorted((await session.execute(select(Invoice.number))).scalars())
        lines = await session.scalar(select(func.count()).select_from(InvoiceLine))
        entries = await session.scalar(select(func.count()).select_from(LedgerEntry))
    assert sum(created) == 6 and sorted(created)[-1] in (5, 6)
    assert [int(n[-6:]) for n in numbers] == [1, 2, 3, 4, 5, 6]
    assert lines == 5 * 2 + 1 and entries == 6
    await no_discrepancies(resources, school_id)


async def test_parent_sees_only_their_childrens_invoices_and_cannot_generate(
    client_for, records, drain_outbox, settings
) -> None:
    h = records.admin.headers
    parent = records.parent.headers
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
        body = school_scope(fees.instalments["Quarter 1"])
        await run_generation(api, h, drain_outbox, settings, body)
        everyone = await invoices_by_student(api, h)
        own = await invoices_by_student(api, parent)
        asked_for_other = await invoices_by_student(
            api, parent, student_id=records.students["Aarav"]
        )
        other = await api.get(f"/invoices/{everyone['Aarav']['id']}", headers=parent)
        mine = await api.get(f"/invoices/{everyone['Diya']['id']}", headers=parent)
        generate = await api.post("/invoices/generate", json=body, headers=parent)
        preview = await api.post("/invoices/preview", json=body, headers=parent)
        cancel = await api.post(
            f"/invoices/{everyone['Diya']['id']}/cancel", json={"reason": "no"}, headers=parent
        )
        teacher = await api.get("/invoices", headers=records.sunita.headers)
    assert sorted(own) == ["Diya", "Rohan"]
    assert asked_for_other == {}
    assert other.status_code == 404 and other.json()["error"]["code"] == "invoice_not_found"
    assert mine.status_code == 200 and mine.json()["lines"]
    assert generate.status_code == preview.status_code == cancel.status_code == 403
    assert teacher.status_code == 403


async def test_bad_generation_requests_are_refused_and_queue_nothing(
    client_for, records, resources
) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
        q1 = fees.instalments["Quarter 1"]
        two_scopes = await api.post(
            "/invoices/generate",
            json={
                "instalment_id": q1,
                "scope": {"school": True, "class_id": str(records.classes["6"])},
            },
            headers=h,
        )
        no_scope = await api.post(
            "/invoices/generate", json={"instalment_id": q1, "scope": {}}, headers=h
        )
        unknown_instalment = await api.post(
            "/invoices/generate", json=school_scope(str(uuid.uuid4())), headers=h
        )
        unknown_section = await api.post(
            "/invoices/preview",
            json={"instalment_id": q1, "scope": {"section_id": str(uuid.uuid4())}},
            headers=h,
        )
        unknown_student = await api.post(
            "/invoices/generate",
            json={"instalment_id": q1, "scope": {"student_id": str(uuid.uuid4())}},
            headers=h,
        )
    async with transaction(resources.sessionmaker) as session:
        queued = await session.scalar(select(func.count()).select_from(OutboxJob))
    assert two_scopes.status_code == no_scope.status_code == 422
    assert unknown_instalment.status_code == 404
    assert unknown_instalment.json()["error"]["code"] == "instalment_not_found"
    assert unknown_section.status_code == 404 and unknown_student.status_code == 404
    assert queued == 0


async def test_cancel_and_write_off_need_a_reason_and_an_open_invoice(
    client_for, records, drain_outbox, settings, resources, make_user
) -> None:
    h = records.admin.headers
    accountant = (await make_user("accountant")).headers
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
        await run_generation(
            api, h, drain_outbox, settings, school_scope(fees.instalments["Quarter 1"])
        )
        invoices = await invoices_by_student(api, h)
        aarav, diya, rohan = (invoices[n]["id"] for n in ("Aarav", "Diya", "Rohan"))
        async with transaction(resources.sessionmaker) as session:
            await ledger.record_payment(
                session,
                None,
                school_id=records.admin.school_id,
                student_id=records.students["Diya"],
                amount=100_000,
                method="cash",
                received_on=today(),
            )
        no_reason = await api.post(f"/invoices/{aarav}/cancel", json={"reason": "  "}, headers=h)
        cancelled = await ok(
            api, "POST", f"/invoices/{aarav}/cancel", h, {"reason": "Left in April"}
        )
        twice = await api.post(f"/invoices/{aarav}/cancel", json={"reason": "again"}, headers=h)
        paid_cancel = await api.post(f"/invoices/{diya}/cancel", json={"reason": "x"}, headers=h)
        written_off = await ok(
            api, "POST", f"/invoices/{diya}/write-off", h, {"reason": "Hardship, principal's call"}
        )
        write_off_cancelled = await api.post(
            f"/invoices/{aarav}/write-off", json={"reason": "x"}, headers=h
        )
        missing = await api.post(
            f"/invoices/{uuid.uuid4()}/write-off", json={"reason": "x"}, headers=h
        )
        by_accountant = await api.post(
            f"/invoices/{rohan}/write-off", json={"reason": "Waived"}, headers=accountant
        )
        cancelled_list = await invoices_by_student(api, h, status="cancelled")
        audit = await ok(api, "GET", f"/audit?entity=invoice&entity_id={aarav}", h)
    assert no_reason.status_code == 422
    assert (cancelled["status"], cancelled["balance"], cancelled["status_reason"]) == (
        "cancelled",
        0,
        "Left in April",
    )
    assert [(e["kind"], e["amount"]) for e in cancelled["entries"]] == [
        ("invoice", Q1_CLASS_6),
        ("adjustment", -Q1_CLASS_6),
    ]
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "invoice_not_open"
    assert paid_cancel.status_code == 409
    assert (written_off["status"], written_off["paid"], written_off["adjusted"]) == (
        "written_off",
        100_000,
        Q1_CLASS_6 - 100_000,
    )
    assert written_off["balance"] == 0
    assert write_off_cancelled.status_code == 409 and missing.status_code == 404
    assert by_accountant.status_code == 200
    assert sorted(cancelled_list) == ["Aarav"]
    assert [e["action"] for e in audit["items"]] == ["invoice.cancelled"]
    await no_discrepancies(resources, records.admin.school_id)


async def test_invoice_list_filters(client_for, records, drain_outbox, settings) -> None:
    h = records.admin.headers
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
        for quarter in ("Quarter 1", "Quarter 4"):
            await run_generation(
                api, h, drain_outbox, settings, school_scope(fees.instalments[quarter])
            )
        by_class = await ok(api, "GET", f"/invoices?class_id={records.classes['7']}", h)
        by_section = await ok(api, "GET", f"/invoices?section_id={records.sections['6-B']}", h)
        by_instalment = await ok(
            api, "GET", f"/invoices?instalment_id={fees.instalments['Quarter 4']}", h
        )
        issued = await ok(api, "GET", "/invoices?status=issued&limit=2", h)
        overdue = await ok(api, "GET", "/invoices?overdue=true", h)
        not_overdue = await ok(api, "GET", "/invoices?overdue=false", h)
        bad_status = await api.get("/invoices?status=unknown", headers=h)
    assert [i["student_name"] for i in by_class["items"]] == ["Rohan Singh"]
    assert by_section["total"] == 4 and by_instalment["total"] == 5
    assert issued["total"] == 11 and len(issued["items"]) == 2
    due_dates = {i["due_on"] for i in overdue["items"]}
    assert all(d < str(today()) for d in due_dates)
    assert overdue["total"] + not_overdue["total"] == 11
    assert bad_status.status_code == 422
