"""Students, guardians (many-to-many, one primary contact) and enrolments per year."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from erplake.models.base import Base, IdMixin, SchoolScoped, TimestampMixin

GENDERS = ("male", "female", "other")
CATEGORIES = ("general", "obc", "sc", "st", "ews")
STUDENT_STATUSES = ("active", "left", "alumni")
RELATIONS = ("father", "mother", "guardian")
LANGUAGES = ("en", "hi")
ENROLMENT_OUTCOMES = ("promoted", "held_back", "left", "graduated")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Student(IdMixin, SchoolScoped, TimestampMixin, Base):
    __tablename__ = "students"

    # "C" collation: admission numbers are codes, and a prefix search (LIKE 'GV24%')
    # can then walk the unique index instead of scanning.
    admission_number: Mapped[str] = mapped_column(String(32, collation="C"))
    name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column()
    gender: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(8), server_default="general")
    status: Mapped[str] = mapped_column(String(8), server_default="active")
    admitted_on: Mapped[date | None] = mapped_column()
    left_on: Mapped[date | None] = mapped_column()
    photo_key: Mapped[str | None] = mapped_column(String(300))
    photo_content_type: Mapped[str | None] = mapped_column(String(64))
    # Word-prefix search on names without an extension (the embedded PostgreSQL has
    # no pg_trgm): "ravi ku" finds "Ravi Kumar" through the GIN index.
    name_search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('simple'::regconfig, (name)::text)", persisted=True),
        deferred=True,  # searched, never read
    )

    __table_args__ = (
        UniqueConstraint("school_id", "admission_number"),
        CheckConstraint(_in("gender", GENDERS), name="gender_known"),
        CheckConstraint(_in("category", CATEGORIES), name="category_known"),
        CheckConstraint(_in("status", STUDENT_STATUSES), name="status_known"),
        Index("ix_students_name_search", "name_search", postgresql_using="gin"),
        Index("ix_students_school_id_name", "school_id", "name"),
    )


class Guardian(IdMixin, SchoolScoped, TimestampMixin, Base):
    """A parent or guardian. One phone is one guardian in a school, so siblings share
    their guardians, and a parent login (a user with the same phone) sees them all."""

    __tablename__ = "guardians"

    name: Mapped[str] = mapped_column(String(200))
    relation: Mapped[str] = mapped_column(String(16), server_default="guardian")
    phone: Mapped[str] = mapped_column(String(20))
    whatsapp_opt_in: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    preferred_language: Mapped[str] = mapped_column(String(8), server_default="en")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))

    __table_args__ = (
        UniqueConstraint("school_id", "phone"),
        CheckConstraint(_in("relation", RELATIONS), name="relation_known"),
        CheckConstraint(_in("preferred_language", LANGUAGES), name="language_known"),
    )


class StudentGuardian(Base):
    __tablename__ = "student_guardians"

    student_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    guardian_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    is_primary: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))

    __table_args__ = (
        # At most one primary contact per student.
        Index(
            "uq_student_guardians_primary",
            "student_id",
            unique=True,
            postgresql_where=text("is_primary"),
        ),
    )


class Enrolment(IdMixin, SchoolScoped, TimestampMixin, Base):
    """A student in a section for one academic year, with a roll number. `outcome` is
    written by year-end promotion."""

    __tablename__ = "enrolments"

    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    academic_year_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("academic_years.id", ondelete="CASCADE")
    )
    section_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sections.id", ondelete="RESTRICT"))
    roll_number: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (
        UniqueConstraint("student_id", "academic_year_id"),
        # Also the index every "students of this section" query walks.
        UniqueConstraint("section_id", "roll_number"),
        CheckConstraint("roll_number > 0", name="roll_number_positive"),
        CheckConstraint(
            f"outcome IS NULL OR {_in('outcome', ENROLMENT_OUTCOMES)}", name="outcome_known"
        ),
        Index("ix_enrolments_academic_year_id_section_id", "academic_year_id", "section_id"),
    )
