"""chat and search: conversations, members, messages with a trigger-assigned sequence
per conversation, social posts; stored tsvector columns (english, simple) with GIN
indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
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
    ]


def _post_document(config: str) -> str:
    return (
        f"(setweight(to_tsvector('{config}'::regconfig, (title)::text), 'A'::\"char\") || "
        f"setweight(to_tsvector('{config}'::regconfig, body), 'B'::\"char\"))"
    )


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("section_id", sa.UUID(), nullable=True),
        sa.Column("direct_key", sa.String(length=80), nullable=True),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        sa.Column(
            "announcements_only", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("next_message_seq", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "(kind = 'direct') = (direct_key IS NOT NULL)",
            name=op.f("ck_conversations_direct_key_iff_kind"),
        ),
        sa.CheckConstraint(
            "(kind = 'section') = (section_id IS NOT NULL)",
            name=op.f("ck_conversations_section_iff_kind"),
        ),
        sa.CheckConstraint(
            "kind IN ('direct', 'section', 'staff')", name=op.f("ck_conversations_kind_known")
        ),
        sa.CheckConstraint(
            "next_message_seq >= 1", name=op.f("ck_conversations_next_message_seq_positive")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_conversations_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_conversations_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_conversations_section_id_sections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint(
            "school_id", "direct_key", name=op.f("uq_conversations_school_id_direct_key")
        ),
    )
    op.create_index(
        op.f("ix_conversations_school_id"), "conversations", ["school_id"], unique=False
    )
    op.create_index(
        "uq_conversations_section_id",
        "conversations",
        ["section_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'section'"),
    )

    op.create_table(
        "conversation_members",
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=16), server_default="member", nullable=False),
        sa.Column("muted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "last_read_sequence", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "joined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "role IN ('owner', 'member')", name=op.f("ck_conversation_members_role_known")
        ),
        sa.CheckConstraint(
            "last_read_sequence >= 0",
            name=op.f("ck_conversation_members_last_read_sequence_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_members_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_conversation_members_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_conversation_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name=op.f("pk_conversation_members")),
    )
    op.create_index(
        "ix_conversation_members_user_id_conversation_id",
        "conversation_members",
        ["user_id", "conversation_id"],
        unique=False,
    )

    op.create_table(
        "messages",
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("sender_id", sa.UUID(), nullable=True),
        # No default: the trigger below assigns it on every insert.
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "search_english",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('english'::regconfig, body)", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "search_simple",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('simple'::regconfig, body)", persisted=True),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("char_length(body) <= 4000", name=op.f("ck_messages_body_length")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_messages_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["users.id"],
            name=op.f("fk_messages_sender_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "conversation_id", "sequence", name=op.f("uq_messages_conversation_id_sequence")
        ),
    )
    for config in ("english", "simple"):
        op.create_index(
            f"ix_messages_search_{config}",
            "messages",
            [f"search_{config}"],
            unique=False,
            postgresql_using="gin",
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    # The sequence per conversation. The UPDATE takes the conversation's row lock, so
    # concurrent writers to one conversation queue up here and each gets the next
    # number; the lock is held to commit, so a rolled-back insert gives its number
    # back and committed sequences have no gap. Fires per row: multi-row INSERTs and
    # INSERT … SELECT work. next_message_seq is the number the next message gets.
    op.execute(
        """
        CREATE FUNCTION assign_message_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE conversations
               SET next_message_seq = next_message_seq + 1,
                   last_message_at = NEW.created_at
             WHERE id = NEW.conversation_id
            RETURNING next_message_seq - 1 INTO NEW.sequence;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'conversation % does not exist', NEW.conversation_id
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN NEW;
        END;
        $$;
        CREATE TRIGGER assign_message_sequence BEFORE INSERT ON messages
            FOR EACH ROW EXECUTE FUNCTION assign_message_sequence();
        """
    )

    op.create_table(
        "social_posts",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        sa.Column(
            "search_english",
            postgresql.TSVECTOR(),
            sa.Computed(_post_document("english"), persisted=True),
            nullable=False,
        ),
        sa.Column(
            "search_simple",
            postgresql.TSVECTOR(),
            sa.Computed(_post_document("simple"), persisted=True),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "platform IN ('instagram', 'facebook', 'x', 'youtube', 'website')",
            name=op.f("ck_social_posts_platform_known"),
        ),
        sa.CheckConstraint("char_length(body) <= 10000", name=op.f("ck_social_posts_body_length")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_social_posts_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_social_posts_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_posts")),
    )
    op.create_index(op.f("ix_social_posts_school_id"), "social_posts", ["school_id"], unique=False)
    for config in ("english", "simple"):
        op.create_index(
            f"ix_social_posts_search_{config}",
            "social_posts",
            [f"search_{config}"],
            unique=False,
            postgresql_using="gin",
        )
    # Setting up any section's group (and so reading it) is a permission of its own,
    # granted to the built-in roles of schools that already exist.
    op.execute(
        """
        INSERT INTO permissions (code, description) VALUES
            ('chat:manage', 'Set up any section''s parent group')
        ON CONFLICT (code) DO NOTHING;
        INSERT INTO role_permissions (role_id, permission_code)
        SELECT r.id, 'chat:manage' FROM roles r
        WHERE r.is_builtin AND r.name IN ('admin', 'principal')
        ON CONFLICT DO NOTHING;
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM permissions WHERE code = 'chat:manage'")
    for config in ("english", "simple"):
        op.drop_index(f"ix_social_posts_search_{config}", table_name="social_posts")
    op.drop_index(op.f("ix_social_posts_school_id"), table_name="social_posts")
    op.drop_table("social_posts")
    op.execute("DROP TRIGGER IF EXISTS assign_message_sequence ON messages")
    op.execute("DROP FUNCTION IF EXISTS assign_message_sequence()")
    for config in ("english", "simple"):
        op.drop_index(f"ix_messages_search_{config}", table_name="messages")
    op.drop_table("messages")
    op.drop_index(
        "ix_conversation_members_user_id_conversation_id", table_name="conversation_members"
    )
    op.drop_table("conversation_members")
    op.drop_index("uq_conversations_section_id", table_name="conversations")
    op.drop_index(op.f("ix_conversations_school_id"), table_name="conversations")
    op.drop_table("conversations")
