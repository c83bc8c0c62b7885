"""The school's academic structure: years, classes, sections, subjects, who teaches
where, and the calendar (holidays and weekly offs)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from erplake.models.base import Base, IdMixin, SchoolScoped, TimestampMixin

# Sunday and the second Saturday of the month: the most common pattern in Indian schools.
DEFAULT_WEEKLY_OFFS = ["sun", "sat-2"]


class AcademicYear(IdMixin, SchoolScoped, TimestampMixin, Base):
    """April–March in most Indian schools. Exactly one is current per school."""

    __tablename__ = "academic_years"

    name: Mapped[str] = mapped_column(String(16))
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    is_current: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))

    __table_args__ = (
        UniqueConstraint("school_id", "name"),
        CheckConstraint("starts_on < ends_on", name="dates_in_order"),
        # One current year per school, enforced by the database, not by hope.
        Index(
            "uq_academic_years_one_current",
            "school_id",
            unique=True,
            postgresql_where=text("is_current"),
        ),
    )


class SchoolClass(IdMixin, SchoolScoped, TimestampMixin, Base):
    """Nursery, LKG, UKG, 1–12. `sequence` orders promotion: a student moves to the
    class with the next higher sequence."""

    __tablename__ = "classes"

    name: Mapped[str] = mapped_column(String(32))
    sequence: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("school_id", "name"),
        UniqueConstraint("school_id", "sequence"),
    )


class Section(IdMixin, SchoolScoped, TimestampMixin, Base):
    """6-A in one academic year; promotion creates next year's sections."""

    __tablename__ = "sections"

    academic_year_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("academic_years.id", ondelete="CASCADE")
    )
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("classes.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        UniqueConstraint("academic_year_id", "class_id", "name"),
        Index("ix_sections_class_id", "class_id"),
    )


class Subject(IdMixin, SchoolScoped, TimestampMixin, Base):
    __tablename__ = "subjects"

    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("school_id", "code"),)


class TeacherAssignment(IdMixin, SchoolScoped, TimestampMixin, Base):
    """A teacher (a user) in a section: its class teacher, or the teacher of one
    subject there. Either makes the section one of the teacher's own sections."""

    __tablename__ = "teacher_assignments"

    section_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sections.id", ondelete="CASCADE"))
    teacher_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE")
    )

    __table_args__ = (
        CheckConstraint(
            "(role = 'class_teacher' AND subject_id IS NULL)"
            " OR (role = 'subject_teacher' AND subject_id IS NOT NULL)",
            name="role_matches_subject",
        ),
        Index(
            "uq_teacher_assignments_class_teacher",
            "section_id",
            unique=True,
            postgresql_where=text("role = 'class_teacher'"),
        ),
        Index(
            "uq_teacher_assignments_subject_teacher",
            "section_id",
            "subject_id",
            unique=True,
            postgresql_where=text("role = 'subject_teacher'"),
        ),
    )


class Holiday(IdMixin, SchoolScoped, TimestampMixin, Base):
    __tablename__ = "holidays"

    date: Mapped[date] = mapped_column()
    name: Mapped[str] = mapped_column(String(120))

    __table_args__ = (UniqueConstraint("school_id", "date"),)


class SchoolCalendar(Base):
    """Weekly offs, e.g. ["sun", "sat-2", "sat-4"]: a weekday, optionally only its
    n-th occurrence in the month."""

    __tablename__ = "school_calendars"

    school_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    weekly_offs: Mapped[list[Any]] = mapped_column(
        JSONB, server_default=text("""'["sun", "sat-2"]'::jsonb""")
    )
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
