from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from erplake.core.schemas import Schema

CODE_PATTERN = r"^[A-Z][A-Z0-9]{0,7}$"


class MarkIn(Schema):
    student_id: uuid.UUID
    code: str = Field(min_length=1, max_length=8, examples=["P"])

    @field_validator("code")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class BulkMarkIn(Schema):
    section_id: uuid.UUID
    date: date
    period: int | None = Field(
        default=None, ge=1, le=12, description="Only in period-wise mode: the lesson, 1..n"
    )
    marks: list[MarkIn] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_mark_per_student(self) -> BulkMarkIn:
        counts = Counter(m.student_id for m in self.marks)
        repeated = sorted(str(s) for s, n in counts.items() if n > 1)
        if repeated:
            raise ValueError(f"a student is marked twice: {', '.join(repeated)}")
        return self


class BulkMarkOut(Schema):
    section_id: uuid.UUID
    date: date
    period: int | None
    marked: int = Field(description="Marks in the submission")
    changed: int = Field(description="Marks written or changed (a repeat changes nothing)")
    counts: dict[str, int] = Field(description="Marks per code in the submission")
    on_leave: int = Field(description="Absences turned into leave (approved leave)")
    alerts_queued: int
    alerts_cancelled: int


class CodeIn(Schema):
    label: str = Field(min_length=1, max_length=64)
    counts_as_present: bool
    alerts_guardians: bool = False
    sort_order: int = Field(default=0, ge=0, le=100)
    is_active: bool = True


class CodeOut(Schema):
    code: str
    label: str
    counts_as_present: bool
    alerts_guardians: bool
    sort_order: int
    is_active: bool


class SettingsIn(Schema):
    mode: Literal["daily", "period"]
    periods_per_day: int = Field(default=8, ge=1, le=12)
    edit_window_days: int = Field(
        default=7, ge=0, le=365, description="Days after the day a register may be corrected"
    )
    alert_delay_minutes: int = Field(
        default=10, ge=0, le=240, description="Grace before an absence alert goes out"
    )


class SettingsOut(SettingsIn):
    pass


class RegisterRow(Schema):
    student_id: uuid.UUID
    roll_number: int | None
    name: str
    admission_number: str
    code: str | None
    counts_as_present: bool | None


class RegisterOut(Schema):
    section_id: uuid.UUID
    section_label: str
    date: date
    period: int | None
    closed_reason: str | None = Field(description="Why the school is closed that day, if it is")
    rows: list[RegisterRow]
    counts: dict[str, int]
    not_marked: int


class MonthlyRow(Schema):
    student_id: uuid.UUID
    roll_number: int | None
    name: str
    marked: int
    present: int
    percent: float | None


class MonthlyOut(Schema):
    section_id: uuid.UUID
    section_label: str
    month: str
    school_days: int
    rows: list[MonthlyRow]


class DayMark(Schema):
    date: date
    period: int
    code: str
    counts_as_present: bool


class StudentMonthOut(Schema):
    student_id: uuid.UUID
    name: str
    month: str
    school_days: int
    marked: int
    present: int
    percent: float | None
    days: list[DayMark]


class ClassSummary(Schema):
    class_id: uuid.UUID
    class_name: str
    enrolled: int
    present: int
    absent: int
    not_marked: int


class TodayOut(Schema):
    date: date
    closed_reason: str | None
    classes: list[ClassSummary]
    enrolled: int
    present: int
    absent: int
    not_marked: int


class ChronicRow(Schema):
    student_id: uuid.UUID
    name: str
    admission_number: str
    section_label: str
    marked: int
    present: int
    percent: float


class ChronicOut(Schema):
    threshold: float
    school_days: int
    from_date: date | None
    to_date: date | None
    rows: list[ChronicRow]


class LeaveIn(Schema):
    student_id: uuid.UUID
    from_date: date
    to_date: date
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _dates_in_order(self) -> LeaveIn:
        if self.from_date > self.to_date:
            raise ValueError("from_date must not be after to_date")
        if (self.to_date - self.from_date).days > 60:
            raise ValueError("leave can cover at most 61 days; apply again for longer")
        return self


class LeaveDecision(Schema):
    note: str | None = Field(default=None, max_length=300)


class LeaveOut(Schema):
    id: uuid.UUID
    student_id: uuid.UUID
    student_name: str
    from_date: date
    to_date: date
    reason: str
    status: str
    applied_by: uuid.UUID | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    decision_note: str | None
    days_marked: int
    created_at: datetime
