"""receipt numbers for online payments taken at commit: a deferred constraint trigger
numbers a payment inserted without one, so a webhook holds the school's receipt counter
only while its transaction commits

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 13:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("payments", "receipt_number", nullable=True)
    op.alter_column("payments", "receipt_label", nullable=True)
    op.execute(
        """
        CREATE FUNCTION assign_receipt_number() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            taken integer;
        BEGIN
            IF EXISTS (SELECT 1 FROM payments WHERE id = NEW.id AND receipt_number IS NULL)
            THEN
                INSERT INTO receipt_counters (school_id, academic_year_id, last_number)
                VALUES (NEW.school_id, NEW.academic_year_id, 1)
                ON CONFLICT (school_id, academic_year_id)
                DO UPDATE SET last_number = receipt_counters.last_number + 1
                RETURNING last_number INTO taken;
                UPDATE payments
                SET receipt_number = taken,
                    receipt_label = (SELECT name FROM academic_years
                                     WHERE id = NEW.academic_year_id)
                                    || '/' || lpad(taken::text, 5, '0')
                WHERE id = NEW.id;
            END IF;
            RETURN NULL;
        END
        $$;
        CREATE CONSTRAINT TRIGGER assign_receipt_number
        AFTER INSERT ON payments
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (NEW.receipt_number IS NULL)
        EXECUTE FUNCTION assign_receipt_number();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS assign_receipt_number ON payments")
    op.execute("DROP FUNCTION IF EXISTS assign_receipt_number()")
    op.execute("DELETE FROM payments WHERE receipt_number IS NULL")
    op.alter_column("payments", "receipt_label", nullable=False)
    op.alter_column("payments", "receipt_number", nullable=False)
