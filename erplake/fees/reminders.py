"""Fee reminders: rules ("3 days before the due date", "on the day", "7 days after")
and the daily job that sends them.

The job (`fees.reminders`, one per school and day, written by the daily cron) finds,
for every active rule, the open invoices with a balance whose due date plus the rule's
offset is that day. It records each (rule, invoice) pair in `fee_reminder_sends`
first: only pairs recorded now are sent, so a reminder goes at most once per invoice
and rule however often the job runs. Each opted-in guardian of the student gets the
rule's WhatsApp template, through the outbox, with the student's name, the amount due,
the due date and the invoice's pay link.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from erplake.audit import service as audit
from erplake.audit.deps import AuditActor
from erplake.audit.service import Actor
from erplake.core.db import DbSession
from erplake.core.errors import Conflict, NotFound
from erplake.core.jobs import JobContext, task
from erplake.core.money import format_inr
from erplake.core.pagination import Page, PageParams, Pagination, paginate_rows
from erplake.core.permissions import P
from erplake.core.schemas import Schema
from erplake.core.security import Principal, require
from erplake.core.settings import Settings
from erplake.messaging import service as messaging
from erplake.messaging.service import TemplateMessage
from erplake.models.fees import ReminderRule
from erplake.payments.links import pay_link_url

REMINDER_TASK = "fees.reminders"
PURPOSE = "fee_reminder"
OFFSET_MIN, OFFSET_MAX = -60, 180


class ReminderRuleNotFound(NotFound):
    code = "reminder_rule_not_found"


class OffsetTaken(Conflict):
    code = "reminder_offset_taken"


Offset = Annotated[
    int,
    Field(
        ge=OFFSET_MIN,
        le=OFFSET_MAX,
        description="Days from the due date: negative before, 0 on the day, positive after",
    ),
]
TemplateId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="The approved WhatsApp template (Gupshup template id). Parameters: "
        "guardian, student, amount due, due date, pay link, school",
    ),
]


class ReminderRuleIn(Schema):
    name: str = Field(min_length=1, max_length=100, examples=["Three days before"])
    offset_days: Offset
    template: TemplateId
    template_hi: TemplateId | None = Field(
        default=None, description="The Hindi template, for guardians who prefer Hindi"
    )
    is_active: bool = True


class ReminderRuleUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    offset_days: Offset | None = None
    template: TemplateId | None = None
    template_hi: TemplateId | None = Field(default=None, description="null clears it")
    is_active: bool | None = None


class ReminderRuleOut(Schema):
    id: uuid.UUID
    name: str
    offset_days: int
    template: str
    template_hi: str | None
    is_active: bool
    created_at: datetime


def _snapshot(rule: ReminderRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "offset_days": rule.offset_days,
        "template": rule.template,
        "template_hi": rule.template_hi,
        "is_active": rule.is_active,
    }


# ---- rules ------------------------------------------------------------------------------


async def _get(session: AsyncSession, *, school_id: uuid.UUID, rule_id: uuid.UUID) -> ReminderRule:
    rule = (
        await session.execute(
            select(ReminderRule).where(
                ReminderRule.id == rule_id, ReminderRule.school_id == school_id
            )
        )
    ).scalar_one_or_none()
    if rule is None:
        raise ReminderRuleNotFound("reminder rule not found", details={"rule_id": str(rule_id)})
    return rule


async def _check_offset_free(
    session: AsyncSession, *, school_id: uuid.UUID, offset_days: int, rule_id: uuid.UUID | None
) -> None:
    stmt = select(ReminderRule.id).where(
        ReminderRule.school_id == school_id, ReminderRule.offset_days == offset_days
    )
    if rule_id is not None:
        stmt = stmt.where(ReminderRule.id != rule_id)
    taken = await session.scalar(stmt)
    if taken is not None:
        raise OffsetTaken(
            f"another rule already reminds {offset_days} days from the due date",
            details={"rule_id": str(taken)},
        )


async def list_rules(
    session: AsyncSession, *, school_id: uuid.UUID, page: PageParams
) -> tuple[list[ReminderRuleOut], int]:
    rows, total = await paginate_rows(
        session,
        select(ReminderRule)
        .where(ReminderRule.school_id == school_id)
        .order_by(ReminderRule.offset_days),
        page,
    )
    return [ReminderRuleOut.model_validate(rule) for (rule,) in rows], total


async def create_rule(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, body: ReminderRuleIn
) -> ReminderRuleOut:
    await _check_offset_free(
        session, school_id=school_id, offset_days=body.offset_days, rule_id=None
    )
    rule = ReminderRule(school_id=school_id, **body.model_dump())
    session.add(rule)
    await session.flush()
    await session.refresh(rule)
    await audit.record(
        session,
        actor,
        action="fees.reminder_rule.create",
        entity="fee_reminder_rule",
        entity_id=rule.id,
        after=_snapshot(rule),
    )
    return ReminderRuleOut.model_validate(rule)


async def update_rule(
    session: AsyncSession,
    actor: Actor,
    *,
    school_id: uuid.UUID,
    rule_id: uuid.UUID,
    body: ReminderRuleUpdate,
) -> ReminderRuleOut:
    rule = await _get(session, school_id=school_id, rule_id=rule_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "template_hi" in body.model_fields_set:
        changes["template_hi"] = body.template_hi  # null clears it
    if "offset_days" in changes:
        await _check_offset_free(
            session, school_id=school_id, offset_days=changes["offset_days"], rule_id=rule_id
        )
    before = _snapshot(rule)
    for field, value in changes.items():
        setattr(rule, field, value)
    await session.flush()
    await session.refresh(rule)
    await audit.record(
        session,
        actor,
        action="fees.reminder_rule.update",
        entity="fee_reminder_rule",
        entity_id=rule.id,
        before=before,
        after=_snapshot(rule),
    )
    return ReminderRuleOut.model_validate(rule)


async def delete_rule(
    session: AsyncSession, actor: Actor, *, school_id: uuid.UUID, rule_id: uuid.UUID
) -> None:
    rule = await _get(session, school_id=school_id, rule_id=rule_id)
    before = _snapshot(rule)
    await session.delete(rule)
    await session.flush()
    await audit.record(
        session,
        actor,
        action="fees.reminder_rule.delete",
        entity="fee_reminder_rule",
        entity_id=rule_id,
        before=before,
    )


# ---- the daily job ----------------------------------------------------------------------

# A reminder whose day was missed (no job ran) still goes this many days late; later
# than that it would only confuse.
CATCH_UP_DAYS = 3

_DUE = text(
    """
    WITH due AS (
        SELECT r.id AS rule_id, i.id AS invoice_id, r.template, r.template_hi, i.balance,
               i.due_on, i.student_id
        FROM fee_reminder_rules r
        -- The rule's day is `on`, or up to CATCH_UP_DAYS before it: a day the job did
        -- not run (the server was down) is caught up, still once per invoice and rule.
        JOIN invoices i ON i.school_id = r.school_id
             AND i.due_on BETWEEN CAST(:on AS date) - r.offset_days - CAST(:catch_up AS integer)
                              AND CAST(:on AS date) - r.offset_days
        WHERE r.school_id = :school_id AND r.is_active
          AND i.status IN ('issued', 'partially_paid') AND i.balance > 0
    ), recorded AS (
        INSERT INTO fee_reminder_sends (rule_id, invoice_id, school_id)
        SELECT rule_id, invoice_id, :school_id FROM due
        ON CONFLICT DO NOTHING
        RETURNING rule_id, invoice_id
    )
    SELECT d.rule_id, d.invoice_id,
           CASE WHEN g.preferred_language = 'hi' AND d.template_hi IS NOT NULL
                THEN d.template_hi ELSE d.template END AS template,
           d.balance, d.due_on,
           st.name AS student_name, g.id AS guardian_id, g.name AS guardian_name, g.phone,
           sc.name AS school_name
    FROM recorded
    JOIN due d USING (rule_id, invoice_id)
    JOIN students st ON st.id = d.student_id
    JOIN schools sc ON sc.id = st.school_id
    JOIN student_guardians sg ON sg.student_id = d.student_id
    JOIN guardians g ON g.id = sg.guardian_id AND g.whatsapp_opt_in AND g.is_active
    ORDER BY d.due_on, st.name, g.name
    """
)


def reminder_key(rule_id: uuid.UUID, invoice_id: uuid.UUID, guardian_id: uuid.UUID) -> str:
    return f"fee-reminder:{rule_id}:{invoice_id}:{guardian_id}"


async def queue_reminders(
    session: AsyncSession, settings: Settings, *, school_id: uuid.UUID, on: date
) -> int:
    """Record and queue the reminders due on `on` (or missed on the few days before);
    returns how many messages were queued (none for a pair already reminded)."""
    rows = (
        await session.execute(_DUE, {"school_id": school_id, "on": on, "catch_up": CATCH_UP_DAYS})
    ).all()
    messages = [
        TemplateMessage(
            destination=row.phone,
            template_id=row.template,
            params=[
                row.guardian_name,
                row.student_name,
                format_inr(int(row.balance)),
                row.due_on.strftime("%d %b %Y"),
                pay_link_url(settings, row.invoice_id),
                row.school_name,
            ],
            dedupe_key=reminder_key(row.rule_id, row.invoice_id, row.guardian_id),
        )
        for row in rows
    ]
    return await messaging.queue_templates(
        session, school_id=school_id, purpose=PURPOSE, messages=messages
    )


@task(REMINDER_TASK)
async def send_reminders(ctx: JobContext, *, school_id: str, on: str) -> None:
    await queue_reminders(
        ctx.session, ctx.settings, school_id=uuid.UUID(school_id), on=date.fromisoformat(on)
    )


# ---- HTTP -------------------------------------------------------------------------------

router = APIRouter(prefix="/fee-reminder-rules", tags=["fees"])
Reader = Annotated[Principal, require(P.fees_read)]
Manager = Annotated[Principal, require(P.fees_manage)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such rule"}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    409: {"description": "another rule has this offset"},
}


@router.get("", response_model=Page[ReminderRuleOut])
async def list_reminder_rules(
    session: DbSession, principal: Reader, page: Pagination
) -> Page[ReminderRuleOut]:
    """The school's reminder rules, earliest offset first."""
    items, total = await list_rules(session, school_id=principal.school_id, page=page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("", response_model=ReminderRuleOut, status_code=201, responses=_CONFLICT)
async def create_reminder_rule(
    body: ReminderRuleIn, session: DbSession, principal: Manager, actor: AuditActor
) -> ReminderRuleOut:
    """Remind guardians `offset_days` from an invoice's due date (−60 to 180; one rule
    per offset) with a WhatsApp template, while the invoice has a balance. Only
    guardians who opted in to WhatsApp get it; each invoice at most once per rule."""
    return await create_rule(session, actor, school_id=principal.school_id, body=body)


@router.patch("/{rule_id}", response_model=ReminderRuleOut, responses=_CONFLICT)
async def update_reminder_rule(
    rule_id: uuid.UUID,
    body: ReminderRuleUpdate,
    session: DbSession,
    principal: Manager,
    actor: AuditActor,
) -> ReminderRuleOut:
    """Rename, re-time, change the template, or (de)activate a rule. Invoices it
    already reminded are not reminded again."""
    return await update_rule(
        session, actor, school_id=principal.school_id, rule_id=rule_id, body=body
    )


@router.delete("/{rule_id}", status_code=204, responses=_NOT_FOUND)
async def delete_reminder_rule(
    rule_id: uuid.UUID, session: DbSession, principal: Manager, actor: AuditActor
) -> Response:
    """Remove a rule (deactivating keeps its history of who was reminded)."""
    await delete_rule(session, actor, school_id=principal.school_id, rule_id=rule_id)
    return Response(status_code=204)
