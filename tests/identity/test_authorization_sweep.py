"""Every route of every role: anonymous → 401 unless explicitly public; a signed-in
user without the route's permission → 403. A route added without a permission
(and not listed below on purpose) fails here."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from erplake.core.app import health_router
from erplake.core.settings import Settings
from erplake.services.roles import ROLES, create_app, role_routers

# (role or "*", method, path) that anyone may call.
PUBLIC = {
    ("*", "GET", "/healthz"),
    ("*", "GET", "/readyz"),
    ("*", "GET", "/metrics"),
    ("api", "POST", "/auth/otp/start"),
    ("api", "POST", "/auth/otp/verify"),
    ("api", "POST", "/auth/refresh"),
    ("api", "POST", "/auth/logout"),
    ("notify", "POST", "/webhooks/gupshup/{token}"),
    ("notify", "GET", "/dev/inbox"),  # development only; 404 elsewhere
    # Providers sign their webhooks; a pay link's secret token is its credential.
    ("billing", "POST", "/webhooks/razorpay"),
    ("billing", "POST", "/webhooks/stripe"),
    ("billing", "GET", "/pay/{token}"),
    ("billing", "POST", "/pay/{token}/order"),
}

# Routes for any signed-in user, whatever their permissions.
SIGNED_IN_ONLY = {
    ("api", "GET", "/auth/me"),
    # A job's progress: visible to whoever started it and to holders of the
    # permission the job names (checked in erplake.core.progress).
    ("api", "GET", "/jobs/{job_id}"),
}


def _is_listed(listing: set[tuple[str, str, str]], role: str, method: str, path: str) -> bool:
    return (role, method, path) in listing or ("*", method, path) in listing


def _required_permissions(route: APIRoute) -> set[str]:
    found: set[str] = set()
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        permission = getattr(dependant.call, "required_permission", None)
        if permission:
            found.add(permission)
        stack.extend(dependant.dependencies)
    return found


def _routes(settings: Settings) -> Iterator[tuple[str, str, str, APIRoute]]:
    """Every operation of every role, checked against the role's OpenAPI schema so
    that a route added any other way is caught too."""
    for role in ROLES:
        routers = [health_router(), *role_routers(role, settings)]
        routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
        ours = {
            (method, route.path): route
            for route in routes
            for method in route.methods - {"HEAD", "OPTIONS"}
        }
        documented = {
            (method.upper(), path)
            for path, operations in create_app(role, settings).openapi()["paths"].items()
            for method in operations
        }
        in_schema = {k for k, r in ours.items() if r.include_in_schema}
        extra = documented - in_schema - {("GET", "/metrics")}
        assert not extra, f"{role}: routes not built from the role's routers: {sorted(extra)}"
        for (method, path), route in sorted(ours.items()):
            yield role, method, path, route


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def test_every_route_is_public_signed_in_only_or_declares_a_permission(settings) -> None:
    undeclared = []
    for role, method, path, route in _routes(settings):
        if _is_listed(PUBLIC, role, method, path) or _is_listed(SIGNED_IN_ONLY, role, method, path):
            continue
        if not _required_permissions(route):
            undeclared.append(f"{role} {method} {path}")
    assert undeclared == [], f"routes without a permission: {undeclared}"


async def test_anonymous_gets_401_everywhere_except_public_routes(client_for, settings) -> None:
    checked = 0
    for role, method, path, _ in _routes(settings):
        if _is_listed(PUBLIC, role, method, path):
            continue
        async with client_for(role) as client:
            kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            answer = await client.request(method, _concrete(path), **kwargs)
        assert answer.status_code == 401, f"{role} {method} {path} → {answer.status_code}"
        assert answer.json()["error"]["code"] == "unauthorized"
        checked += 1
    assert checked > 10


@pytest.fixture
async def nobody(make_user):  # type: ignore[no-untyped-def]
    """Signed in, but with no role and so no permission."""
    return await make_user()


async def test_user_without_the_permission_gets_403(client_for, settings, nobody) -> None:
    checked = 0
    for role, method, path, route in _routes(settings):
        if _is_listed(PUBLIC, role, method, path) or _is_listed(SIGNED_IN_ONLY, role, method, path):
            continue
        async with client_for(role) as client:
            kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            answer = await client.request(method, _concrete(path), headers=nobody.headers, **kwargs)
        assert answer.status_code == 403, f"{role} {method} {path} → {answer.status_code}"
        assert answer.json()["error"]["details"]["permission"] in _required_permissions(route)
        checked += 1
    assert checked > 10
