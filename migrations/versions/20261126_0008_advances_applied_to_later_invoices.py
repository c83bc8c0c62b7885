"""ledger: a payment's advance entry may be positive, when the advance is put towards
an invoice issued later (the invoice gets the matching negative payment entry)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 16:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RULE = (
    "amount <> 0 AND CASE kind"
    " WHEN 'invoice' THEN amount > 0 WHEN 'late_fee' THEN amount > 0"
    " WHEN 'refund' THEN amount > 0 WHEN 'concession' THEN amount < 0"
    " WHEN 'payment' THEN {payment} WHEN 'write_off' THEN amount < 0"
    " ELSE true END"
)


def _replace(payment: str) -> None:
    op.execute("ALTER TABLE ledger_entries DROP CONSTRAINT ck_ledger_entries_sign_matches_kind")
    op.execute(
        "ALTER TABLE ledger_entries ADD CONSTRAINT ck_ledger_entries_sign_matches_kind"
        f" CHECK ({_RULE.format(payment=payment)})"
    )


def upgrade() -> None:
    _replace("amount < 0 OR invoice_id IS NULL")


def downgrade() -> None:
    # Undo applied advances would lose money's history: refuse instead.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM ledger_entries WHERE kind = 'payment'"
        " AND amount > 0) THEN RAISE EXCEPTION 'advances were applied to invoices;"
        " cannot downgrade'; END IF; END $$"
    )
    _replace("amount < 0")
