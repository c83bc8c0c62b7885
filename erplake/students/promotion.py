"""Year-end promotion: every section moves up a class into the new academic year,
except the students held back (same class again); leavers are marked left; the top
class graduates (alumni). Preview first; applying is idempotent, so applying twice
changes nothing the second time."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import any_, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics import service as academics
from erplake.academics.service import section_label
from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core.errors import Unprocessable
from erplake.models.academics import SchoolClass, Section
from erplake.models.students import Enrolment, Student
from erplake.students.schemas import PromotionPreview, PromotionResult, SectionMove


class PromotionRefused(Unprocessable):
    code = "promotion_refused"


@dataclass
class _Plan:
    preview: PromotionPreview
    from_year_id: uuid.UUID
    to_year_id: uuid.UUID
    from_year_ends: object
    # (class_id, section name) of next year's sections still to create
    to_create: set[tuple[uuid.UUID, str]] = field(default_factory=set)
    # student → (target class_id, section name), for those who go on to next year
    placements: dict[uuid.UUID, tuple[uuid.UUID, str]] = field(default_factory=dict)
    names: dict[uuid.UUID, str] = field(default_factory=dict)
    outcomes: dict[uuid.UUID, str] = field(default_factory=dict)


async def _plan(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    to_year_id: uuid.UUID,
    held_back: list[uuid.UUID],
    leaving: list[uuid.UUID],
) -> _Plan:
    from_year = await academics.current_year(session, school_id=school_id)
    to_year = await academics.get_year(session, school_id=school_id, year_id=to_year_id)
    if to_year.starts_on <= from_year.starts_on:
        raise PromotionRefused(f"promote into a later year than the current one ({from_year.name})")
    held, leavers = set(held_back), set(leaving)
    if held & leavers:
        raise PromotionRefused(
            "a student cannot be both held back and leaving",
            details={"student_ids": sorted(str(s) for s in held & leavers)},
        )
    classes = (
        await session.execute(
            select(SchoolClass.id, SchoolClass.name)
            .where(SchoolClass.school_id == school_id)
            .order_by(SchoolClass.sequence)
        )
    ).all()
    class_names = {c.id: c.name for c in classes}
    next_class = {
        c.id: (classes[n + 1].id if n + 1 < len(classes) else None) for n, c in enumerate(classes)
    }
    existing_next = {
        (class_id, name)
        for class_id, name in (
            await session.execute(
                select(Section.class_id, Section.name).where(Section.academic_year_id == to_year.id)
            )
        ).all()
    }
    # Who was in which section this year: the active, and those an earlier run
    # already settled (their outcome is written); not those who left mid-year.
    rows = (
        await session.execute(
            select(
                Enrolment.student_id,
                Enrolment.outcome,
                Student.name,
                Section.id,
                Section.class_id,
                Section.name,
            )
            .join(Student, Student.id == Enrolment.student_id)
            .join(Section, Section.id == Enrolment.section_id)
            .where(
                Enrolment.academic_year_id == from_year.id,
                (Student.status == "active") | Enrolment.outcome.is_not(None),
            )
        )
    ).all()
    enrolled = {r.student_id for r in rows}
    unknown = sorted(str(s) for s in (held | leavers) - enrolled)
    if unknown:
        raise PromotionRefused(
            f"{len(unknown)} of the named students are not enrolled this year",
            details={"student_ids": unknown},
        )
    already = set(
        (
            await session.execute(
                select(Enrolment.student_id).where(Enrolment.academic_year_id == to_year.id)
            )
        ).scalars()
    )
    plan = _Plan(
        preview=PromotionPreview(
            from_academic_year=from_year.name,
            to_academic_year=to_year.name,
            moves=[],
            promoted=0,
            held_back=0,
            leaving=0,
            graduating=0,
            sections_to_create=[],
            already_done=len(already & enrolled),
        ),
        from_year_id=from_year.id,
        to_year_id=to_year.id,
        from_year_ends=from_year.ends_on,
    )
    by_section: dict[uuid.UUID, SectionMove] = {}
    for student_id, _, name, section_id, class_id, section_name in rows:
        target_class = class_id if student_id in held else next_class[class_id]
        move = by_section.get(section_id)
        if move is None:
            move = by_section[section_id] = SectionMove(
                from_section_id=section_id,
                from_label=section_label(class_names[class_id], section_name),
                to_label=None
                if next_class[class_id] is None
                else section_label(class_names[next_class[class_id]], section_name),
                to_exists=next_class[class_id] is None
                or (next_class[class_id], section_name) in existing_next,
                promoted=0,
                held_back=0,
                leaving=0,
                graduating=0,
            )
        plan.names[student_id] = name
        if student_id in leavers:
            move.leaving += 1
            plan.outcomes[student_id] = "left"
        elif student_id in held:
            move.held_back += 1
            plan.outcomes[student_id] = "held_back"
        elif target_class is None:
            move.graduating += 1
            plan.outcomes[student_id] = "graduated"
        else:
            move.promoted += 1
            plan.outcomes[student_id] = "promoted"
        if student_id not in leavers and target_class is not None:
            plan.placements[student_id] = (target_class, section_name)
            if (target_class, section_name) not in existing_next:
                plan.to_create.add((target_class, section_name))
    moves = sorted(by_section.values(), key=lambda m: m.from_label)
    preview = plan.preview
    preview.moves = moves
    preview.promoted = sum(m.promoted for m in moves)
    preview.held_back = sum(m.held_back for m in moves)
    preview.leaving = sum(m.leaving for m in moves)
    preview.graduating = sum(m.graduating for m in moves)
    preview.sections_to_create = sorted(
        section_label(class_names[c], name) for c, name in plan.to_create
    )
    return plan


async def preview(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    to_year_id: uuid.UUID,
    held_back: list[uuid.UUID],
    leaving: list[uuid.UUID],
) -> PromotionPreview:
    """What applying would do; writes nothing."""
    plan = await _plan(
        session, school_id=school_id, to_year_id=to_year_id, held_back=held_back, leaving=leaving
    )
    return plan.preview


async def apply(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    to_year_id: uuid.UUID,
    held_back: list[uuid.UUID],
    leaving: list[uuid.UUID],
) -> PromotionResult:
    plan = await _plan(
        session, school_id=school_id, to_year_id=to_year_id, held_back=held_back, leaving=leaving
    )
    created = 0
    if plan.to_create:
        pairs = sorted(plan.to_create)
        created = len(
            (
                await session.execute(
                    text(
                        "INSERT INTO sections (school_id, academic_year_id, class_id, name)"
                        " SELECT CAST(:school_id AS uuid), CAST(:year AS uuid), c, n"
                        " FROM unnest(CAST(:classes AS uuid[]), CAST(:names AS text[]))"
                        " AS t(c, n) ON CONFLICT DO NOTHING RETURNING id"
                    ),
                    {
                        "school_id": school_id,
                        "year": plan.to_year_id,
                        "classes": [c for c, _ in pairs],
                        "names": [n for _, n in pairs],
                    },
                )
            ).all()
        )
    target_ids = {
        (class_id, name): section_id
        for section_id, class_id, name in (
            await session.execute(
                select(Section.id, Section.class_id, Section.name).where(
                    Section.academic_year_id == plan.to_year_id
                )
            )
        ).all()
    }
    already = set(
        (
            await session.execute(
                select(Enrolment.student_id).where(Enrolment.academic_year_id == plan.to_year_id)
            )
        ).scalars()
    )
    # Roll numbers in the new sections follow names, after any already given.
    next_roll: dict[uuid.UUID, int] = defaultdict(int)
    for section_id, highest in (
        await session.execute(
            select(Enrolment.section_id, func.max(Enrolment.roll_number))
            .where(Enrolment.academic_year_id == plan.to_year_id)
            .group_by(Enrolment.section_id)
        )
    ).all():
        next_roll[section_id] = highest or 0
    newcomers = sorted(
        (s for s in plan.placements if s not in already), key=lambda s: (plan.names[s], s)
    )
    students, sections, rolls = [], [], []
    for student_id in newcomers:
        section_id = target_ids[plan.placements[student_id]]
        next_roll[section_id] += 1
        students.append(student_id)
        sections.append(section_id)
        rolls.append(next_roll[section_id])
    enrolled = 0
    if students:
        enrolled = len(
            (
                await session.execute(
                    text(
                        "INSERT INTO enrolments"
                        " (school_id, student_id, academic_year_id, section_id, roll_number)"
                        " SELECT CAST(:school_id AS uuid), s, CAST(:year AS uuid), sec, r"
                        " FROM unnest(CAST(:students AS uuid[]), CAST(:sections AS uuid[]),"
                        " CAST(:rolls AS integer[])) AS t(s, sec, r)"
                        " ON CONFLICT (student_id, academic_year_id) DO NOTHING RETURNING id"
                    ),
                    {
                        "school_id": school_id,
                        "year": plan.to_year_id,
                        "students": students,
                        "sections": sections,
                        "rolls": rolls,
                    },
                )
            ).all()
        )
    marked: dict[str, int] = {}
    for outcome, status in (("left", "left"), ("graduated", "alumni")):
        ids = [s for s, o in plan.outcomes.items() if o == outcome]
        marked[status] = (
            len(
                (
                    await session.execute(
                        update(Student)
                        .where(
                            Student.id == any_(literal(ids, ARRAY(PgUUID))),
                            Student.status == "active",
                        )
                        .values(status=status, left_on=plan.from_year_ends)
                        .returning(Student.id)
                    )
                ).all()
            )
            if ids
            else 0
        )
    outcomes = 0
    if plan.outcomes:
        outcomes = len(
            (
                await session.execute(
                    text(
                        "UPDATE enrolments e SET outcome = t.o, updated_at = now()"
                        " FROM unnest(CAST(:students AS uuid[]), CAST(:outcomes AS text[]))"
                        " AS t(s, o)"
                        " WHERE e.student_id = t.s AND e.academic_year_id = CAST(:year AS uuid)"
                        " AND e.outcome IS DISTINCT FROM t.o RETURNING e.id"
                    ),
                    {
                        "students": list(plan.outcomes),
                        "outcomes": list(plan.outcomes.values()),
                        "year": plan.from_year_id,
                    },
                )
            ).all()
        )
    result = PromotionResult(
        sections_created=created,
        enrolled=enrolled,
        marked_left=marked["left"],
        marked_alumni=marked["alumni"],
        outcomes_recorded=outcomes,
    )
    if any(result.model_dump().values()):
        await audit.record(
            session,
            actor,
            action="students.promote",
            entity="academic_year",
            entity_id=plan.to_year_id,
            changes={
                "from": plan.preview.from_academic_year,
                "to": plan.preview.to_academic_year,
                **result.model_dump(),
                "held_back": sorted(str(s) for s in held_back),
                "leaving": sorted(str(s) for s in leaving),
            },
        )
    return result
