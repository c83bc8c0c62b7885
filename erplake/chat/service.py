"""Chat: conversations and their members, messages, read state, attachments, search.

Every read goes through the caller's membership: someone who is not a member of a
conversation gets 404 for it, as if it did not exist. Who may *start* which
conversation is decided in `policy`.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.chat import policy
from erplake.chat.schemas import (
    Attachment,
    ConversationOut,
    MemberOut,
    MessageOut,
    MessagePage,
    MessageSearchResult,
    ReadState,
)
from erplake.core import textsearch
from erplake.core.db import driver_connection, fetch_one
from erplake.core.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from erplake.core.pagination import PageParams, paginate_rows
from erplake.core.security import Principal
from erplake.models.academics import SchoolClass, Section
from erplake.models.chat import Conversation, ConversationMember, Message
from erplake.models.identity import User
from erplake.storage import Storage

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
}
_TYPE_BY_EXTENSION = {ext: content_type for content_type, ext in ATTACHMENT_TYPES.items()}
MAX_PAGE = 200


class ConversationNotFound(NotFound):
    code = "conversation_not_found"


class MessageNotFound(NotFound):
    code = "message_not_found"


class SectionNotFound(NotFound):
    code = "section_not_found"


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"


class ConversationNotAllowed(Forbidden):
    code = "conversation_not_allowed"


class AnnouncementsOnly(Forbidden):
    code = "announcements_only"


class NotConversationOwner(Forbidden):
    code = "not_conversation_owner"


class NotMessageSender(Forbidden):
    code = "not_message_sender"


class MessageDeleted(Conflict):
    code = "message_deleted"


class NoClassTeacher(Conflict):
    code = "no_class_teacher"


class InvalidMembers(Unprocessable):
    code = "invalid_members"


class AttachmentRejected(BadRequest):
    code = "attachment_rejected"


class PageDirectionConflict(BadRequest):
    code = "page_direction_conflict"


@dataclass(frozen=True)
class NewMembers:
    """Who joined a conversation, for live delivery after the commit."""

    conversation_id: uuid.UUID
    user_ids: list[uuid.UUID]
    last_sequence: int


# ---- conversations ---------------------------------------------------------------


def _conversation_columns() -> Select[Any]:
    # For a direct conversation with no title: the other member's name.
    others = ConversationMember.__table__.alias("others")
    other_name = (
        select(User.name)
        .join(others, others.c.user_id == User.id)
        .where(
            others.c.conversation_id == Conversation.id,
            others.c.user_id != ConversationMember.user_id,
        )
        .order_by(User.name)
        .limit(1)
        .scalar_subquery()
    )
    unread = func.greatest(
        Conversation.next_message_seq - 1 - ConversationMember.last_read_sequence, 0
    )
    return select(
        Conversation.id,
        Conversation.kind,
        func.coalesce(Conversation.title, other_name).label("title"),
        Conversation.section_id,
        Conversation.announcements_only,
        ConversationMember.role,
        ConversationMember.muted,
        (Conversation.next_message_seq - 1).label("last_sequence"),
        ConversationMember.last_read_sequence,
        unread.label("unread"),
        Conversation.last_message_at,
    ).join_from(
        ConversationMember, Conversation, Conversation.id == ConversationMember.conversation_id
    )


# Built once: the conversation list is read on every app start and every refresh.
_CONVERSATIONS = _conversation_columns()


def _conversations(principal: Principal) -> Any:
    """The caller's conversations with unread counts, computed in SQL."""
    return _CONVERSATIONS.where(
        ConversationMember.user_id == principal.user_id,
        Conversation.school_id == principal.school_id,
    )


def _conversation_out(row: Any) -> ConversationOut:
    return ConversationOut.model_validate(row._asdict())


async def list_conversations(
    session: AsyncSession, principal: Principal, *, page: PageParams
) -> tuple[list[ConversationOut], int]:
    stmt = _conversations(principal).order_by(
        Conversation.last_message_at.desc().nulls_last(),
        Conversation.created_at.desc(),
        Conversation.id,
    )
    rows, total = await paginate_rows(session, stmt, page)
    return [_conversation_out(r) for r in rows], total


async def get_conversation(
    session: AsyncSession, principal: Principal, *, conversation_id: uuid.UUID
) -> ConversationOut:
    row = (
        await session.execute(_conversations(principal).where(Conversation.id == conversation_id))
    ).first()
    if row is None:
        raise ConversationNotFound(
            "conversation not found", details={"conversation_id": str(conversation_id)}
        )
    return _conversation_out(row)


async def _membership(
    session: AsyncSession, principal: Principal, *, conversation_id: uuid.UUID
) -> Any:
    """(role, kind, announcements_only, last_sequence) of the caller's membership, or 404."""
    row = (
        await session.execute(
            select(
                ConversationMember.role,
                Conversation.kind,
                Conversation.announcements_only,
                (Conversation.next_message_seq - 1).label("last_sequence"),
            )
            .join(Conversation, Conversation.id == ConversationMember.conversation_id)
            .where(
                ConversationMember.conversation_id == conversation_id,
                ConversationMember.user_id == principal.user_id,
                Conversation.school_id == principal.school_id,
            )
        )
    ).first()
    if row is None:
        raise ConversationNotFound(
            "conversation not found", details={"conversation_id": str(conversation_id)}
        )
    return row


async def list_members(
    session: AsyncSession, principal: Principal, *, conversation_id: uuid.UUID
) -> list[MemberOut]:
    await _membership(session, principal, conversation_id=conversation_id)
    rows = await session.execute(
        select(
            ConversationMember.user_id,
            User.name,
            ConversationMember.role,
            ConversationMember.joined_at,
        )
        .join(User, User.id == ConversationMember.user_id)
        .where(ConversationMember.conversation_id == conversation_id)
        .order_by(ConversationMember.role.desc(), User.name)
    )
    return [MemberOut.model_validate(r._asdict()) for r in rows]


async def _add_members(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    school_id: uuid.UUID,
    roles: dict[uuid.UUID, str],
) -> list[uuid.UUID]:
    """Add members (owners first wins), skipping those already in; returns who joined."""
    if not roles:
        return []
    added = await session.execute(
        insert(ConversationMember)
        .values(
            [
                {
                    "conversation_id": conversation_id,
                    "user_id": user_id,
                    "school_id": school_id,
                    "role": role,
                }
                for user_id, role in roles.items()
            ]
        )
        .on_conflict_do_nothing(
            index_elements=[ConversationMember.conversation_id, ConversationMember.user_id]
        )
        .returning(ConversationMember.user_id)
    )
    return list(added.scalars())


async def _last_sequence(session: AsyncSession, conversation_id: uuid.UUID) -> int:
    return int(
        (
            await session.execute(
                select(Conversation.next_message_seq - 1).where(Conversation.id == conversation_id)
            )
        ).scalar_one()
    )


async def start_direct(
    session: AsyncSession, actor: Actor, principal: Principal, *, other_user_id: uuid.UUID
) -> tuple[ConversationOut, NewMembers | None]:
    """The direct conversation between the caller and another user, started if new."""
    if not await policy.may_start_direct(session, principal, other_user_id=other_user_id):
        raise ConversationNotAllowed(
            "you cannot start a conversation with this person",
            details={"user_id": str(other_user_id)},
        )
    first, second = sorted((str(principal.user_id), str(other_user_id)))
    key = f"{first}:{second}"
    created = (
        await session.execute(
            insert(Conversation)
            .values(
                school_id=principal.school_id,
                kind="direct",
                direct_key=key,
                created_by_id=principal.user_id,
            )
            .on_conflict_do_nothing(
                index_elements=[Conversation.school_id, Conversation.direct_key]
            )
            .returning(Conversation.id)
        )
    ).scalar_one_or_none()
    joined = None
    if created is not None:
        users = [principal.user_id, other_user_id]
        await _add_members(
            session,
            conversation_id=created,
            school_id=principal.school_id,
            roles=dict.fromkeys(users, "member"),
        )
        await audit.record(
            session,
            actor,
            action="chat.conversation.start",
            entity="conversation",
            entity_id=created,
            after={"kind": "direct", "members": [str(u) for u in users]},
        )
        joined = NewMembers(created, users, 0)
        conversation_id = created
    else:
        conversation_id = (
            await session.execute(
                select(Conversation.id).where(
                    Conversation.school_id == principal.school_id, Conversation.direct_key == key
                )
            )
        ).scalar_one()
    return await get_conversation(session, principal, conversation_id=conversation_id), joined


async def create_staff_group(
    session: AsyncSession,
    actor: Actor,
    principal: Principal,
    *,
    title: str,
    member_ids: list[uuid.UUID],
) -> tuple[ConversationOut, NewMembers]:
    if not policy.is_staff(principal):
        raise ConversationNotAllowed("only staff can start staff groups")
    wanted = set(member_ids) - {principal.user_id}
    staff = await policy.staff_chat_users(
        session, school_id=principal.school_id, user_ids=list(wanted)
    )
    refused = sorted(str(u) for u in wanted - staff)
    if refused:
        raise InvalidMembers(
            "a staff group can only hold staff of the school who use chat",
            details={"user_ids": refused},
        )
    conversation = Conversation(
        school_id=principal.school_id, kind="staff", title=title, created_by_id=principal.user_id
    )
    session.add(conversation)
    await session.flush()
    roles = {principal.user_id: "owner"} | dict.fromkeys(sorted(staff), "member")
    users = await _add_members(
        session, conversation_id=conversation.id, school_id=principal.school_id, roles=roles
    )
    await audit.record(
        session,
        actor,
        action="chat.conversation.start",
        entity="conversation",
        entity_id=conversation.id,
        after={"kind": "staff", "title": title, "members": [str(u) for u in roles]},
    )
    out = await get_conversation(session, principal, conversation_id=conversation.id)
    return out, NewMembers(conversation.id, users, 0)


async def set_section_group(
    session: AsyncSession,
    actor: Actor,
    principal: Principal,
    *,
    section_id: uuid.UUID,
    announcements_only: bool,
    title: str | None,
) -> tuple[ConversationOut, NewMembers]:
    """Create the section's group, or bring its members up to date with the section's
    class teacher and guardians (nobody is removed). Repeatable."""
    section = (
        await session.execute(
            select(Section.id, SchoolClass.name.label("class_name"), Section.name)
            .join(SchoolClass, SchoolClass.id == Section.class_id)
            .where(Section.id == section_id, Section.school_id == principal.school_id)
        )
    ).first()
    if section is None:
        raise SectionNotFound("section not found", details={"section_id": str(section_id)})
    if not (
        policy.may_manage_section_groups(principal)
        or await policy.is_class_teacher(session, principal, section_id=section_id)
    ):
        raise ConversationNotAllowed("only the section's class teacher can set up its group")
    teachers, guardians = await policy.section_group_members(
        session, school_id=principal.school_id, section_id=section_id
    )
    if not teachers:
        raise NoClassTeacher("the section has no class teacher who uses chat yet")
    default_title = f"{section.class_name}-{section.name}"
    conversation_id = (
        await session.execute(
            insert(Conversation)
            .values(
                school_id=principal.school_id,
                kind="section",
                section_id=section_id,
                title=title or default_title,
                announcements_only=announcements_only,
                created_by_id=principal.user_id,
            )
            .on_conflict_do_update(
                index_elements=[Conversation.section_id],
                index_where=text("kind = 'section'"),
                set_={
                    "announcements_only": announcements_only,
                    "title": func.coalesce(title, Conversation.title),
                    "updated_at": func.now(),
                },
            )
            .returning(Conversation.id)
        )
    ).scalar_one()
    roles = dict.fromkeys(guardians, "member") | dict.fromkeys(
        [*teachers, principal.user_id], "owner"
    )
    added = await _add_members(
        session, conversation_id=conversation_id, school_id=principal.school_id, roles=roles
    )
    await audit.record(
        session,
        actor,
        action="chat.section_group.set",
        entity="conversation",
        entity_id=conversation_id,
        after={
            "section_id": str(section_id),
            "announcements_only": announcements_only,
            "added": [str(u) for u in added],
        },
    )
    out = await get_conversation(session, principal, conversation_id=conversation_id)
    last = await _last_sequence(session, conversation_id)
    return out, NewMembers(conversation_id, added, last)


async def update_conversation(
    session: AsyncSession,
    actor: Actor,
    principal: Principal,
    *,
    conversation_id: uuid.UUID,
    title: str | None,
    announcements_only: bool | None,
) -> ConversationOut:
    member = await _membership(session, principal, conversation_id=conversation_id)
    if member.role != "owner" or member.kind == "direct":
        raise NotConversationOwner("only the group's owner can change it")
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = title
    if announcements_only is not None:
        changes["announcements_only"] = announcements_only
    if changes:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(**changes, updated_at=func.now())
        )
        await audit.record(
            session,
            actor,
            action="chat.conversation.update",
            entity="conversation",
            entity_id=conversation_id,
            after=changes,
        )
    return await get_conversation(session, principal, conversation_id=conversation_id)


async def set_muted(
    session: AsyncSession, principal: Principal, *, conversation_id: uuid.UUID, muted: bool
) -> ConversationOut:
    await _membership(session, principal, conversation_id=conversation_id)
    await session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.user_id == principal.user_id,
        )
        .values(muted=muted)
    )
    return await get_conversation(session, principal, conversation_id=conversation_id)


async def mark_read(
    session: AsyncSession, principal: Principal, *, conversation_id: uuid.UUID, sequence: int
) -> ReadState:
    """Move the read marker forward (never back, never past the newest message)."""
    newest = Conversation.next_message_seq - 1
    row = (
        await session.execute(
            update(ConversationMember)
            .where(
                ConversationMember.conversation_id == conversation_id,
                ConversationMember.user_id == principal.user_id,
                Conversation.id == ConversationMember.conversation_id,
                Conversation.school_id == principal.school_id,
            )
            .values(
                last_read_sequence=func.least(
                    func.greatest(ConversationMember.last_read_sequence, sequence), newest
                )
            )
            .returning(
                ConversationMember.last_read_sequence,
                func.greatest(newest - ConversationMember.last_read_sequence, 0),
            )
        )
    ).first()
    if row is None:
        raise ConversationNotFound(
            "conversation not found", details={"conversation_id": str(conversation_id)}
        )
    return ReadState(last_read_sequence=row[0], unread=row[1])


async def contacts(session: AsyncSession, principal: Principal) -> list[tuple[uuid.UUID, str]]:
    """Whom the caller may start a direct conversation with."""
    rows = await session.execute(
        select(User.id, User.name)
        .where(
            User.id.in_(policy.direct_contact_ids(principal)),
            User.id.in_(policy.chat_user_ids(school_id=principal.school_id)),
            User.id != principal.user_id,
        )
        .order_by(User.name, User.id)
    )
    return [(r.id, r.name) for r in rows]


# ---- messages --------------------------------------------------------------------

MESSAGE_COLUMNS = (
    Message.id,
    Message.conversation_id,
    Message.sender_id,
    Message.sequence,
    Message.body,
    Message.attachments,
    Message.created_at,
    Message.edited_at,
    Message.deleted_at,
)


def message_out(row: Any) -> MessageOut:
    """A message as members see it: a deleted one keeps its place, not its content.
    `row`: a SQLAlchemy row or an asyncpg record."""
    values = row._mapping if hasattr(row, "_mapping") else row
    deleted = values["deleted_at"] is not None
    attachments = values["attachments"]
    if isinstance(attachments, str):  # jsonb read through the driver
        attachments = json.loads(attachments)
    return MessageOut(
        id=values["id"],
        conversation_id=values["conversation_id"],
        sender_id=values["sender_id"],
        sequence=values["sequence"],
        body=None if deleted else values["body"],
        attachments=[] if deleted else [Attachment(**a) for a in attachments],
        created_at=values["created_at"],
        edited_at=values["edited_at"],
        deleted_at=values["deleted_at"],
    )


async def list_messages(
    session: AsyncSession,
    principal: Principal,
    *,
    conversation_id: uuid.UUID,
    after_sequence: int | None,
    before_sequence: int | None,
    limit: int,
) -> MessagePage:
    """`after_sequence`: the next messages, oldest first (catching up). Otherwise the
    newest window, newest first, below `before_sequence` when given (scrolling back)."""
    if after_sequence is not None and before_sequence is not None:
        raise PageDirectionConflict("give after_sequence or before_sequence, not both")
    await _membership(session, principal, conversation_id=conversation_id)
    stmt = select(*MESSAGE_COLUMNS).where(Message.conversation_id == conversation_id)
    if after_sequence is not None:
        stmt = stmt.where(Message.sequence > after_sequence).order_by(Message.sequence)
    else:
        if before_sequence is not None:
            stmt = stmt.where(Message.sequence < before_sequence)
        stmt = stmt.order_by(Message.sequence.desc())
    rows = (await session.execute(stmt.limit(limit + 1))).all()
    return MessagePage(items=[message_out(r) for r in rows[:limit]], has_more=len(rows) > limit)


async def messages_between(
    session: AsyncSession, *, conversation_id: uuid.UUID, after: int, up_to: int | None = None
) -> list[MessageOut]:
    """Messages after `after` (up to `up_to`), oldest first: what a live client missed.
    The caller has checked membership."""
    stmt = select(*MESSAGE_COLUMNS).where(
        Message.conversation_id == conversation_id, Message.sequence > after
    )
    if up_to is not None:
        stmt = stmt.where(Message.sequence <= up_to)
    rows = await session.execute(stmt.order_by(Message.sequence).limit(MAX_PAGE * 5))
    return [message_out(r) for r in rows]


async def _checked_attachments(
    storage: Storage, principal: Principal, keys: list[str]
) -> list[dict[str, str]]:
    """Only the sender's own uploads, and only ones that are there."""
    prefix = f"{_attachment_prefix(principal)}/"
    found = []
    for key in dict.fromkeys(keys):
        name = key.removeprefix(prefix)
        extension = name.rsplit(".", 1)[-1]
        ours = key.startswith(prefix) and name.count("/") == 1
        if not ours or extension not in _TYPE_BY_EXTENSION:
            raise AttachmentRejected("attach files you uploaded", details={"key": key})
        if not await storage.exists(key):
            raise AttachmentRejected("that upload was not found", details={"key": key})
        found.append(
            {
                "key": key,
                "name": name.split("/", 1)[1],
                "content_type": _TYPE_BY_EXTENSION[extension],
            }
        )
    return found


# One statement: the membership and announcements-only checks, the insert (the
# trigger numbers it, under the conversation's row lock) and the sender's own read
# marker. Sent through the driver: a send is the hottest write there is.
SEND_SQL = """
WITH may_post AS (
    SELECT 1
    FROM conversation_members AS cm
    JOIN conversations AS c ON c.id = cm.conversation_id
    WHERE cm.conversation_id = $2
      AND cm.user_id = $3
      AND c.school_id = $1
      AND (NOT c.announcements_only OR cm.role = 'owner')
), new AS (
    INSERT INTO messages (school_id, conversation_id, sender_id, body, attachments)
    SELECT $1, $2, $3, $4, $5::jsonb
    WHERE EXISTS (SELECT FROM may_post)
    RETURNING id, conversation_id, sender_id, sequence, body, attachments,
              created_at, edited_at, deleted_at
), read_own AS (
    UPDATE conversation_members AS cm
       SET last_read_sequence = new.sequence
      FROM new
     WHERE cm.conversation_id = new.conversation_id
       AND cm.user_id = new.sender_id
       AND cm.last_read_sequence < new.sequence
)
SELECT * FROM new
"""


class ConversationTurns:
    """At most a few sends into one conversation at a time from this process.

    PostgreSQL serialises them anyway (the sequence trigger's row lock), and a few
    statements queued at that lock keep it busy. More only wait there holding
    pooled connections — a burst into one busy group could tie up the whole pool
    and starve every other request — and make the lock manager itself contended.
    Other conversations are not held up.
    """

    IN_FLIGHT = 4

    def __init__(self) -> None:
        self._gates: dict[uuid.UUID, asyncio.Semaphore] = {}
        self._holders: dict[uuid.UUID, int] = {}

    @asynccontextmanager
    async def of(self, conversation_id: uuid.UUID) -> AsyncIterator[None]:
        gate = self._gates.setdefault(conversation_id, asyncio.Semaphore(self.IN_FLIGHT))
        self._holders[conversation_id] = self._holders.get(conversation_id, 0) + 1
        try:
            async with gate:
                yield
        finally:
            self._holders[conversation_id] -= 1
            if not self._holders[conversation_id]:
                del self._holders[conversation_id], self._gates[conversation_id]


async def send_message(
    session: AsyncSession,
    storage: Callable[[], Storage],
    principal: Principal,
    *,
    conversation_id: uuid.UUID,
    body: str,
    attachment_keys: list[str],
    turns: ConversationTurns,
) -> MessageOut:
    """Post a message. It is one statement, so in an autocommit session the row lock
    it takes is held only while PostgreSQL runs it."""
    attachments = (
        await _checked_attachments(storage(), principal, attachment_keys) if attachment_keys else []
    )
    async with turns.of(conversation_id):
        row = await fetch_one(
            session,
            SEND_SQL,
            principal.school_id,
            conversation_id,
            principal.user_id,
            body,
            json.dumps(attachments),
        )
    if row is None:
        await _membership(session, principal, conversation_id=conversation_id)  # 404
        raise AnnouncementsOnly("only the group's owner posts in an announcements group")
    return message_out(row)


async def _message_for_member(
    session: AsyncSession, principal: Principal, *, message_id: uuid.UUID
) -> Any:
    row = (
        await session.execute(
            select(
                Message.sender_id,
                Message.deleted_at,
                ConversationMember.role,
                Conversation.announcements_only,
            )
            .join(
                ConversationMember,
                and_(
                    ConversationMember.conversation_id == Message.conversation_id,
                    ConversationMember.user_id == principal.user_id,
                ),
            )
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.id == message_id, Message.school_id == principal.school_id)
        )
    ).first()
    if row is None:
        raise MessageNotFound("message not found", details={"message_id": str(message_id)})
    return row


async def edit_message(
    session: AsyncSession, principal: Principal, *, message_id: uuid.UUID, body: str
) -> MessageOut:
    found = await _message_for_member(session, principal, message_id=message_id)
    if found.sender_id != principal.user_id:
        raise NotMessageSender("only the sender can edit a message")
    if found.deleted_at is not None:
        raise MessageDeleted("a deleted message cannot be edited")
    if found.announcements_only and found.role != "owner":
        # Otherwise an old message could be rewritten into an "announcement".
        raise AnnouncementsOnly("only the group's owners can write here now")
    row = (
        await session.execute(
            update(Message)
            .where(Message.id == message_id, Message.deleted_at.is_(None))
            .values(body=body, edited_at=func.now())
            .returning(*MESSAGE_COLUMNS)
        )
    ).first()
    if row is None:  # deleted in between
        raise MessageDeleted("a deleted message cannot be edited")
    return message_out(row)


async def delete_message(
    session: AsyncSession, actor: Actor, principal: Principal, *, message_id: uuid.UUID
) -> MessageOut:
    """Soft delete by the sender, or by the group's owner (moderation). Repeatable."""
    found = await _message_for_member(session, principal, message_id=message_id)
    by_sender = found.sender_id == principal.user_id
    if not by_sender and found.role != "owner":
        raise NotMessageSender("only the sender or the group's owner can delete a message")
    row = (
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(deleted_at=func.coalesce(Message.deleted_at, func.now()))
            .returning(*MESSAGE_COLUMNS)
        )
    ).one()
    if found.deleted_at is None:
        await audit.record(
            session,
            actor,
            action="chat.message.delete",
            entity="message",
            entity_id=message_id,
            changes={"by": "sender" if by_sender else "owner"},
        )
    return message_out(row)


# ---- attachments -------------------------------------------------------------------


def _attachment_prefix(principal: Principal) -> str:
    return f"chat/{principal.school_id}/{principal.user_id}"


def _safe_name(filename: str, extension: str) -> str:
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:80] or "file"
    return f"{stem}.{extension}"


async def upload_attachment(
    storage: Storage, principal: Principal, *, filename: str, content_type: str, data: bytes
) -> Attachment:
    extension = ATTACHMENT_TYPES.get(content_type)
    if extension is None:
        raise AttachmentRejected("attach a JPEG, PNG or WebP image or a PDF")
    if not data or len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentRejected("an attachment must be between 1 byte and 10 MB")
    name = _safe_name(filename, extension)
    key = f"{_attachment_prefix(principal)}/{uuid.uuid4().hex}/{name}"
    await storage.put(key, data, content_type)
    return Attachment(key=key, name=name, content_type=content_type)


async def get_attachment(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    *,
    message_id: uuid.UUID,
    index: int,
) -> tuple[bytes, Attachment]:
    row = (
        await session.execute(
            select(Message.attachments, Message.deleted_at)
            .join(
                ConversationMember,
                and_(
                    ConversationMember.conversation_id == Message.conversation_id,
                    ConversationMember.user_id == principal.user_id,
                ),
            )
            .where(Message.id == message_id, Message.school_id == principal.school_id)
        )
    ).first()
    if row is None or row.deleted_at is not None or not 0 <= index < len(row.attachments):
        raise AttachmentNotFound("attachment not found")
    attachment = Attachment(**row.attachments[index])
    return await storage.get(attachment.key), attachment


# ---- search --------------------------------------------------------------------------

# The plan is the whole story of a chat search (DESIGN.md: 3–7 ms against ~230 ms
# for the same parent's search). Two statements in one transaction:
#
# 1. The caller's conversations, from the membership index, with the planner
#    settings for the search. Whatever the words, a user in few conversations (a
#    parent: about ten) is served best by reading those conversations' messages
#    through the conversation index: a few thousand rows at most. A bitmap plan —
#    the only way a GIN index is used — reads the words' posting lists for the whole
#    school, and the planner underestimates that for phrases and common words
#    (measured on the bench data: 67 ms instead of 1.5 ms). So for them bitmap scans
#    are off. A user in many conversations (staff: hundreds) gets the planner's
#    choice, usually the GIN index ANDed with the conversation index.
#    The search is planned for its actual values each time (a generic plan cached
#    for the prepared statement knows neither the words nor the user), without JIT
#    or parallel workers, which cost more than the whole query.
# 2. The search over those conversations, ranked; ts_headline (it re-parses the
#    text) runs only for the page returned.
FEW_CONVERSATIONS = 50

SEARCH_SETUP_SQL = """
WITH mine AS (
    SELECT coalesce(array_agg(conversation_id), '{}') AS ids
    FROM conversation_members
    WHERE user_id = $1
      AND school_id = $2
      AND ($3::uuid IS NULL OR conversation_id = $3)
)
SELECT mine.ids AS conversation_ids,
       set_config('plan_cache_mode', 'force_custom_plan', true),
       set_config('jit', 'off', true),
       set_config('max_parallel_workers_per_gather', '0', true),
       set_config('enable_bitmapscan',
                  CASE WHEN cardinality(mine.ids) <= $4 THEN 'off' ELSE 'on' END,
                  true)
FROM mine
"""

# $1 the words, $2 the conversation ids, $3 the limit, $4 the markers, $5 the
# headline options.
_SEARCH = """
SELECT m.id, m.conversation_id, m.sender_id, m.sequence, m.created_at, hit.rank,
       ts_headline('{lang}'::regconfig, {escaped_body}, hit.query, $5) AS headline
FROM (
    SELECT m.id, ts_rank(m.search_{lang}, q.query) AS rank, m.created_at, q.query
    FROM (SELECT websearch_to_tsquery('{lang}'::regconfig, $1) AS query) AS q
    JOIN messages AS m ON m.search_{lang} @@ q.query
    WHERE m.conversation_id = ANY($2::uuid[])
      AND m.deleted_at IS NULL
    ORDER BY rank DESC, m.created_at DESC
    LIMIT $3
) AS hit
JOIN messages AS m ON m.id = hit.id
ORDER BY hit.rank DESC, hit.created_at DESC
"""
SEARCH_MESSAGES_SQL = {
    lang: _SEARCH.format(lang=lang, escaped_body=textsearch.escaped_sql("m.body", markers="$4"))
    for lang in textsearch.LANGUAGES
}


async def search_messages(
    session: AsyncSession,
    principal: Principal,
    *,
    q: str,
    lang: str,
    conversation_id: uuid.UUID | None,
    limit: int,
    admitted: Awaitable[None],
) -> list[MessageSearchResult]:
    """Messages in the caller's conversations matching `q`, best first, then most
    recent. `admitted` (the rate limit) is awaited while the caller's conversations
    are looked up; the search runs only if it passes.

    Through the driver, in a short transaction of its own (the planner settings are
    local to it): two statements and up to 100 rows, where SQLAlchemy's own work
    per statement and per transaction was a large share of the time spent outside
    PostgreSQL."""
    db = await driver_connection(session)
    async with db.transaction():

        async def conversations() -> list[uuid.UUID] | None:
            return await db.fetchval(  # type: ignore[no-any-return]
                SEARCH_SETUP_SQL,
                principal.user_id,
                principal.school_id,
                conversation_id,
                FEW_CONVERSATIONS,
            )

        # Both finish before either failure is raised: no statement is left running.
        mine, admission = await asyncio.gather(conversations(), admitted, return_exceptions=True)
        for outcome in (admission, mine):
            if isinstance(outcome, BaseException):
                raise outcome
        if not mine:
            return []
        rows = await db.fetch(
            SEARCH_MESSAGES_SQL[lang],
            q,
            mine,
            limit,
            textsearch.MARKERS,
            textsearch.HEADLINE_OPTIONS,
        )
    return [
        MessageSearchResult(
            id=r["id"],
            conversation_id=r["conversation_id"],
            sender_id=r["sender_id"],
            sequence=r["sequence"],
            created_at=r["created_at"],
            snippet=textsearch.safe_snippet(r["headline"]),
            rank=r["rank"],
        )
        for r in rows
    ]
