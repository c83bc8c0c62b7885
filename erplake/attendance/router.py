from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response

from erplake.attendance import leave, reports, service
from erplake.attendance.schemas import (
    CODE_PATTERN,
    BulkMarkIn,
    BulkMarkOut,
    ChronicOut,
    CodeIn,
    CodeOut,
    LeaveDecision,
    LeaveIn,
    LeaveOut,
    MonthlyOut,
    RegisterOut,
    SettingsIn,
    SettingsOut,
    StudentMonthOut,
    TodayOut,
)
from erplake.audit.deps import AuditActor
from erplake.core.db import DbSession
from erplake.core.idempotency import run_idempotent
from erplake.core.pagination import Page, Pagination
from erplake.core.permissions import P
from erplake.core.security import Principal, require

router = APIRouter(prefix="/attendance", tags=["attendance"])
leave_router = APIRouter(prefix="/leave-applications", tags=["leave"])

Reader = Annotated[Principal, require(P.attendance_read)]
Marker = Annotated[Principal, require(P.attendance_mark)]
Editor = Annotated[Principal, require(P.attendance_edit)]
Manager = Annotated[Principal, require(P.settings_manage)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A repeat with the same key returns the first answer; the same key "
        "with another body is refused with 409",
    ),
]
Month = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])]

_MARK_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "not your section, or the day is closed to edits"},
    409: {"description": "Idempotency-Key reused with a different body"},
    422: {"description": "future date, holiday or weekly off, unknown code, stranger"},
}


def _csv(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> Response:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _mark(
    request: Request,
    session: DbSession,
    principal: Principal,
    actor: AuditActor,
    body: BulkMarkIn,
    key: str | None,
    *,
    correction: bool,
) -> BulkMarkOut:
    async def handler() -> BulkMarkOut:
        result = await service.mark_registers(
            session,
            actor,
            principal,
            request.app.state.settings,
            day=body.date,
            period=body.period,
            registers=[(body.section_id, [(m.student_id, m.code) for m in body.marks])],
            correction=correction,
        )
        return BulkMarkOut(
            section_id=body.section_id,
            date=body.date,
            period=body.period,
            marked=result.marked,
            changed=result.changed,
            counts=result.counts,
            on_leave=result.on_leave,
            alerts_queued=result.alerts_queued,
            alerts_cancelled=result.alerts_cancelled,
        )

    return await run_idempotent(
        session,
        scope=f"attendance.bulk:{principal.school_id}:{principal.user_id}",
        key=key,
        payload={"correction": correction, **body.model_dump(mode="json")},
        response_model=BulkMarkOut,
        handler=handler,
    )


@router.post("/bulk", response_model=BulkMarkOut, responses=_MARK_ERRORS)
async def mark_bulk(
    body: BulkMarkIn,
    request: Request,
    session: DbSession,
    principal: Marker,
    actor: AuditActor,
    idempotency_key: IdempotencyKey = None,
) -> BulkMarkOut:
    """Mark a section's register for a day (and period, in period-wise mode) in one
    go. Teachers mark only their own sections. Refused on a future date, a holiday or
    a weekly off. An absence queues a WhatsApp alert to each opted-in guardian (once
    per child and day, however often the register is sent); changing A to P before
    it goes out cancels it. Send an `Idempotency-Key` so a retry is safe."""
    return await _mark(request, session, principal, actor, body, idempotency_key, correction=False)


@router.post("/corrections", response_model=BulkMarkOut, responses=_MARK_ERRORS)
async def correct_register(
    body: BulkMarkIn,
    request: Request,
    session: DbSession,
    principal: Editor,
    actor: AuditActor,
    idempotency_key: IdempotencyKey = None,
) -> BulkMarkOut:
    """Correct marks of today or an earlier day within the school's edit window, for
    staff allowed to edit registers. Every change is audited with before and after."""
    return await _mark(request, session, principal, actor, body, idempotency_key, correction=True)


@router.get("/codes", response_model=list[CodeOut])
async def list_codes(session: DbSession, principal: Reader) -> list[CodeOut]:
    """The school's attendance codes and whether each counts as present."""
    return await service.list_codes(session, school_id=principal.school_id)


@router.put("/codes/{code}", response_model=CodeOut)
async def put_code(
    code: Annotated[str, Path(pattern=CODE_PATTERN)],
    body: CodeIn,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> CodeOut:
    """Add or change a code (codes are never deleted: set is_active false)."""
    return await service.put_code(
        session, actor, school_id=principal.school_id, code=code, body=body
    )


@router.get("/settings", response_model=SettingsOut)
async def get_settings(session: DbSession, principal: Reader) -> SettingsOut:
    """Daily or period-wise mode, the edit window and the absence alert delay."""
    return await service.get_settings(session, school_id=principal.school_id)


@router.put("/settings", response_model=SettingsOut)
async def put_settings(
    body: SettingsIn, session: DbSession, principal: Manager, actor: AuditActor
) -> SettingsOut:
    """Change the attendance settings."""
    return await service.put_settings(session, actor, school_id=principal.school_id, body=body)


# ---- reports --------------------------------------------------------------------


@router.get("/register", response_model=RegisterOut)
async def section_register(
    session: DbSession,
    principal: Reader,
    section_id: uuid.UUID,
    day: Annotated[date, Query(alias="date")],
    period: Annotated[int | None, Query(ge=1, le=12)] = None,
) -> RegisterOut:
    """A section's register for a day: every student with their mark (or none yet)."""
    return await reports.register(session, principal, section_id=section_id, day=day, period=period)


@router.get("/register.csv", response_class=Response)
async def section_register_csv(
    session: DbSession,
    principal: Reader,
    section_id: uuid.UUID,
    day: Annotated[date, Query(alias="date")],
    period: Annotated[int | None, Query(ge=1, le=12)] = None,
) -> Response:
    """The section register as CSV."""
    out = await reports.register(session, principal, section_id=section_id, day=day, period=period)
    return _csv(
        f"register-{out.section_label}-{day.isoformat()}.csv",
        ["roll_number", "admission_number", "name", "code"],
        ((r.roll_number, r.admission_number, r.name, r.code) for r in out.rows),
    )


@router.get("/reports/monthly", response_model=MonthlyOut)
async def section_month(
    session: DbSession, principal: Reader, section_id: uuid.UUID, month: Month
) -> MonthlyOut:
    """Each student of a section for a month: marks taken, present, percentage."""
    return await reports.section_month(session, principal, section_id=section_id, month=month)


@router.get("/reports/monthly.csv", response_class=Response)
async def section_month_csv(
    session: DbSession, principal: Reader, section_id: uuid.UUID, month: Month
) -> Response:
    """The section's month as CSV."""
    out = await reports.section_month(session, principal, section_id=section_id, month=month)
    return _csv(
        f"attendance-{out.section_label}-{out.month}.csv",
        ["roll_number", "name", "marked", "present", "percent"],
        ((r.roll_number, r.name, r.marked, r.present, r.percent) for r in out.rows),
    )


@router.get("/reports/students/{student_id}.csv", response_class=Response)
async def student_month_csv(
    student_id: uuid.UUID, session: DbSession, principal: Reader, month: Month
) -> Response:
    """One student's month as CSV (declared first: `{id}.csv` would match the JSON
    route's `{student_id}` otherwise)."""
    out = await reports.student_month(session, principal, student_id=student_id, month=month)
    return _csv(
        f"attendance-{out.month}.csv",
        ["date", "period", "code", "counts_as_present"],
        (
            (d.date.isoformat(), d.period, d.code, "yes" if d.counts_as_present else "no")
            for d in out.days
        ),
    )


@router.get("/reports/students/{student_id}", response_model=StudentMonthOut)
async def student_month(
    student_id: uuid.UUID, session: DbSession, principal: Reader, month: Month
) -> StudentMonthOut:
    """One student's month, day by day, with the percentage (parents: own children)."""
    return await reports.student_month(session, principal, student_id=student_id, month=month)


@router.get("/reports/today", response_model=TodayOut)
async def today_summary(session: DbSession, principal: Reader) -> TodayOut:
    """Today per class: present, absent, not yet marked (for the dashboard)."""
    return await reports.today_summary(session, principal)


@router.get("/reports/today.csv", response_class=Response)
async def today_summary_csv(session: DbSession, principal: Reader) -> Response:
    """Today's summary as CSV."""
    out = await reports.today_summary(session, principal)
    return _csv(
        f"attendance-{out.date.isoformat()}.csv",
        ["class", "enrolled", "present", "absent", "not_marked"],
        ((c.class_name, c.enrolled, c.present, c.absent, c.not_marked) for c in out.classes),
    )


@router.get("/reports/chronic-absentees", response_model=ChronicOut)
async def chronic_absentees(
    session: DbSession,
    principal: Reader,
    threshold: Annotated[float, Query(gt=0, le=100, description="Percent")] = 75.0,
    days: Annotated[int, Query(ge=1, le=365, description="Last N school days")] = 30,
) -> ChronicOut:
    """Students below `threshold` percent over the last `days` school days."""
    return await reports.chronic_absentees(session, principal, threshold=threshold, days=days)


@router.get("/reports/chronic-absentees.csv", response_class=Response)
async def chronic_absentees_csv(
    session: DbSession,
    principal: Reader,
    threshold: Annotated[float, Query(gt=0, le=100)] = 75.0,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> Response:
    """Chronic absentees as CSV."""
    out = await reports.chronic_absentees(session, principal, threshold=threshold, days=days)
    return _csv(
        "chronic-absentees.csv",
        ["admission_number", "name", "section", "marked", "present", "percent"],
        (
            (r.admission_number, r.name, r.section_label, r.marked, r.present, r.percent)
            for r in out.rows
        ),
    )


# ---- leave ------------------------------------------------------------------------


@leave_router.post("", response_model=LeaveOut, status_code=201)
async def apply_leave(
    body: LeaveIn,
    session: DbSession,
    principal: Annotated[Principal, require(P.leave_apply)],
    actor: AuditActor,
) -> LeaveOut:
    """A guardian asks leave for one of their children; the class teacher decides."""
    return await leave.apply(
        session,
        actor,
        principal,
        student_id=body.student_id,
        from_date=body.from_date,
        to_date=body.to_date,
        reason=body.reason,
    )


@leave_router.get("", response_model=Page[LeaveOut])
async def list_leave(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    status: Literal["pending", "approved", "rejected", "cancelled"] | None = None,
    student_id: uuid.UUID | None = None,
) -> Page[LeaveOut]:
    """Leave applications the caller may see, newest dates first."""
    items, total = await leave.list_applications(
        session, principal, page=page, status=status, student_id=student_id
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@leave_router.post("/{leave_id}/approve", response_model=LeaveOut)
async def approve_leave(
    leave_id: uuid.UUID,
    body: LeaveDecision,
    session: DbSession,
    principal: Annotated[Principal, require(P.leave_approve)],
    actor: AuditActor,
) -> LeaveOut:
    """Approve: the school days of the leave are marked LV (a day the child was
    marked present stays present)."""
    return await leave.decide(
        session, actor, principal, leave_id=leave_id, approve=True, note=body.note
    )


@leave_router.post("/{leave_id}/reject", response_model=LeaveOut)
async def reject_leave(
    leave_id: uuid.UUID,
    body: LeaveDecision,
    session: DbSession,
    principal: Annotated[Principal, require(P.leave_approve)],
    actor: AuditActor,
) -> LeaveOut:
    """Reject a pending application, with a note for the guardian."""
    return await leave.decide(
        session, actor, principal, leave_id=leave_id, approve=False, note=body.note
    )


@leave_router.post("/{leave_id}/cancel", response_model=LeaveOut)
async def cancel_leave(
    leave_id: uuid.UUID,
    session: DbSession,
    principal: Annotated[Principal, require(P.leave_apply)],
    actor: AuditActor,
) -> LeaveOut:
    """The applicant withdraws a pending application."""
    return await leave.cancel(session, actor, principal, leave_id=leave_id)
