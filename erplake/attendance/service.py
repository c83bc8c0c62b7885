"""Marking attendance: codes and settings, the set-based register upsert, absence
alerts through the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import any_, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.academics import service as academics
from erplake.academics.service import SectionNotFound, section_label
from erplake.attendance.schemas import CodeIn, CodeOut, SettingsIn, SettingsOut
from erplake.attendance.scopes import ensure_can_mark, marking_scope
from erplake.audit import service as audit
from erplake.audit.service import Actor
from erplake.core.clock import school_today
from erplake.core.errors import Forbidden, Unprocessable
from erplake.core.permissions import P
from erplake.core.security import Principal
from erplake.core.settings import Settings
from erplake.messaging import service as messaging
from erplake.messaging.service import TemplateMessage
from erplake.models.attendance import (
    DAY_PERIOD,
    AttendanceCode,
    AttendanceRecord,
    AttendanceSettings,
)
from erplake.models.students import Enrolment, StudentGuardian

# (code, label, counts as present, alerts guardians, order)
DEFAULT_CODES: list[tuple[str, str, bool, bool, int]] = [
    ("P", "Present", True, False, 1),
    ("A", "Absent", False, True, 2),
    ("L", "Late", True, False, 3),
    ("HD", "Half day", True, False, 4),
    ("LV", "Leave", False, False, 5),
    ("EX", "Excused", True, False, 6),
]
LEAVE_CODE = "LV"
ALERT_PURPOSE = "absence_alert"


class DateInFuture(Unprocessable):
    code = "date_in_future"


class SchoolClosed(Unprocessable):
    code = "not_a_school_day"


class OutsideAcademicYear(Unprocessable):
    code = "outside_academic_year"


class WrongPeriod(Unprocessable):
    code = "wrong_period"


class UnknownCode(Unprocessable):
    code = "unknown_attendance_code"


class NotInSection(Unprocessable):
    code = "student_not_in_section"


class EditNotAllowed(Forbidden):
    code = "edit_not_allowed"


class EditWindowClosed(Forbidden):
    code = "edit_window_closed"


@dataclass(frozen=True)
class Code:
    counts_as_present: bool
    alerts_guardians: bool
    is_active: bool


@dataclass(frozen=True)
class Config:
    mode: str
    periods_per_day: int
    edit_window_days: int
    alert_delay_minutes: int
    codes: dict[str, Code]
    school_name: str
    timezone: str

    @property
    def alert_codes(self) -> list[str]:
        return [c for c, v in self.codes.items() if v.alerts_guardians]

    @property
    def leave_code(self) -> str | None:
        leave = self.codes.get(LEAVE_CODE)
        return LEAVE_CODE if leave is not None and leave.is_active else None

    def stored_period(self, period: int | None) -> int:
        """Daily mode stores period 0; period-wise mode needs a lesson 1..n."""
        if self.mode == "daily":
            if period is not None:
                raise WrongPeriod("this school takes attendance once a day: leave out period")
            return DAY_PERIOD
        if period is None or not 1 <= period <= self.periods_per_day:
            raise WrongPeriod(
                f"this school takes attendance per period: give period 1 to {self.periods_per_day}"
            )
        return period


@dataclass
class MarkResult:
    marked: int = 0
    changed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    on_leave: int = 0
    alerts_queued: int = 0
    alerts_cancelled: int = 0


# ---- codes and settings --------------------------------------------------------


async def _ensure_defaults(session: AsyncSession, school_id: uuid.UUID) -> None:
    await session.execute(
        insert(AttendanceSettings).values(school_id=school_id).on_conflict_do_nothing()
    )
    await session.execute(
        insert(AttendanceCode)
        .values(
            [
                {
                    "school_id": school_id,
                    "code": code,
                    "label": label,
                    "counts_as_present": present,
                    "alerts_guardians": alerts,
                    "sort_order": order,
                }
                for code, label, present, alerts, order in DEFAULT_CODES
            ]
        )
        .on_conflict_do_nothing()
    )


# Read on every register: a constant statement (no per-call query building).
_CONFIG = text(
    """
    SELECT s.name, s.timezone, a.mode, a.periods_per_day, a.edit_window_days,
           a.alert_delay_minutes,
           (SELECT json_agg(json_build_array(c.code, c.counts_as_present,
                                             c.alerts_guardians, c.is_active))
            FROM attendance_codes c WHERE c.school_id = s.id) AS codes
    FROM schools s LEFT JOIN attendance_settings a ON a.school_id = s.id
    WHERE s.id = CAST(:school_id AS uuid)
    """
)


async def config(session: AsyncSession, *, school_id: uuid.UUID) -> Config:
    """The school's attendance settings and codes, with its name and timezone, in one
    query (defaults written on first use)."""
    row = (await session.execute(_CONFIG, {"school_id": school_id})).one()
    if row.mode is None:
        await _ensure_defaults(session, school_id)
        row = (await session.execute(_CONFIG, {"school_id": school_id})).one()
    return Config(
        mode=row.mode,
        periods_per_day=row.periods_per_day,
        edit_window_days=row.edit_window_days,
        alert_delay_minutes=row.alert_delay_minutes,
        codes={code: Code(present, alerts, active) for code, present, alerts, active in row.codes},
        school_name=row.name,
        timezone=row.timezone,
    )


async def list_codes(session: AsyncSession, *, school_id: uuid.UUID) -> list[CodeOut]:
    await config(session, school_id=school_id)
    rows = await session.execute(
        select(AttendanceCode)
        .where(AttendanceCode.school_id == school_id)
        .order_by(AttendanceCode.sort_order, AttendanceCode.code)
    )
    return [CodeOut.model_validate(c) for c in rows.scalars()]


async def put_code(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, code: str, body: CodeIn
) -> CodeOut:
    """Add or change a code. Codes in use are never deleted: deactivate them."""
    await config(session, school_id=school_id)
    before = (
        await session.execute(
            select(AttendanceCode).where(
                AttendanceCode.school_id == school_id, AttendanceCode.code == code
            )
        )
    ).scalar_one_or_none()
    snapshot = None if before is None else CodeOut.model_validate(before).model_dump()
    stmt = insert(AttendanceCode).values(school_id=school_id, code=code, **body.model_dump())
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[AttendanceCode.school_id, AttendanceCode.code],
            set_=body.model_dump(),
        )
    )
    after = CodeOut(code=code, **body.model_dump())
    await audit.record(
        session,
        actor,
        action="attendance.code",
        entity="attendance_code",
        entity_id=code,
        before=snapshot,
        after=after.model_dump(),
    )
    return after


async def get_settings(session: AsyncSession, *, school_id: uuid.UUID) -> SettingsOut:
    found = await config(session, school_id=school_id)
    return SettingsOut(
        mode=found.mode,  # type: ignore[arg-type]
        periods_per_day=found.periods_per_day,
        edit_window_days=found.edit_window_days,
        alert_delay_minutes=found.alert_delay_minutes,
    )


async def put_settings(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: SettingsIn
) -> SettingsOut:
    before = await get_settings(session, school_id=school_id)
    stmt = insert(AttendanceSettings).values(school_id=school_id, **body.model_dump())
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[AttendanceSettings.school_id], set_=body.model_dump()
        )
    )
    await audit.record(
        session,
        actor,
        action="attendance.settings",
        entity="attendance_settings",
        entity_id=school_id,
        before=before.model_dump(),
        after=body.model_dump(),
    )
    return SettingsOut(**body.model_dump())


# ---- marking ------------------------------------------------------------------------

# One statement does the register: it turns an absence of a child on approved leave
# into leave, keeps the marks of students enrolled in the section they are marked
# in, upserts them (a mark that did not change is not rewritten), counts, and
# returns only what the caller acts on: edits of earlier marks and alerting codes,
# each with the child's guardians. The CTEs see one snapshot, so `previous` holds
# the marks as they were before the upsert.
_UPSERT = text(
    """
    WITH submitted AS (
        SELECT t.student_id, t.section_id, t.code AS asked,
               CASE WHEN CAST(:leave_code AS text) IS NOT NULL
                         AND t.code = ANY(CAST(:alert_codes AS text[]))
                         AND EXISTS (
                             SELECT 1 FROM leave_applications l
                             WHERE l.student_id = t.student_id AND l.status = 'approved'
                               AND l.from_date <= CAST(:day AS date)
                               AND l.to_date >= CAST(:day AS date))
                    THEN CAST(:leave_code AS text) ELSE t.code END AS code
        FROM unnest(CAST(:students AS uuid[]), CAST(:sections AS uuid[]),
                    CAST(:codes AS text[])) AS t(student_id, section_id, code)
    ), enrolled AS (
        -- Only pupils still at school: one who left is not marked (nor alerted).
        SELECT s.* FROM submitted s
        JOIN enrolments e ON e.student_id = s.student_id AND e.section_id = s.section_id
        JOIN students st ON st.id = s.student_id AND st.status = 'active'
    ), previous AS (
        SELECT r.student_id, r.code FROM attendance_records r
        JOIN enrolled USING (student_id)
        WHERE r.date = CAST(:day AS date) AND r.period = CAST(:period AS smallint)
    ), written AS (
        INSERT INTO attendance_records
            (student_id, date, period, school_id, section_id, code, marked_by)
        SELECT student_id, CAST(:day AS date), CAST(:period AS smallint),
               CAST(:school_id AS uuid), section_id, code, CAST(:marked_by AS uuid)
        FROM enrolled
        ON CONFLICT (student_id, date, period) DO UPDATE
        SET code = EXCLUDED.code, section_id = EXCLUDED.section_id,
            marked_by = EXCLUDED.marked_by, marked_at = now()
        WHERE attendance_records.code IS DISTINCT FROM EXCLUDED.code
           OR attendance_records.section_id IS DISTINCT FROM EXCLUDED.section_id
        RETURNING student_id, code
    ), noted AS (
        SELECT w.student_id, p.code AS before, w.code AS after
        FROM written w LEFT JOIN previous p USING (student_id)
        WHERE p.code IS NOT NULL OR w.code = ANY(CAST(:alert_codes AS text[]))
    ), totals AS (
        SELECT (SELECT count(*) FROM enrolled) AS enrolled,
               (SELECT count(*) FROM written) AS written,
               (SELECT count(*) FROM enrolled WHERE code <> asked) AS on_leave,
               (SELECT json_object_agg(code, n)
                FROM (SELECT code, count(*) AS n FROM enrolled GROUP BY code) c) AS counts
    )
    SELECT totals.*, n.student_id, n.before, n.after, st.name AS student_name,
           g.id AS guardian_id, g.name AS guardian_name, g.phone,
           g.preferred_language, g.whatsapp_opt_in AND g.is_active AS alertable
    FROM totals
    LEFT JOIN noted n ON true
    LEFT JOIN students st ON st.id = n.student_id
    LEFT JOIN student_guardians sg ON sg.student_id = n.student_id
         AND (n.after = ANY(CAST(:alert_codes AS text[]))
              OR n.before = ANY(CAST(:alert_codes AS text[])))
    LEFT JOIN guardians g ON g.id = sg.guardian_id
    """
)


_SECTIONS = text(
    """
    SELECT s.id, s.name, c.name AS class_name, y.starts_on, y.ends_on,
           CAST(:whole_school AS boolean) OR EXISTS (
               SELECT 1 FROM teacher_assignments t
               WHERE t.section_id = s.id AND t.teacher_id = CAST(:teacher_id AS uuid)
           ) AS can_mark
    FROM sections s
    JOIN classes c ON c.id = s.class_id
    JOIN academic_years y ON y.id = s.academic_year_id
    WHERE s.id = ANY(CAST(:sections AS uuid[])) AND s.school_id = CAST(:school_id AS uuid)
    """
)


def absence_key(student_id: uuid.UUID, day: date, guardian_id: uuid.UUID) -> str:
    """One absence alert per student, day and guardian, however often it is asked."""
    return f"absence:{student_id}:{day.isoformat()}:{guardian_id}"


async def mark_registers(
    session: AsyncSession,
    actor: Actor,
    principal: Principal,
    settings: Settings,
    *,
    day: date,
    period: int | None,
    registers: Sequence[tuple[uuid.UUID, Sequence[tuple[uuid.UUID, str]]]],
    correction: bool = False,
) -> MarkResult:
    """Mark one or more sections for a day (and period): refused on a future date, a
    closed day or outside the section's year; teachers only in their own sections;
    after the day only with attendance:edit and within the school's window. Absent
    marks queue one alert per opted-in guardian; a mark moved off absent cancels the
    alert not yet sent. Audited."""
    school_id = principal.school_id
    cfg = await config(session, school_id=school_id)
    stored_period = cfg.stored_period(period)
    today = school_today(cfg.timezone)
    if day > today:
        raise DateInFuture(
            f"{day.isoformat()} has not come yet; attendance is for today or earlier"
        )
    if day < today or correction:
        if not principal.has(P.attendance_edit):
            raise EditNotAllowed(
                "a register can be changed after the day only by staff allowed to edit it"
            )
        if (today - day).days > cfg.edit_window_days:
            raise EditWindowClosed(
                f"registers can be changed for {cfg.edit_window_days} days; "
                f"{day.isoformat()} is too long ago"
            )

    section_ids = [section_id for section_id, _ in registers]
    whole_school, teacher_id = marking_scope(principal)
    sections = {
        row.id: row
        for row in (
            await session.execute(
                _SECTIONS,
                {
                    "sections": section_ids,
                    "school_id": school_id,
                    "whole_school": whole_school,
                    "teacher_id": teacher_id,
                },
            )
        ).all()
    }
    missing = [s for s in section_ids if s not in sections]
    if missing:
        raise SectionNotFound(
            "section not found", details={"section_ids": [str(s) for s in missing]}
        )
    labels = {s.id: section_label(s.class_name, s.name) for s in sections.values()}
    ensure_can_mark({s.id: s.can_mark for s in sections.values()}, labels)
    outside = [labels[s.id] for s in sections.values() if not s.starts_on <= day <= s.ends_on]
    if outside:
        raise OutsideAcademicYear(
            f"{day.isoformat()} is outside the academic year of {', '.join(sorted(outside))}"
        )
    closed = await academics.closed_reason(session, school_id=school_id, day=day)
    if closed is not None:
        raise SchoolClosed(
            f"the school is closed on {day.isoformat()} ({closed}); no attendance is taken",
            details={"reason": closed},
        )

    students: list[uuid.UUID] = []
    student_sections: list[uuid.UUID] = []
    codes: list[str] = []
    for section_id, marks in registers:
        for student_id, code in marks:
            students.append(student_id)
            student_sections.append(section_id)
            codes.append(code)
    unknown = sorted({c for c in codes if c not in cfg.codes or not cfg.codes[c].is_active})
    if unknown:
        raise UnknownCode(
            f"unknown attendance code: {', '.join(unknown)}",
            details={
                "codes": unknown,
                "known": sorted(c for c, v in cfg.codes.items() if v.is_active),
            },
        )

    rows = (
        await session.execute(
            _UPSERT,
            {
                "students": students,
                "sections": student_sections,
                "codes": codes,
                "day": day,
                "period": stored_period,
                "school_id": school_id,
                "marked_by": principal.user_id,
                "alert_codes": cfg.alert_codes,
                "leave_code": cfg.leave_code,
            },
        )
    ).all()
    totals = rows[0]
    if totals.enrolled != len(students):
        await _refuse_strangers(session, students, student_sections, labels)
    result = MarkResult(
        marked=len(students),
        changed=int(totals.written),
        counts=dict(totals.counts or {}),
        on_leave=int(totals.on_leave),
    )
    noted: dict[uuid.UUID, Any] = {r.student_id: r for r in rows if r.student_id is not None}
    # Alerts are for today's absences: a correction days later would only confuse.
    if day == today:
        alerting = set(cfg.alert_codes)
        result.alerts_queued = await _queue_alerts(
            session,
            settings,
            cfg,
            school_id=school_id,
            day=day,
            guardians=[
                r for r in rows if r.guardian_id is not None and r.after in alerting and r.alertable
            ],
        )
        back = [
            r
            for r in rows
            if r.guardian_id is not None and r.before in alerting and r.after not in alerting
        ]
        result.alerts_cancelled = await _cancel_alerts(session, cfg, day=day, guardians=back)

    edits = {
        str(s): {"before": r.before, "after": r.after}
        for s, r in noted.items()
        if r.before is not None
    }
    await audit.record(
        session,
        actor,
        action="attendance.correct" if (correction or day < today) else "attendance.mark",
        entity="attendance_register",
        entity_id=(
            f"{section_ids[0]}:{day.isoformat()}:{stored_period}"
            if len(section_ids) == 1
            else f"{day.isoformat()}:{stored_period}"
        ),
        changes={
            "date": day.isoformat(),
            "period": stored_period,
            "sections": [labels[s] for s in section_ids][:50],
            "marked": result.marked,
            "changed": result.changed,
            "counts": result.counts,
            "edits": edits,
        },
    )
    return result


async def _refuse_strangers(
    session: AsyncSession,
    students: list[uuid.UUID],
    sections: list[uuid.UUID],
    labels: dict[uuid.UUID, str],
) -> None:
    enrolled: set[tuple[uuid.UUID, uuid.UUID]] = set(
        (
            await session.execute(
                select(Enrolment.student_id, Enrolment.section_id).where(
                    Enrolment.student_id == any_(literal(students, ARRAY(PgUUID)))
                )
            )
        ).all()
    )
    strangers = [
        (s, sec) for s, sec in zip(students, sections, strict=True) if (s, sec) not in enrolled
    ]
    raise NotInSection(
        f"{len(strangers)} of the students are not enrolled in "
        f"{', '.join(sorted({labels[sec] for _, sec in strangers}))}",
        details={"student_ids": [str(s) for s, _ in strangers][:100]},
    )


async def _queue_alerts(
    session: AsyncSession,
    settings: Settings,
    cfg: Config,
    *,
    school_id: uuid.UUID,
    day: date,
    guardians: list[Any],
) -> int:
    """One template per opted-in guardian of each newly absent child, in the
    guardian's language, after the school's grace delay."""
    if not guardians:
        return 0
    templates = {
        "en": settings.gupshup_absence_template_en,
        "hi": settings.gupshup_absence_template_hi,
    }
    when = day.strftime("%d %b %Y")
    messages = [
        TemplateMessage(
            destination=g.phone,
            template_id=templates.get(g.preferred_language, templates["en"]),
            params=[g.guardian_name, g.student_name, when, cfg.school_name],
            dedupe_key=absence_key(g.student_id, day, g.guardian_id),
        )
        for g in guardians
    ]
    return await messaging.queue_templates(
        session,
        school_id=school_id,
        purpose=ALERT_PURPOSE,
        messages=messages,
        delay=timedelta(minutes=cfg.alert_delay_minutes),
    )


async def _cancel_alerts(
    session: AsyncSession, cfg: Config, *, day: date, guardians: list[Any]
) -> int:
    if not guardians:
        return 0
    students = list({g.student_id for g in guardians})
    if cfg.mode == "period":
        # A child may still be absent in another period that day: keep that alert.
        still_absent = set(
            (
                await session.execute(
                    select(AttendanceRecord.student_id).where(
                        AttendanceRecord.student_id == any_(literal(students, ARRAY(PgUUID))),
                        AttendanceRecord.date == day,
                        AttendanceRecord.code.in_(cfg.alert_codes),
                    )
                )
            ).scalars()
        )
        guardians = [g for g in guardians if g.student_id not in still_absent]
    return await messaging.cancel_templates(
        session, [absence_key(g.student_id, day, g.guardian_id) for g in guardians]
    )


async def mark_leave_days(
    session: AsyncSession,
    *,
    school_id: uuid.UUID,
    student_id: uuid.UUID,
    section_id: uuid.UUID,
    days: list[date],
    marked_by: uuid.UUID | None,
) -> int:
    """Approved leave: LV on each school day, unless the child was marked present."""
    cfg = await config(session, school_id=school_id)
    periods = [DAY_PERIOD] if cfg.mode == "daily" else list(range(1, cfg.periods_per_day + 1))
    if not days:
        return 0
    present = [c for c, v in cfg.codes.items() if v.counts_as_present]
    written = await session.execute(
        text(
            """
            INSERT INTO attendance_records
                (student_id, date, period, school_id, section_id, code, marked_by)
            SELECT CAST(:student AS uuid), d, p, CAST(:school_id AS uuid),
                   CAST(:section AS uuid), CAST(:code AS text), CAST(:marked_by AS uuid)
            FROM unnest(CAST(:days AS date[])) AS d, unnest(CAST(:periods AS smallint[])) AS p
            ON CONFLICT (student_id, date, period) DO UPDATE
            SET code = EXCLUDED.code, marked_by = EXCLUDED.marked_by, marked_at = now()
            WHERE attendance_records.code <> ALL(CAST(:present AS text[]))
              AND attendance_records.code <> EXCLUDED.code
            RETURNING date
            """
        ),
        {
            "student": student_id,
            "school_id": school_id,
            "section": section_id,
            "code": LEAVE_CODE,
            "marked_by": marked_by,
            "days": days,
            "periods": periods,
            "present": present,
        },
    )
    marked_days = {d for (d,) in written.all()}
    # Nobody needs to hear their child on leave was "absent".
    links = (
        (
            await session.execute(
                select(StudentGuardian.guardian_id).where(StudentGuardian.student_id == student_id)
            )
        )
        .scalars()
        .all()
    )
    await messaging.cancel_templates(
        session, [absence_key(student_id, d, g) for d in marked_days for g in links]
    )
    return len(marked_days)
