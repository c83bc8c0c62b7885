from __future__ import annotations

import pytest

from erplake.services.roles import ROLES


@pytest.mark.parametrize("role", ROLES)
async def test_every_role_answers_healthz_and_readyz(client_for, role: str) -> None:
    async with client_for(role) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert health.status_code == 200
    assert health.json() == {"ok": True}
    assert ready.status_code == 200
    assert ready.json() == {"ok": True, "checks": {"postgres": "ok", "redis": "ok"}}


async def test_unknown_route_answers_error_json(client_for) -> None:
    async with client_for("api") as client:
        response = await client.get("/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.headers["x-request-id"]
