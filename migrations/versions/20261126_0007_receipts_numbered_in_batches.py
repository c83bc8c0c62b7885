"""online receipts numbered after the payment, in batches, instead of at its commit:
the deferred trigger made every webhook's commit wait on the school's receipt counter

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 15:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS assign_receipt_number ON payments")
    op.execute("DROP FUNCTION IF EXISTS assign_receipt_number()")
    # Numbering reads the school's unnumbered payments.
    op.execute(
        "CREATE INDEX ix_payments_unnumbered ON payments (school_id, created_at)"
        " WHERE receipt_number IS NULL"
    )


def downgrade() -> None:
    # The trigger numbers only new rows: number the waiting ones first, as the batch
    # numbering would (per school and year, in the order they were recorded).
    op.execute(
        """
        WITH pending AS (
            SELECT id, school_id, academic_year_id,
                   row_number() OVER (PARTITION BY school_id, academic_year_id
                                      ORDER BY created_at, id) AS n
            FROM payments WHERE receipt_number IS NULL
        ), taken AS (
            SELECT school_id, academic_year_id, count(*) AS count
            FROM pending GROUP BY school_id, academic_year_id
        ), counter AS (
            INSERT INTO receipt_counters (school_id, academic_year_id, last_number)
            SELECT school_id, academic_year_id, count FROM taken
            ON CONFLICT (school_id, academic_year_id)
            DO UPDATE SET last_number = receipt_counters.last_number + EXCLUDED.last_number
            RETURNING school_id, academic_year_id, last_number
        )
        UPDATE payments p
        SET receipt_number = numbers.n,
            receipt_label = numbers.year_name || '/'
                            || lpad(numbers.n::text, greatest(5, length(numbers.n::text)), '0')
        FROM (
            SELECT pe.id, c.last_number - t.count + pe.n AS n, y.name AS year_name
            FROM pending pe
            JOIN taken t USING (school_id, academic_year_id)
            JOIN counter c USING (school_id, academic_year_id)
            JOIN academic_years y ON y.id = pe.academic_year_id
        ) numbers
        WHERE p.id = numbers.id
        """
    )
    op.execute("DROP INDEX IF EXISTS ix_payments_unnumbered")
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
