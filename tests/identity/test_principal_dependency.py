"""The permission dependency reads the bearer token itself; with `CurrentPrincipal`
beside it in one request the token and its epoch are checked once."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends

from erplake.core import security
from erplake.core.app import create_role_app
from erplake.core.permissions import P
from erplake.core.security import CurrentPrincipal, Principal, require


async def _actor_name(principal: CurrentPrincipal) -> str:
    return str(principal.user_id)


def _client(settings, resources) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.get("/profile")
    async def profile(
        principal: Annotated[Principal, require(P.school_read)],
        actor: Annotated[str, Depends(_actor_name)],
    ) -> dict[str, str]:
        return {"user": str(principal.user_id), "actor": actor}

    @router.get("/settings")
    async def school_settings(
        principal: Annotated[Principal, require(P.settings_manage)],
    ) -> dict[str, str]:
        return {"user": str(principal.user_id)}

    app = create_role_app("test", settings, [router], resources=resources)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_permission_and_current_principal_authenticate_once(
    settings, resources, make_user, monkeypatch
) -> None:
    teacher = await make_user("teacher")
    calls: list[str] = []
    real = security.authenticate

    async def counting(connection, token):  # type: ignore[no-untyped-def]
        calls.append(token)
        return await real(connection, token)

    monkeypatch.setattr(security, "authenticate", counting)
    async with _client(settings, resources) as client:
        response = await client.get("/profile", headers=teacher.headers)
    assert response.status_code == 200
    assert response.json() == {"user": str(teacher.user_id), "actor": str(teacher.user_id)}
    assert calls == [teacher.token]


async def test_missing_token_is_401_and_missing_permission_is_403(
    settings, resources, make_user
) -> None:
    teacher = await make_user("teacher")
    async with _client(settings, resources) as client:
        anonymous = await client.get("/profile")
        malformed = await client.get("/profile", headers={"Authorization": "Basic abc"})
        refused = await client.get("/settings", headers=teacher.headers)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert malformed.status_code == 401
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"


def test_openapi_still_declares_the_bearer_scheme(settings, resources) -> None:
    router = APIRouter()

    @router.get("/profile")
    async def profile(principal: Annotated[Principal, require(P.school_read)]) -> None:
        """A profile."""

    schema = create_role_app("test", settings, [router], resources=resources).openapi()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert schema["paths"]["/profile"]["get"]["security"] == [{"HTTPBearer": []}]
