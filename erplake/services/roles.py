"""The four HTTP roles, each an app built from the domain routers it owns."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI

from erplake.core.app import Resources, create_role_app
from erplake.core.settings import Settings

ROLES = ("api", "ai", "notify", "billing")


def api_routers(settings: Settings) -> list[APIRouter]:
    from erplake.schools.router import router as schools

    return [schools]


def ai_routers(settings: Settings) -> list[APIRouter]:
    return []


def notify_routers(settings: Settings) -> list[APIRouter]:
    return []


def billing_routers(settings: Settings) -> list[APIRouter]:
    return []


_ROUTERS: dict[str, Callable[[Settings], list[APIRouter]]] = {
    "api": api_routers,
    "ai": ai_routers,
    "notify": notify_routers,
    "billing": billing_routers,
}


def create_app(role: str, settings: Settings, *, resources: Resources | None = None) -> FastAPI:
    if role not in _ROUTERS:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    return create_role_app(role, settings, _ROUTERS[role](settings), resources=resources)
