"""Fee set-up: heads, a year's instalments, structures per class and year, concession
rules with their approval, students' concession categories and the late-fee rule.

Every write is audited. Invoices already issued are snapshots: changing a structure,
a concession or an instalment's due date changes only what is generated afterwards.

Concession approval: a holder of `concessions:approve` decides a pending rule, but not
one they asked for themselves (four eyes), unless they are an admin — the admin is
the school's superuser and may be the whole office of a small school.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics import service as academics
from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core.clock import utcnow
from erplake.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from erplake.core.pagination import PageParams, paginate_rows
from erplake.core.security import Principal
from erplake.fees.schemas import (
    ConcessionIn,
    ConcessionOut,
    ConcessionUpdate,
    FeeHeadIn,
    FeeHeadOut,
    FeeHeadUpdate,
    Frequency,
    InstalmentIn,
    InstalmentOut,
    InstalmentPlanIn,
    InstalmentUpdate,
    LateFeeRuleIn,
    LateFeeRuleOut,
    LateFeeRuleUpdate,
    StructureIn,
    StructureLineIn,
    StructureLineOut,
    StructureOut,
    StructureSplitIn,
    StructureUpdate,
    StudentCategoryOut,
)
from erplake.models.academics import AcademicYear, SchoolClass
from erplake.models.fees import (
    Concession,
    FeeHead,
    FeeInstalment,
    FeeStructure,
    FeeStructureLine,
    Invoice,
    LateFeeRule,
    StudentFeeCategory,
)
from erplake.models.students import Student


class FeeHeadNotFound(NotFound):
    code = "fee_head_not_found"


class InstalmentNotFound(NotFound):
    code = "instalment_not_found"


class StructureNotFound(NotFound):
    code = "fee_structure_not_found"


class ConcessionNotFound(NotFound):
    code = "concession_not_found"


class LateFeeRuleNotFound(NotFound):
    code = "late_fee_rule_not_found"


class FeeStudentNotFound(NotFound):
    code = "student_not_found"


class FeeSetupConflict(Conflict):
    code = "fee_setup_conflict"


class BadFeeSetup(Unprocessable):
    code = "bad_fee_setup"


class ConcessionNotPending(Conflict):
    code = "concession_not_pending"


class OwnConcession(Forbidden):
    code = "own_concession"


# ---- heads ---------------------------------------------------------------------


def _head_out(head: FeeHead) -> dict[str, Any]:
    return FeeHeadOut.model_validate(head).model_dump(mode="json")


async def list_heads(
    session: AsyncSession, *, school_id: uuid.UUID, page: PageParams, active: bool | None
) -> tuple[list[FeeHeadOut], int]:
    stmt = select(FeeHead).where(FeeHead.school_id == school_id)
    if active is not None:
        stmt = stmt.where(FeeHead.is_active.is_(active))
    rows, total = await paginate_rows(session, stmt.order_by(FeeHead.code), page)
    return [FeeHeadOut.model_validate(h) for (h,) in rows], total


async def _head(session: AsyncSession, *, school_id: uuid.UUID, head_id: uuid.UUID) -> FeeHead:
    head = (
        await session.execute(
            select(FeeHead).where(FeeHead.id == head_id, FeeHead.school_id == school_id)
        )
    ).scalar_one_or_none()
    if head is None:
        raise FeeHeadNotFound("fee head not found", details={"head_id": str(head_id)})
    return head


async def _code_taken(
    session: AsyncSession, *, school_id: uuid.UUID, code: str, other_than: uuid.UUID | None
) -> None:
    stmt = select(FeeHead.id).where(FeeHead.school_id == school_id, FeeHead.code == code)
    if other_than is not None:
        stmt = stmt.where(FeeHead.id != other_than)
    if (await session.execute(stmt)).first() is not None:
        raise FeeSetupConflict(f"a fee head with code {code} exists", details={"code": code})


async def create_head(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: FeeHeadIn
) -> FeeHeadOut:
    head_id = (
        await session.execute(
            insert(FeeHead)
            .values(school_id=school_id, code=body.code.upper(), name=body.name)
            .on_conflict_do_nothing(index_elements=[FeeHead.school_id, FeeHead.code])
            .returning(FeeHead.id)
        )
    ).scalar_one_or_none()
    if head_id is None:
        raise FeeSetupConflict(
            f"a fee head with code {body.code.upper()} exists", details={"code": body.code.upper()}
        )
    head = await _head(session, school_id=school_id, head_id=head_id)
    await audit.record(
        session,
        actor,
        action="fees.head.create",
        entity="fee_head",
        entity_id=head.id,
        after=_head_out(head),
    )
    return FeeHeadOut.model_validate(head)


async def update_head(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    head_id: uuid.UUID,
    body: FeeHeadUpdate,
) -> FeeHeadOut:
    head = await _head(session, school_id=school_id, head_id=head_id)
    before = _head_out(head)
    if body.code is not None and body.code.upper() != head.code:
        await _code_taken(session, school_id=school_id, code=body.code.upper(), other_than=head.id)
        head.code = body.code.upper()
    if body.name is not None:
        head.name = body.name
    if body.is_active is not None:
        head.is_active = body.is_active
    await session.flush()
    after = _head_out(head)
    if after != before:
        await audit.record(
            session,
            actor,
            action="fees.head.update",
            entity="fee_head",
            entity_id=head.id,
            before=before,
            after=after,
        )
    return FeeHeadOut.model_validate(head)


# ---- academic year -------------------------------------------------------------


async def _year(
    session: AsyncSession, *, school_id: uuid.UUID, year_id: uuid.UUID | None
) -> AcademicYear:
    if year_id is None:
        return await academics.current_year(session, school_id=school_id)
    return await academics.get_year(session, school_id=school_id, year_id=year_id)


# ---- instalments ---------------------------------------------------------------

# Months after the year's first month at which each frequency falls due, and names.
_PLANS: dict[str, list[tuple[int, str]]] = {
    "quarterly": [(0, "Quarter 1"), (3, "Quarter 2"), (6, "Quarter 3"), (9, "Quarter 4")],
    "term": [(0, "Term 1"), (6, "Term 2")],
    "annual": [(0, "Annual")],
}


def _month_after(start: date, months: int) -> tuple[int, int]:
    index = start.month - 1 + months
    return start.year + index // 12, index % 12 + 1


def standard_instalments(year_starts: date, frequency: Frequency) -> list[tuple[int, str]]:
    """(month offset from the year's first month, name) of a frequency's instalments:
    monthly ones are named after their month (April … March)."""
    if frequency == "monthly":
        return [(n, calendar.month_name[_month_after(year_starts, n)[1]]) for n in range(12)]
    return _PLANS[frequency]


def _instalment_out(row: FeeInstalment) -> dict[str, Any]:
    return InstalmentOut.model_validate(row).model_dump(mode="json")


async def list_instalments(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    academic_year_id: uuid.UUID | None,
    page: PageParams,
) -> tuple[list[InstalmentOut], int]:
    year = await _year(session, school_id=school_id, year_id=academic_year_id)
    stmt = (
        select(FeeInstalment)
        .where(FeeInstalment.school_id == school_id, FeeInstalment.academic_year_id == year.id)
        .order_by(FeeInstalment.due_on, FeeInstalment.name)
    )
    rows, total = await paginate_rows(session, stmt, page)
    return [InstalmentOut.model_validate(i) for (i,) in rows], total


async def get_instalment(
    session: AsyncSession, *, school_id: uuid.UUID, instalment_id: uuid.UUID
) -> FeeInstalment:
    row = (
        await session.execute(
            select(FeeInstalment).where(
                FeeInstalment.id == instalment_id, FeeInstalment.school_id == school_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise InstalmentNotFound(
            "instalment not found", details={"instalment_id": str(instalment_id)}
        )
    return row


def _check_due_in_year(year: AcademicYear, due_on: date) -> None:
    if not year.starts_on <= due_on <= year.ends_on:
        raise BadFeeSetup(
            f"the due date must fall in the academic year {year.name}"
            f" ({year.starts_on} to {year.ends_on})",
            details={"due_on": str(due_on)},
        )


async def _name_taken(
    session: AsyncSession, *, year_id: uuid.UUID, name: str, other_than: uuid.UUID | None
) -> None:
    stmt = select(FeeInstalment.id).where(
        FeeInstalment.academic_year_id == year_id, FeeInstalment.name == name
    )
    if other_than is not None:
        stmt = stmt.where(FeeInstalment.id != other_than)
    if (await session.execute(stmt)).first() is not None:
        raise FeeSetupConflict(
            f"the year already has an instalment named {name}", details={"name": name}
        )


async def create_instalment(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: InstalmentIn
) -> InstalmentOut:
    year = await _year(session, school_id=school_id, year_id=body.academic_year_id)
    _check_due_in_year(year, body.due_on)
    instalment_id = (
        await session.execute(
            insert(FeeInstalment)
            .values(
                school_id=school_id, academic_year_id=year.id, name=body.name, due_on=body.due_on
            )
            .on_conflict_do_nothing(
                index_elements=[FeeInstalment.academic_year_id, FeeInstalment.name]
            )
            .returning(FeeInstalment.id)
        )
    ).scalar_one_or_none()
    if instalment_id is None:
        raise FeeSetupConflict(
            f"the year already has an instalment named {body.name}", details={"name": body.name}
        )
    row = await get_instalment(session, school_id=school_id, instalment_id=instalment_id)
    await audit.record(
        session,
        actor,
        action="fees.instalment.create",
        entity="fee_instalment",
        entity_id=row.id,
        after=_instalment_out(row),
    )
    return InstalmentOut.model_validate(row)


async def plan_instalments(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: InstalmentPlanIn
) -> list[InstalmentOut]:
    """Create a frequency's standard instalments for the year; those that exist by
    name are kept as they are, so running it again changes nothing."""
    year = await _year(session, school_id=school_id, year_id=body.academic_year_id)
    plan = standard_instalments(year.starts_on, body.frequency)
    names = [name for _, name in plan]
    # Kept inside the year, for a year that starts or ends mid-month.
    dues = [
        min(
            max(date(*_month_after(year.starts_on, offset), body.due_day), year.starts_on),
            year.ends_on,
        )
        for offset, _ in plan
    ]
    created = (
        (
            await session.execute(
                text(
                    "INSERT INTO fee_instalments (school_id, academic_year_id, name, due_on)"
                    " SELECT CAST(:school AS uuid), CAST(:year AS uuid), n, d"
                    " FROM unnest(CAST(:names AS text[]), CAST(:dues AS date[])) AS t(n, d)"
                    " ON CONFLICT (academic_year_id, name) DO NOTHING RETURNING name"
                ),
                {"school": school_id, "year": year.id, "names": names, "dues": dues},
            )
        )
        .scalars()
        .all()
    )
    if created:
        await audit.record(
            session,
            actor,
            action="fees.instalment.plan",
            entity="academic_year",
            entity_id=year.id,
            changes={"frequency": body.frequency, "created": list(created)},
        )
    rows = (
        await session.execute(
            select(FeeInstalment)
            .where(FeeInstalment.academic_year_id == year.id, FeeInstalment.name.in_(names))
            .order_by(FeeInstalment.due_on)
        )
    ).scalars()
    return [InstalmentOut.model_validate(r) for r in rows]


async def update_instalment(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    instalment_id: uuid.UUID,
    body: InstalmentUpdate,
) -> InstalmentOut:
    """Rename or move the due date (invoices already issued keep their own)."""
    row = await get_instalment(session, school_id=school_id, instalment_id=instalment_id)
    before = _instalment_out(row)
    if body.name is not None and body.name != row.name:
        await _name_taken(session, year_id=row.academic_year_id, name=body.name, other_than=row.id)
        row.name = body.name
    if body.due_on is not None:
        year = await _year(session, school_id=school_id, year_id=row.academic_year_id)
        _check_due_in_year(year, body.due_on)
        row.due_on = body.due_on
    await session.flush()
    after = _instalment_out(row)
    if after != before:
        await audit.record(
            session,
            actor,
            action="fees.instalment.update",
            entity="fee_instalment",
            entity_id=row.id,
            before=before,
            after=after,
        )
    return InstalmentOut.model_validate(row)


async def delete_instalment(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, instalment_id: uuid.UUID
) -> None:
    """Only an instalment no structure bills and no invoice names."""
    row = await get_instalment(session, school_id=school_id, instalment_id=instalment_id)
    used = await session.scalar(
        select(
            exists().where(FeeStructureLine.instalment_id == row.id)
            | exists().where(Invoice.instalment_id == row.id)
        )
    )
    if used:
        raise FeeSetupConflict(
            "structures or invoices use this instalment; remove it from the structures"
            " first (an invoiced instalment stays)"
        )
    before = _instalment_out(row)
    await session.delete(row)
    await session.flush()
    await audit.record(
        session,
        actor,
        action="fees.instalment.delete",
        entity="fee_instalment",
        entity_id=instalment_id,
        before=before,
    )


# ---- structures ----------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    head_id: uuid.UUID
    instalment_id: uuid.UUID
    amount: int


def split_amount(amount: int, parts: int) -> list[int]:
    """`amount` in `parts` near-equal parts; the paise that do not divide go on the
    first, so the parts add up to exactly `amount`."""
    share, rest = divmod(amount, parts)
    return [share + rest] + [share] * (parts - 1)


async def _expand_lines(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    year: AcademicYear,
    lines: Sequence[StructureLineIn],
    splits: Sequence[StructureSplitIn],
) -> list[_Line]:
    """Explicit lines plus the split ones, checked against the school's active heads
    and the year's instalments; one line per head and instalment."""
    instalments = {
        i.id: i
        for i in (
            await session.execute(
                select(FeeInstalment).where(
                    FeeInstalment.school_id == school_id,
                    FeeInstalment.academic_year_id == year.id,
                )
            )
        ).scalars()
    }
    by_name = {i.name: i for i in instalments.values()}
    out = [_Line(line.head_id, line.instalment_id, line.amount) for line in lines]
    for split in splits:
        if split.frequency is not None:
            wanted = [name for _, name in standard_instalments(year.starts_on, split.frequency)]
            missing = [name for name in wanted if name not in by_name]
            if missing:
                raise BadFeeSetup(
                    f"the year {year.name} has no {split.frequency} instalments yet:"
                    " create them first (POST /fees/instalments/plan)",
                    details={"missing": missing},
                )
            chosen = [by_name[name] for name in wanted]
        else:
            unknown = [str(i) for i in split.instalment_ids or [] if i not in instalments]
            if unknown:
                raise BadFeeSetup(
                    f"not instalments of the year {year.name}",
                    details={"instalment_ids": unknown},
                )
            chosen = sorted(
                (instalments[i] for i in dict.fromkeys(split.instalment_ids or [])),
                key=lambda i: (i.due_on, i.name),
            )
        if split.annual_amount < len(chosen):
            raise BadFeeSetup(
                "the annual amount is too small to split", details={"head_id": str(split.head_id)}
            )
        for instalment, part in zip(
            chosen, split_amount(split.annual_amount, len(chosen)), strict=True
        ):
            out.append(_Line(split.head_id, instalment.id, part))
    if not out:
        raise BadFeeSetup("a structure needs at least one line")
    unknown_instalments = sorted(
        {str(ln.instalment_id) for ln in out} - {str(i) for i in instalments}
    )
    if unknown_instalments:
        raise BadFeeSetup(
            f"not instalments of the year {year.name}",
            details={"instalment_ids": unknown_instalments},
        )
    head_ids = {ln.head_id for ln in out}
    active = set(
        (
            await session.execute(
                select(FeeHead.id).where(
                    FeeHead.school_id == school_id,
                    FeeHead.id.in_(head_ids),
                    FeeHead.is_active.is_(True),
                )
            )
        ).scalars()
    )
    if head_ids - active:
        raise BadFeeSetup(
            "unknown or inactive fee heads",
            details={"head_ids": sorted(str(h) for h in head_ids - active)},
        )
    seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
    twice = []
    for ln in out:
        key = (ln.head_id, ln.instalment_id)
        if key in seen:
            twice.append({"head_id": str(ln.head_id), "instalment_id": str(ln.instalment_id)})
        seen.add(key)
    if twice:
        raise BadFeeSetup("a head is billed twice in one instalment", details={"lines": twice})
    return out


async def _write_lines(
    session: AsyncSession, *, school_id: uuid.UUID, structure_id: uuid.UUID, lines: list[_Line]
) -> None:
    await session.execute(
        insert(FeeStructureLine),
        [
            {
                "school_id": school_id,
                "structure_id": structure_id,
                "head_id": ln.head_id,
                "instalment_id": ln.instalment_id,
                "amount": ln.amount,
            }
            for ln in lines
        ],
    )


async def _structure_row(
    session: AsyncSession, *, school_id: uuid.UUID, structure_id: uuid.UUID
) -> FeeStructure:
    row = (
        await session.execute(
            select(FeeStructure).where(
                FeeStructure.id == structure_id, FeeStructure.school_id == school_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise StructureNotFound("fee structure not found")
    return row


async def _structures_out(
    session: AsyncSession, structures: Sequence[FeeStructure]
) -> list[StructureOut]:
    if not structures:
        return []
    ids = [s.id for s in structures]
    class_names = dict(
        (
            await session.execute(
                select(SchoolClass.id, SchoolClass.name).where(
                    SchoolClass.id.in_({s.class_id for s in structures})
                )
            )
        ).all()
    )
    lines: dict[uuid.UUID, list[StructureLineOut]] = {i: [] for i in ids}
    rows = await session.execute(
        select(
            FeeStructureLine.structure_id,
            FeeStructureLine.id,
            FeeStructureLine.head_id,
            FeeHead.code,
            FeeStructureLine.instalment_id,
            FeeInstalment.name,
            FeeInstalment.due_on,
            FeeStructureLine.amount,
        )
        .join(FeeHead, FeeHead.id == FeeStructureLine.head_id)
        .join(FeeInstalment, FeeInstalment.id == FeeStructureLine.instalment_id)
        .where(FeeStructureLine.structure_id.in_(ids))
        .order_by(FeeInstalment.due_on, FeeInstalment.name, FeeHead.code)
    )
    for structure_id, *rest in rows.all():
        lines[structure_id].append(
            StructureLineOut(
                id=rest[0],
                head_id=rest[1],
                head_code=rest[2],
                instalment_id=rest[3],
                instalment_name=rest[4],
                due_on=rest[5],
                amount=rest[6],
            )
        )
    return [
        StructureOut(
            id=s.id,
            academic_year_id=s.academic_year_id,
            class_id=s.class_id,
            class_name=class_names[s.class_id],
            name=s.name,
            annual_total=sum(ln.amount for ln in lines[s.id]),
            lines=lines[s.id],
        )
        for s in structures
    ]


def _lines_for_audit(lines: Sequence[_Line]) -> list[dict[str, Any]]:
    return [
        {"head_id": str(ln.head_id), "instalment_id": str(ln.instalment_id), "amount": ln.amount}
        for ln in lines
    ]


async def list_structures(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    academic_year_id: uuid.UUID | None,
    class_id: uuid.UUID | None,
    page: PageParams,
) -> tuple[list[StructureOut], int]:
    year = await _year(session, school_id=school_id, year_id=academic_year_id)
    stmt = (
        select(FeeStructure)
        .join(SchoolClass, SchoolClass.id == FeeStructure.class_id)
        .where(FeeStructure.school_id == school_id, FeeStructure.academic_year_id == year.id)
        .order_by(SchoolClass.sequence)
    )
    if class_id is not None:
        stmt = stmt.where(FeeStructure.class_id == class_id)
    rows, total = await paginate_rows(session, stmt, page)
    return await _structures_out(session, [s for (s,) in rows]), total


async def get_structure(
    session: AsyncSession, *, school_id: uuid.UUID, structure_id: uuid.UUID
) -> StructureOut:
    row = await _structure_row(session, school_id=school_id, structure_id=structure_id)
    return (await _structures_out(session, [row]))[0]


async def create_structure(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: StructureIn
) -> StructureOut:
    year = await _year(session, school_id=school_id, year_id=body.academic_year_id)
    school_class = await academics.get_class(session, school_id=school_id, class_id=body.class_id)
    lines = await _expand_lines(
        session, school_id=school_id, year=year, lines=body.lines, splits=body.splits
    )
    structure_id = (
        await session.execute(
            insert(FeeStructure)
            .values(
                school_id=school_id,
                academic_year_id=year.id,
                class_id=school_class.id,
                name=body.name,
            )
            .on_conflict_do_nothing(
                index_elements=[FeeStructure.academic_year_id, FeeStructure.class_id]
            )
            .returning(FeeStructure.id)
        )
    ).scalar_one_or_none()
    if structure_id is None:
        raise FeeSetupConflict(
            f"class {school_class.name} already has a fee structure for {year.name};"
            " change that one"
        )
    await _write_lines(session, school_id=school_id, structure_id=structure_id, lines=lines)
    await audit.record(
        session,
        actor,
        action="fees.structure.create",
        entity="fee_structure",
        entity_id=structure_id,
        after={
            "class": school_class.name,
            "year": year.name,
            "name": body.name,
            "lines": _lines_for_audit(lines),
        },
    )
    return await get_structure(session, school_id=school_id, structure_id=structure_id)


async def replace_structure(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    structure_id: uuid.UUID,
    body: StructureUpdate,
) -> StructureOut:
    row = await _structure_row(session, school_id=school_id, structure_id=structure_id)
    year = await _year(session, school_id=school_id, year_id=row.academic_year_id)
    lines = await _expand_lines(
        session, school_id=school_id, year=year, lines=body.lines, splits=body.splits
    )
    before = await get_structure(session, school_id=school_id, structure_id=structure_id)
    await session.execute(
        delete(FeeStructureLine).where(FeeStructureLine.structure_id == structure_id)
    )
    await session.execute(
        update(FeeStructure)
        .where(FeeStructure.id == structure_id)
        .values(name=body.name, updated_at=func.now())
    )
    await _write_lines(session, school_id=school_id, structure_id=structure_id, lines=lines)
    await audit.record(
        session,
        actor,
        action="fees.structure.update",
        entity="fee_structure",
        entity_id=structure_id,
        before={
            "name": before.name,
            "lines": [
                {
                    "head_id": str(ln.head_id),
                    "instalment_id": str(ln.instalment_id),
                    "amount": ln.amount,
                }
                for ln in before.lines
            ],
        },
        after={"name": body.name, "lines": _lines_for_audit(lines)},
    )
    return await get_structure(session, school_id=school_id, structure_id=structure_id)


async def delete_structure(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, structure_id: uuid.UUID
) -> None:
    """Invoices already generated from it stay as they are."""
    before = await get_structure(session, school_id=school_id, structure_id=structure_id)
    await session.execute(delete(FeeStructure).where(FeeStructure.id == structure_id))
    await audit.record(
        session,
        actor,
        action="fees.structure.delete",
        entity="fee_structure",
        entity_id=structure_id,
        before=before.model_dump(mode="json"),
    )


# ---- concessions ---------------------------------------------------------------


def _concession_out(row: Concession) -> dict[str, Any]:
    return ConcessionOut.model_validate(row).model_dump(mode="json")


async def _student_in_school(
    session: AsyncSession, *, school_id: uuid.UUID, student_id: uuid.UUID
) -> Student:
    student = (
        await session.execute(
            select(Student).where(Student.id == student_id, Student.school_id == school_id)
        )
    ).scalar_one_or_none()
    if student is None:
        raise FeeStudentNotFound("student not found", details={"student_id": str(student_id)})
    return student


async def _check_heads(
    session: AsyncSession, *, school_id: uuid.UUID, head_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(head_ids))
    found = set(
        (
            await session.execute(
                select(FeeHead.id).where(FeeHead.school_id == school_id, FeeHead.id.in_(wanted))
            )
        ).scalars()
    )
    if set(wanted) - found:
        raise BadFeeSetup(
            "unknown fee heads", details={"head_ids": sorted(str(h) for h in set(wanted) - found)}
        )
    return wanted


async def list_concessions(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    page: PageParams,
    status: str | None,
    student_id: uuid.UUID | None,
    category: str | None,
    academic_year_id: uuid.UUID | None,
) -> tuple[list[ConcessionOut], int]:
    stmt = select(Concession).where(Concession.school_id == school_id)
    if status is not None:
        stmt = stmt.where(Concession.status == status)
    if student_id is not None:
        stmt = stmt.where(Concession.student_id == student_id)
    if category is not None:
        stmt = stmt.where(Concession.category == category)
    if academic_year_id is not None:
        stmt = stmt.where(Concession.academic_year_id == academic_year_id)
    rows, total = await paginate_rows(
        session, stmt.order_by(Concession.created_at.desc(), Concession.id), page
    )
    return [ConcessionOut.model_validate(c) for (c,) in rows], total


async def _concession(
    session: AsyncSession, *, school_id: uuid.UUID, concession_id: uuid.UUID, lock: bool = False
) -> Concession:
    stmt = select(Concession).where(
        Concession.id == concession_id, Concession.school_id == school_id
    )
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise ConcessionNotFound("concession not found")
    return row


async def create_concession(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: ConcessionIn
) -> ConcessionOut:
    year = await _year(session, school_id=school_id, year_id=body.academic_year_id)
    head_ids = await _check_heads(session, school_id=school_id, head_ids=body.head_ids)
    if body.student_id is not None:
        await _student_in_school(session, school_id=school_id, student_id=body.student_id)
    row = Concession(
        school_id=school_id,
        academic_year_id=year.id,
        name=body.name,
        kind=body.kind,
        percent_bp=body.percent_bp,
        amount=body.amount,
        head_ids=head_ids,
        student_id=body.student_id,
        category=body.category,
        reason=body.reason,
        status="pending",
        requested_by_id=actor.user_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        actor,
        action="fees.concession.create",
        entity="fee_concession",
        entity_id=row.id,
        after=_concession_out(row),
    )
    return ConcessionOut.model_validate(row)


async def update_concession(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    concession_id: uuid.UUID,
    body: ConcessionUpdate,
) -> ConcessionOut:
    row = await _concession(session, school_id=school_id, concession_id=concession_id, lock=True)
    if row.status != "pending":
        raise ConcessionNotPending(
            f"a {row.status} concession cannot change; revoke it and ask for a new one"
        )
    if body.percent_bp is not None and row.kind != "percent":
        raise BadFeeSetup("a fixed concession has an amount, not percent_bp")
    if body.amount is not None and row.kind != "fixed":
        raise BadFeeSetup("a percent concession has percent_bp, not an amount")
    before = _concession_out(row)
    if body.name is not None:
        row.name = body.name
    if body.percent_bp is not None:
        row.percent_bp = body.percent_bp
    if body.amount is not None:
        row.amount = body.amount
    if body.head_ids is not None:
        row.head_ids = await _check_heads(session, school_id=school_id, head_ids=body.head_ids)
    if body.reason is not None:
        row.reason = body.reason
    await session.flush()
    await session.refresh(row)
    after = _concession_out(row)
    await audit.record(
        session,
        actor,
        action="fees.concession.update",
        entity="fee_concession",
        entity_id=row.id,
        before=before,
        after=after,
    )
    return ConcessionOut.model_validate(row)


async def decide_concession(
    session: AsyncSession,
    actor: Actor,
    principal: Principal,
    *,
    concession_id: uuid.UUID,
    approve: bool,
    note: str | None,
) -> ConcessionOut:
    """Approve or reject a pending rule; `approved_by_id` records who decided."""
    row = await _concession(
        session, school_id=principal.school_id, concession_id=concession_id, lock=True
    )
    if row.status != "pending":
        raise ConcessionNotPending(f"the concession is already {row.status}")
    if row.requested_by_id == principal.user_id and not principal.has_role("admin"):
        raise OwnConcession("a concession you asked for must be decided by someone else")
    before = _concession_out(row)
    row.status = "approved" if approve else "rejected"
    row.approved_by_id = principal.user_id
    row.approved_at = utcnow()
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        actor,
        action=f"fees.concession.{'approve' if approve else 'reject'}",
        entity="fee_concession",
        entity_id=row.id,
        changes={**audit.diff(before, _concession_out(row)), "note": note},
    )
    return ConcessionOut.model_validate(row)


async def revoke_concession(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    concession_id: uuid.UUID,
    reason: str,
) -> ConcessionOut:
    """Stop a rule applying to invoices generated from now on."""
    row = await _concession(session, school_id=school_id, concession_id=concession_id, lock=True)
    if row.status not in ("pending", "approved"):
        raise ConcessionNotPending(f"the concession is already {row.status}")
    before = row.status
    row.status = "revoked"
    await session.flush()
    await session.refresh(row)
    await audit.record(
        session,
        actor,
        action="fees.concession.revoke",
        entity="fee_concession",
        entity_id=row.id,
        changes={"status": {"before": before, "after": "revoked"}, "reason": reason},
    )
    return ConcessionOut.model_validate(row)


# ---- students' concession categories -------------------------------------------


async def list_categories(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    page: PageParams,
    category: str | None,
    student_id: uuid.UUID | None,
) -> tuple[list[StudentCategoryOut], int]:
    stmt: Any = (
        select(
            StudentFeeCategory.student_id,
            Student.name,
            Student.admission_number,
            StudentFeeCategory.category,
            StudentFeeCategory.created_at,
        )
        .join(Student, Student.id == StudentFeeCategory.student_id)
        .where(StudentFeeCategory.school_id == school_id)
        .order_by(Student.name, StudentFeeCategory.category)
    )
    if category is not None:
        stmt = stmt.where(StudentFeeCategory.category == category)
    if student_id is not None:
        stmt = stmt.where(StudentFeeCategory.student_id == student_id)
    rows, total = await paginate_rows(session, stmt, page)
    return [
        StudentCategoryOut(
            student_id=r[0],
            student_name=r[1],
            admission_number=r[2],
            category=r[3],
            created_at=r[4],
        )
        for r in rows
    ], total


async def tag_student(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    category: str,
) -> bool:
    """Put a student in a category; False when they already were."""
    await _student_in_school(session, school_id=school_id, student_id=student_id)
    added = (
        await session.execute(
            insert(StudentFeeCategory)
            .values(student_id=student_id, category=category, school_id=school_id)
            .on_conflict_do_nothing()
            .returning(StudentFeeCategory.student_id)
        )
    ).scalar_one_or_none()
    if added is not None:
        await audit.record(
            session,
            actor,
            action="fees.category.tag",
            entity="student",
            entity_id=student_id,
            changes={"category": {"before": None, "after": category}},
        )
    return added is not None


async def untag_student(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    category: str,
) -> bool:
    """Take a student out of a category; False when they were not in it."""
    await _student_in_school(session, school_id=school_id, student_id=student_id)
    removed = (
        await session.execute(
            delete(StudentFeeCategory)
            .where(
                StudentFeeCategory.student_id == student_id,
                StudentFeeCategory.category == category,
            )
            .returning(StudentFeeCategory.student_id)
        )
    ).scalar_one_or_none()
    if removed is not None:
        await audit.record(
            session,
            actor,
            action="fees.category.untag",
            entity="student",
            entity_id=student_id,
            changes={"category": {"before": category, "after": None}},
        )
    return removed is not None


# ---- late-fee rules ------------------------------------------------------------


def _rule_out(row: LateFeeRule) -> dict[str, Any]:
    return LateFeeRuleOut.model_validate(row).model_dump(mode="json")


async def _lock_rules(session: AsyncSession, school_id: uuid.UUID) -> None:
    # Two requests activating rules at once queue here instead of one of them hitting
    # the one-active index.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('late_fee_rules:' || :school))"),
        {"school": str(school_id)},
    )


async def _retire_active(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, keep: uuid.UUID | None
) -> None:
    stmt = (
        update(LateFeeRule)
        .where(LateFeeRule.school_id == school_id, LateFeeRule.is_active.is_(True))
        .values(is_active=False, updated_at=func.now())
        .returning(LateFeeRule.id)
    )
    if keep is not None:
        stmt = stmt.where(LateFeeRule.id != keep)
    for retired in (await session.execute(stmt)).scalars():
        await audit.record(
            session,
            actor,
            action="fees.late_fee_rule.update",
            entity="late_fee_rule",
            entity_id=retired,
            changes={"is_active": {"before": True, "after": False}},
        )


async def list_late_fee_rules(
    session: AsyncSession, *, school_id: uuid.UUID, page: PageParams
) -> tuple[list[LateFeeRuleOut], int]:
    stmt = (
        select(LateFeeRule)
        .where(LateFeeRule.school_id == school_id)
        .order_by(LateFeeRule.is_active.desc(), LateFeeRule.created_at.desc())
    )
    rows, total = await paginate_rows(session, stmt, page)
    return [LateFeeRuleOut.model_validate(r) for (r,) in rows], total


async def create_late_fee_rule(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: LateFeeRuleIn
) -> LateFeeRuleOut:
    await _lock_rules(session, school_id)
    if body.is_active:
        await _retire_active(session, actor, school_id=school_id, keep=None)
    row = LateFeeRule(
        school_id=school_id,
        name=body.name,
        kind=body.kind,
        amount=body.amount,
        grace_days=body.grace_days,
        cap=body.cap,
        is_active=body.is_active,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor,
        action="fees.late_fee_rule.create",
        entity="late_fee_rule",
        entity_id=row.id,
        after=_rule_out(row),
    )
    return LateFeeRuleOut.model_validate(row)


async def update_late_fee_rule(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    rule_id: uuid.UUID,
    body: LateFeeRuleUpdate,
) -> LateFeeRuleOut:
    """Change a rule; activating it retires the one active before. Fees already
    charged stay charged."""
    await _lock_rules(session, school_id)
    row = (
        await session.execute(
            select(LateFeeRule).where(LateFeeRule.id == rule_id, LateFeeRule.school_id == school_id)
        )
    ).scalar_one_or_none()
    if row is None:
        raise LateFeeRuleNotFound("late-fee rule not found")
    amount = body.amount if body.amount is not None else row.amount
    cap = body.cap if "cap" in body.model_fields_set else row.cap
    if cap is not None and cap < amount:
        raise BadFeeSetup("cap must be at least amount", details={"cap": cap, "amount": amount})
    before = _rule_out(row)
    if body.is_active:
        await _retire_active(session, actor, school_id=school_id, keep=row.id)
    if body.name is not None:
        row.name = body.name
    if body.grace_days is not None:
        row.grace_days = body.grace_days
    if body.is_active is not None:
        row.is_active = body.is_active
    row.amount, row.cap = amount, cap
    await session.flush()
    after = _rule_out(row)
    if after != before:
        await audit.record(
            session,
            actor,
            action="fees.late_fee_rule.update",
            entity="late_fee_rule",
            entity_id=row.id,
            before=before,
            after=after,
        )
    return LateFeeRuleOut.model_validate(row)
