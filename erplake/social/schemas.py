from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, HttpUrl

from erplake.core.schemas import Schema
from erplake.models.social import MAX_POST_BODY_CHARS

Platform = Literal["instagram", "facebook", "x", "youtube", "website"]


class SocialPostIn(Schema):
    platform: Platform
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=MAX_POST_BODY_CHARS)
    url: HttpUrl | None = Field(default=None, max_length=500)
    published_at: datetime | None = None


class SocialPostUpdate(Schema):
    platform: Platform | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=MAX_POST_BODY_CHARS)
    url: HttpUrl | None = Field(default=None, max_length=500)
    published_at: datetime | None = None


class SocialPostOut(Schema):
    id: uuid.UUID
    platform: Platform
    title: str
    body: str
    url: str | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SocialPostSearchResult(Schema):
    id: uuid.UUID
    platform: Platform
    title: str
    snippet: str = Field(description="HTML-escaped text with matches in <mark>")
    rank: float
    created_at: datetime
