from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from erplake.core.schemas import Schema


class SchoolOut(Schema):
    id: uuid.UUID
    code: str
    name: str
    timezone: str
    address: str | None
    phone: str | None
    email: str | None


class SchoolUpdate(Schema):
    """The profile fields an admin may change (the code is the school's key, fixed).
    A field left out stays as it is; `null` clears an optional one."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    timezone: str | None = Field(default=None, max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (e.g. Asia/Kolkata)") from None
        return value
