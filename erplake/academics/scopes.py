"""Which sections a teacher teaches: the one place that answers it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from erplake.academics.service import current_year_id
from erplake.models.academics import Section, TeacherAssignment


def teacher_section_ids(*, school_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    """Ids of this year's sections where the user is class teacher or teaches a
    subject, as a subquery."""
    return (
        select(TeacherAssignment.section_id)
        .join(Section, Section.id == TeacherAssignment.section_id)
        .where(
            TeacherAssignment.teacher_id == user_id,
            TeacherAssignment.school_id == school_id,
            Section.academic_year_id == current_year_id(school_id),
        )
    )
