"""Counter payments: a receipt once per click, gapless receipt numbers under
concurrency, bad input refused with nothing written, parents scoped to their own
children, refunds at the counter."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest

from erplake.core.db import libpq_url, transaction
from erplake.fees import ledger
from tests.fees.factory import FeeLineSpec, add_head, add_instalment, issue_invoice
from tests.school_records import today

RECEIVED = today()


@pytest.fixture
async def fees(resources, records) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Tuition invoices of ₹1,000 (April) and ₹2,000 (May) for every student."""
    school_id = records.admin.school_id
    invoices: dict[tuple[str, str], uuid.UUID] = {}
    async with transaction(resources.sessionmaker) as session:
        tuition = await add_head(session, school_id, "TUITION", "Tuition")
        april = await add_instalment(session, school_id, "April", date(RECEIVED.year, 4, 10))
        may = await add_instalment(session, school_id, "May", date(RECEIVED.year, 5, 10))
        for name, student_id in records.students.items():
            for month, instalment, amount in (("April", april, 100_000), ("May", may, 200_000)):
                invoices[(name, month)] = await issue_invoice(
                    session,
                    school_id=school_id,
                    student_id=student_id,
                    instalment_id=instalment,
                    lines=[FeeLineSpec(tuition, amount, 0, "Tuition")],
                )
    return {"invoices": invoices}


def _rows(database_url: str, sql: str, *args: Any) -> list[Any]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        return conn.execute(sql, args).fetchall()


def _body(student_id: uuid.UUID, amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "student_id": str(student_id),
        "amount": amount,
        "method": extra.pop("method", "cash"),
        "received_on": str(extra.pop("received_on", RECEIVED)),
        **extra,
    }


async def _pay(api, user, body, key=None):  # type: ignore[no-untyped-def]
    return await api.post(
        "/payments", json=body, headers={**user.headers, "Idempotency-Key": key or uuid.uuid4().hex}
    )


async def test_counter_payment_pays_the_oldest_invoice_first_and_answers_the_receipt(
    client_for, records, fees, make_user, database_url
) -> None:
    accountant = await make_user("accountant")
    april, may = fees["invoices"][("Aarav", "April")], fees["invoices"][("Aarav", "May")]
    async with client_for("api") as api:
        answer = await _pay(api, accountant, _body(records.students["Aarav"], 150_000))
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    assert receipt["receipt_number"] == 1
    assert receipt["receipt_label"].endswith("/00001")
    assert [(a["invoice_id"], a["amount"]) for a in receipt["allocations"]] == [
        (str(april), 100_000),
        (str(may), 50_000),
    ]
    assert receipt["advance"] == 0
    statuses = dict(
        _rows(database_url, "SELECT id, status FROM invoices WHERE id IN (%s, %s)", april, may)
    )
    assert statuses == {april: "paid", may: "partially_paid"}
    audited = _rows(
        database_url,
        "SELECT actor_user_id, entity_id FROM audit_log WHERE action = 'payment.recorded'",
    )
    assert audited == [(accountant.user_id, receipt["payment_id"])]


async def test_chosen_invoices_are_paid_and_the_rest_kept_as_advance(
    client_for, records, fees, make_user
) -> None:
    accountant = await make_user("accountant")
    may = fees["invoices"][("Kabir", "May")]
    async with client_for("api") as api:
        answer = await _pay(
            api, accountant, _body(records.students["Kabir"], 250_000, invoice_ids=[str(may)])
        )
        assert answer.status_code == 201, answer.text
        detail = (
            await api.get(f"/payments/{answer.json()['payment_id']}", headers=accountant.headers)
        ).json()
    assert answer.json()["allocations"][0]["amount"] == 200_000
    assert answer.json()["advance"] == 50_000
    assert detail["advance"] == 50_000
    assert detail["allocations"][0]["invoice_number"].startswith("TEST-")


async def test_a_double_click_with_the_same_key_records_one_payment(
    client_for, records, fees, make_user, database_url
) -> None:
    accountant = await make_user("accountant")
    body = _body(records.students["Aarav"], 50_000)
    async with client_for("api") as api:
        first, second = await asyncio.gather(
            _pay(api, accountant, body, key="click-1"), _pay(api, accountant, body, key="click-1")
        )
        changed = await _pay(api, accountant, {**body, "amount": 60_000}, key="click-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert changed.status_code == 409
    assert _rows(database_url, "SELECT count(*) FROM payments") == [(1,)]


async def test_a_payment_without_an_idempotency_key_is_refused(
    client_for, records, fees, make_user, database_url
) -> None:
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        answer = await api.post(
            "/payments", json=_body(records.students["Aarav"], 50_000), headers=accountant.headers
        )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "validation_error"
    assert _rows(database_url, "SELECT count(*) FROM payments") == [(0,)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"method": "cheque"}, "reference is required for cheque"),
        ({"method": "upi", "reference": ""}, "reference is required for upi"),
        ({"method": "bank_transfer"}, "reference is required for bank transfer"),
        ({"method": "razorpay", "reference": "pay_1"}, "method"),
        ({"amount": 0}, "amount"),
        ({"amount": -100}, "amount"),
        # More than a bigint holds: a clear 422, not the database's overflow as a 500.
        ({"amount": 10**19}, "amount"),
        ({"received_on": RECEIVED + timedelta(days=1)}, "future"),
    ],
)
async def test_bad_counter_payments_are_refused_and_write_nothing(
    client_for, records, fees, make_user, database_url, extra, message
) -> None:
    accountant = await make_user("accountant")
    body = _body(records.students["Aarav"], extra.pop("amount", 50_000), **extra)
    async with client_for("api") as api:
        answer = await _pay(api, accountant, body)
    assert answer.status_code == 422, answer.text
    assert message in answer.text
    assert _rows(database_url, "SELECT count(*) FROM payments") == [(0,)]
    assert _rows(database_url, "SELECT count(*) FROM outbox_jobs") == [(0,)]


async def test_twenty_concurrent_payments_get_receipts_one_to_twenty_and_a_refusal_burns_none(
    client_for, records, fees, make_user, database_url
) -> None:
    accountant = await make_user("accountant")
    students = list(records.students.values())
    aarav_april = fees["invoices"][("Aarav", "April")]

    async def one(index: int) -> Any:
        # A client (and so a database connection) of its own for every payment.
        async with client_for("api") as api:
            return await _pay(api, accountant, _body(students[index % len(students)], 1_000))

    async def refused() -> Any:
        async with client_for("api") as api:
            return await _pay(
                api,
                accountant,
                _body(records.students["Kabir"], 1_000, invoice_ids=[str(aarav_april)]),
            )

    answers = list(
        await asyncio.gather(
            *(one(i) for i in range(10)), refused(), *(one(i) for i in range(10, 20))
        )
    )
    bad = answers.pop(10)
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["details"] == {"invoice_ids": [str(aarav_april)]}
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    assert sorted(a.json()["receipt_number"] for a in answers) == list(range(1, 21))
    numbers = [n for (n,) in _rows(database_url, "SELECT receipt_number FROM payments")]
    assert sorted(numbers) == list(range(1, 21))
    async with client_for("api") as api:
        after = await _pay(api, accountant, _body(records.students["Kabir"], 1_000))
    assert after.json()["receipt_number"] == 21


async def test_a_parent_sees_only_their_own_childrens_payments(
    client_for, records, fees, make_user
) -> None:
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        paid = {}
        for name in ("Diya", "Rohan", "Aarav"):
            answer = await _pay(api, accountant, _body(records.students[name], 10_000))
            paid[name] = answer.json()["payment_id"]
        mine = await api.get("/payments", headers=records.parent.headers)
        other = await api.get(f"/payments/{paid['Aarav']}", headers=records.parent.headers)
        other_pdf = await api.get(
            f"/payments/{paid['Aarav']}/receipt.pdf", headers=records.parent.headers
        )
        filtered = await api.get(
            "/payments",
            params={"student_id": str(records.students["Aarav"])},
            headers=records.parent.headers,
        )
        own = await api.get(f"/payments/{paid['Diya']}", headers=records.parent.headers)
        record = await _pay(api, records.parent, _body(records.students["Diya"], 10_000))
    assert mine.status_code == 200
    assert {p["student_name"] for p in mine.json()["items"]} == {"Diya Singh", "Rohan Singh"}
    assert mine.json()["total"] == 2
    assert other.status_code == other_pdf.status_code == 404
    assert filtered.json()["total"] == 0
    assert own.status_code == 200
    assert record.status_code == 403


async def test_the_payments_list_filters_by_dates_method_and_student_and_pages(
    client_for, records, fees, make_user
) -> None:
    accountant = await make_user("accountant")
    yesterday = RECEIVED - timedelta(days=1)
    async with client_for("api") as api:
        for name, method, day in (
            ("Aarav", "cash", yesterday),
            ("Aarav", "upi", RECEIVED),
            ("Kabir", "cheque", RECEIVED),
            ("Meera", "cash", RECEIVED),
        ):
            extra = {} if method == "cash" else {"reference": f"REF-{name}"}
            answer = await _pay(
                api,
                accountant,
                _body(records.students[name], 5_000, method=method, received_on=day, **extra),
            )
            assert answer.status_code == 201, answer.text

        async def listed(**params: Any) -> Any:
            answer = await api.get("/payments", params=params, headers=accountant.headers)
            assert answer.status_code == 200, answer.text
            return answer.json()

        assert (await listed(**{"from": str(RECEIVED)}))["total"] == 3
        assert (await listed(to=str(yesterday)))["total"] == 1
        assert (await listed(method="cash"))["total"] == 2
        assert (await listed(student_id=str(records.students["Aarav"])))["total"] == 2
        page = await listed(limit=3, offset=3)
        assert page["total"] == 4 and len(page["items"]) == 1
        assert page["items"][0]["received_on"] == str(yesterday)


async def test_a_refund_at_the_counter_reopens_the_invoice_and_is_audited(
    client_for, records, fees, make_user, database_url
) -> None:
    accountant = await make_user("accountant")
    april = fees["invoices"][("Ishaan", "April")]
    async with client_for("api") as api:
        paid = (await _pay(api, accountant, _body(records.students["Ishaan"], 120_000))).json()
        refunded = await api.post(
            f"/payments/{paid['payment_id']}/refund",
            json={"amount": 50_000, "reason": "Paid twice by mistake"},
            headers={**accountant.headers, "Idempotency-Key": "refund-1"},
        )
        again = await api.post(
            f"/payments/{paid['payment_id']}/refund",
            json={"amount": 50_000, "reason": "Paid twice by mistake"},
            headers={**accountant.headers, "Idempotency-Key": "refund-1"},
        )
        too_much = await api.post(
            f"/payments/{paid['payment_id']}/refund",
            json={"amount": 80_000, "reason": "More"},
            headers=accountant.headers,
        )
        no_reason = await api.post(
            f"/payments/{paid['payment_id']}/refund",
            json={"amount": 1_000, "reason": " "},
            headers=accountant.headers,
        )
    assert refunded.status_code == 200, refunded.text
    assert again.json() == refunded.json()
    detail = refunded.json()
    assert detail["refunded"] == 50_000
    # Newest first: the ₹200 paid towards May goes back, then ₹300 of April's.
    assert [(a["invoice_id"], a["amount"]) for a in detail["allocations"]] == [(str(april), 70_000)]
    assert detail["advance"] == 0
    assert _rows(database_url, "SELECT status, balance FROM invoices WHERE id = %s", april) == [
        ("partially_paid", 30_000)
    ]
    assert too_much.status_code == 422
    assert no_reason.status_code == 422
    assert _rows(
        database_url, "SELECT count(*) FROM audit_log WHERE action = 'payment.refunded'"
    ) == [(1,)]


async def test_an_online_payment_is_not_refunded_at_the_counter(
    client_for, records, fees, make_user, resources, database_url
) -> None:
    accountant = await make_user("accountant")
    async with transaction(resources.sessionmaker) as session:
        online = await ledger.record_payment(
            session,
            None,
            school_id=records.admin.school_id,
            student_id=records.students["Meera"],
            amount=100_000,
            method="razorpay",
            received_on=RECEIVED,
            provider_payment_id="pay_test_1",
        )
    async with client_for("api") as api:
        answer = await api.post(
            f"/payments/{online.payment_id}/refund",
            json={"amount": 10_000, "reason": "Asked at the counter"},
            headers=accountant.headers,
        )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "refund_through_provider"
    assert _rows(database_url, "SELECT refunded FROM payments") == [(0,)]
