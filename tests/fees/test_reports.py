"""Fee reports against figures worked out by hand.

The money, all in paise (today = T, every instalment's invoice has the lines shown):

    Q1 due T-45:  Aarav TRANSPORT 30,000 + TUITION 100,000 less 20,000 = 110,000
                  Kabir TRANSPORT 30,000 + TUITION 100,000           = 130,000
                  Meera TUITION 100,000;  Rohan TUITION 100,000
    Q2 due T+10:  Aarav TUITION 50,000
    Q0 due T-10:  Diya TUITION 20,000
    Q3 due T-75:  Ishaan TUITION 15,000

    T-20  Rohan  10,000 bank transfer
    T-5   Aarav  50,000 cash    -> Q1: TRANSPORT 30,000, TUITION 20,000
    T-5   Meera 100,000 cash    -> Q1 paid; 25,000 refunded today (T)
    T-3   Aarav  70,000 UPI     -> Q1: TUITION 60,000; Q2: TUITION 10,000 (oldest due first)
    T-3   Kabir 140,000 cheque  -> Q1: TRANSPORT 30,000, TUITION 100,000; 10,000 advance
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from erplake.core.db import transaction
from erplake.fees import ledger
from tests.fees.factory import FeeLineSpec, add_head, add_instalment, issue_invoice
from tests.school_records import today

T = today()


@pytest.fixture
async def books(resources, records) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    school_id = records.admin.school_id
    s = records.students
    async with transaction(resources.sessionmaker) as session:
        tuition = await add_head(session, school_id, "TUITION", "Tuition")
        transport = await add_head(session, school_id, "TRANSPORT", "Transport")
        q1 = await add_instalment(session, school_id, "Q1", T - timedelta(days=45))
        q2 = await add_instalment(session, school_id, "Q2", T + timedelta(days=10))
        q0 = await add_instalment(session, school_id, "Q0", T - timedelta(days=10))
        q3 = await add_instalment(session, school_id, "Q3", T - timedelta(days=75))
        for student, instalment, lines in (
            ("Aarav", q1, [FeeLineSpec(tuition, 100_000, 20_000), FeeLineSpec(transport, 30_000)]),
            ("Kabir", q1, [FeeLineSpec(tuition, 100_000), FeeLineSpec(transport, 30_000)]),
            ("Meera", q1, [FeeLineSpec(tuition, 100_000)]),
            ("Rohan", q1, [FeeLineSpec(tuition, 100_000)]),
            ("Aarav", q2, [FeeLineSpec(tuition, 50_000)]),
            ("Diya", q0, [FeeLineSpec(tuition, 20_000)]),
            ("Ishaan", q3, [FeeLineSpec(tuition, 15_000)]),
        ):
            await issue_invoice(
                session,
                school_id=school_id,
                student_id=s[student],
                instalment_id=instalment,
                lines=lines,
            )
        payments = {}
        for student, amount, method, days_ago in (
            ("Rohan", 10_000, "bank_transfer", 20),
            ("Aarav", 50_000, "cash", 5),
            ("Meera", 100_000, "cash", 5),
            ("Aarav", 70_000, "upi", 3),
            ("Kabir", 140_000, "cheque", 3),
        ):
            paid = await ledger.record_payment(
                session,
                None,
                school_id=school_id,
                student_id=s[student],
                amount=amount,
                method=method,
                received_on=T - timedelta(days=days_ago),
                reference=None if method == "cash" else f"REF-{student}",
            )
            payments[(student, amount)] = paid.payment_id
        await ledger.refund(
            session,
            None,
            school_id=school_id,
            payment_id=payments[("Meera", 100_000)],
            amount=25_000,
            external_ref=None,
            memo="Overpaid",
        )
    return {"tuition": tuition, "transport": transport}


async def _get(api, user, path: str, **params: Any) -> Any:  # type: ignore[no-untyped-def]
    answer = await api.get(path, params=params, headers=user.headers)
    assert answer.status_code == 200, answer.text
    return answer


def _range(first: date, last: date) -> dict[str, str]:
    return {"from": str(first), "to": str(last)}


async def test_collection_by_day_counts_payments_by_method_and_refunds_on_their_day(
    client_for, records, books, make_user
) -> None:
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        report = (
            await _get(
                api, accountant, "/fee-reports/collection/by-day", **_range(T - timedelta(5), T)
            )
        ).json()
    days = {d["date"]: d for d in report["days"]}
    assert list(days) == [str(T - timedelta(5)), str(T - timedelta(3)), str(T)]
    first = days[str(T - timedelta(5))]
    assert (first["payments"], first["cash"], first["collected"]) == (2, 150_000, 150_000)
    second = days[str(T - timedelta(3))]
    assert (second["upi"], second["cheque"], second["collected"]) == (70_000, 140_000, 210_000)
    refund_day = days[str(T)]
    assert (refund_day["payments"], refund_day["refunded"], refund_day["net"]) == (
        0,
        25_000,
        -25_000,
    )
    assert (report["collected"], report["refunded"], report["net"]) == (360_000, 25_000, 335_000)


async def test_collection_by_head_pays_heads_in_order_and_adds_up_to_the_days_net(
    client_for, records, books, make_user
) -> None:
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        report = (
            await _get(
                api, accountant, "/fee-reports/collection/by-head", **_range(T - timedelta(5), T)
            )
        ).json()
        rohan_day = (
            await _get(
                api,
                accountant,
                "/fee-reports/collection/by-head",
                **_range(T - timedelta(20), T - timedelta(20)),
            )
        ).json()
    assert [(h["name"], h["net"]) for h in report["heads"]] == [
        ("Transport", 60_000),
        # Aarav 80,000 (Q1) + 10,000 (Q2), Kabir 100,000, Meera 100,000 - 25,000
        ("Tuition", 265_000),
        ("Advance", 10_000),
    ]
    assert report["net"] == 335_000
    assert [(h["name"], h["net"]) for h in rohan_day["heads"]] == [("Tuition", 10_000)]


async def test_collection_by_class(client_for, records, books, make_user) -> None:
    principal = await make_user("principal")
    async with client_for("api") as api:
        report = (
            await _get(
                api, principal, "/fee-reports/collection/by-class", **_range(T - timedelta(30), T)
            )
        ).json()
    assert [
        (c["class_name"], c["students"], c["payments"], c["collected"], c["refunded"], c["net"])
        for c in report["classes"]
    ] == [("6", 3, 4, 360_000, 25_000, 335_000), ("7", 1, 1, 10_000, 0, 10_000)]
    assert report["net"] == 345_000


async def test_outstanding_ages_each_students_balance_from_the_ledger(
    client_for, records, books, make_user
) -> None:
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        report = (await _get(api, accountant, "/fee-reports/outstanding")).json()
        page = (await _get(api, accountant, "/fee-reports/outstanding", limit=2, offset=0)).json()
        past_end = (await _get(api, accountant, "/fee-reports/outstanding", offset=10)).json()
        later = (
            await _get(api, accountant, "/fee-reports/outstanding", as_of=str(T + timedelta(50)))
        ).json()
        before = (
            await _get(api, accountant, "/fee-reports/outstanding", as_of=str(T - timedelta(1)))
        ).json()
        seventh = (
            await _get(
                api, accountant, "/fee-reports/outstanding", class_id=str(records.classes["7"])
            )
        ).json()
    assert report["as_of"] == str(T)
    assert report["totals"] == {
        "not_due": 40_000,
        "days_0_30": 20_000,
        "days_31_60": 115_000,
        "days_61_90": 15_000,
        "days_over_90": 0,
        "total": 190_000,
    }
    rows = [
        (r["name"], r["not_due"], r["days_0_30"], r["days_31_60"], r["days_61_90"], r["total"])
        for r in report["items"]
    ]
    assert rows == [
        ("Rohan Singh", 0, 0, 90_000, 0, 90_000),
        ("Aarav Sharma", 40_000, 0, 0, 0, 40_000),
        ("Meera Iyer", 0, 0, 25_000, 0, 25_000),
        ("Diya Singh", 0, 20_000, 0, 0, 20_000),
        ("Ishaan Patel", 0, 0, 0, 15_000, 15_000),
    ]
    assert report["items"][0]["class_section"] == "7-A"
    assert page["total"] == 5 and [r["name"] for r in page["items"]] == [
        "Rohan Singh",
        "Aarav Sharma",
    ]
    assert page["totals"]["total"] == 190_000
    assert (past_end["items"], past_end["total"], past_end["totals"]) == ([], 5, report["totals"])
    # Fifty days on: Q1 is 95 days late, Q3 125, Q0 60, Aarav's Q2 40.
    assert later["totals"] == {
        "not_due": 0,
        "days_0_30": 0,
        "days_31_60": 60_000,
        "days_61_90": 0,
        "days_over_90": 130_000,
        "total": 190_000,
    }
    # Yesterday nothing had been invoiced yet: the ledger says so.
    assert before["students"] == 0 and before["items"] == []
    assert [r["name"] for r in seventh["items"]] == ["Rohan Singh"]


async def test_defaulters_lists_overdue_balances_longest_overdue_first(
    client_for, records, books, make_user
) -> None:
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        report = (await _get(api, accountant, "/fee-reports/defaulters")).json()
        long_overdue = (await _get(api, accountant, "/fee-reports/defaulters", min_days=60)).json()
        second_page = (
            await _get(api, accountant, "/fee-reports/defaulters", limit=2, offset=2)
        ).json()
        past_end = (await _get(api, accountant, "/fee-reports/defaulters", offset=4)).json()
    assert report["total"] == 4 and report["overdue"] == 150_000
    assert [(d["name"], d["overdue"], d["days_overdue"]) for d in report["items"]] == [
        ("Ishaan Patel", 15_000, 75),
        ("Rohan Singh", 90_000, 45),
        ("Meera Iyer", 25_000, 45),
        ("Diya Singh", 20_000, 10),
    ]
    ishaan = report["items"][0]
    assert (ishaan["guardian_name"], ishaan["guardian_phone"]) == ("Kiran Patel", "+919810000004")
    assert ishaan["oldest_due_on"] == str(T - timedelta(75))
    assert [d["name"] for d in long_overdue["items"]] == ["Ishaan Patel"]
    assert second_page["total"] == 4
    assert (past_end["items"], past_end["total"], past_end["overdue"]) == ([], 4, 150_000)
    assert [d["name"] for d in second_page["items"]] == ["Meera Iyer", "Diya Singh"]


async def test_reports_export_as_csv_and_xlsx_in_rupees(
    client_for, records, books, make_user
) -> None:
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        as_csv = await _get(api, accountant, "/fee-reports/defaulters", format="csv", limit=1)
        as_xlsx = await _get(
            api,
            accountant,
            "/fee-reports/collection/by-day",
            format="xlsx",
            **_range(T - timedelta(5), T),
        )
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0][-1] == "overdue_inr"
    assert len(rows) == 5  # the whole list, whatever the page size
    assert rows[1][1] == "Ishaan Patel" and rows[1][-1] == "150"
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    values = list(sheet.values)
    assert values[0][:3] == ("date", "payments", "cash_inr")
    assert values[1][0] == str(T - timedelta(5)) and values[1][2] == 1500
    assert values[-1][-2:] == (250, -250)


async def test_reports_need_the_reports_permission_and_a_sane_range(
    client_for, records, books, make_user
) -> None:
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        parent = await api.get("/fee-reports/outstanding", headers=records.parent.headers)
        teacher = await api.get("/fee-reports/defaulters", headers=records.sunita.headers)
        backwards = await api.get(
            "/fee-reports/collection/by-day",
            params=_range(T, T - timedelta(1)),
            headers=accountant.headers,
        )
        too_long = await api.get(
            "/fee-reports/collection/by-class",
            params=_range(T - timedelta(400), T),
            headers=accountant.headers,
        )
    assert parent.status_code == teacher.status_code == 403
    assert backwards.status_code == too_long.status_code == 422
    assert backwards.json()["error"]["code"] == "bad_date_range"
