"""The four HTTP roles, each an app built from the domain routers it owns."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI

from erplake.core.app import Resources, create_role_app
from erplake.core.settings import Settings

ROLES = ("api", "ai", "notify", "billing")


def api_routers(settings: Settings) -> list[APIRouter]:
    from erplake.academics.router import router as academics
    from erplake.attendance.router import leave_router as leave
    from erplake.attendance.router import router as attendance
    from erplake.audit.router import router as audit
    from erplake.chat.router import router as chat
    from erplake.core.progress import router as jobs
    from erplake.fees.payments_router import invoice_pdfs, receipts
    from erplake.fees.payments_router import router as payments
    from erplake.fees.reminders import router as fee_reminders
    from erplake.fees.reports_router import router as fee_reports
    from erplake.fees.router import invoices
    from erplake.fees.router import router as fees
    from erplake.identity.router import admin, auth
    from erplake.schools.router import router as schools
    from erplake.social.router import router as social
    from erplake.students.router import guardians, promotions
    from erplake.students.router import router as students

    return [
        auth,
        admin,
        schools,
        audit,
        academics,
        students,
        guardians,
        promotions,
        attendance,
        leave,
        jobs,
        chat,
        social,
        fees,
        invoices,
        payments,
        invoice_pdfs,
        receipts,
        fee_reports,
        fee_reminders,
    ]


def ai_routers(settings: Settings) -> list[APIRouter]:
    return []


def notify_routers(settings: Settings) -> list[APIRouter]:
    from erplake.messaging.router import router as messaging

    return [messaging]


def billing_routers(settings: Settings) -> list[APIRouter]:
    from erplake.payments.router import router as payments

    return [payments]


_ROUTERS: dict[str, Callable[[Settings], list[APIRouter]]] = {
    "api": api_routers,
    "ai": ai_routers,
    "notify": notify_routers,
    "billing": billing_routers,
}


def role_routers(role: str, settings: Settings) -> list[APIRouter]:
    """The domain routers a role serves (health and metrics are added to every role)."""
    return _ROUTERS[role](settings)


def create_app(role: str, settings: Settings, *, resources: Resources | None = None) -> FastAPI:
    if role not in _ROUTERS:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    return create_role_app(role, settings, _ROUTERS[role](settings), resources=resources)
