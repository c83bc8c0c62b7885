from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from erplake.models.base import Base, IdMixin, TimestampMixin


class WhatsAppMessage(IdMixin, TimestampMixin, Base):
    """One outgoing WhatsApp message and what Gupshup said about it.

    status: queued → submitted → sent → delivered → read, or failed / cancelled.
    """

    __tablename__ = "whatsapp_messages"

    school_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(20))
    template_id: Mapped[str | None] = mapped_column(String(64))
    # Parameters as sent, except secrets (an OTP is stored masked).
    params: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    provider_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_reason: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    read_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_whatsapp_messages_destination", "destination"),)
