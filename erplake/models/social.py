"""The school's social posts (Instagram, Facebook, X, YouTube, the website), kept so
parents and staff can find them again with full-text search."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Computed, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from erplake.models.base import Base, IdMixin, SchoolScoped, TimestampMixin

PLATFORMS = ("instagram", "facebook", "x", "youtube", "website")
MAX_POST_BODY_CHARS = 10_000


def _document(config: str) -> str:
    # The title weighs more than the body in the rank.
    return (
        f"(setweight(to_tsvector('{config}'::regconfig, (title)::text), 'A'::\"char\") || "
        f"setweight(to_tsvector('{config}'::regconfig, body), 'B'::\"char\"))"
    )


class SocialPost(IdMixin, SchoolScoped, TimestampMixin, Base):
    __tablename__ = "social_posts"

    platform: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    search_english: Mapped[str] = mapped_column(
        TSVECTOR, Computed(_document("english"), persisted=True), deferred=True
    )
    search_simple: Mapped[str] = mapped_column(
        TSVECTOR, Computed(_document("simple"), persisted=True), deferred=True
    )

    __table_args__ = (
        CheckConstraint(
            f"platform IN ({', '.join(repr(p) for p in PLATFORMS)})", name="platform_known"
        ),
        CheckConstraint(f"char_length(body) <= {MAX_POST_BODY_CHARS}", name="body_length"),
        Index("ix_social_posts_search_english", "search_english", postgresql_using="gin"),
        Index("ix_social_posts_search_simple", "search_simple", postgresql_using="gin"),
    )
