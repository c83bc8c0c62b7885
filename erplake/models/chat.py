"""Chat: conversations (a direct pair, a section group, a staff group), their members
and their messages.

A message's `sequence` is assigned by the database: the BEFORE INSERT trigger
`assign_message_sequence` (migration 0003) increments `conversations.next_message_seq`
with `UPDATE … RETURNING` under the conversation's row lock. Application code never
sets it; ordering and pagination use it, never `created_at`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    FetchedValue,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from erplake.models.base import Base, IdMixin, SchoolScoped, TimestampMixin

CONVERSATION_KINDS = ("direct", "section", "staff")
# owner: may post when the conversation is announcements-only, change its settings and
# remove others' messages (a section group's class teacher, a staff group's creator).
MEMBER_ROLES = ("owner", "member")
MAX_MESSAGE_CHARS = 4000
# The text-search configurations with a stored tsvector column and a GIN index each.
SEARCH_LANGUAGES = ("english", "simple")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _school_id() -> Mapped[uuid.UUID]:
    # Not indexed on the hot chat tables: every read goes by conversation or by user,
    # and an index nobody reads would only slow each message insert.
    return mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))


class Conversation(IdMixin, SchoolScoped, TimestampMixin, Base):
    __tablename__ = "conversations"

    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(200))
    section_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sections.id", ondelete="CASCADE")
    )
    # "<smaller user id>:<larger user id>": one direct conversation per pair of users.
    direct_key: Mapped[str | None] = mapped_column(String(80))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    announcements_only: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # The sequence the next message will get; only the trigger changes it.
    next_message_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    # Set by the same trigger, so the conversation list orders without touching messages.
    last_message_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint(_in("kind", CONVERSATION_KINDS), name="kind_known"),
        CheckConstraint("(kind = 'section') = (section_id IS NOT NULL)", name="section_iff_kind"),
        CheckConstraint("(kind = 'direct') = (direct_key IS NOT NULL)", name="direct_key_iff_kind"),
        CheckConstraint("next_message_seq >= 1", name="next_message_seq_positive"),
        UniqueConstraint("school_id", "direct_key"),
        # One group per section.
        Index(
            "uq_conversations_section_id",
            "section_id",
            unique=True,
            postgresql_where=text("kind = 'section'"),
        ),
    )


class ConversationMember(Base):
    __tablename__ = "conversation_members"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[uuid.UUID] = _school_id()
    role: Mapped[str] = mapped_column(String(16), server_default="member")
    muted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Unread = conversations.next_message_seq - 1 - last_read_sequence.
    last_read_sequence: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    joined_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint(_in("role", MEMBER_ROLES), name="role_known"),
        CheckConstraint("last_read_sequence >= 0", name="last_read_sequence_not_negative"),
        # "My conversations": the conversation list and the start of every search.
        Index("ix_conversation_members_user_id_conversation_id", "user_id", "conversation_id"),
    )


class Message(IdMixin, Base):
    __tablename__ = "messages"

    school_id: Mapped[uuid.UUID] = _school_id()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    sender_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Assigned by the trigger (FetchedValue: never sent by the ORM, read back after insert).
    sequence: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue())
    body: Mapped[str] = mapped_column(Text)
    # [{"key", "name", "content_type", "size"}]: objects in storage under chat/<school>/.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    edited_at: Mapped[datetime | None] = mapped_column()
    # Soft delete: the row stays (moderation), its body is masked for everyone and it
    # drops out of the search indexes (they are partial on deleted_at IS NULL).
    deleted_at: Mapped[datetime | None] = mapped_column()
    search_english: Mapped[str] = mapped_column(
        TSVECTOR, Computed("to_tsvector('english'::regconfig, body)", persisted=True), deferred=True
    )
    search_simple: Mapped[str] = mapped_column(
        TSVECTOR, Computed("to_tsvector('simple'::regconfig, body)", persisted=True), deferred=True
    )

    __table_args__ = (
        CheckConstraint(f"char_length(body) <= {MAX_MESSAGE_CHARS}", name="body_length"),
        # No gap, no duplicate: the trigger's guarantee, and the index every page of
        # messages and every membership-first search walks.
        UniqueConstraint("conversation_id", "sequence"),
        Index(
            "ix_messages_search_english",
            "search_english",
            postgresql_using="gin",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_messages_search_simple",
            "search_simple",
            postgresql_using="gin",
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )
