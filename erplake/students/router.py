from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from erplake.audit.deps import AuditActor
from erplake.core.clock import school_today
from erplake.core.db import DbSession
from erplake.core.pagination import Page, Pagination
from erplake.core.permissions import P
from erplake.core.security import Principal, require
from erplake.schools import service as schools
from erplake.storage import get_storage
from erplake.students import promotion, service, spreadsheet
from erplake.students.schemas import (
    Deactivate,
    EnrolmentIn,
    GuardianIn,
    GuardianLink,
    GuardianOut,
    GuardianUpdate,
    ImportPreview,
    ImportStarted,
    PromotionIn,
    PromotionPreview,
    PromotionResult,
    StudentDetail,
    StudentIn,
    StudentOut,
    StudentStatus,
    StudentUpdate,
)

router = APIRouter(prefix="/students", tags=["students"])
guardians = APIRouter(prefix="/guardians", tags=["guardians"])
promotions = APIRouter(prefix="/promotions", tags=["promotion"])

Reader = Annotated[Principal, require(P.students_read)]
Writer = Annotated[Principal, require(P.students_write)]
Sort = Literal["name", "-name", "admission_number", "-admission_number", "class", "-created_at"]
Upload = Annotated[UploadFile, File(description="A .csv or .xlsx file")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not found or not yours"}}


async def _today(session: DbSession, school_id: uuid.UUID) -> date:
    school = await schools.get(session, school_id=school_id)
    return school_today(school.timezone)


async def _read_upload(upload: UploadFile) -> tuple[str, bytes]:
    data = await upload.read(spreadsheet.MAX_FILE_BYTES + 1)
    if len(data) > spreadsheet.MAX_FILE_BYTES:
        raise spreadsheet.BadSpreadsheet("the file is larger than 10 MB")
    return upload.filename or "upload.csv", data


@router.get("", response_model=Page[StudentOut])
async def list_students(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    class_id: uuid.UUID | None = None,
    section_id: uuid.UUID | None = None,
    status: StudentStatus | None = None,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Name words, admission number or guardian phone"),
    ] = None,
    sort: Sort = "name",
) -> Page[StudentOut]:
    """Students the caller may see (staff: the school; a teacher: their sections; a
    parent: their children), with this year's class, section and roll number."""
    items, total = await service.list_students(
        session,
        principal,
        page=page,
        class_id=class_id,
        section_id=section_id,
        status=status,
        q=q,
        sort=sort,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    response_model=StudentDetail,
    status_code=201,
    responses={409: {"description": "admission number taken"}},
)
async def create_student(
    body: StudentIn, session: DbSession, principal: Writer, actor: AuditActor
) -> StudentDetail:
    """Admit a student, with guardians (a phone already on file links to that guardian)
    and optionally a section and roll number this year."""
    return await service.create_student(session, actor, school_id=principal.school_id, body=body)


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, spreadsheet.XLSX_TYPE: {}}}},
)
async def export_students(
    session: DbSession,
    principal: Reader,
    format: Literal["csv", "xlsx"] = "csv",
    class_id: uuid.UUID | None = None,
    section_id: uuid.UUID | None = None,
    status: StudentStatus | None = None,
) -> Response:
    """The students the caller may see, in the import's columns: an export imports
    back unchanged."""
    rows = await spreadsheet.export_rows(
        session,
        principal,
        class_id=class_id,
        section_id=section_id,
        status=status,
        sort="class",
    )
    if format == "xlsx":
        body, media = await asyncio.to_thread(spreadsheet.to_xlsx, rows), spreadsheet.XLSX_TYPE
    else:
        body, media = spreadsheet.to_csv(rows), "text/csv; charset=utf-8"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="students.{format}"'},
    )


@router.post("/import/preview", response_model=ImportPreview)
async def preview_import(file: Upload, session: DbSession, principal: Writer) -> ImportPreview:
    """Check a roster (CSV or XLSX) row by row: every bad row with its row number,
    column and reason. Writes nothing."""
    filename, data = await _read_upload(file)
    return await spreadsheet.preview(
        session,
        school_id=principal.school_id,
        filename=filename,
        data=data,
        today=await _today(session, principal.school_id),
    )


@router.post(
    "/import",
    response_model=ImportStarted,
    status_code=202,
    responses={422: {"description": "the file has bad rows; nothing was imported"}},
)
async def start_import(
    file: Upload, request: Request, session: DbSession, principal: Writer, actor: AuditActor
) -> ImportStarted:
    """Import a roster: refused whole (422, with every bad row) if any row is bad;
    otherwise a job writes all rows or none. Poll `status_url` for progress."""
    filename, data = await _read_upload(file)
    started = await spreadsheet.start_import(
        session,
        get_storage(request.app.state.settings),
        actor,
        school_id=principal.school_id,
        filename=filename,
        data=data,
        today=await _today(session, principal.school_id),
    )
    # The path as the client reaches it (behind /api in the one-process server or
    # a proxy that strips the prefix), not as the role sees it.
    status = request.url_for("get_job", job_id=str(started.job_id)).path
    return started.model_copy(update={"status_url": status})


@router.get("/{student_id}", response_model=StudentDetail, responses=_NOT_FOUND)
async def get_student(
    student_id: uuid.UUID, session: DbSession, principal: Reader
) -> StudentDetail:
    """One student with guardians and enrolment history."""
    return await service.student_detail(session, principal, student_id=student_id)


@router.patch("/{student_id}", response_model=StudentDetail, responses=_NOT_FOUND)
async def update_student(
    student_id: uuid.UUID,
    body: StudentUpdate,
    session: DbSession,
    principal: Writer,
    actor: AuditActor,
) -> StudentDetail:
    """Correct a student's details (admission number changes are checked for clashes)."""
    return await service.update_student(
        session,
        actor,
        school_id=principal.school_id,
        student_id=student_id,
        changes=body.model_dump(exclude_unset=True),
    )


@router.post("/{student_id}/deactivate", response_model=StudentDetail, responses=_NOT_FOUND)
async def deactivate_student(
    student_id: uuid.UUID,
    body: Deactivate,
    session: DbSession,
    principal: Writer,
    actor: AuditActor,
) -> StudentDetail:
    """Mark a student as left (or alumni). Their records stay."""
    return await service.set_status(
        session,
        actor,
        school_id=principal.school_id,
        student_id=student_id,
        status=body.status,
        left_on=body.left_on or await _today(session, principal.school_id),
    )


@router.post("/{student_id}/reactivate", response_model=StudentDetail, responses=_NOT_FOUND)
async def reactivate_student(
    student_id: uuid.UUID, session: DbSession, principal: Writer, actor: AuditActor
) -> StudentDetail:
    """Bring a student who left back to active."""
    return await service.set_status(
        session,
        actor,
        school_id=principal.school_id,
        student_id=student_id,
        status="active",
        left_on=None,
    )


@router.put("/{student_id}/enrolment", response_model=StudentDetail, responses=_NOT_FOUND)
async def set_enrolment(
    student_id: uuid.UUID,
    body: EnrolmentIn,
    session: DbSession,
    principal: Writer,
    actor: AuditActor,
) -> StudentDetail:
    """Place the student in a section of the current year, with a roll number."""
    return await service.set_enrolment(
        session,
        actor,
        school_id=principal.school_id,
        student_id=student_id,
        section_id=body.section_id,
        roll_number=body.roll_number,
    )


@router.put("/{student_id}/photo", response_model=StudentDetail, responses=_NOT_FOUND)
async def upload_photo(
    student_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP, at most 2 MB")],
    request: Request,
    session: DbSession,
    principal: Writer,
    actor: AuditActor,
) -> StudentDetail:
    """Set the student's photo."""
    data = await file.read(service.MAX_PHOTO_BYTES + 1)
    return await service.set_photo(
        session,
        actor,
        get_storage(request.app.state.settings),
        school_id=principal.school_id,
        student_id=student_id,
        data=data,
        content_type=file.content_type or "",
    )


@router.get("/{student_id}/photo", response_class=Response, responses=_NOT_FOUND)
async def get_photo(
    student_id: uuid.UUID, request: Request, session: DbSession, principal: Reader
) -> Response:
    """The student's photo."""
    data, content_type = await service.get_photo(
        session, get_storage(request.app.state.settings), principal, student_id=student_id
    )
    return Response(data, media_type=content_type, headers={"Cache-Control": "private"})


@router.post("/{student_id}/guardians", response_model=StudentDetail, responses=_NOT_FOUND)
async def link_guardian(
    student_id: uuid.UUID,
    body: GuardianLink,
    session: DbSession,
    principal: Writer,
    actor: AuditActor,
) -> StudentDetail:
    """Link a guardian (existing by id, or new; a known phone links that guardian)."""
    return await service.link_guardian(
        session, actor, school_id=principal.school_id, student_id=student_id, link=body
    )


@router.delete(
    "/{student_id}/guardians/{guardian_id}", response_model=StudentDetail, responses=_NOT_FOUND
)
async def unlink_guardian(
    student_id: uuid.UUID,
    guardian_id: uuid.UUID,
    session: DbSession,
    principal: Writer,
    actor: AuditActor,
) -> StudentDetail:
    """Unlink a guardian from a student (the guardian record stays)."""
    return await service.unlink_guardian(
        session,
        actor,
        school_id=principal.school_id,
        student_id=student_id,
        guardian_id=guardian_id,
    )


# ---- guardians ------------------------------------------------------------------


@guardians.get("", response_model=Page[GuardianOut])
async def list_guardians(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    q: Annotated[str | None, Query(max_length=100, description="Name or phone")] = None,
) -> Page[GuardianOut]:
    """Guardians the caller may see (those of students they may see), with children."""
    items, total = await service.list_guardians(session, principal, page=page, q=q)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@guardians.post(
    "",
    response_model=GuardianOut,
    status_code=201,
    responses={409: {"description": "phone already on file"}},
)
async def create_guardian(
    body: GuardianIn, session: DbSession, principal: Writer, actor: AuditActor
) -> GuardianOut:
    """Add a guardian; the phone is stored in E.164 and must be a mobile number."""
    return await service.create_guardian(session, actor, school_id=principal.school_id, body=body)


@guardians.get("/{guardian_id}", response_model=GuardianOut, responses=_NOT_FOUND)
async def get_guardian(
    guardian_id: uuid.UUID, session: DbSession, principal: Reader
) -> GuardianOut:
    """One guardian and their children."""
    return await service.guardian_detail(session, principal, guardian_id=guardian_id)


@guardians.patch("/{guardian_id}", response_model=GuardianOut, responses=_NOT_FOUND)
async def update_guardian(
    guardian_id: uuid.UUID,
    body: GuardianUpdate,
    session: DbSession,
    principal: Writer,
    actor: AuditActor,
) -> GuardianOut:
    """Correct a guardian's details: phone, WhatsApp opt-in, language."""
    return await service.update_guardian(
        session,
        actor,
        school_id=principal.school_id,
        guardian_id=guardian_id,
        changes=body.model_dump(exclude_unset=True),
    )


@guardians.post("/{guardian_id}/deactivate", response_model=GuardianOut, responses=_NOT_FOUND)
async def deactivate_guardian(
    guardian_id: uuid.UUID, session: DbSession, principal: Writer, actor: AuditActor
) -> GuardianOut:
    """Stop alerts to a guardian; their login no longer shows the children."""
    return await service.set_guardian_active(
        session, actor, school_id=principal.school_id, guardian_id=guardian_id, active=False
    )


@guardians.post("/{guardian_id}/activate", response_model=GuardianOut, responses=_NOT_FOUND)
async def activate_guardian(
    guardian_id: uuid.UUID, session: DbSession, principal: Writer, actor: AuditActor
) -> GuardianOut:
    """Undo a deactivation."""
    return await service.set_guardian_active(
        session, actor, school_id=principal.school_id, guardian_id=guardian_id, active=True
    )


# ---- promotion ------------------------------------------------------------------


@promotions.post("/preview", response_model=PromotionPreview)
async def preview_promotion(
    body: PromotionIn, session: DbSession, principal: Writer
) -> PromotionPreview:
    """What year-end promotion into `to_academic_year_id` would do, section by
    section. Writes nothing."""
    return await promotion.preview(
        session,
        school_id=principal.school_id,
        to_year_id=body.to_academic_year_id,
        held_back=body.held_back,
        leaving=body.leaving,
    )


@promotions.post("/apply", response_model=PromotionResult)
async def apply_promotion(
    body: PromotionIn, session: DbSession, principal: Writer, actor: AuditActor
) -> PromotionResult:
    """Promote: enrol everyone in the next class of the new year (the held back in the
    same class), mark leavers left and the top class alumni. Applying again changes
    nothing."""
    return await promotion.apply(
        session,
        actor,
        school_id=principal.school_id,
        to_year_id=body.to_academic_year_id,
        held_back=body.held_back,
        leaving=body.leaving,
    )
