"""Time is timestamptz in UTC; a school's "today" is computed in its own timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Kolkata"


def utcnow() -> datetime:
    return datetime.now(UTC)


def school_today(tz: str = DEFAULT_TIMEZONE, *, now: datetime | None = None) -> date:
    moment = now or utcnow()
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must carry a timezone")
    return moment.astimezone(ZoneInfo(tz)).date()
