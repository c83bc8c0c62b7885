from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from erplake.core.schemas import Schema
from erplake.models.chat import MAX_MESSAGE_CHARS

ConversationKind = Literal["direct", "section", "staff"]
MemberRole = Literal["owner", "member"]
MAX_ATTACHMENTS = 10


class Attachment(Schema):
    key: str
    name: str
    content_type: str


class ConversationOut(Schema):
    id: uuid.UUID
    kind: ConversationKind
    title: str | None = Field(description="For a direct conversation, the other person's name")
    section_id: uuid.UUID | None
    announcements_only: bool
    role: MemberRole
    muted: bool
    last_sequence: int = Field(description="Sequence of the newest message (0: none yet)")
    last_read_sequence: int
    unread: int
    last_message_at: datetime | None


class MemberOut(Schema):
    user_id: uuid.UUID
    name: str
    role: MemberRole
    joined_at: datetime


class DirectStart(Schema):
    user_id: uuid.UUID = Field(description="The other person")


class StaffGroupCreate(Schema):
    title: str = Field(min_length=1, max_length=200)
    member_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)


class SectionGroupSet(Schema):
    announcements_only: bool = False
    title: str | None = Field(default=None, min_length=1, max_length=200)


class ConversationUpdate(Schema):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    announcements_only: bool | None = None


class MembershipUpdate(Schema):
    muted: bool


class ReadMark(Schema):
    sequence: int = Field(ge=0, description="The newest sequence the user has seen")


class ReadState(Schema):
    last_read_sequence: int
    unread: int


class Contact(Schema):
    user_id: uuid.UUID
    name: str


class MessageSend(Schema):
    body: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    attachments: list[str] = Field(
        default_factory=list,
        max_length=MAX_ATTACHMENTS,
        description="Keys returned by POST /chat/attachments",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> MessageSend:
        if not self.body and not self.attachments:
            raise ValueError("a message needs a body or an attachment")
        return self


class MessageEdit(Schema):
    body: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class MessageOut(Schema):
    id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID | None
    sequence: int
    body: str | None = Field(description="null once deleted: masked for everyone")
    attachments: list[Attachment]
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None


class MessagePage(Schema):
    items: list[MessageOut]
    has_more: bool = Field(description="More messages lie beyond this page in its direction")


class MessageSearchResult(Schema):
    id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID | None
    sequence: int
    created_at: datetime
    snippet: str = Field(description="HTML-escaped text with matches in <mark>")
    rank: float
