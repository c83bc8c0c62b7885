"""Fees: heads, structures and instalments, concessions, late-fee rules, invoices,
the per-student ledger, payments with gapless receipts, online orders, webhook events
and reminder rules.

Money is integer paise (BIGINT). The ledger is the truth: an entry is signed, a
debit (the family owes more) positive and a credit negative, and every balance is a
sum of entries. The running figures on `invoices` (`paid`, `adjusted`, `late_fee`,
`balance`) are kept in the same transaction as the entries they summarise, so a
list never has to add up the ledger; tests check that they always agree.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from erplake.models.base import Base, IdMixin, SchoolScoped, TimestampMixin

CONCESSION_KINDS = ("percent", "fixed")
CONCESSION_CATEGORIES = ("sibling", "staff_child", "merit", "rte_ews", "scholarship")
CONCESSION_STATUSES = ("pending", "approved", "rejected", "revoked")
LATE_FEE_KINDS = ("flat", "per_day")
INVOICE_STATUSES = ("draft", "issued", "partially_paid", "paid", "cancelled", "written_off")
LINE_KINDS = ("fee", "late_fee")
LEDGER_KINDS = (
    "invoice",
    "concession",
    "late_fee",
    "payment",
    "refund",
    "write_off",
    "adjustment",
)
COUNTER_METHODS = ("cash", "cheque", "upi", "bank_transfer")
PAYMENT_METHODS = (*COUNTER_METHODS, "razorpay", "stripe")
PROVIDERS = ("razorpay", "stripe")
ORDER_STATUSES = ("created", "paid", "failed", "flagged", "expired")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class FeeHead(IdMixin, SchoolScoped, TimestampMixin, Base):
    """Tuition, transport, exam, admission …"""

    __tablename__ = "fee_heads"

    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))

    __table_args__ = (UniqueConstraint("school_id", "code"),)


class FeeInstalment(IdMixin, SchoolScoped, TimestampMixin, Base):
    """A billing point of an academic year ("April", "Term 1", "Annual") with its due
    date. Invoices are generated for one instalment; a structure says what each head
    costs in it (nothing, for a head not billed then)."""

    __tablename__ = "fee_instalments"

    academic_year_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("academic_years.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[date] = mapped_column()

    __table_args__ = (
        UniqueConstraint("academic_year_id", "name"),
        Index("ix_fee_instalments_school_id_due_on", "school_id", "due_on"),
    )


class FeeStructure(IdMixin, SchoolScoped, TimestampMixin, Base):
    """What a class pays in an academic year: one per class and year."""

    __tablename__ = "fee_structures"

    academic_year_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("academic_years.id", ondelete="CASCADE")
    )
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("classes.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("academic_year_id", "class_id"),)


class FeeStructureLine(IdMixin, SchoolScoped, TimestampMixin, Base):
    """A head's amount in one instalment of a structure. A head billed monthly has
    twelve lines, quarterly four, annually one."""

    __tablename__ = "fee_structure_lines"

    structure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fee_structures.id", ondelete="CASCADE")
    )
    instalment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fee_instalments.id", ondelete="RESTRICT"), index=True
    )
    head_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fee_heads.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("structure_id", "instalment_id", "head_id"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class StudentFeeCategory(Base):
    """A student's membership of a concession category (a sibling, a staff child, …)."""

    __tablename__ = "student_fee_categories"

    student_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))

    __table_args__ = (CheckConstraint(_in("category", CONCESSION_CATEGORIES), name="known"),)


class Concession(IdMixin, SchoolScoped, TimestampMixin, Base):
    """A rule, not a copy of a structure: percent (basis points) or a fixed amount per
    invoice line, on the chosen heads (none chosen: every head), for one student or
    for every student of a category, in one academic year. Only approved rules apply
    to invoices generated afterwards."""

    __tablename__ = "fee_concessions"

    academic_year_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("academic_years.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))
    percent_bp: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    head_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), server_default=text("'{}'::uuid[]")
    )
    student_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint(_in("kind", CONCESSION_KINDS), name="kind_known"),
        CheckConstraint(_in("status", CONCESSION_STATUSES), name="status_known"),
        CheckConstraint(
            "(kind = 'percent' AND percent_bp BETWEEN 1 AND 10000 AND amount IS NULL)"
            " OR (kind = 'fixed' AND amount > 0 AND percent_bp IS NULL)",
            name="value_matches_kind",
        ),
        CheckConstraint("(student_id IS NULL) <> (category IS NULL)", name="student_or_category"),
        CheckConstraint(
            f"category IS NULL OR {_in('category', CONCESSION_CATEGORIES)}",
            name="category_known",
        ),
        CheckConstraint("length(trim(reason)) > 0", name="reason_given"),
    )


class LateFeeRule(IdMixin, SchoolScoped, TimestampMixin, Base):
    """Flat after the due date, or per day with a cap, after `grace_days`. At most one
    rule is active in a school; the daily job charges what it says, once."""

    __tablename__ = "late_fee_rules"

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    grace_days: Mapped[int] = mapped_column(Integer, server_default="0")
    cap: Mapped[int | None] = mapped_column(BigInteger)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))

    __table_args__ = (
        CheckConstraint(_in("kind", LATE_FEE_KINDS), name="kind_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("grace_days >= 0", name="grace_not_negative"),
        CheckConstraint("cap IS NULL OR cap >= amount", name="cap_at_least_amount"),
        Index(
            "uq_late_fee_rules_active",
            "school_id",
            unique=True,
            postgresql_where=text("is_active"),
        ),
    )


class Invoice(IdMixin, SchoolScoped, TimestampMixin, Base):
    """One per student and instalment. `total` is what the lines come to (late fee
    included); `paid` is payments net of refunds; `adjusted` is what a write-off or a
    cancellation took off. `balance` is derived by the database."""

    __tablename__ = "invoices"

    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("students.id", ondelete="RESTRICT"))
    academic_year_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("academic_years.id", ondelete="RESTRICT")
    )
    instalment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fee_instalments.id", ondelete="RESTRICT"), index=True
    )
    section_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sections.id", ondelete="SET NULL"), index=True
    )
    number: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), server_default="issued")
    due_on: Mapped[date] = mapped_column()
    issued_at: Mapped[datetime | None] = mapped_column()
    subtotal: Mapped[int] = mapped_column(BigInteger)
    concession: Mapped[int] = mapped_column(BigInteger, server_default="0")
    late_fee: Mapped[int] = mapped_column(BigInteger, server_default="0")
    paid: Mapped[int] = mapped_column(BigInteger, server_default="0")
    adjusted: Mapped[int] = mapped_column(BigInteger, server_default="0")
    total: Mapped[int] = mapped_column(
        BigInteger, Computed("subtotal - concession + late_fee", persisted=True)
    )
    balance: Mapped[int] = mapped_column(
        BigInteger,
        Computed("subtotal - concession + late_fee - paid - adjusted", persisted=True),
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    pdf_key: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        UniqueConstraint("student_id", "instalment_id"),
        UniqueConstraint("school_id", "number"),
        CheckConstraint(_in("status", INVOICE_STATUSES), name="status_known"),
        CheckConstraint(
            "subtotal >= 0 AND concession >= 0 AND concession <= subtotal"
            " AND late_fee >= 0 AND paid >= 0 AND adjusted >= 0",
            name="amounts_sane",
        ),
        CheckConstraint(
            "subtotal - concession + late_fee - paid - adjusted >= 0", name="balance_not_negative"
        ),
        Index("ix_invoices_school_id_status_due_on", "school_id", "status", "due_on"),
        Index("ix_invoices_student_id_due_on", "student_id", "due_on"),
    )


class InvoiceLine(IdMixin, Base):
    __tablename__ = "invoice_lines"

    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10), server_default="fee")
    head_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("fee_heads.id", ondelete="RESTRICT")
    )
    description: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger)
    concession: Mapped[int] = mapped_column(BigInteger, server_default="0")

    __table_args__ = (
        CheckConstraint(_in("kind", LINE_KINDS), name="kind_known"),
        CheckConstraint("(kind = 'fee') = (head_id IS NOT NULL)", name="head_for_fees"),
        CheckConstraint(
            "amount >= 0 AND concession >= 0 AND concession <= amount", name="amounts_sane"
        ),
        # One late-fee line per invoice; the daily job grows it.
        Index(
            "uq_invoice_lines_late_fee",
            "invoice_id",
            unique=True,
            postgresql_where=text("kind = 'late_fee'"),
        ),
    )


class Payment(IdMixin, SchoolScoped, TimestampMixin, Base):
    """Money received for one student, with its receipt number (gapless per school and
    academic year). `refunded` grows with refunds; the ledger has the details."""

    __tablename__ = "payments"

    student_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("students.id", ondelete="RESTRICT"), index=True
    )
    academic_year_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("academic_years.id", ondelete="RESTRICT")
    )
    # Counter payments take their number in the payment's statement (the receipt is
    # printed at once); online payments moments later, in batches, from
    # `ledger.number_receipts` (NULL until then), so a webhook never waits on the
    # school's counter. Both come from `receipt_counters`: one gapless sequence.
    receipt_number: Mapped[int | None] = mapped_column(Integer)
    receipt_label: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    refunded: Mapped[int] = mapped_column(BigInteger, server_default="0")
    method: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(100))
    received_on: Mapped[date] = mapped_column()
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_orders.id", ondelete="SET NULL"), index=True
    )
    provider_payment_id: Mapped[str | None] = mapped_column(String(64))
    receipt_key: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        UniqueConstraint("school_id", "academic_year_id", "receipt_number"),
        CheckConstraint(_in("method", PAYMENT_METHODS), name="method_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("refunded >= 0 AND refunded <= amount", name="refund_within_amount"),
        # A provider's payment is credited once, whichever path (webhook, checkout
        # verification, reconciliation) gets there first; per student, since one order
        # may pay for several children of a family.
        Index(
            "uq_payments_provider_payment",
            "provider_payment_id",
            "student_id",
            unique=True,
            postgresql_where=text("provider_payment_id IS NOT NULL"),
        ),
        Index("ix_payments_school_id_received_on", "school_id", "received_on"),
        # Online payments waiting for their receipt number (`ledger.number_receipts`).
        Index(
            "ix_payments_unnumbered",
            "school_id",
            "created_at",
            postgresql_where=text("receipt_number IS NULL"),
        ),
    )


class ReceiptCounter(Base):
    """The last receipt number issued per school and academic year. Taken with an
    UPDATE … RETURNING inside the payment's transaction (a counter payment's, or the
    batch numbering online ones), so a rolled-back payment gives its number back and
    concurrent numberings queue on the row: no gaps."""

    __tablename__ = "receipt_counters"

    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    academic_year_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("academic_years.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(Integer, server_default="0")


class InvoiceCounter(Base):
    """The last invoice number per school and academic year (numbers may skip when an
    invoice run rolls back; only receipts must be gapless)."""

    __tablename__ = "invoice_counters"

    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    academic_year_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("academic_years.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(Integer, server_default="0")


class LedgerEntry(Base):
    """Signed: positive is owed by the family (invoice, late fee, refund paid back
    out), negative is credit (concession, payment, write-off). A student's balance is
    the sum of their entries; an invoice's balance the sum of entries naming it. A
    payment's amount that no invoice needed stays as an entry without an invoice: the
    family's advance."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("students.id", ondelete="RESTRICT"))
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT")
    )
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str | None] = mapped_column(String(300))
    external_ref: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))

    __table_args__ = (
        CheckConstraint(_in("kind", LEDGER_KINDS), name="kind_known"),
        CheckConstraint(
            "amount <> 0 AND CASE kind"
            " WHEN 'invoice' THEN amount > 0 WHEN 'late_fee' THEN amount > 0"
            " WHEN 'refund' THEN amount > 0 WHEN 'concession' THEN amount < 0"
            # A payment's advance (no invoice) gives money back when it is put
            # towards an invoice issued later (`ledger.apply_advance`).
            " WHEN 'payment' THEN amount < 0 OR invoice_id IS NULL"
            " WHEN 'write_off' THEN amount < 0"
            " ELSE true END",
            name="sign_matches_kind",
        ),
        Index("ix_ledger_entries_student_id", "student_id", "id"),
        Index("ix_ledger_entries_invoice_id", "invoice_id"),
        Index("ix_ledger_entries_payment_id", "payment_id"),
        # A provider's refund is booked once.
        Index(
            "uq_ledger_entries_external_ref",
            "school_id",
            "kind",
            "external_ref",
            unique=True,
            postgresql_where=text("external_ref IS NOT NULL"),
        ),
        Index("ix_ledger_entries_school_id_created_at", "school_id", "created_at"),
    )


class PaymentOrder(IdMixin, SchoolScoped, TimestampMixin, Base):
    """An online checkout for one or more invoices (possibly of several children of a
    family). `allocations` is the server's snapshot at order time:
    [{"invoice_id", "student_id", "amount"}], and `amount` their sum, never the
    client's figure."""

    __tablename__ = "payment_orders"

    provider: Mapped[str] = mapped_column(String(10))
    provider_order_id: Mapped[str] = mapped_column(String(100), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), server_default="INR")
    status: Mapped[str] = mapped_column(String(10), server_default="created")
    allocations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    via_link: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    provider_payment_id: Mapped[str | None] = mapped_column(String(100))
    flag_reason: Mapped[str | None] = mapped_column(Text)
    settled_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint(_in("provider", PROVIDERS), name="provider_known"),
        CheckConstraint(_in("status", ORDER_STATUSES), name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index(
            "ix_payment_orders_pending",
            "created_at",
            postgresql_where=text("status = 'created'"),
        ),
    )


class WebhookEvent(Base):
    """Every provider event we accepted (signature valid), once per event id."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(10))
    event_id: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(64))
    school_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    outcome: Mapped[str] = mapped_column(String(32), server_default="received")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))

    __table_args__ = (UniqueConstraint("provider", "event_id"),)


class ReminderRule(IdMixin, SchoolScoped, TimestampMixin, Base):
    """Remind `offset_days` from the due date: negative before, 0 on the day, positive
    after. A WhatsApp template to opted-in guardians with the pay link."""

    __tablename__ = "fee_reminder_rules"

    name: Mapped[str] = mapped_column(String(100))
    offset_days: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(String(64))
    # The same message approved in Hindi, for guardians who prefer it (else `template`).
    template_hi: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))

    __table_args__ = (
        UniqueConstraint("school_id", "offset_days"),
        CheckConstraint("offset_days BETWEEN -60 AND 180", name="offset_in_range"),
    )


class ReminderSend(Base):
    """At most once per invoice per rule."""

    __tablename__ = "fee_reminder_sends"

    rule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fee_reminder_rules.id", ondelete="CASCADE"), primary_key=True
    )
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
