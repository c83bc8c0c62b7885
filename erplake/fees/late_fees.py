"""Late fees: the daily job charges what the school's active rule says is owed, once.

For every open invoice (issued or partially paid) with a balance, whose due date plus
the rule's grace days is before the day: a flat rule owes its amount; a per-day rule
owes its amount for each day late after the grace days, up to its cap. What the
invoice already carries as late fee is subtracted, and only a positive difference is
charged: one 'late_fee' ledger entry, the invoice's late-fee line grown (one line per
invoice) and `invoices.late_fee` grown, in one statement. Running it again for the
same day, or for an earlier one, finds nothing more owed; a rule made milder later
never takes back what was charged.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.fees.schemas import LateFeeRun
from erplake.models.fees import LateFeeRule

_CHARGE = text(
    """
    WITH due AS (
        SELECT i.id, i.student_id,
               (CASE WHEN CAST(:kind AS text) = 'flat' THEN CAST(:amount AS bigint)
                     ELSE LEAST(CAST(:cap AS bigint), CAST(:amount AS bigint)
                                * (CAST(:on AS date) - i.due_on - CAST(:grace AS integer)))
                END) - i.late_fee AS extra
        FROM invoices i
        WHERE i.school_id = CAST(:school AS uuid)
          AND i.status IN ('issued', 'partially_paid')
          AND i.balance > 0
          AND i.due_on + CAST(:grace AS integer) < CAST(:on AS date)
          AND (CASE WHEN CAST(:kind AS text) = 'flat' THEN CAST(:amount AS bigint)
                    ELSE LEAST(CAST(:cap AS bigint), CAST(:amount AS bigint)
                               * (CAST(:on AS date) - i.due_on - CAST(:grace AS integer)))
               END) > i.late_fee
        -- The ledger's lock order (invoices by due date, then number), so a run and a
        -- payment locking the same family's invoices cannot deadlock.
        ORDER BY i.due_on, i.number
        FOR UPDATE OF i
    ), grown AS (
        UPDATE invoices i SET late_fee = i.late_fee + d.extra, updated_at = now()
        FROM due d WHERE i.id = d.id
    ), line AS (
        INSERT INTO invoice_lines (school_id, invoice_id, kind, description, amount)
        SELECT CAST(:school AS uuid), d.id, 'late_fee', 'Late fee', d.extra FROM due d
        ON CONFLICT (invoice_id) WHERE kind = 'late_fee'
        DO UPDATE SET amount = invoice_lines.amount + EXCLUDED.amount
    ), entries AS (
        INSERT INTO ledger_entries (school_id, student_id, invoice_id, kind, amount, memo)
        SELECT CAST(:school AS uuid), d.student_id, d.id, 'late_fee', d.extra,
               CAST(:memo AS text)
        FROM due d
    )
    SELECT count(*), coalesce(sum(extra), 0) FROM due
    """
)


async def active_rule(session: AsyncSession, *, school_id: uuid.UUID) -> LateFeeRule | None:
    return (
        await session.execute(
            select(LateFeeRule).where(
                LateFeeRule.school_id == school_id, LateFeeRule.is_active.is_(True)
            )
        )
    ).scalar_one_or_none()


async def apply_late_fees(session: AsyncSession, *, school_id: uuid.UUID, on: date) -> LateFeeRun:
    """Charge the late fees owed as of `on` (the school's today, for the daily job), in
    the caller's transaction; audited as the system when anything was charged."""
    rule = await active_rule(session, school_id=school_id)
    if rule is None:
        return LateFeeRun(on=on, invoices=0, amount=0)
    invoices, amount = (
        await session.execute(
            _CHARGE,
            {
                "school": school_id,
                "kind": rule.kind,
                "amount": rule.amount,
                "cap": rule.cap,
                "grace": rule.grace_days,
                "on": on,
                "memo": f"Late fee ({rule.name}) as of {on.isoformat()}",
            },
        )
    ).one()
    run = LateFeeRun(on=on, invoices=invoices, amount=int(amount))
    if invoices:
        await audit.record(
            session,
            Actor(school_id=school_id, user_id=None, ip=None, request_id=None),
            action="fees.late_fees",
            entity="late_fee_rule",
            entity_id=rule.id,
            after=run.model_dump(mode="json"),
        )
    return run
