from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from erplake.core.schemas import Schema

Gender = Literal["male", "female", "other"]
Category = Literal["general", "obc", "sc", "st", "ews"]
Relation = Literal["father", "mother", "guardian"]
Language = Literal["en", "hi"]
StudentStatus = Literal["active", "left", "alumni"]

ADMISSION_NUMBER = r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,31}$"


class GuardianIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    relation: Relation = "guardian"
    phone: str = Field(min_length=5, max_length=32, examples=["98765 43210"])
    whatsapp_opt_in: bool = False
    preferred_language: Language = "en"


class GuardianUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    relation: Relation | None = None
    phone: str | None = Field(default=None, min_length=5, max_length=32)
    whatsapp_opt_in: bool | None = None
    preferred_language: Language | None = None


class ChildOfGuardian(Schema):
    id: uuid.UUID
    name: str
    admission_number: str
    is_primary: bool


class GuardianOut(Schema):
    id: uuid.UUID
    name: str
    relation: str
    phone: str
    whatsapp_opt_in: bool
    preferred_language: str
    is_active: bool
    children: list[ChildOfGuardian] = []


class GuardianLink(Schema):
    """An existing guardian by id, or a new one (a phone already on file links to
    that guardian: siblings share their parents)."""

    guardian_id: uuid.UUID | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    relation: Relation = "guardian"
    phone: str | None = Field(default=None, min_length=5, max_length=32)
    whatsapp_opt_in: bool = False
    preferred_language: Language = "en"
    is_primary: bool = False

    @model_validator(mode="after")
    def _id_or_details(self) -> GuardianLink:
        if self.guardian_id is None and (self.name is None or self.phone is None):
            raise ValueError("give guardian_id, or name and phone for a new guardian")
        return self


class StudentIn(Schema):
    admission_number: str = Field(pattern=ADMISSION_NUMBER, examples=["GV/2026/0042"])
    name: str = Field(min_length=1, max_length=200)
    date_of_birth: date
    gender: Gender
    category: Category = "general"
    admitted_on: date | None = None
    section_id: uuid.UUID | None = Field(
        default=None, description="Enrol in this section of the current academic year"
    )
    roll_number: int | None = Field(default=None, ge=1, le=999)
    guardians: list[GuardianLink] = Field(default=[], max_length=4)

    @model_validator(mode="after")
    def _roll_needs_section(self) -> StudentIn:
        if self.roll_number is not None and self.section_id is None:
            raise ValueError("a roll number needs section_id")
        return self


class StudentUpdate(Schema):
    admission_number: str | None = Field(default=None, pattern=ADMISSION_NUMBER)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    date_of_birth: date | None = None
    gender: Gender | None = None
    category: Category | None = None
    admitted_on: date | None = None


class Deactivate(Schema):
    status: Literal["left", "alumni"] = "left"
    left_on: date | None = None


class EnrolmentIn(Schema):
    section_id: uuid.UUID
    roll_number: int | None = Field(default=None, ge=1, le=999)


class GuardianBrief(Schema):
    id: uuid.UUID
    name: str
    phone: str


class StudentOut(Schema):
    id: uuid.UUID
    admission_number: str
    name: str
    date_of_birth: date
    gender: str
    category: str
    status: str
    class_id: uuid.UUID | None = None
    class_name: str | None = None
    section_id: uuid.UUID | None = None
    section_name: str | None = None
    roll_number: int | None = None
    primary_guardian: GuardianBrief | None = None
    has_photo: bool = False


class StudentGuardianOut(Schema):
    id: uuid.UUID
    name: str
    relation: str
    phone: str
    whatsapp_opt_in: bool
    preferred_language: str
    is_primary: bool


class EnrolmentOut(Schema):
    academic_year_id: uuid.UUID
    academic_year: str
    section_id: uuid.UUID
    section_label: str
    roll_number: int | None
    outcome: str | None


class StudentDetail(StudentOut):
    admitted_on: date | None = None
    left_on: date | None = None
    guardians: list[StudentGuardianOut] = []
    enrolments: list[EnrolmentOut] = []


class ImportRowError(Schema):
    row: int = Field(description="Spreadsheet row: 1 is the header, data starts at 2")
    column: str
    reason: str
    value: str | None = None


class ImportPreview(Schema):
    rows: int
    valid: int
    errors: list[ImportRowError]
    columns: list[str]
    sample: list[dict[str, str]] = Field(
        default=[], description="The first rows as read, for the user to check the mapping"
    )


class ImportStarted(Schema):
    job_id: uuid.UUID
    rows: int
    status_url: str


class PromotionIn(Schema):
    to_academic_year_id: uuid.UUID
    held_back: list[uuid.UUID] = Field(default=[], max_length=5000)
    leaving: list[uuid.UUID] = Field(default=[], max_length=5000)


class SectionMove(Schema):
    from_section_id: uuid.UUID
    from_label: str
    to_label: str | None = Field(description="None when the class graduates (alumni)")
    to_exists: bool
    promoted: int
    held_back: int
    leaving: int
    graduating: int


class PromotionPreview(Schema):
    from_academic_year: str
    to_academic_year: str
    moves: list[SectionMove]
    promoted: int
    held_back: int
    leaving: int
    graduating: int
    sections_to_create: list[str]
    already_done: int = Field(description="Students already enrolled in the new year")


class PromotionResult(Schema):
    sections_created: int
    enrolled: int
    marked_left: int
    marked_alumni: int
    outcomes_recorded: int
