"""Fee set-up (/fees) and invoices (/invoices) on the api role."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from erplake.audit.deps import AuditActor
from erplake.core.clock import school_today
from erplake.core.db import DbSession
from erplake.core.idempotency import run_idempotent
from erplake.core.pagination import Page, Pagination
from erplake.core.permissions import P
from erplake.core.security import Principal, require
from erplake.fees import invoicing, setup
from erplake.fees.schemas import (
    ConcessionCategory,
    ConcessionDecision,
    ConcessionIn,
    ConcessionOut,
    ConcessionStatus,
    ConcessionUpdate,
    FeeHeadIn,
    FeeHeadOut,
    FeeHeadUpdate,
    GenerateIn,
    GenerationPreview,
    GenerationStarted,
    InstalmentIn,
    InstalmentOut,
    InstalmentPlanIn,
    InstalmentUpdate,
    InvoiceDetail,
    InvoiceOut,
    InvoiceStatus,
    LateFeeRuleIn,
    LateFeeRuleOut,
    LateFeeRuleUpdate,
    ReasonIn,
    StructureIn,
    StructureOut,
    StructureUpdate,
    StudentCategoryOut,
)
from erplake.schools import service as schools

router = APIRouter(prefix="/fees", tags=["fees"])
invoices = APIRouter(prefix="/invoices", tags=["invoices"])

Reader = Annotated[Principal, require(P.fees_read)]
Manager = Annotated[Principal, require(P.fees_manage)]
Approver = Annotated[Principal, require(P.concessions_approve)]
InvoiceReader = Annotated[Principal, require(P.invoices_read)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A repeat with the same key returns the first answer; the same key "
        "with another body is refused with 409",
    ),
]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not found"}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found"},
    409: {"description": "clashes with what exists, or not allowed in its state"},
}


def _page(items: list[Any], total: int, page: Any) -> Page[Any]:
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


# ---- heads ------------------------------------------------------------------------


@router.get("/heads", response_model=Page[FeeHeadOut])
async def list_heads(
    session: DbSession, principal: Reader, page: Pagination, active: bool | None = None
) -> Page[Any]:
    """Fee heads (tuition, transport, exam …) by code."""
    items, total = await setup.list_heads(
        session, school_id=principal.school_id, page=page, active=active
    )
    return _page(items, total, page)


@router.post("/heads", response_model=FeeHeadOut, status_code=201, responses=_CONFLICT)
async def create_head(
    body: FeeHeadIn, session: DbSession, principal: Manager, actor: AuditActor
) -> FeeHeadOut:
    """Add a fee head; codes are unique in the school (stored upper-case)."""
    return await setup.create_head(session, actor, school_id=principal.school_id, body=body)


@router.patch("/heads/{head_id}", response_model=FeeHeadOut, responses=_CONFLICT)
async def update_head(
    head_id: uuid.UUID,
    body: FeeHeadUpdate,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> FeeHeadOut:
    """Rename, re-code, or deactivate (`is_active: false`) a head. An inactive head is
    not billed by invoice runs and cannot go on new structure lines."""
    return await setup.update_head(
        session, actor, school_id=principal.school_id, head_id=head_id, body=body
    )


# ---- instalments ------------------------------------------------------------------


@router.get("/instalments", response_model=Page[InstalmentOut])
async def list_instalments(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    academic_year_id: uuid.UUID | None = None,
) -> Page[Any]:
    """A year's instalments (default: the current year) by due date."""
    items, total = await setup.list_instalments(
        session, school_id=principal.school_id, academic_year_id=academic_year_id, page=page
    )
    return _page(items, total, page)


@router.post("/instalments", response_model=InstalmentOut, status_code=201, responses=_CONFLICT)
async def create_instalment(
    body: InstalmentIn, session: DbSession, principal: Manager, actor: AuditActor
) -> InstalmentOut:
    """Add one instalment; its due date must fall in its academic year."""
    return await setup.create_instalment(session, actor, school_id=principal.school_id, body=body)


@router.post("/instalments/plan", response_model=list[InstalmentOut], responses=_NOT_FOUND)
async def plan_instalments(
    body: InstalmentPlanIn, session: DbSession, principal: Manager, actor: AuditActor
) -> list[InstalmentOut]:
    """Create a year's standard monthly, quarterly, term-wise or annual instalments
    (those already there by name are kept); answers the whole set."""
    return await setup.plan_instalments(session, actor, school_id=principal.school_id, body=body)


@router.patch("/instalments/{instalment_id}", response_model=InstalmentOut, responses=_CONFLICT)
async def update_instalment(
    instalment_id: uuid.UUID,
    body: InstalmentUpdate,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> InstalmentOut:
    """Rename or move the due date; invoices already issued keep their own due date."""
    return await setup.update_instalment(
        session, actor, school_id=principal.school_id, instalment_id=instalment_id, body=body
    )


@router.delete("/instalments/{instalment_id}", status_code=204, responses=_CONFLICT)
async def delete_instalment(
    instalment_id: uuid.UUID, session: DbSession, principal: Manager, actor: AuditActor
) -> Response:
    """Delete an instalment no structure bills and no invoice names (409 otherwise)."""
    await setup.delete_instalment(
        session, actor, school_id=principal.school_id, instalment_id=instalment_id
    )
    return Response(status_code=204)


# ---- structures -------------------------------------------------------------------


@router.get("/structures", response_model=Page[StructureOut])
async def list_structures(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    academic_year_id: uuid.UUID | None = None,
    class_id: uuid.UUID | None = None,
) -> Page[Any]:
    """A year's fee structures (default: the current year) in class order, with lines."""
    items, total = await setup.list_structures(
        session,
        school_id=principal.school_id,
        academic_year_id=academic_year_id,
        class_id=class_id,
        page=page,
    )
    return _page(items, total, page)


@router.post("/structures", response_model=StructureOut, status_code=201, responses=_CONFLICT)
async def create_structure(
    body: StructureIn, session: DbSession, principal: Manager, actor: AuditActor
) -> StructureOut:
    """What a class pays in a year: lines of head × instalment × amount, and/or a
    head's annual amount split into a frequency's instalments (the remainder paise on
    the first). One structure per class and year."""
    return await setup.create_structure(session, actor, school_id=principal.school_id, body=body)


@router.get("/structures/{structure_id}", response_model=StructureOut, responses=_NOT_FOUND)
async def get_structure(
    structure_id: uuid.UUID, session: DbSession, principal: Reader
) -> StructureOut:
    """One structure with its lines."""
    return await setup.get_structure(
        session, school_id=principal.school_id, structure_id=structure_id
    )


@router.put("/structures/{structure_id}", response_model=StructureOut, responses=_NOT_FOUND)
async def replace_structure(
    structure_id: uuid.UUID,
    body: StructureUpdate,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> StructureOut:
    """Replace the name and all lines. Invoices already issued keep their figures; the
    next run for an instalment bills the new amounts."""
    return await setup.replace_structure(
        session, actor, school_id=principal.school_id, structure_id=structure_id, body=body
    )


@router.delete("/structures/{structure_id}", status_code=204, responses=_NOT_FOUND)
async def delete_structure(
    structure_id: uuid.UUID, session: DbSession, principal: Manager, actor: AuditActor
) -> Response:
    """Delete a structure (invoices generated from it stay)."""
    await setup.delete_structure(
        session, actor, school_id=principal.school_id, structure_id=structure_id
    )
    return Response(status_code=204)


# ---- concessions ------------------------------------------------------------------


@router.get("/concessions", response_model=Page[ConcessionOut])
async def list_concessions(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    status: ConcessionStatus | None = None,
    student_id: uuid.UUID | None = None,
    category: ConcessionCategory | None = None,
    academic_year_id: uuid.UUID | None = None,
) -> Page[Any]:
    """Concession rules, newest first."""
    items, total = await setup.list_concessions(
        session,
        school_id=principal.school_id,
        page=page,
        status=status,
        student_id=student_id,
        category=category,
        academic_year_id=academic_year_id,
    )
    return _page(items, total, page)


@router.post("/concessions", response_model=ConcessionOut, status_code=201, responses=_NOT_FOUND)
async def create_concession(
    body: ConcessionIn, session: DbSession, principal: Manager, actor: AuditActor
) -> ConcessionOut:
    """Ask for a concession rule (percent in basis points, or fixed paise per line) for
    a student or a category, with a reason. It starts pending and applies to invoices
    generated after someone with `concessions:approve` approves it."""
    return await setup.create_concession(session, actor, school_id=principal.school_id, body=body)


@router.patch("/concessions/{concession_id}", response_model=ConcessionOut, responses=_CONFLICT)
async def update_concession(
    concession_id: uuid.UUID,
    body: ConcessionUpdate,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> ConcessionOut:
    """Change a pending concession (409 once decided)."""
    return await setup.update_concession(
        session, actor, school_id=principal.school_id, concession_id=concession_id, body=body
    )


@router.post(
    "/concessions/{concession_id}/approve",
    response_model=ConcessionOut,
    responses={**_CONFLICT, 403: {"description": "your own request (admins excepted)"}},
)
async def approve_concession(
    concession_id: uuid.UUID,
    body: ConcessionDecision,
    session: DbSession,
    principal: Approver,
    actor: AuditActor,
) -> ConcessionOut:
    """Approve a pending concession. Whoever asked for it cannot approve it, unless
    they are an admin."""
    return await setup.decide_concession(
        session, actor, principal, concession_id=concession_id, approve=True, note=body.note
    )


@router.post(
    "/concessions/{concession_id}/reject",
    response_model=ConcessionOut,
    responses={**_CONFLICT, 403: {"description": "your own request (admins excepted)"}},
)
async def reject_concession(
    concession_id: uuid.UUID,
    body: ConcessionDecision,
    session: DbSession,
    principal: Approver,
    actor: AuditActor,
) -> ConcessionOut:
    """Reject a pending concession."""
    return await setup.decide_concession(
        session, actor, principal, concession_id=concession_id, approve=False, note=body.note
    )


@router.post(
    "/concessions/{concession_id}/revoke", response_model=ConcessionOut, responses=_CONFLICT
)
async def revoke_concession(
    concession_id: uuid.UUID,
    body: ReasonIn,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> ConcessionOut:
    """Withdraw a pending or approved concession: invoices generated from now on no
    longer get it (issued ones keep theirs)."""
    return await setup.revoke_concession(
        session,
        actor,
        school_id=principal.school_id,
        concession_id=concession_id,
        reason=body.reason,
    )


# ---- students' categories ---------------------------------------------------------


@router.get("/categories", response_model=Page[StudentCategoryOut])
async def list_categories(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    category: ConcessionCategory | None = None,
    student_id: uuid.UUID | None = None,
) -> Page[Any]:
    """Students tagged with concession categories (sibling, staff child, merit,
    RTE/EWS, scholarship)."""
    items, total = await setup.list_categories(
        session, school_id=principal.school_id, page=page, category=category, student_id=student_id
    )
    return _page(items, total, page)


@router.put("/categories/{category}/students/{student_id}", status_code=204, responses=_NOT_FOUND)
async def tag_student(
    category: ConcessionCategory,
    student_id: uuid.UUID,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> Response:
    """Put a student in a category (again: no change)."""
    await setup.tag_student(
        session, actor, school_id=principal.school_id, student_id=student_id, category=category
    )
    return Response(status_code=204)


@router.delete(
    "/categories/{category}/students/{student_id}", status_code=204, responses=_NOT_FOUND
)
async def untag_student(
    category: ConcessionCategory,
    student_id: uuid.UUID,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> Response:
    """Take a student out of a category (not in it: no change)."""
    await setup.untag_student(
        session, actor, school_id=principal.school_id, student_id=student_id, category=category
    )
    return Response(status_code=204)


# ---- late-fee rules ---------------------------------------------------------------


@router.get("/late-fee-rules", response_model=Page[LateFeeRuleOut])
async def list_late_fee_rules(session: DbSession, principal: Reader, page: Pagination) -> Page[Any]:
    """Late-fee rules, the active one first."""
    items, total = await setup.list_late_fee_rules(
        session, school_id=principal.school_id, page=page
    )
    return _page(items, total, page)


@router.post("/late-fee-rules", response_model=LateFeeRuleOut, status_code=201)
async def create_late_fee_rule(
    body: LateFeeRuleIn, session: DbSession, principal: Manager, actor: AuditActor
) -> LateFeeRuleOut:
    """Add a late-fee rule: flat after the due date, or per day (with a cap), after
    the grace days. An active new rule retires the one active before it. The daily
    job charges invoices past due + grace days with a balance."""
    return await setup.create_late_fee_rule(
        session, actor, school_id=principal.school_id, body=body
    )


@router.patch("/late-fee-rules/{rule_id}", response_model=LateFeeRuleOut, responses=_NOT_FOUND)
async def update_late_fee_rule(
    rule_id: uuid.UUID,
    body: LateFeeRuleUpdate,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> LateFeeRuleOut:
    """Change a rule, or (de)activate it; fees already charged stay charged."""
    return await setup.update_late_fee_rule(
        session, actor, school_id=principal.school_id, rule_id=rule_id, body=body
    )


# ---- invoices ---------------------------------------------------------------------


@invoices.post("/preview", response_model=GenerationPreview, responses=_NOT_FOUND)
async def preview_generation(
    body: GenerateIn, session: DbSession, principal: Manager
) -> GenerationPreview:
    """How many invoices a run for the instalment and scope would create now and what
    they come to; students already invoiced for it are counted apart. Writes nothing."""
    return await invoicing.preview(session, school_id=principal.school_id, body=body)


@invoices.post(
    "/generate",
    response_model=GenerationStarted,
    status_code=202,
    responses={**_NOT_FOUND, 409: {"description": "Idempotency-Key reused with another body"}},
)
async def generate_invoices(
    body: GenerateIn,
    request: Request,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
    idempotency_key: IdempotencyKey = None,
) -> GenerationStarted:
    """Queue an invoice run for an instalment: one student, a section, a class or the
    whole school (`scope`). Active students enrolled in the instalment's year whose
    class has a structure billing the instalment get one invoice each, with approved
    concessions applied; students already invoiced for it are skipped, so running it
    again creates nothing new. Poll `status_url` for progress."""

    async def handler() -> GenerationStarted:
        return await invoicing.start_generation(
            session, actor, school_id=principal.school_id, body=body
        )

    started = await run_idempotent(
        session,
        scope=f"invoices.generate:{principal.school_id}:{principal.user_id}",
        key=idempotency_key,
        payload=body,
        response_model=GenerationStarted,
        handler=handler,
    )
    # The path as the client reaches it (behind /api in the one-process server).
    status = request.url_for("get_job", job_id=str(started.job_id)).path
    return started.model_copy(update={"status_url": status})


@invoices.get("", response_model=Page[InvoiceOut])
async def list_invoices(
    session: DbSession,
    principal: InvoiceReader,
    page: Pagination,
    status: InvoiceStatus | None = None,
    class_id: uuid.UUID | None = None,
    section_id: uuid.UUID | None = None,
    student_id: uuid.UUID | None = None,
    instalment_id: uuid.UUID | None = None,
    overdue: bool | None = None,
) -> Page[Any]:
    """Invoices, latest due first; a parent sees only their own children's. `overdue`:
    open, with a balance, past the due date (in the school's today)."""
    school = await schools.get(session, school_id=principal.school_id)
    items, total = await invoicing.list_invoices(
        session,
        principal,
        page=page,
        today=school_today(school.timezone),
        status=status,
        class_id=class_id,
        section_id=section_id,
        student_id=student_id,
        instalment_id=instalment_id,
        overdue=overdue,
    )
    return _page(items, total, page)


@invoices.get("/{invoice_id}", response_model=InvoiceDetail, responses=_NOT_FOUND)
async def get_invoice(
    invoice_id: uuid.UUID, session: DbSession, principal: InvoiceReader
) -> InvoiceDetail:
    """One invoice with its lines and its ledger entries (parents: own children's)."""
    return await invoicing.get_invoice(session, principal, invoice_id=invoice_id)


@invoices.post("/{invoice_id}/cancel", response_model=InvoiceDetail, responses=_CONFLICT)
async def cancel_invoice(
    invoice_id: uuid.UUID,
    body: ReasonIn,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> InvoiceDetail:
    """Cancel an invoice nothing was paid against, with a reason (409 once money was
    paid: refund it, or write off the rest)."""
    return await invoicing.cancel(
        session, actor, principal, invoice_id=invoice_id, reason=body.reason
    )


@invoices.post("/{invoice_id}/write-off", response_model=InvoiceDetail, responses=_CONFLICT)
async def write_off_invoice(
    invoice_id: uuid.UUID,
    body: ReasonIn,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> InvoiceDetail:
    """Forgive the balance of an open invoice, with a reason (409 when it is not
    open)."""
    return await invoicing.write_off(
        session, actor, principal, invoice_id=invoice_id, reason=body.reason
    )
