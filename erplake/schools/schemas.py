from __future__ import annotations

import uuid

from erplake.core.schemas import Schema


class SchoolOut(Schema):
    id: uuid.UUID
    code: str
    name: str
    timezone: str
    address: str | None
    phone: str | None
    email: str | None
