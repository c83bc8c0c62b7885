from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from erplake.core.schemas import Schema

WEEKLY_OFF_PATTERN = r"^(mon|tue|wed|thu|fri|sat|sun)(-[1-5])?$"


class AcademicYearIn(Schema):
    name: str = Field(min_length=4, max_length=16, examples=["2026-27"])
    starts_on: date
    ends_on: date
    is_current: bool = False

    @model_validator(mode="after")
    def _dates_in_order(self) -> AcademicYearIn:
        if self.starts_on >= self.ends_on:
            raise ValueError("starts_on must be before ends_on")
        if (self.ends_on - self.starts_on).days > 400:
            raise ValueError("an academic year lasts at most 400 days")
        return self


class AcademicYearUpdate(Schema):
    name: str | None = Field(default=None, min_length=4, max_length=16)
    starts_on: date | None = None
    ends_on: date | None = None


class AcademicYearOut(Schema):
    id: uuid.UUID
    name: str
    starts_on: date
    ends_on: date
    is_current: bool


class ClassIn(Schema):
    name: str = Field(min_length=1, max_length=32, examples=["6"])
    sequence: int = Field(ge=0, le=100, description="Promotion order: the next class is higher")


class ClassUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=32)
    sequence: int | None = Field(default=None, ge=0, le=100)


class ClassOut(Schema):
    id: uuid.UUID
    name: str
    sequence: int


class SectionIn(Schema):
    class_id: uuid.UUID
    name: str = Field(min_length=1, max_length=16, examples=["A"])
    academic_year_id: uuid.UUID | None = Field(
        default=None, description="Defaults to the current academic year"
    )


class SectionUpdate(Schema):
    name: str = Field(min_length=1, max_length=16)


class TeacherBrief(Schema):
    id: uuid.UUID
    name: str


class SectionOut(Schema):
    id: uuid.UUID
    name: str
    label: str = Field(description="Class and section, e.g. 6-A")
    class_id: uuid.UUID
    class_name: str
    class_sequence: int
    academic_year_id: uuid.UUID
    class_teacher: TeacherBrief | None = None
    students: int = 0


class SubjectIn(Schema):
    code: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=100)


class SubjectUpdate(Schema):
    name: str = Field(min_length=1, max_length=100)


class SubjectOut(Schema):
    id: uuid.UUID
    code: str
    name: str


class AssignmentIn(Schema):
    section_id: uuid.UUID
    teacher_id: uuid.UUID
    role: Literal["class_teacher", "subject_teacher"]
    subject_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _subject_matches_role(self) -> AssignmentIn:
        if self.role == "subject_teacher" and self.subject_id is None:
            raise ValueError("a subject teacher needs subject_id")
        if self.role == "class_teacher" and self.subject_id is not None:
            raise ValueError("a class teacher takes no subject_id")
        return self


class AssignmentOut(Schema):
    id: uuid.UUID
    section_id: uuid.UUID
    section_label: str
    teacher: TeacherBrief
    role: str
    subject: SubjectOut | None = None


class HolidayIn(Schema):
    date: date
    name: str = Field(min_length=1, max_length=120)


class HolidayOut(Schema):
    id: uuid.UUID
    date: date
    name: str


class CalendarIn(Schema):
    weekly_offs: list[str] = Field(
        max_length=14,
        description='Weekdays off, optionally only their n-th in the month: ["sun", "sat-2"]',
    )

    @field_validator("weekly_offs")
    @classmethod
    def _known_days(cls, value: list[str]) -> list[str]:
        import re

        cleaned = sorted({v.strip().lower() for v in value})
        bad = [v for v in cleaned if not re.fullmatch(WEEKLY_OFF_PATTERN, v)]
        if bad:
            raise ValueError(f"not a weekly off: {', '.join(bad)} (use e.g. sun or sat-2)")
        return cleaned


class CalendarOut(Schema):
    weekly_offs: list[str]
    holidays: list[HolidayOut]


class SchoolDayOut(Schema):
    date: date
    is_school_day: bool
    reason: str | None = None
