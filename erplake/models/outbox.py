from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from erplake.models.base import Base


class OutboxJob(Base):
    """Work a transaction asks for; the relay moves committed rows to the queue.

    `status`: pending (committed, not yet on the queue) → enqueued → running → done |
    failed | cancelled.
    """

    __tablename__ = "outbox_jobs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    school_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE")
    )
    queue: Mapped[str] = mapped_column(String(32), server_default="default")
    task: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    run_after: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    enqueued_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        # Only the live rows are indexed: done jobs pile up, the relay never reads them.
        Index(
            "ix_outbox_jobs_live",
            "status",
            "id",
            postgresql_where=text("status IN ('pending', 'enqueued', 'running')"),
        ),
        # For the failed-jobs gauge and for pruning finished rows.
        Index(
            "ix_outbox_jobs_finished",
            "status",
            "finished_at",
            postgresql_where=text("status IN ('done', 'failed', 'cancelled')"),
        ),
    )


class IdempotencyRecord(Base):
    """The first answer to a retried write, keyed by (scope, key)."""

    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
