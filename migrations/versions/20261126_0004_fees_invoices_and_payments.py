"""fees, invoices and payments: heads, instalments, structures, concessions, late-fee
rules, invoices and lines, the ledger, payments with gapless receipt counters, online
orders, webhook events, reminder rules; the concessions:approve permission

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 12:02:23.642652
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fee_heads",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_fee_heads_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_heads")),
        sa.UniqueConstraint("school_id", "code", name=op.f("uq_fee_heads_school_id_code")),
    )
    op.create_index(op.f("ix_fee_heads_school_id"), "fee_heads", ["school_id"], unique=False)
    op.create_table(
        "fee_reminder_rules",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "offset_days BETWEEN -60 AND 180", name=op.f("ck_fee_reminder_rules_offset_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_fee_reminder_rules_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_reminder_rules")),
        sa.UniqueConstraint(
            "school_id", "offset_days", name=op.f("uq_fee_reminder_rules_school_id_offset_days")
        ),
    )
    op.create_index(
        op.f("ix_fee_reminder_rules_school_id"), "fee_reminder_rules", ["school_id"], unique=False
    )
    op.create_table(
        "late_fee_rules",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("grace_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cap", sa.BigInteger(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('flat', 'per_day')", name=op.f("ck_late_fee_rules_kind_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_late_fee_rules_amount_positive")),
        sa.CheckConstraint(
            "cap IS NULL OR cap >= amount", name=op.f("ck_late_fee_rules_cap_at_least_amount")
        ),
        sa.CheckConstraint("grace_days >= 0", name=op.f("ck_late_fee_rules_grace_not_negative")),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_late_fee_rules_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_late_fee_rules")),
    )
    op.create_index(
        op.f("ix_late_fee_rules_school_id"), "late_fee_rules", ["school_id"], unique=False
    )
    op.create_index(
        "uq_late_fee_rules_active",
        "late_fee_rules",
        ["school_id"],
        unique=True,
        postgresql_where=sa.text("is_active"),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=True),
        sa.Column("outcome", sa.String(length=32), server_default="received", nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_webhook_events_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint(
            "provider", "event_id", name=op.f("uq_webhook_events_provider_event_id")
        ),
    )
    op.create_index(
        op.f("ix_webhook_events_school_id"), "webhook_events", ["school_id"], unique=False
    )
    op.create_table(
        "fee_concessions",
        sa.Column("academic_year_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("percent_bp", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column(
            "head_ids",
            postgresql.ARRAY(sa.UUID()),
            server_default=sa.text("'{}'::uuid[]"),
            nullable=False,
        ),
        sa.Column("student_id", sa.UUID(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("requested_by_id", sa.UUID(), nullable=True),
        sa.Column("approved_by_id", sa.UUID(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'percent' AND percent_bp BETWEEN 1 AND 10000 AND amount IS NULL) OR (kind = "
            "'fixed' AND amount > 0 AND percent_bp IS NULL)",
            name=op.f("ck_fee_concessions_value_matches_kind"),
        ),
        sa.CheckConstraint(
            "category IS NULL OR category IN ('sibling', 'staff_child', 'merit', 'rte_ews', "
            "'scholarship')",
            name=op.f("ck_fee_concessions_category_known"),
        ),
        sa.CheckConstraint(
            "kind IN ('percent', 'fixed')", name=op.f("ck_fee_concessions_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'revoked')",
            name=op.f("ck_fee_concessions_status_known"),
        ),
        sa.CheckConstraint(
            "(student_id IS NULL) <> (category IS NULL)",
            name=op.f("ck_fee_concessions_student_or_category"),
        ),
        sa.CheckConstraint(
            "length(trim(reason)) > 0", name=op.f("ck_fee_concessions_reason_given")
        ),
        sa.ForeignKeyConstraint(
            ["academic_year_id"],
            ["academic_years.id"],
            name=op.f("fk_fee_concessions_academic_year_id_academic_years"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_fee_concessions_approved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_fee_concessions_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_fee_concessions_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_fee_concessions_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_concessions")),
    )
    op.create_index(
        op.f("ix_fee_concessions_school_id"), "fee_concessions", ["school_id"], unique=False
    )
    op.create_index(
        op.f("ix_fee_concessions_student_id"), "fee_concessions", ["student_id"], unique=False
    )
    op.create_table(
        "fee_instalments",
        sa.Column("academic_year_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["academic_year_id"],
            ["academic_years.id"],
            name=op.f("fk_fee_instalments_academic_year_id_academic_years"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_fee_instalments_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_instalments")),
        sa.UniqueConstraint(
            "academic_year_id", "name", name=op.f("uq_fee_instalments_academic_year_id_name")
        ),
    )
    op.create_index(
        op.f("ix_fee_instalments_school_id"), "fee_instalments", ["school_id"], unique=False
    )
    op.create_index(
        "ix_fee_instalments_school_id_due_on",
        "fee_instalments",
        ["school_id", "due_on"],
        unique=False,
    )
    op.create_table(
        "fee_structures",
        sa.Column("academic_year_id", sa.UUID(), nullable=False),
        sa.Column("class_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["academic_year_id"],
            ["academic_years.id"],
            name=op.f("fk_fee_structures_academic_year_id_academic_years"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
            name=op.f("fk_fee_structures_class_id_classes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_fee_structures_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_structures")),
        sa.UniqueConstraint(
            "academic_year_id", "class_id", name=op.f("uq_fee_structures_academic_year_id_class_id")
        ),
    )
    op.create_index(
        op.f("ix_fee_structures_school_id"), "fee_structures", ["school_id"], unique=False
    )
    op.create_table(
        "invoice_counters",
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("academic_year_id", sa.UUID(), nullable=False),
        sa.Column("last_number", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["academic_year_id"],
            ["academic_years.id"],
            name=op.f("fk_invoice_counters_academic_year_id_academic_years"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_invoice_counters_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("school_id", "academic_year_id", name=op.f("pk_invoice_counters")),
    )
    op.create_table(
        "payment_orders",
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("provider_order_id", sa.String(length=100), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="INR", nullable=False),
        sa.Column("status", sa.String(length=10), server_default="created", nullable=False),
        sa.Column("allocations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        sa.Column("via_link", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=100), nullable=True),
        sa.Column("flag_reason", sa.Text(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "provider IN ('razorpay', 'stripe')", name=op.f("ck_payment_orders_provider_known")
        ),
        sa.CheckConstraint(
            "status IN ('created', 'paid', 'failed', 'flagged', 'expired')",
            name=op.f("ck_payment_orders_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_orders_amount_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_payment_orders_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_payment_orders_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_orders")),
        sa.UniqueConstraint("provider_order_id", name=op.f("uq_payment_orders_provider_order_id")),
    )
    op.create_index(
        "ix_payment_orders_pending",
        "payment_orders",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'created'"),
    )
    op.create_index(
        op.f("ix_payment_orders_school_id"), "payment_orders", ["school_id"], unique=False
    )
    op.create_table(
        "receipt_counters",
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("academic_year_id", sa.UUID(), nullable=False),
        sa.Column("last_number", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["academic_year_id"],
            ["academic_years.id"],
            name=op.f("fk_receipt_counters_academic_year_id_academic_years"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_receipt_counters_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("school_id", "academic_year_id", name=op.f("pk_receipt_counters")),
    )
    op.create_table(
        "student_fee_categories",
        sa.Column("student_id", sa.UUID(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "category IN ('sibling', 'staff_child', 'merit', 'rte_ews', 'scholarship')",
            name=op.f("ck_student_fee_categories_known"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_student_fee_categories_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_student_fee_categories_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("student_id", "category", name=op.f("pk_student_fee_categories")),
    )
    op.create_index(
        op.f("ix_student_fee_categories_school_id"),
        "student_fee_categories",
        ["school_id"],
        unique=False,
    )
    op.create_table(
        "fee_structure_lines",
        sa.Column("structure_id", sa.UUID(), nullable=False),
        sa.Column("instalment_id", sa.UUID(), nullable=False),
        sa.Column("head_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_fee_structure_lines_amount_positive")),
        sa.ForeignKeyConstraint(
            ["head_id"],
            ["fee_heads.id"],
            name=op.f("fk_fee_structure_lines_head_id_fee_heads"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["instalment_id"],
            ["fee_instalments.id"],
            name=op.f("fk_fee_structure_lines_instalment_id_fee_instalments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_fee_structure_lines_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["structure_id"],
            ["fee_structures.id"],
            name=op.f("fk_fee_structure_lines_structure_id_fee_structures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_structure_lines")),
        sa.UniqueConstraint(
            "structure_id",
            "instalment_id",
            "head_id",
            name=op.f("uq_fee_structure_lines_structure_id_instalment_id_head_id"),
        ),
    )
    op.create_index(
        op.f("ix_fee_structure_lines_instalment_id"),
        "fee_structure_lines",
        ["instalment_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_fee_structure_lines_school_id"), "fee_structure_lines", ["school_id"], unique=False
    )
    op.create_table(
        "invoices",
        sa.Column("student_id", sa.UUID(), nullable=False),
        sa.Column("academic_year_id", sa.UUID(), nullable=False),
        sa.Column("instalment_id", sa.UUID(), nullable=False),
        sa.Column("section_id", sa.UUID(), nullable=True),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="issued", nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("concession", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("late_fee", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("paid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("adjusted", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "total",
            sa.BigInteger(),
            sa.Computed("subtotal - concession + late_fee", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "balance",
            sa.BigInteger(),
            sa.Computed("subtotal - concession + late_fee - paid - adjusted", persisted=True),
            nullable=False,
        ),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("pdf_key", sa.String(length=300), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'issued', 'partially_paid', 'paid', 'cancelled', 'written_off')",
            name=op.f("ck_invoices_status_known"),
        ),
        sa.CheckConstraint(
            "subtotal - concession + late_fee - paid - adjusted >= 0",
            name=op.f("ck_invoices_balance_not_negative"),
        ),
        sa.CheckConstraint(
            "subtotal >= 0 AND concession >= 0 AND concession <= subtotal AND late_fee >= 0 AND "
            "paid >= 0 AND adjusted >= 0",
            name=op.f("ck_invoices_amounts_sane"),
        ),
        sa.ForeignKeyConstraint(
            ["academic_year_id"],
            ["academic_years.id"],
            name=op.f("fk_invoices_academic_year_id_academic_years"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["instalment_id"],
            ["fee_instalments.id"],
            name=op.f("fk_invoices_instalment_id_fee_instalments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_invoices_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_invoices_section_id_sections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_invoices_student_id_students"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("school_id", "number", name=op.f("uq_invoices_school_id_number")),
        sa.UniqueConstraint(
            "student_id", "instalment_id", name=op.f("uq_invoices_student_id_instalment_id")
        ),
    )
    op.create_index(op.f("ix_invoices_instalment_id"), "invoices", ["instalment_id"], unique=False)
    op.create_index(op.f("ix_invoices_school_id"), "invoices", ["school_id"], unique=False)
    op.create_index(
        "ix_invoices_school_id_status_due_on",
        "invoices",
        ["school_id", "status", "due_on"],
        unique=False,
    )
    op.create_index(op.f("ix_invoices_section_id"), "invoices", ["section_id"], unique=False)
    op.create_index(
        "ix_invoices_student_id_due_on", "invoices", ["student_id", "due_on"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("student_id", sa.UUID(), nullable=False),
        sa.Column("academic_year_id", sa.UUID(), nullable=False),
        sa.Column("receipt_number", sa.Integer(), nullable=False),
        sa.Column("receipt_label", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.UUID(), nullable=True),
        sa.Column("order_id", sa.UUID(), nullable=True),
        sa.Column("provider_payment_id", sa.String(length=64), nullable=True),
        sa.Column("receipt_key", sa.String(length=300), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "method IN ('cash', 'cheque', 'upi', 'bank_transfer', 'razorpay', 'stripe')",
            name=op.f("ck_payments_method_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint(
            "refunded >= 0 AND refunded <= amount", name=op.f("ck_payments_refund_within_amount")
        ),
        sa.ForeignKeyConstraint(
            ["academic_year_id"],
            ["academic_years.id"],
            name=op.f("fk_payments_academic_year_id_academic_years"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_orders.id"],
            name=op.f("fk_payments_order_id_payment_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_payments_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_payments_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_payments_student_id_students"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint(
            "school_id",
            "academic_year_id",
            "receipt_number",
            name=op.f("uq_payments_school_id_academic_year_id_receipt_number"),
        ),
    )
    op.create_index(op.f("ix_payments_order_id"), "payments", ["order_id"], unique=False)
    op.create_index(op.f("ix_payments_school_id"), "payments", ["school_id"], unique=False)
    op.create_index(
        "ix_payments_school_id_received_on", "payments", ["school_id", "received_on"], unique=False
    )
    op.create_index(op.f("ix_payments_student_id"), "payments", ["student_id"], unique=False)
    op.create_index(
        "uq_payments_provider_payment",
        "payments",
        ["provider_payment_id", "student_id"],
        unique=True,
        postgresql_where=sa.text("provider_payment_id IS NOT NULL"),
    )
    op.create_table(
        "fee_reminder_sends",
        sa.Column("rule_id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "sent_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_fee_reminder_sends_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["fee_reminder_rules.id"],
            name=op.f("fk_fee_reminder_sends_rule_id_fee_reminder_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_fee_reminder_sends_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", "invoice_id", name=op.f("pk_fee_reminder_sends")),
    )
    op.create_table(
        "invoice_lines",
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=10), server_default="fee", nullable=False),
        sa.Column("head_id", sa.UUID(), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("concession", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "(kind = 'fee') = (head_id IS NOT NULL)", name=op.f("ck_invoice_lines_head_for_fees")
        ),
        sa.CheckConstraint("kind IN ('fee', 'late_fee')", name=op.f("ck_invoice_lines_kind_known")),
        sa.CheckConstraint(
            "amount >= 0 AND concession >= 0 AND concession <= amount",
            name=op.f("ck_invoice_lines_amounts_sane"),
        ),
        sa.ForeignKeyConstraint(
            ["head_id"],
            ["fee_heads.id"],
            name=op.f("fk_invoice_lines_head_id_fee_heads"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_invoice_lines_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    op.create_index(
        op.f("ix_invoice_lines_invoice_id"), "invoice_lines", ["invoice_id"], unique=False
    )
    op.create_index(
        "uq_invoice_lines_late_fee",
        "invoice_lines",
        ["invoice_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'late_fee'"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("student_id", sa.UUID(), nullable=False),
        sa.Column("invoice_id", sa.UUID(), nullable=True),
        sa.Column("payment_id", sa.UUID(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.String(length=300), nullable=True),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "amount <> 0 AND CASE kind WHEN 'invoice' THEN amount > 0 WHEN 'late_fee' THEN amount "
            "> 0 WHEN 'refund' THEN amount > 0 WHEN 'concession' THEN amount < 0 WHEN 'payment' "
            "THEN amount < 0 WHEN 'write_off' THEN amount < 0 ELSE true END",
            name=op.f("ck_ledger_entries_sign_matches_kind"),
        ),
        sa.CheckConstraint(
            "kind IN ('invoice', 'concession', 'late_fee', 'payment', 'refund', 'write_off', "
            "'adjustment')",
            name=op.f("ck_ledger_entries_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_ledger_entries_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_ledger_entries_invoice_id_invoices"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_ledger_entries_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_ledger_entries_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_ledger_entries_student_id_students"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_invoice_id", "ledger_entries", ["invoice_id"], unique=False)
    op.create_index("ix_ledger_entries_payment_id", "ledger_entries", ["payment_id"], unique=False)
    op.create_index(
        "ix_ledger_entries_school_id_created_at",
        "ledger_entries",
        ["school_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_ledger_entries_student_id", "ledger_entries", ["student_id", "id"], unique=False
    )
    op.create_index(
        "uq_ledger_entries_external_ref",
        "ledger_entries",
        ["school_id", "kind", "external_ref"],
        unique=True,
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )

    # Approving a concession is a permission of its own (admin and principal), granted
    # to the built-in roles of schools that already exist.
    op.execute(
        """
        INSERT INTO permissions (code, description) VALUES
            ('concessions:approve', 'Approve or reject fee concessions')
        ON CONFLICT (code) DO NOTHING;
        INSERT INTO role_permissions (role_id, permission_code)
        SELECT r.id, 'concessions:approve' FROM roles r
        WHERE r.is_builtin AND r.name IN ('admin', 'principal')
        ON CONFLICT DO NOTHING;
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM permissions WHERE code = 'concessions:approve'")
    op.drop_index(
        "uq_ledger_entries_external_ref",
        table_name="ledger_entries",
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )
    op.drop_index("ix_ledger_entries_student_id", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_school_id_created_at", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_payment_id", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_invoice_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index(
        "uq_invoice_lines_late_fee",
        table_name="invoice_lines",
        postgresql_where=sa.text("kind = 'late_fee'"),
    )
    op.drop_index(op.f("ix_invoice_lines_invoice_id"), table_name="invoice_lines")
    op.drop_table("invoice_lines")
    op.drop_table("fee_reminder_sends")
    op.drop_index(
        "uq_payments_provider_payment",
        table_name="payments",
        postgresql_where=sa.text("provider_payment_id IS NOT NULL"),
    )
    op.drop_index(op.f("ix_payments_student_id"), table_name="payments")
    op.drop_index("ix_payments_school_id_received_on", table_name="payments")
    op.drop_index(op.f("ix_payments_school_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_order_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index("ix_invoices_student_id_due_on", table_name="invoices")
    op.drop_index(op.f("ix_invoices_section_id"), table_name="invoices")
    op.drop_index("ix_invoices_school_id_status_due_on", table_name="invoices")
    op.drop_index(op.f("ix_invoices_school_id"), table_name="invoices")
    op.drop_index(op.f("ix_invoices_instalment_id"), table_name="invoices")
    op.drop_table("invoices")
    op.drop_index(op.f("ix_fee_structure_lines_school_id"), table_name="fee_structure_lines")
    op.drop_index(op.f("ix_fee_structure_lines_instalment_id"), table_name="fee_structure_lines")
    op.drop_table("fee_structure_lines")
    op.drop_index(op.f("ix_student_fee_categories_school_id"), table_name="student_fee_categories")
    op.drop_table("student_fee_categories")
    op.drop_table("receipt_counters")
    op.drop_index(op.f("ix_payment_orders_school_id"), table_name="payment_orders")
    op.drop_index(
        "ix_payment_orders_pending",
        table_name="payment_orders",
        postgresql_where=sa.text("status = 'created'"),
    )
    op.drop_table("payment_orders")
    op.drop_table("invoice_counters")
    op.drop_index(op.f("ix_fee_structures_school_id"), table_name="fee_structures")
    op.drop_table("fee_structures")
    op.drop_index("ix_fee_instalments_school_id_due_on", table_name="fee_instalments")
    op.drop_index(op.f("ix_fee_instalments_school_id"), table_name="fee_instalments")
    op.drop_table("fee_instalments")
    op.drop_index(op.f("ix_fee_concessions_student_id"), table_name="fee_concessions")
    op.drop_index(op.f("ix_fee_concessions_school_id"), table_name="fee_concessions")
    op.drop_table("fee_concessions")
    op.drop_index(op.f("ix_webhook_events_school_id"), table_name="webhook_events")
    op.drop_table("webhook_events")
    op.drop_index(
        "uq_late_fee_rules_active",
        table_name="late_fee_rules",
        postgresql_where=sa.text("is_active"),
    )
    op.drop_index(op.f("ix_late_fee_rules_school_id"), table_name="late_fee_rules")
    op.drop_table("late_fee_rules")
    op.drop_index(op.f("ix_fee_reminder_rules_school_id"), table_name="fee_reminder_rules")
    op.drop_table("fee_reminder_rules")
    op.drop_index(op.f("ix_fee_heads_school_id"), table_name="fee_heads")
    op.drop_table("fee_heads")
