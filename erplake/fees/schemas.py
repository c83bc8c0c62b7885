"""Request and response bodies of fee set-up, invoice generation and invoices."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from erplake.core.schemas import Schema

ConcessionKind = Literal["percent", "fixed"]
ConcessionCategory = Literal["sibling", "staff_child", "merit", "rte_ews", "scholarship"]
ConcessionStatus = Literal["pending", "approved", "rejected", "revoked"]
Frequency = Literal["monthly", "quarterly", "term", "annual"]
LateFeeKind = Literal["flat", "per_day"]
InvoiceStatus = Literal["draft", "issued", "partially_paid", "paid", "cancelled", "written_off"]

HEAD_CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
# ₹1,000 crore: above any fee or payment, and far enough below BIGINT that sums and
# per-day late fees cannot overflow; a bigger figure is a typo, refused with a 422.
MAX_PAISE = 10**12
PositivePaise = Annotated[
    int, Field(gt=0, le=MAX_PAISE, description="Amount in paise (1 rupee = 100 paise)")
]


# ---- heads ---------------------------------------------------------------------


class FeeHeadIn(Schema):
    code: str = Field(pattern=HEAD_CODE, examples=["TUITION"])
    name: str = Field(min_length=1, max_length=100, examples=["Tuition fee"])


class FeeHeadUpdate(Schema):
    code: str | None = Field(default=None, pattern=HEAD_CODE)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    is_active: bool | None = Field(
        default=None, description="false: no longer billed (kept on past invoices)"
    )


class FeeHeadOut(Schema):
    id: uuid.UUID
    code: str
    name: str
    is_active: bool


# ---- instalments ---------------------------------------------------------------


class InstalmentIn(Schema):
    academic_year_id: uuid.UUID | None = Field(
        default=None, description="Default: the current academic year"
    )
    name: str = Field(min_length=1, max_length=64, examples=["April"])
    due_on: date


class InstalmentUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    due_on: date | None = None


class InstalmentPlanIn(Schema):
    """A year's standard instalments of one frequency: monthly (April … March),
    quarterly (Quarter 1–4 from April, July, October, January), term-wise (Term 1 in
    April, Term 2 in October) or annual (April)."""

    academic_year_id: uuid.UUID | None = Field(
        default=None, description="Default: the current academic year"
    )
    frequency: Frequency
    due_day: int = Field(default=10, ge=1, le=28, description="Day of the month fees are due")


class InstalmentOut(Schema):
    id: uuid.UUID
    academic_year_id: uuid.UUID
    name: str
    due_on: date


# ---- structures ----------------------------------------------------------------


class StructureLineIn(Schema):
    head_id: uuid.UUID
    instalment_id: uuid.UUID
    amount: PositivePaise


class StructureSplitIn(Schema):
    """A head's amount for the year, split evenly into the instalments of a frequency
    (the year's standard instalments, see /fees/instalments/plan) or into the chosen
    instalments; the paise that do not divide go on the first, so the parts add up
    exactly."""

    head_id: uuid.UUID
    annual_amount: PositivePaise
    frequency: Frequency | None = None
    instalment_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=24)

    @model_validator(mode="after")
    def _frequency_or_instalments(self) -> StructureSplitIn:
        if (self.frequency is None) == (self.instalment_ids is None):
            raise ValueError("give either frequency or instalment_ids")
        return self


class StructureIn(Schema):
    academic_year_id: uuid.UUID | None = Field(
        default=None, description="Default: the current academic year"
    )
    class_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100, examples=["Class 6 fees 2026-27"])
    lines: list[StructureLineIn] = Field(default=[], max_length=500)
    splits: list[StructureSplitIn] = Field(default=[], max_length=50)


class StructureUpdate(Schema):
    """Replaces the name and every line (invoices already issued keep their figures)."""

    name: str = Field(min_length=1, max_length=100)
    lines: list[StructureLineIn] = Field(default=[], max_length=500)
    splits: list[StructureSplitIn] = Field(default=[], max_length=50)


class StructureLineOut(Schema):
    id: uuid.UUID
    head_id: uuid.UUID
    head_code: str
    instalment_id: uuid.UUID
    instalment_name: str
    due_on: date
    amount: int


class StructureOut(Schema):
    id: uuid.UUID
    academic_year_id: uuid.UUID
    class_id: uuid.UUID
    class_name: str
    name: str
    annual_total: int
    lines: list[StructureLineOut]


# ---- concessions ---------------------------------------------------------------


class ConcessionIn(Schema):
    """A percent (in basis points: 2500 = 25%) or a fixed amount off each invoice line
    of the chosen heads (none chosen: every head), for one student or every student of
    a category. Created pending; applies to invoices generated after approval."""

    academic_year_id: uuid.UUID | None = Field(
        default=None, description="Default: the current academic year"
    )
    name: str = Field(min_length=1, max_length=100, examples=["Sibling concession"])
    kind: ConcessionKind
    percent_bp: int | None = Field(default=None, ge=1, le=10000)
    amount: PositivePaise | None = Field(default=None, description="Paise off each line (fixed)")
    head_ids: list[uuid.UUID] = Field(default=[], max_length=50)
    student_id: uuid.UUID | None = None
    category: ConcessionCategory | None = None
    reason: str = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> ConcessionIn:
        if self.kind == "percent" and (self.percent_bp is None or self.amount is not None):
            raise ValueError("a percent concession takes percent_bp and no amount")
        if self.kind == "fixed" and (self.amount is None or self.percent_bp is not None):
            raise ValueError("a fixed concession takes amount and no percent_bp")
        if (self.student_id is None) == (self.category is None):
            raise ValueError("give either student_id or category")
        return self


class ConcessionUpdate(Schema):
    """Only a pending concession may change."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    percent_bp: int | None = Field(default=None, ge=1, le=10000)
    amount: PositivePaise | None = None
    head_ids: list[uuid.UUID] | None = Field(default=None, max_length=50)
    reason: str | None = Field(default=None, min_length=1, max_length=1000)


class ConcessionDecision(Schema):
    note: str | None = Field(default=None, max_length=500)


class ConcessionOut(Schema):
    id: uuid.UUID
    academic_year_id: uuid.UUID
    name: str
    kind: str
    percent_bp: int | None
    amount: int | None
    head_ids: list[uuid.UUID]
    student_id: uuid.UUID | None
    category: str | None
    reason: str
    status: str
    requested_by_id: uuid.UUID | None
    approved_by_id: uuid.UUID | None
    approved_at: datetime | None
    created_at: datetime


class StudentCategoryOut(Schema):
    student_id: uuid.UUID
    student_name: str
    admission_number: str
    category: str
    created_at: datetime


# ---- late-fee rules --------------------------------------------------------------


class LateFeeRuleIn(Schema):
    """Flat: `amount` once the due date and grace days have passed. Per day: `amount`
    for each day late after the grace days, up to `cap`. Creating an active rule
    retires the one active before it."""

    name: str = Field(min_length=1, max_length=100)
    kind: LateFeeKind
    amount: PositivePaise
    grace_days: int = Field(default=0, ge=0, le=365)
    cap: PositivePaise | None = Field(default=None, description="Most a per-day fee reaches")
    is_active: bool = True

    @model_validator(mode="after")
    def _cap(self) -> LateFeeRuleIn:
        if self.cap is not None and self.cap < self.amount:
            raise ValueError("cap must be at least amount")
        return self


class LateFeeRuleUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    amount: PositivePaise | None = None
    grace_days: int | None = Field(default=None, ge=0, le=365)
    cap: PositivePaise | None = None
    is_active: bool | None = None


class LateFeeRuleOut(Schema):
    id: uuid.UUID
    name: str
    kind: str
    amount: int
    grace_days: int
    cap: int | None
    is_active: bool


class LateFeeRun(Schema):
    on: date
    invoices: int
    amount: int


# ---- invoice generation ----------------------------------------------------------


class InvoiceScope(Schema):
    """Exactly one of: a student, a section, a class, or the whole school."""

    student_id: uuid.UUID | None = None
    section_id: uuid.UUID | None = None
    class_id: uuid.UUID | None = None
    school: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> InvoiceScope:
        given = [
            self.student_id is not None,
            self.section_id is not None,
            self.class_id is not None,
            self.school,
        ]
        if sum(given) != 1:
            raise ValueError("give exactly one of student_id, section_id, class_id, school")
        return self


class GenerateIn(Schema):
    instalment_id: uuid.UUID
    scope: InvoiceScope


class GenerationPreview(Schema):
    count: int = Field(description="Invoices a run would create now")
    total: int = Field(description="What they come to, after concessions (paise)")
    concession: int = Field(description="Concessions on them (paise)")
    already_invoiced: int = Field(description="Students in scope already invoiced")


class GenerationStarted(Schema):
    job_id: uuid.UUID
    status_url: str
    preview: GenerationPreview


# ---- invoices ---------------------------------------------------------------------


class InvoiceOut(Schema):
    id: uuid.UUID
    number: str
    student_id: uuid.UUID
    student_name: str
    admission_number: str
    section_id: uuid.UUID | None
    section_label: str | None
    instalment_id: uuid.UUID
    instalment_name: str
    due_on: date
    status: str
    subtotal: int
    concession: int
    late_fee: int
    total: int
    paid: int
    adjusted: int
    balance: int
    issued_at: datetime | None
    status_reason: str | None


class InvoiceLineOut(Schema):
    id: uuid.UUID
    kind: str
    head_id: uuid.UUID | None
    description: str
    amount: int
    concession: int


class LedgerEntryOut(Schema):
    id: int
    kind: str
    amount: int = Field(description="Signed paise: positive owed, negative credited")
    payment_id: uuid.UUID | None
    memo: str | None
    created_at: datetime


class InvoiceDetail(InvoiceOut):
    lines: list[InvoiceLineOut]
    entries: list[LedgerEntryOut]


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=1000)
