"""ASGI entry points per role, for uvicorn/gunicorn: `erplake.services.asgi:api`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from erplake.core.logging import configure_logging
from erplake.core.settings import get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def _build(role: str) -> FastAPI:
    from erplake.services.roles import create_app

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return create_app(role, settings)


def __getattr__(name: str) -> Any:
    if name in ("api", "ai", "notify", "billing"):
        return _build(name)
    raise AttributeError(name)
