"""Fee set-up and issued invoices written straight to the database, for the tests of
payments, documents, reports and reminders (invoice generation has its own tests).

`issue_invoice` writes what generation writes for one student: the invoice, its fee
lines and the 'invoice' and 'concession' ledger entries, so the ledger's invariants
hold from the start.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.models.academics import AcademicYear
from erplake.models.fees import FeeHead, FeeInstalment, Invoice, InvoiceLine, LedgerEntry

_numbers = itertools.count(1)


@dataclass(frozen=True)
class FeeLineSpec:
    head_id: uuid.UUID
    amount: int
    concession: int = 0
    description: str = "Fee"


async def add_head(
    session: AsyncSession, school_id: uuid.UUID, code: str, name: str | None = None
) -> uuid.UUID:
    head_id = uuid.uuid4()
    await session.execute(
        insert(FeeHead).values(id=head_id, school_id=school_id, code=code, name=name or code)
    )
    return head_id


async def current_year_id(session: AsyncSession, school_id: uuid.UUID) -> uuid.UUID:
    year_id = await session.scalar(
        select(AcademicYear.id).where(
            AcademicYear.school_id == school_id, AcademicYear.is_current.is_(True)
        )
    )
    assert year_id is not None, "the test school needs a current academic year"
    return year_id


async def add_instalment(
    session: AsyncSession, school_id: uuid.UUID, name: str, due_on: date
) -> uuid.UUID:
    instalment_id = uuid.uuid4()
    await session.execute(
        insert(FeeInstalment).values(
            id=instalment_id,
            school_id=school_id,
            academic_year_id=await current_year_id(session, school_id),
            name=name,
            due_on=due_on,
        )
    )
    return instalment_id


async def issue_invoice(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    instalment_id: uuid.UUID,
    lines: Sequence[FeeLineSpec],
) -> uuid.UUID:
    """An issued invoice for one student and instalment, with its ledger entries."""
    instalment = (
        await session.execute(select(FeeInstalment).where(FeeInstalment.id == instalment_id))
    ).scalar_one()
    subtotal = sum(line.amount for line in lines)
    concession = sum(line.concession for line in lines)
    invoice_id = uuid.uuid4()
    await session.execute(
        insert(Invoice).values(
            id=invoice_id,
            school_id=school_id,
            student_id=student_id,
            academic_year_id=instalment.academic_year_id,
            instalment_id=instalment_id,
            number=f"TEST-{next(_numbers):06d}",
            status="paid" if subtotal == concession else "issued",
            due_on=instalment.due_on,
            subtotal=subtotal,
            concession=concession,
        )
    )
    await session.execute(
        insert(InvoiceLine),
        [
            {
                "school_id": school_id,
                "invoice_id": invoice_id,
                "kind": "fee",
                "head_id": line.head_id,
                "description": line.description,
                "amount": line.amount,
                "concession": line.concession,
            }
            for line in lines
        ],
    )
    entries = [{"kind": "invoice", "amount": subtotal}] if subtotal else []
    if concession:
        entries.append({"kind": "concession", "amount": -concession})
    if entries:
        await session.execute(
            insert(LedgerEntry),
            [
                {
                    "school_id": school_id,
                    "student_id": student_id,
                    "invoice_id": invoice_id,
                    **entry,
                }
                for entry in entries
            ],
        )
    return invoice_id
