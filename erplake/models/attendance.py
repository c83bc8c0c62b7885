"""Attendance: the school's codes and settings, the marks, and leave applications."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from erplake.models.base import Base, IdMixin, SchoolScoped, TimestampMixin

ATTENDANCE_MODES = ("daily", "period")
LEAVE_STATUSES = ("pending", "approved", "rejected", "cancelled")

# Period 0 is "the day" (daily mode); periods 1..n are lessons (period-wise mode).
DAY_PERIOD = 0


class AttendanceCode(Base):
    """P, A, L, HD, LV, EX by default; each school may add or relabel its own."""

    __tablename__ = "attendance_codes"

    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    counts_as_present: Mapped[bool] = mapped_column(Boolean)
    # Marking this code tells the opted-in guardians on WhatsApp (A by default).
    alerts_guardians: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    sort_order: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class AttendanceSettings(Base):
    __tablename__ = "attendance_settings"

    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(8), server_default="daily")
    periods_per_day: Mapped[int] = mapped_column(SmallInteger, server_default="8")
    # How many days after the day a permitted role may still correct a register.
    edit_window_days: Mapped[int] = mapped_column(SmallInteger, server_default="7")
    # Absence alerts wait this long, so a teacher's slip can be corrected before a
    # parent is worried.
    alert_delay_minutes: Mapped[int] = mapped_column(SmallInteger, server_default="10")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("mode IN ('daily', 'period')", name="mode_known"),
        CheckConstraint("periods_per_day BETWEEN 1 AND 12", name="periods_in_range"),
        CheckConstraint("edit_window_days BETWEEN 0 AND 365", name="window_in_range"),
        CheckConstraint("alert_delay_minutes BETWEEN 0 AND 240", name="delay_in_range"),
    )


class AttendanceRecord(Base):
    """One mark: a student, a date, a period (0 = the day). The natural key is the
    primary key, so a repeated submission is an upsert, never a duplicate."""

    __tablename__ = "attendance_records"

    student_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[date] = mapped_column(primary_key=True)
    period: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")
    # Not SchoolScoped: its school_id index would only slow the bulk upserts down.
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    section_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(8))
    marked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    marked_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        ForeignKeyConstraint(
            ["school_id", "code"],
            ["attendance_codes.school_id", "attendance_codes.code"],
            name="fk_attendance_records_code_attendance_codes",
            ondelete="RESTRICT",
        ),
        Index("ix_attendance_records_section_id_date", "section_id", "date"),
    )


class LeaveApplication(IdMixin, SchoolScoped, TimestampMixin, Base):
    """A guardian asks leave for a child's dates; the class teacher decides; approved
    school days are marked LV."""

    __tablename__ = "leave_applications"

    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    from_date: Mapped[date] = mapped_column()
    to_date: Mapped[date] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    applied_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_note: Mapped[str | None] = mapped_column(String(300))
    days_marked: Mapped[int] = mapped_column(Integer, server_default="0")

    __table_args__ = (
        CheckConstraint("from_date <= to_date", name="dates_in_order"),
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'cancelled')", name="status_known"
        ),
        Index("ix_leave_applications_student_id_from_date", "student_id", "from_date"),
    )
