"""fee reminder rules: an optional Hindi template, for guardians who read Hindi

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 14:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "fee_reminder_rules", sa.Column("template_hi", sa.String(length=64), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("fee_reminder_rules", "template_hi")
