"""Late fees: flat after the grace days, per day up to a cap; charged once per day
however often the job runs, never on paid, cancelled or written-off invoices, always
in step with the ledger; and the hourly cron entry that writes each school's daily
fee jobs once per date."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import redis
from sqlalchemy import select, text

from erplake.core.db import transaction
from erplake.core.jobs import execute_outbox_job
from erplake.fees import ledger
from erplake.fees.invoicing import generate_invoices
from erplake.fees.late_fees import apply_late_fees
from erplake.fees.schemas import InvoiceScope, LateFeeRun
from erplake.fees.tasks import schedule_daily_fee_jobs
from erplake.models.fees import Invoice, InvoiceLine, LedgerEntry
from erplake.models.outbox import OutboxJob
from erplake.ops.tasks import build_cron_scheduler
from tests.fees.factory import FeeLineSpec, add_head, add_instalment, issue_invoice
from tests.fees.test_invoicing import Q1_CLASS_6, no_discrepancies, ok, set_up_fees


async def _invoiced_quarter_one(client_for: Any, records: Any, resources: Any) -> date:
    """Quarter 1 invoices for all six students; their due date."""
    async with client_for("api") as api:
        fees = await set_up_fees(api, records)
    async with transaction(resources.sessionmaker) as session:
        await generate_invoices(
            session,
            None,
            school_id=records.admin.school_id,
            instalment_id=uuid.UUID(fees.instalments["Quarter 1"]),
            scope=InvoiceScope(school=True),
        )
        due: date = (await session.execute(select(Invoice.due_on).limit(1))).scalar_one()
    return due


async def _rule(client_for: Any, records: Any, body: dict[str, Any]) -> None:
    async with client_for("api") as api:
        await ok(
            api, "POST", "/fees/late-fee-rules", records.admin.headers, {"name": "Rule", **body}
        )


async def _charge(resources: Any, school_id: uuid.UUID, on: date) -> LateFeeRun:
    async with transaction(resources.sessionmaker) as session:
        return await apply_late_fees(session, school_id=school_id, on=on)


async def _late_fees(resources: Any) -> dict[uuid.UUID, tuple[int, list[int], list[int]]]:
    """Per student: the invoice's late fee, its late-fee lines, its late-fee entries."""
    async with transaction(resources.sessionmaker) as session:
        invoices = (await session.execute(select(Invoice))).scalars().all()
        lines = (
            await session.execute(select(InvoiceLine).where(InvoiceLine.kind == "late_fee"))
        ).scalars()
        entries = (
            await session.execute(
                select(LedgerEntry).where(LedgerEntry.kind == "late_fee").order_by(LedgerEntry.id)
            )
        ).scalars()
        by_invoice: dict[uuid.UUID, tuple[int, list[int], list[int]]] = {
            i.id: (i.late_fee, [], []) for i in invoices
        }
        for line in lines:
            by_invoice[line.invoice_id][1].append(line.amount)
        for entry in entries:
            assert entry.invoice_id is not None
            by_invoice[entry.invoice_id][2].append(entry.amount)
        return {i.student_id: by_invoice[i.id] for i in invoices}


async def test_a_flat_late_fee_is_charged_once_after_the_grace_days(
    client_for, records, resources
) -> None:
    school_id = records.admin.school_id
    s = records.students
    due = await _invoiced_quarter_one(client_for, records, resources)
    await _rule(client_for, records, {"kind": "flat", "amount": 10_000, "grace_days": 5})
    async with transaction(resources.sessionmaker) as session:
        for student, amount in (("Diya", Q1_CLASS_6), ("Ishaan", 1_000)):
            await ledger.record_payment(
                session,
                None,
                school_id=school_id,
                student_id=s[student],
                amount=amount,
                method="cash",
                received_on=due,
            )
        aarav = await session.scalar(select(Invoice.id).where(Invoice.student_id == s["Aarav"]))
        assert aarav is not None
        await ledger.cancel_invoice(
            session, None, school_id=school_id, invoice_id=aarav, reason="Left"
        )

    within_grace = await _charge(resources, school_id, due + timedelta(days=5))
    first = await _charge(resources, school_id, due + timedelta(days=6))
    same_day = await _charge(resources, school_id, due + timedelta(days=6))
    month_later = await _charge(resources, school_id, due + timedelta(days=36))
    charged = await _late_fees(resources)
    async with client_for("api") as api:
        audit = await ok(api, "GET", "/audit?action=fees.late_fees", records.admin.headers)
        rohan = await ok(api, "GET", f"/invoices?student_id={s['Rohan']}", records.admin.headers)
    assert within_grace.invoices == 0
    # Kabir, Ishaan (partly paid), Meera, Rohan; not Diya (paid) nor Aarav (cancelled).
    assert (first.invoices, first.amount) == (4, 40_000)
    assert same_day.invoices == month_later.invoices == 0
    assert charged[s["Ishaan"]] == (10_000, [10_000], [10_000])
    assert charged[s["Diya"]] == charged[s["Aarav"]] == (0, [], [])
    assert rohan["items"][0]["late_fee"] == 10_000
    assert rohan["items"][0]["balance"] == 400_000 + 10_000
    assert audit["total"] == 1 and audit["items"][0]["actor_user_id"] is None
    await no_discrepancies(resources, school_id)


async def test_a_per_day_late_fee_grows_by_the_difference_up_to_its_cap(
    client_for, records, resources
) -> None:
    school_id = records.admin.school_id
    rohan = records.students["Rohan"]
    due = await _invoiced_quarter_one(client_for, records, resources)
    await _rule(
        client_for, records, {"kind": "per_day", "amount": 1_000, "grace_days": 2, "cap": 5_000}
    )
    runs = [
        await _charge(resources, school_id, due + timedelta(days=days))
        for days in (2, 3, 5, 4, 5, 30, 31)
    ]
    charged = await _late_fees(resources)
    assert [r.amount // 6 for r in runs] == [0, 1_000, 2_000, 0, 0, 2_000, 0]
    # One late-fee line, grown in place; one entry per increase; all in step.
    assert charged[rohan] == (5_000, [5_000], [1_000, 2_000, 2_000])
    await no_discrepancies(resources, school_id)


async def test_a_payment_after_a_late_fee_still_agrees_with_the_ledger(
    client_for, records, resources
) -> None:
    school_id = records.admin.school_id
    meera = records.students["Meera"]
    due = await _invoiced_quarter_one(client_for, records, resources)
    await _rule(client_for, records, {"kind": "per_day", "amount": 500})
    await _charge(resources, school_id, due + timedelta(days=10))
    async with transaction(resources.sessionmaker) as session:
        await ledger.record_payment(
            session,
            None,
            school_id=school_id,
            student_id=meera,
            amount=Q1_CLASS_6 + 5_000,
            method="upi",
            received_on=due + timedelta(days=10),
            reference="UPI-1",
        )
    later = await _charge(resources, school_id, due + timedelta(days=20))
    async with transaction(resources.sessionmaker) as session:
        invoice = (
            await session.execute(select(Invoice).where(Invoice.student_id == meera))
        ).scalar_one()
    assert (invoice.status, invoice.balance, invoice.late_fee) == ("paid", 0, 5_000)
    assert later.invoices == 5  # everyone still owing, not Meera
    await no_discrepancies(resources, school_id)


async def test_without_an_active_rule_nothing_is_charged(client_for, records, resources) -> None:
    school_id = records.admin.school_id
    due = await _invoiced_quarter_one(client_for, records, resources)
    nothing = await _charge(resources, school_id, due + timedelta(days=60))
    await _rule(client_for, records, {"kind": "flat", "amount": 100, "is_active": False})
    inactive = await _charge(resources, school_id, due + timedelta(days=60))
    assert nothing.invoices == inactive.invoices == 0


async def test_the_cron_entry_writes_each_schools_daily_jobs_once_per_date(
    client_for, records, resources, settings
) -> None:
    school_id = records.admin.school_id
    due = await _invoiced_quarter_one(client_for, records, resources)
    await _rule(client_for, records, {"kind": "flat", "amount": 2_500})
    day = due + timedelta(days=40)
    # 03:00 UTC is 08:30 in India: too early; 04:00 UTC is 09:30.
    early = await schedule_daily_fee_jobs(
        resources.sessionmaker, now=datetime(day.year, day.month, day.day, 3, tzinfo=UTC)
    )
    written = await schedule_daily_fee_jobs(
        resources.sessionmaker, now=datetime(day.year, day.month, day.day, 4, tzinfo=UTC)
    )
    repeat = await schedule_daily_fee_jobs(
        resources.sessionmaker, now=datetime(day.year, day.month, day.day, 17, tzinfo=UTC)
    )
    async with transaction(resources.sessionmaker) as session:
        jobs = (await session.execute(select(OutboxJob).order_by(OutboxJob.id))).scalars().all()
    assert (early, written, repeat) == (0, 2, 0)
    assert [(j.task, j.queue, j.dedupe_key, j.payload) for j in jobs] == [
        (
            "fees.late_fees",
            "default",
            f"fees.late_fees:{school_id}:{day}",
            {"school_id": str(school_id), "on": str(day)},
        ),
        (
            "fees.reminders",
            "low",
            f"fees.reminders:{school_id}:{day}",
            {"school_id": str(school_id), "on": str(day)},
        ),
    ]
    assert await execute_outbox_job(resources.sessionmaker, settings, jobs[0].id) == "done"
    charged = await _late_fees(resources)
    assert {fee for fee, _, _ in charged.values()} == {2_500}
    await no_discrepancies(resources, school_id)


def test_the_scheduler_runs_the_daily_fee_entry_hourly() -> None:
    connection = redis.Redis()  # never contacted: registering is local
    jobs = build_cron_scheduler(connection).get_jobs()
    assert ("erplake.fees.tasks.enqueue_daily_fee_jobs", "5 * * * *", "low") in [
        (j.func_name, j.cron, j.queue_name) for j in jobs
    ]


async def _charge_scanning(resources: Any, school_id: uuid.UUID, on: date) -> LateFeeRun:
    """The run as a big school's plan makes it: the invoices read in table order."""
    async with transaction(resources.sessionmaker) as session:
        await session.execute(text("SET LOCAL enable_indexscan = off"))
        await session.execute(text("SET LOCAL enable_bitmapscan = off"))
        return await apply_late_fees(session, school_id=school_id, on=on)


async def _waiting_for_a_lock(session: Any) -> int:
    # pg_stat_activity is read once per transaction unless its snapshot is cleared.
    await session.execute(text("SELECT pg_stat_clear_snapshot()"))
    return int(
        await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    )


async def test_the_run_locks_invoices_in_the_ledgers_order_so_a_payment_cannot_deadlock_it(
    client_for, records, resources
) -> None:
    """A payment locks a family's invoices by due date; the run must take them in the
    same order, or each ends up waiting for the other."""
    school_id = records.admin.school_id
    student = records.students["Aarav"]
    async with transaction(resources.sessionmaker) as session:
        head = await add_head(session, school_id, "TUITION")
        june = await add_instalment(session, school_id, "June", date(2026, 6, 10))
        april = await add_instalment(session, school_id, "April", date(2026, 4, 10))
        ids = {}
        # The later one is written first, so a plain scan of the table meets it first.
        for name, instalment in (("june", june), ("april", april)):
            ids[name] = await issue_invoice(
                session,
                school_id=school_id,
                student_id=student,
                instalment_id=instalment,
                lines=[FeeLineSpec(head, 100_000)],
            )
    await _rule(client_for, records, {"kind": "flat", "amount": 500})

    async with transaction(resources.sessionmaker) as payment:
        await payment.execute(
            select(Invoice.id).where(Invoice.id == ids["april"]).with_for_update()
        )
        run = asyncio.create_task(_charge_scanning(resources, school_id, date(2026, 7, 1)))
        for _ in range(500):  # at most ~10 s for the run to reach the locked invoice
            if await _waiting_for_a_lock(payment):
                break
            await asyncio.sleep(0.02)
        # Deadlock detection (1 s) fires before this timeout if the run holds June.
        await payment.execute(text("SET LOCAL lock_timeout = '3s'"))
        await payment.execute(select(Invoice.id).where(Invoice.id == ids["june"]).with_for_update())
    assert (await run).invoices == 2
    await no_discrepancies(resources, school_id)
