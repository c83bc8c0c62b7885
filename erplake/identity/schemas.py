from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from erplake.core.schemas import Schema


class OtpStart(Schema):
    phone: str = Field(min_length=5, max_length=32, examples=["98765 43210"])


class OtpStarted(Schema):
    sent: bool = True
    resend_after: int
    expires_in: int


class OtpVerify(Schema):
    phone: str = Field(min_length=5, max_length=32)
    code: str = Field(pattern=r"^\s*[0-9]{6}\s*$", examples=["123456"])
    school_code: str | None = Field(
        default=None, max_length=32, description="Only when the phone belongs to several schools"
    )


class TokenPair(Schema):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int


class RefreshRequest(Schema):
    refresh_token: str = Field(min_length=10, max_length=200)


class UserBrief(Schema):
    id: uuid.UUID
    name: str
    phone: str
    preferred_language: str


class SchoolBrief(Schema):
    id: uuid.UUID
    name: str


class ChildBrief(Schema):
    id: uuid.UUID
    name: str
    class_name: str | None = None
    section_name: str | None = None


class SectionBrief(Schema):
    id: uuid.UUID
    name: str
    class_name: str | None = None


class Me(Schema):
    user: UserBrief
    school: SchoolBrief
    roles: list[str]
    permissions: list[str]
    children: list[ChildBrief] = []
    sections: list[SectionBrief] = []


class UserOut(Schema):
    id: uuid.UUID
    name: str
    phone: str
    is_active: bool
    preferred_language: str
    roles: list[str]
    last_login_at: datetime | None
    created_at: datetime


class UserInvite(Schema):
    phone: str = Field(min_length=5, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(min_length=1, max_length=10)
    preferred_language: Literal["en", "hi"] = "en"


class RolesAssign(Schema):
    roles: list[str] = Field(min_length=0, max_length=10)


class PermissionOut(Schema):
    code: str
    description: str


class RoleOut(Schema):
    id: uuid.UUID
    name: str
    description: str
    is_builtin: bool
    permissions: list[str]


class RoleCreate(Schema):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,63}$")
    description: str = Field(default="", max_length=300)
    permissions: list[str] = Field(max_length=100)


class RoleUpdate(Schema):
    description: str | None = Field(default=None, max_length=300)
    permissions: list[str] | None = Field(default=None, max_length=100)


class AuditOut(Schema):
    id: int
    actor_user_id: uuid.UUID | None
    action: str
    entity: str
    entity_id: str | None
    changes: dict[str, object]
    ip: str | None
    request_id: str | None
    created_at: datetime
