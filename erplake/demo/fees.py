"""The demo school's fees, set up through the same services the office uses.

Quarterly tuition by class band, exam fees in two terms' quarters, annual charges in
the first quarter; a sibling concession (10 % of tuition) and RTE/EWS (100 %),
approved by the principal; a per-day late fee after a week's grace; invoices for the
quarters already due; most families paid the older quarters at the counter or online.
The demo parent's children still owe the latest quarter, so a newcomer can pay it
from the parent portal.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.audit.service import Actor
from erplake.core.permissions import P
from erplake.core.security import Principal
from erplake.fees import invoicing, late_fees, ledger, setup
from erplake.fees.schemas import (
    ConcessionIn,
    FeeHeadIn,
    InstalmentPlanIn,
    InvoiceScope,
    LateFeeRuleIn,
    StructureIn,
    StructureLineIn,
    StructureSplitIn,
)

# Annual tuition in rupees by class sequence (Nursery 0 … 12 → 14).
_TUITION_BANDS = [(2, 24_000), (7, 36_000), (10, 42_000), (12, 48_000), (14, 54_000)]
_EXAM_FEE = 2_000
_ANNUAL_CHARGES = 5_000
# Of the students invoiced for a quarter, how many paid it (oldest quarter first).
_PAID_SHARE = [0.92, 0.8, 0.55, 0.3]
# Payments go through the ledger one by one, like the office's: a sample of the
# school keeps the first start quick.
_PAYING_STUDENTS = 400


def _tuition(sequence: int) -> int:
    return next(amount for top, amount in _TUITION_BANDS if sequence <= top) * 100


async def seed_demo_fees(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    accountant_id: uuid.UUID,
    principal_id: uuid.UUID,
    parent_phone: str,
    today: date,
    rng: random.Random,
) -> None:
    office = Actor(school_id=school_id, user_id=accountant_id, ip=None, request_id="demo-seed")
    year_id = await session.scalar(
        text("SELECT id FROM academic_years WHERE school_id = :s AND is_current"),
        {"s": school_id},
    )
    heads = {
        code: (
            await setup.create_head(
                session, office, school_id=school_id, body=FeeHeadIn(code=code, name=name)
            )
        ).id
        for code, name in (
            ("TUITION", "Tuition fee"),
            ("EXAM", "Examination fee"),
            ("ANNUAL", "Annual charges"),
            ("TRANSPORT", "Transport"),
        )
    }
    quarters = await setup.plan_instalments(
        session,
        office,
        school_id=school_id,
        body=InstalmentPlanIn(academic_year_id=year_id, frequency="quarterly", due_day=10),
    )
    classes = (
        await session.execute(
            text("SELECT id, name, sequence FROM classes WHERE school_id = :s ORDER BY sequence"),
            {"s": school_id},
        )
    ).all()
    for class_id, class_name, sequence in classes:
        await setup.create_structure(
            session,
            office,
            school_id=school_id,
            body=StructureIn(
                academic_year_id=year_id,
                class_id=class_id,
                name=f"Class {class_name} fees",
                lines=[
                    StructureLineIn(
                        head_id=heads["ANNUAL"],
                        instalment_id=quarters[0].id,
                        amount=_ANNUAL_CHARGES * 100,
                    )
                ],
                splits=[
                    StructureSplitIn(
                        head_id=heads["TUITION"],
                        annual_amount=_tuition(sequence),
                        frequency="quarterly",
                    ),
                    StructureSplitIn(
                        head_id=heads["EXAM"],
                        annual_amount=_EXAM_FEE * 100,
                        instalment_ids=[quarters[1].id, quarters[3].id],
                    ),
                ],
            ),
        )

    await _concessions(
        session,
        office,
        school_id=school_id,
        year_id=year_id,
        tuition=heads["TUITION"],
        principal_id=principal_id,
    )
    await setup.create_late_fee_rule(
        session,
        office,
        school_id=school_id,
        body=LateFeeRuleIn(
            name="₹10 a day after a week, at most ₹500",
            kind="per_day",
            amount=1_000,
            grace_days=7,
            cap=50_000,
        ),
    )

    due = [q for q in quarters if q.due_on <= today]
    for quarter in due:
        await invoicing.generate_invoices(
            session,
            office,
            school_id=school_id,
            instalment_id=quarter.id,
            scope=InvoiceScope(school=True),
        )
    await _payments(
        session,
        office,
        school_id=school_id,
        quarters=due,
        today=today,
        rng=rng,
        parent_phone=parent_phone,
    )
    await late_fees.apply_late_fees(session, school_id=school_id, on=today)


async def _concessions(
    session: AsyncSession,
    office: Actor,
    *,
    school_id: uuid.UUID,
    year_id: uuid.UUID,
    tuition: uuid.UUID,
    principal_id: uuid.UUID,
) -> None:
    """Younger siblings get 10 % off tuition; EWS admissions (RTE) pay nothing."""
    await session.execute(
        text(
            """
            INSERT INTO student_fee_categories (student_id, category, school_id)
            SELECT student_id, 'sibling', :s FROM (
                SELECT sg.student_id,
                       row_number() OVER (PARTITION BY sg.guardian_id
                                          ORDER BY st.date_of_birth) AS nth
                FROM student_guardians sg JOIN students st ON st.id = sg.student_id
                WHERE sg.is_primary AND st.school_id = :s
            ) families WHERE nth > 1
            UNION ALL
            SELECT id, 'rte_ews', :s FROM students WHERE school_id = :s AND category = 'ews'
            """
        ),
        {"s": school_id},
    )
    principal = Principal(
        user_id=principal_id,
        school_id=school_id,
        roles=("principal",),
        permissions=frozenset({str(P.concessions_approve), str(P.fees_read)}),
        epoch=0,
    )
    approver = Actor(school_id=school_id, user_id=principal_id, ip=None, request_id="demo-seed")
    for body in (
        ConcessionIn(
            academic_year_id=year_id,
            name="Sibling concession",
            kind="percent",
            percent_bp=1_000,
            head_ids=[tuition],
            category="sibling",
            reason="School policy: 10% off tuition for the second and later children",
        ),
        ConcessionIn(
            academic_year_id=year_id,
            name="RTE / EWS",
            kind="percent",
            percent_bp=10_000,
            category="rte_ews",
            reason="Right to Education Act, section 12(1)(c) admissions",
        ),
    ):
        rule = await setup.create_concession(session, office, school_id=school_id, body=body)
        await setup.decide_concession(
            session, approver, principal, concession_id=rule.id, approve=True, note=None
        )


async def _payments(
    session: AsyncSession,
    office: Actor,
    *,
    school_id: uuid.UUID,
    quarters: list[setup.InstalmentOut],
    today: date,
    rng: random.Random,
    parent_phone: str,
) -> None:
    """Each student paid their oldest k quarters in one go, k drawn so that older
    quarters are paid more often. The demo parent's family leaves the latest open."""
    rows = (
        await session.execute(
            text(
                """
                SELECT i.student_id, array_agg(i.balance ORDER BY i.due_on),
                       EXISTS (SELECT 1 FROM student_guardians sg
                               JOIN guardians g ON g.id = sg.guardian_id
                               WHERE sg.student_id = i.student_id AND g.phone = :phone)
                FROM invoices i
                WHERE i.school_id = :s AND i.balance > 0
                GROUP BY i.student_id ORDER BY i.student_id
                """
            ),
            {"s": school_id, "phone": parent_phone},
        )
    ).all()
    methods = ["cash", "upi", "upi", "bank_transfer", "cheque"]
    sample = set(rng.sample(range(len(rows)), min(_PAYING_STUDENTS, len(rows))))
    for index, (student_id, balances, demo_family) in enumerate(rows):
        if index not in sample and not demo_family:
            continue
        if demo_family:
            paid_quarters = len(balances) - 1
        else:
            paid_quarters = 0
            for share in _PAID_SHARE[: len(balances)]:
                if rng.random() >= share:
                    break
                paid_quarters += 1
        if paid_quarters == 0:
            continue
        method = rng.choice(methods)
        received = min(today, quarters[paid_quarters - 1].due_on + timedelta(rng.randint(-9, 12)))
        await ledger.record_payment(
            session,
            office,
            school_id=school_id,
            student_id=student_id,
            amount=sum(balances[:paid_quarters]),
            method=method,
            reference=None if method == "cash" else f"REF{rng.randint(100000, 999999)}",
            received_on=received,
            recorded_by_id=office.user_id,
            render_receipt=False,  # rendered when someone asks for one
        )
