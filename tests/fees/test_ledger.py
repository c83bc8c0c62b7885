"""The money core: allocation, receipts, refunds, write-offs, cancellations, and the
ledger's invariants under random sequences of all of them (hypothesis)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from erplake.core.db import transaction
from erplake.core.errors import AppError, Unprocessable
from erplake.fees import ledger
from erplake.models.fees import Invoice, LedgerEntry, Payment
from tests.fees.factory import FeeLineSpec, add_head, add_instalment, issue_invoice

TODAY = date(2026, 7, 1)


async def _setup(resources, records, n_invoices=3):  # type: ignore[no-untyped-def]
    """Three invoices for Aarav (due April, May, June: ₹1,000, ₹2,000 less ₹500, ₹3,000)."""
    school_id = records.admin.school_id
    student = records.students["Aarav"]
    async with transaction(resources.sessionmaker) as session:
        tuition = await add_head(session, school_id, "TUITION", "Tuition")
        invoices = []
        for month, (amount, concession) in enumerate(
            [(100_000, 0), (200_000, 50_000), (300_000, 0)][:n_invoices], start=4
        ):
            instalment = await add_instalment(
                session, school_id, f"Month {month}", date(2026, month, 10)
            )
            invoices.append(
                await issue_invoice(
                    session,
                    school_id=school_id,
                    student_id=student,
                    instalment_id=instalment,
                    lines=[FeeLineSpec(tuition, amount, concession, "Tuition")],
                )
            )
    return school_id, student, invoices


async def _invoice(resources, invoice_id):  # type: ignore[no-untyped-def]
    async with resources.sessionmaker() as session:
        return (await session.execute(select(Invoice).where(Invoice.id == invoice_id))).scalar_one()


async def _pay(resources, school_id, student, amount, **kw):  # type: ignore[no-untyped-def]
    async with transaction(resources.sessionmaker) as session:
        return await ledger.record_payment(
            session,
            None,
            school_id=school_id,
            student_id=student,
            amount=amount,
            method=kw.pop("method", "cash"),
            received_on=TODAY,
            **kw,
        )


async def _no_discrepancies(resources, school_id):  # type: ignore[no-untyped-def]
    async with resources.sessionmaker() as session:
        assert await ledger.discrepancies(session, school_id=school_id) == []


async def test_payment_fills_the_oldest_due_invoice_first(resources, records) -> None:
    school_id, student, (april, may, june) = await _setup(resources, records)

    paid = await _pay(resources, school_id, student, 150_000)

    assert paid.created and paid.receipt_number == 1
    assert paid.receipt_label.endswith("/00001")
    assert paid.allocations == (
        ledger.Allocation(april, 100_000),
        ledger.Allocation(may, 50_000),
    )
    assert paid.advance == 0
    assert (await _invoice(resources, april)).status == "paid"
    may_row = await _invoice(resources, may)
    assert (may_row.status, may_row.paid, may_row.balance) == ("partially_paid", 50_000, 100_000)
    assert (await _invoice(resources, june)).status == "issued"
    async with resources.sessionmaker() as session:
        owed = await ledger.student_balance(session, school_id=school_id, student_id=student)
    assert owed == 100_000 + 150_000 + 300_000 - 150_000
    await _no_discrepancies(resources, school_id)


async def test_chosen_invoices_are_paid_first_and_the_rest_is_an_advance(
    resources, records
) -> None:
    school_id, student, (april, _may, june) = await _setup(resources, records)

    paid = await _pay(resources, school_id, student, 350_000, invoice_ids=[june])

    assert paid.allocations == (ledger.Allocation(june, 300_000),)
    assert paid.advance == 50_000
    assert (await _invoice(resources, april)).paid == 0
    async with resources.sessionmaker() as session:
        owed = await ledger.student_balance(session, school_id=school_id, student_id=student)
    assert owed == 100_000 + 150_000 - 50_000
    await _no_discrepancies(resources, school_id)


async def test_a_counter_payment_naming_another_students_invoice_writes_nothing(
    resources, records
) -> None:
    school_id, _student, (april, _may, _june) = await _setup(resources, records)

    with pytest.raises(Unprocessable) as refused:
        await _pay(resources, school_id, records.students["Diya"], 10_000, invoice_ids=[april])

    assert refused.value.details == {"invoice_ids": [str(april)]}
    async with resources.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Payment)) == 0
        counter = await session.scalar(text("SELECT count(*) FROM receipt_counters"))
    assert counter == 0  # the number taken inside the failed transaction came back
    # …so the next payment still gets receipt 1.
    assert (await _pay(resources, school_id, _student, 1_000)).receipt_number == 1


@pytest.mark.parametrize("amount", [0, -5, True])
async def test_bad_amounts_are_refused(resources, records, amount) -> None:  # type: ignore[no-untyped-def]
    school_id, student, _ = await _setup(resources, records, n_invoices=1)
    with pytest.raises(Unprocessable):
        await _pay(resources, school_id, student, amount)


async def test_a_provider_payment_is_credited_once(resources, records) -> None:
    school_id, student, (april, _may, _june) = await _setup(resources, records)

    first = await _pay(
        resources, school_id, student, 100_000, method="razorpay", provider_payment_id="pay_X1"
    )
    again = await _pay(
        resources, school_id, student, 100_000, method="razorpay", provider_payment_id="pay_X1"
    )

    assert first.created and not again.created
    assert again.payment_id == first.payment_id
    assert again.allocations == first.allocations == (ledger.Allocation(april, 100_000),)
    async with resources.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Payment)) == 1
    await _no_discrepancies(resources, school_id)


async def test_a_provider_payment_for_an_invoice_paid_meanwhile_becomes_an_advance(
    resources, records
) -> None:
    school_id, student, (april, _may, _june) = await _setup(resources, records)
    await _pay(resources, school_id, student, 100_000, invoice_ids=[april])

    late = await _pay(
        resources,
        school_id,
        student,
        100_000,
        method="razorpay",
        provider_payment_id="pay_late",
        invoice_ids=[april],
    )

    assert late.created and late.allocations == () and late.advance == 100_000
    await _no_discrepancies(resources, school_id)


async def test_refund_gives_back_the_advance_first_then_reopens_the_newest_invoice(
    resources, records
) -> None:
    school_id, student, (april, may, _june) = await _setup(resources, records)
    paid = await _pay(resources, school_id, student, 300_000, invoice_ids=[april, may])
    assert paid.advance == 50_000

    async with transaction(resources.sessionmaker) as session:
        booked = await ledger.refund(
            session,
            None,
            school_id=school_id,
            payment_id=paid.payment_id,
            amount=120_000,
            external_ref="rfnd_1",
            memo="Fee refund",
        )
    assert booked
    assert (await _invoice(resources, april)).status == "paid"
    may_row = await _invoice(resources, may)
    assert (may_row.paid, may_row.status) == (80_000, "partially_paid")

    async with transaction(resources.sessionmaker) as session:
        again = await ledger.refund(
            session,
            None,
            school_id=school_id,
            payment_id=paid.payment_id,
            amount=120_000,
            external_ref="rfnd_1",
            memo="Fee refund",
        )
    assert again is False
    async with transaction(resources.sessionmaker) as session:
        with pytest.raises(Unprocessable) as too_much:
            await ledger.refund(
                session,
                None,
                school_id=school_id,
                payment_id=paid.payment_id,
                amount=180_001,
                external_ref=None,
                memo="Too much",
            )
    assert too_much.value.details == {"refundable": 180_000}
    await _no_discrepancies(resources, school_id)


async def test_a_refund_racing_another_is_measured_against_the_payment_as_locked(
    resources, records
) -> None:
    """The counter's refund loads the payment before the ledger locks it; a refund that
    committed in between must count, so the second is refused with a clear 422."""
    school_id, student, (april, _may, _june) = await _setup(resources, records)
    paid = await _pay(resources, school_id, student, 100_000, invoice_ids=[april])

    async with transaction(resources.sessionmaker) as late:
        # This session read the payment (nothing refunded yet) ...
        await late.execute(select(Payment).where(Payment.id == paid.payment_id))
        # ... then a concurrent refund commits ...
        async with transaction(resources.sessionmaker) as first:
            await ledger.refund(
                first,
                None,
                school_id=school_id,
                payment_id=paid.payment_id,
                amount=60_000,
                external_ref=None,
                memo="First",
            )
        # ... and this one asks for more than is left.
        with pytest.raises(Unprocessable) as too_much:
            await ledger.refund(
                late,
                None,
                school_id=school_id,
                payment_id=paid.payment_id,
                amount=60_000,
                external_ref=None,
                memo="Second",
            )
    assert too_much.value.details == {"refundable": 40_000}
    await _no_discrepancies(resources, school_id)


async def test_write_off_and_cancel(resources, records) -> None:
    school_id, student, (april, may, june) = await _setup(resources, records)
    await _pay(resources, school_id, student, 40_000, invoice_ids=[april])

    async with transaction(resources.sessionmaker) as session:
        with pytest.raises(ledger.InvoiceNotOpen):
            await ledger.cancel_invoice(
                session, None, school_id=school_id, invoice_id=april, reason="Wrong class"
            )
    async with transaction(resources.sessionmaker) as session:
        with pytest.raises(Unprocessable):
            await ledger.write_off(session, None, school_id=school_id, invoice_id=april, reason=" ")
    async with transaction(resources.sessionmaker) as session:
        await ledger.write_off(
            session, None, school_id=school_id, invoice_id=april, reason="Hardship"
        )
        await ledger.cancel_invoice(
            session, None, school_id=school_id, invoice_id=june, reason="Left in May"
        )
    april_row, june_row = await _invoice(resources, april), await _invoice(resources, june)
    assert (april_row.status, april_row.balance, april_row.adjusted) == ("written_off", 0, 60_000)
    assert (june_row.status, june_row.balance, june_row.status_reason) == (
        "cancelled",
        0,
        "Left in May",
    )
    async with transaction(resources.sessionmaker) as session:
        with pytest.raises(ledger.InvoiceNotOpen):
            await ledger.write_off(
                session, None, school_id=school_id, invoice_id=june, reason="Again"
            )
    async with resources.sessionmaker() as session:
        owed = await ledger.student_balance(session, school_id=school_id, student_id=student)
    assert owed == (await _invoice(resources, may)).balance == 150_000
    await _no_discrepancies(resources, school_id)


async def test_discrepancies_finds_a_figure_changed_behind_the_ledgers_back(
    resources, records
) -> None:
    school_id, _student, (april, _may, _june) = await _setup(resources, records)
    async with transaction(resources.sessionmaker) as session:
        await session.execute(text("UPDATE invoices SET paid = 1 WHERE id = :i"), {"i": april})
    async with resources.sessionmaker() as session:
        found = await ledger.discrepancies(session, school_id=school_id)
    assert [(row["kind"], row["invoice_id"]) for row in found] == [("invoice", april)]


async def test_a_payment_leaves_the_transactions_planning_as_it_found_it(
    resources, records
) -> None:
    school_id, student, (april, _may, _june) = await _setup(resources, records)
    async with transaction(resources.sessionmaker) as session:
        before = (await session.execute(text("SHOW plan_cache_mode"))).scalar_one()
        await ledger.record_payment(
            session,
            None,
            school_id=school_id,
            student_id=student,
            amount=1_000,
            method="cash",
            received_on=TODAY,
            invoice_ids=[april],
        )
        after = (await session.execute(text("SHOW plan_cache_mode"))).scalar_one()
    assert before == after == "auto"


async def test_concurrent_payments_get_gapless_receipt_numbers(resources, records) -> None:
    school_id, _student, _ = await _setup(resources, records)
    students = list(records.students.values())

    async def pay(i: int) -> int:
        try:
            paid = await _pay(
                resources,
                school_id,
                students[i % len(students)],
                1_000,
                # every third payment names an invoice that is not the student's
                invoice_ids=[uuid.uuid4()] if i % 3 == 0 else None,
            )
        except Unprocessable:
            return 0
        return paid.receipt_number

    numbers = await asyncio.gather(*(pay(i) for i in range(24)))

    assert sorted(n for n in numbers if n) == list(range(1, 17))
    async with resources.sessionmaker() as session:
        stored = (await session.execute(select(Payment.receipt_number))).scalars().all()
    assert sorted(stored) == list(range(1, 17))


# ---- the properties ----------------------------------------------------------

_operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("issue"),
            st.integers(0, 2),  # student
            st.integers(1, 500_000),  # amount
            st.integers(0, 100),  # concession, percent
            st.integers(-60, 60),  # due, days from today
        ),
        st.tuples(
            st.just("pay"),
            st.integers(0, 2),
            st.integers(1, 600_000),
            st.booleans(),  # choose the newest open invoice
        ),
        st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 100)),
        st.tuples(st.just("write_off"), st.integers(0, 50)),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
        st.tuples(st.just("apply_advance"), st.integers(0, 2)),
    ),
    min_size=1,
    max_size=25,
)


async def _apply(resources, school_id, students, head, state, op) -> None:  # type: ignore[no-untyped-def]
    kind = op[0]
    async with transaction(resources.sessionmaker) as session:
        if kind == "issue":
            _, who, amount, percent, days = op
            state["n"] += 1
            instalment = await add_instalment(
                session, school_id, f"P{state['n']}", TODAY + timedelta(days=days)
            )
            state["invoices"].append(
                await issue_invoice(
                    session,
                    school_id=school_id,
                    student_id=students[who],
                    instalment_id=instalment,
                    lines=[FeeLineSpec(head, amount, amount * percent // 100)],
                )
            )
        elif kind == "pay":
            _, who, amount, choose = op
            chosen = None
            if choose:
                newest = await session.scalar(
                    select(Invoice.id)
                    .where(Invoice.student_id == students[who], Invoice.balance > 0)
                    .order_by(Invoice.due_on.desc())
                    .limit(1)
                )
                chosen = [newest] if newest else None
            paid = await ledger.record_payment(
                session,
                None,
                school_id=school_id,
                student_id=students[who],
                amount=amount,
                method="upi",
                reference="UPI123",
                received_on=TODAY,
                invoice_ids=chosen,
            )
            state["payments"].append(paid.payment_id)
        elif kind == "refund" and state["payments"]:
            _, index, percent = op
            payment_id = state["payments"][index % len(state["payments"])]
            payment = (
                await session.execute(select(Payment).where(Payment.id == payment_id))
            ).scalar_one()
            amount = (payment.amount - payment.refunded) * percent // 100
            if amount > 0:
                await ledger.refund(
                    session,
                    None,
                    school_id=school_id,
                    payment_id=payment_id,
                    amount=amount,
                    external_ref=None,
                    memo="refund",
                )
        elif kind == "apply_advance":
            before = await ledger.student_balance(
                session, school_id=school_id, student_id=students[op[1]]
            )
            await ledger.apply_advance(
                session, None, school_id=school_id, student_id=students[op[1]]
            )
            # The family's balance never moves: the money was already theirs.
            assert before == await ledger.student_balance(
                session, school_id=school_id, student_id=students[op[1]]
            )
        elif kind in ("write_off", "cancel") and state["invoices"]:
            invoice_id = state["invoices"][op[1] % len(state["invoices"])]
            close = ledger.write_off if kind == "write_off" else ledger.cancel_invoice
            await close(session, None, school_id=school_id, invoice_id=invoice_id, reason="test")


@pytest.mark.asyncio
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=_operations)
async def test_ledger_properties_hold_over_random_operations(
    resources, records, operations
) -> None:  # type: ignore[no-untyped-def]
    school_id = records.admin.school_id
    students = [records.students[name] for name in ("Aarav", "Diya", "Ishaan")]
    async with transaction(resources.sessionmaker) as session:
        await session.execute(
            text(
                "TRUNCATE ledger_entries, payments, receipt_counters, invoice_lines, invoices,"
                " fee_instalments, fee_heads CASCADE"
            )
        )
        head = await add_head(session, school_id, "TUITION")
    state: dict = {"n": 0, "invoices": [], "payments": []}

    for op in operations:
        try:
            await _apply(resources, school_id, students, head, state, op)
        except AppError:
            pass  # a refused operation (e.g. cancelling a paid invoice) changes nothing

    async with resources.sessionmaker() as session:
        # 1. Every cached figure agrees with the ledger; statuses agree with figures.
        assert await ledger.discrepancies(session, school_id=school_id) == []
        # 2. No invoice is below zero due.
        lowest = await session.scalar(select(func.min(Invoice.balance)))
        assert lowest is None or lowest >= 0
        # 3. Each student's balance is the sum of their entries, which is what their
        #    invoices still ask for less their advance; the school's total is the sum
        #    over students.
        per_student = {}
        for student in students:
            owed = await ledger.student_balance(session, school_id=school_id, student_id=student)
            invoices_due = await session.scalar(
                select(func.coalesce(func.sum(Invoice.balance), 0)).where(
                    Invoice.student_id == student, Invoice.status != "draft"
                )
            )
            unallocated = await session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                    LedgerEntry.student_id == student, LedgerEntry.invoice_id.is_(None)
                )
            )
            assert owed == invoices_due + unallocated
            per_student[student] = owed
        school_total = await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.school_id == school_id
            )
        )
        assert school_total == sum(per_student.values())
        # 4. Money received less refunded is exactly the credits booked for payments.
        received = await session.scalar(
            select(func.coalesce(func.sum(Payment.amount - Payment.refunded), 0))
        )
        credited = await session.scalar(
            select(func.coalesce(-func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.kind.in_(("payment", "refund"))
            )
        )
        assert received == credited
        # 5. Receipt numbers are 1..n.
        numbers = sorted((await session.execute(select(Payment.receipt_number))).scalars())
        assert numbers == list(range(1, len(numbers) + 1))


async def _numbers(resources):  # type: ignore[no-untyped-def]
    async with resources.sessionmaker() as session:
        return (
            await session.execute(
                select(
                    Payment.provider_payment_id, Payment.receipt_number, Payment.receipt_label
                ).order_by(Payment.receipt_number.nulls_last(), Payment.created_at)
            )
        ).all()


async def test_online_payments_are_numbered_afterwards_in_the_same_gapless_sequence(
    resources, records
) -> None:
    school_id, student, (april, may, june) = await _setup(resources, records)

    async with transaction(resources.sessionmaker) as session:
        online = await ledger.record_payment(
            session,
            None,
            school_id=school_id,
            student_id=student,
            amount=100_000,
            method="razorpay",
            received_on=TODAY,
            invoice_ids=[april],
            provider_payment_id="pay_commit",
        )
        assert (online.receipt_number, online.receipt_label) == (None, None)  # not yet
        counter_paid = await ledger.record_payment(
            session,
            None,
            school_id=school_id,
            student_id=student,
            amount=10_000,
            method="cash",
            received_on=TODAY,
            invoice_ids=[may],
        )
        assert counter_paid.receipt_number == 1  # printed at once
    with pytest.raises(RuntimeError):
        async with transaction(resources.sessionmaker) as session:
            await ledger.record_payment(
                session,
                None,
                school_id=school_id,
                student_id=student,
                amount=5_000,
                method="razorpay",
                received_on=TODAY,
                invoice_ids=[june],
                provider_payment_id="pay_rolled_back",
            )
            raise RuntimeError("the webhook failed after crediting")
    # A numbering that rolls back gives its numbers back.
    with pytest.raises(RuntimeError):
        async with transaction(resources.sessionmaker) as session:
            assert await ledger.number_receipts(session, school_id=school_id) == 1
            raise RuntimeError("the receipt job failed")
    assert [(p, n) for p, n, _ in await _numbers(resources)] == [(None, 1), ("pay_commit", None)]

    async with transaction(resources.sessionmaker) as session:
        assert await ledger.number_receipts(session, school_id=school_id) == 1
    async with transaction(resources.sessionmaker) as session:
        assert await ledger.number_receipts(session, school_id=school_id) == 0  # done
    numbered = await _numbers(resources)
    assert [(p, n) for p, n, _ in numbered] == [(None, 1), ("pay_commit", 2)]
    assert numbered[1][2].endswith("/00002")
    again = await _pay(
        resources,
        school_id,
        student,
        100_000,
        method="razorpay",
        invoice_ids=[april],
        provider_payment_id="pay_commit",
    )
    assert (again.created, again.receipt_number) == (False, 2)  # the number it got
    await _no_discrepancies(resources, school_id)


async def test_numberings_racing_counter_payments_keep_receipts_gapless(resources, records) -> None:
    """Online payments numbered by several jobs at once while the counter takes
    payments: every receipt gets exactly one number, 1..n, online ones in the order
    they were recorded."""
    school_id, _student, _ = await _setup(resources, records)
    students = list(records.students.values())
    for i in range(12):
        await _pay(
            resources,
            school_id,
            students[i % len(students)],
            1_000,
            method="razorpay",
            provider_payment_id=f"pay_{i:02d}",
        )

    async def number() -> int:
        async with transaction(resources.sessionmaker) as session:
            return await ledger.number_receipts(session, school_id=school_id)

    async def counter(i: int) -> int:
        paid = await _pay(resources, school_id, students[i % len(students)], 500)
        assert paid.receipt_number is not None
        return 0

    done = await asyncio.gather(*(number() for _ in range(4)), *(counter(i) for i in range(8)))

    assert sum(done) == 12  # each online payment numbered once, by one of the jobs
    numbered = await _numbers(resources)
    assert [n for _, n, _ in numbered] == list(range(1, 21))
    online = [p for p, _, _ in numbered if p is not None]
    assert online == sorted(online)  # in the order they were recorded
    await _no_discrepancies(resources, school_id)


async def test_an_advance_pays_invoices_issued_later_oldest_due_first(resources, records) -> None:
    school_id = records.admin.school_id
    student = records.students["Aarav"]
    ahead = await _pay(resources, school_id, student, 250_000)  # nothing due yet
    assert ahead.advance == 250_000
    _, _, (april, may, june) = await _setup(resources, records)

    async with transaction(resources.sessionmaker) as session:
        applied = await ledger.apply_advance(session, None, school_id=school_id, student_id=student)
    async with transaction(resources.sessionmaker) as session:
        again = await ledger.apply_advance(session, None, school_id=school_id, student_id=student)

    assert (applied, again) == (250_000, 0)
    assert [
        ((i := await _invoice(resources, x)).status, i.paid, i.balance) for x in (april, may, june)
    ] == [("paid", 100_000, 0), ("paid", 150_000, 0), ("issued", 0, 300_000)]
    async with resources.sessionmaker() as session:
        owed = await ledger.student_balance(session, school_id=school_id, student_id=student)
    assert owed == 300_000  # what June still asks for
    await _no_discrepancies(resources, school_id)

    # Refunding that payment now takes the money back from the invoices it paid.
    async with transaction(resources.sessionmaker) as session:
        await ledger.refund(
            session,
            None,
            school_id=school_id,
            payment_id=ahead.payment_id,
            amount=100_000,
            external_ref=None,
            memo="family asked",
        )
    assert (await _invoice(resources, may)).balance == 100_000  # newest first
    await _no_discrepancies(resources, school_id)


async def test_refunding_money_that_paid_a_written_off_invoice_opens_it_again(
    resources, records
) -> None:
    school_id, student, (april, _may, _june) = await _setup(resources, records)
    paid = await _pay(resources, school_id, student, 40_000, invoice_ids=[april])
    async with transaction(resources.sessionmaker) as session:
        await ledger.write_off(
            session, None, school_id=school_id, invoice_id=april, reason="Hardship"
        )

    async with transaction(resources.sessionmaker) as session:
        await ledger.refund(
            session,
            None,
            school_id=school_id,
            payment_id=paid.payment_id,
            amount=15_000,
            external_ref=None,
            memo="Cheque bounced",
        )

    row = await _invoice(resources, april)
    assert (row.status, row.paid, row.adjusted, row.balance) == (
        "partially_paid",
        25_000,
        60_000,
        15_000,
    )
    await _no_discrepancies(resources, school_id)
