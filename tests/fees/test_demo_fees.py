"""The demo school's fees: built through the services, consistent with the ledger,
and leaving the demo parent something to pay."""

from __future__ import annotations

import psycopg
from sqlalchemy import select

from erplake.core.db import libpq_url
from erplake.demo.seed import DEMO_PARENT_PHONE, seed_demo_school
from erplake.fees import ledger
from erplake.models.school import School


async def test_demo_fees_agree_with_the_ledger_and_leave_the_parent_a_bill(
    settings, resources, database_url
) -> None:
    assert await seed_demo_school(settings, students=200, seed=3, history_days=5) is True

    async with resources.sessionmaker() as session:
        school_id = await session.scalar(select(School.id).where(School.code == "demo"))
        assert await ledger.discrepancies(session, school_id=school_id) == []
    with psycopg.connect(libpq_url(database_url)) as conn:
        statuses = dict(
            conn.execute("SELECT status, count(*) FROM invoices GROUP BY status").fetchall()
        )
        parent_open = conn.execute(
            "SELECT count(*) FROM invoices i JOIN student_guardians sg USING (student_id)"
            " JOIN guardians g ON g.id = sg.guardian_id"
            " WHERE g.phone = %s AND i.balance > 0",
            (DEMO_PARENT_PHONE,),
        ).fetchone()[0]
        receipts = [
            row[0]
            for row in conn.execute("SELECT receipt_number FROM payments ORDER BY 1").fetchall()
        ]
        free = conn.execute(
            "SELECT count(*) FROM invoices i JOIN student_fee_categories c USING (student_id)"
            " WHERE c.category = 'rte_ews' AND i.concession <> i.subtotal"
        ).fetchone()[0]
    assert statuses.get("paid", 0) > 0 and statuses.get("issued", 0) > 0
    assert parent_open == 2  # each of the two children owes the latest quarter
    assert receipts == list(range(1, len(receipts) + 1))
    assert free == 0  # RTE/EWS pay nothing
