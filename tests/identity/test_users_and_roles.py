"""Admins manage users and roles; every change is audited; tokens follow at once."""

from __future__ import annotations

import pytest


@pytest.fixture
async def admin(make_user):  # type: ignore[no-untyped-def]
    return await make_user("admin", phone="+919800000001", name="Asha Verma")


async def test_admin_invites_a_teacher_by_phone(client_for, admin) -> None:
    async with client_for("api") as api:
        answer = await api.post(
            "/users",
            json={"phone": "98765 11111", "name": "Ravi Kumar", "roles": ["teacher"]},
            headers=admin.headers,
        )
        listed = await api.get("/users?role=teacher", headers=admin.headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["phone"] == "+919876511111"
    assert answer.json()["roles"] == ["teacher"]
    assert [u["name"] for u in listed.json()["items"]] == ["Ravi Kumar"]


async def test_inviting_an_existing_phone_is_409_and_bad_phone_is_422(client_for, admin) -> None:
    body = {"phone": "+919800000001", "name": "Again", "roles": ["teacher"]}
    async with client_for("api") as api:
        dup = await api.post("/users", json=body, headers=admin.headers)
        bad = await api.post(
            "/users", json={**body, "phone": "011 2345 6789"}, headers=admin.headers
        )
        unknown_role = await api.post(
            "/users",
            json={**body, "phone": "+919876500000", "roles": ["wizard"]},
            headers=admin.headers,
        )
        users = await api.get("/users", headers=admin.headers)
    assert dup.status_code == 409
    assert bad.status_code == 422
    assert unknown_role.status_code == 422
    assert users.json()["total"] == 1


async def test_teacher_cannot_manage_users(client_for, make_user) -> None:
    teacher = await make_user("teacher")
    async with client_for("api") as api:
        answer = await api.post(
            "/users",
            json={"phone": "+919876511111", "name": "X", "roles": ["admin"]},
            headers=teacher.headers,
        )
    assert answer.status_code == 403
    assert answer.json()["error"]["details"]["permission"] == "users:manage"


async def test_deactivated_user_is_refused_at_once(client_for, admin, make_user) -> None:
    teacher = await make_user("teacher")
    async with client_for("api") as api:
        before = await api.get("/auth/me", headers=teacher.headers)
        off = await api.post(f"/users/{teacher.user_id}/deactivate", headers=admin.headers)
        after = await api.get("/auth/me", headers=teacher.headers)
        otp = await api.post("/auth/otp/start", json={"phone": teacher.phone})
    assert before.status_code == 200
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "token_revoked"
    assert otp.status_code == 200  # same answer as anyone, but no code is sent


async def test_deactivated_user_cannot_refresh(
    client_for, admin, make_user, fake_whatsapp, drain_outbox
) -> None:
    fake, fake_settings = fake_whatsapp
    teacher = await make_user("teacher", phone="+919812300000")
    async with client_for("api") as api:
        await api.post("/auth/otp/start", json={"phone": teacher.phone})
        await drain_outbox(fake_settings)
        (code,) = fake.last_to(teacher.phone).params
        pair = (
            await api.post("/auth/otp/verify", json={"phone": teacher.phone, "code": code})
        ).json()
        await api.post(f"/users/{teacher.user_id}/deactivate", headers=admin.headers)
        refreshed = await api.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 401


async def test_changing_roles_invalidates_old_tokens(client_for, admin, make_user) -> None:
    teacher = await make_user("teacher")
    async with client_for("api") as api:
        changed = await api.put(
            f"/users/{teacher.user_id}/roles",
            json={"roles": ["accountant"]},
            headers=admin.headers,
        )
        old = await api.get("/auth/me", headers=teacher.headers)
    assert changed.json()["roles"] == ["accountant"]
    assert old.status_code == 401


async def test_admin_creates_a_custom_role_from_the_permission_list(
    client_for, admin, make_user
) -> None:
    async with client_for("api") as api:
        perms = await api.get("/permissions", headers=admin.headers)
        created = await api.post(
            "/roles",
            json={
                "name": "librarian",
                "description": "Library desk",
                "permissions": ["students:read", "school:read"],
            },
            headers=admin.headers,
        )
        bad = await api.post(
            "/roles", json={"name": "hacker", "permissions": ["root:all"]}, headers=admin.headers
        )
        builtin = next(
            r
            for r in (await api.get("/roles", headers=admin.headers)).json()
            if r["name"] == "teacher"
        )
        edit_builtin = await api.patch(
            f"/roles/{builtin['id']}", json={"permissions": []}, headers=admin.headers
        )
    assert "audit:read" in {p["code"] for p in perms.json()}
    assert created.status_code == 201
    assert created.json()["permissions"] == ["school:read", "students:read"]
    assert bad.status_code == 422
    assert edit_builtin.status_code == 409


async def test_every_admin_write_is_in_the_audit_log(client_for, admin) -> None:
    async with client_for("api") as api:
        invited = await api.post(
            "/users",
            json={"phone": "+919876511111", "name": "Ravi", "roles": ["teacher"]},
            headers={**admin.headers, "X-Request-ID": "req-invite-1"},
        )
        user_id = invited.json()["id"]
        await api.put(
            f"/users/{user_id}/roles", json={"roles": ["accountant"]}, headers=admin.headers
        )
        await api.post(f"/users/{user_id}/deactivate", headers=admin.headers)
        log = await api.get("/audit?entity=user", headers=admin.headers)
    entries = log.json()["items"]
    assert [e["action"] for e in entries] == ["user.deactivate", "user.roles", "user.invite"]
    invite = entries[-1]
    assert invite["actor_user_id"] == str(admin.user_id)
    assert invite["entity_id"] == user_id
    assert invite["request_id"] == "req-invite-1"
    assert invite["ip"] == "203.0.113.7"
    assert entries[1]["changes"]["roles"] == {"before": ["teacher"], "after": ["accountant"]}
    assert entries[0]["changes"]["is_active"] == {"before": True, "after": False}


async def test_audit_log_refuses_updates_and_deletes(resources, client_for, admin) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    async with client_for("api") as api:
        await api.post(
            "/users",
            json={"phone": "+919876511111", "name": "Ravi", "roles": ["teacher"]},
            headers=admin.headers,
        )
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        async with resources.engine.connect() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(statement))


async def test_audit_log_is_readable_only_with_audit_read(client_for, make_user) -> None:
    accountant = await make_user("accountant")
    principal = await make_user("principal")
    async with client_for("api") as api:
        denied = await api.get("/audit", headers=accountant.headers)
        allowed = await api.get("/audit", headers=principal.headers)
    assert denied.status_code == 403
    assert allowed.status_code == 200


async def test_users_of_another_school_are_invisible(client_for, admin, resources) -> None:
    from erplake.core.db import transaction
    from erplake.identity.rbac import ensure_builtin_roles
    from erplake.models.identity import User
    from erplake.models.school import School

    async with transaction(resources.sessionmaker) as session:
        other = School(code="other", name="Other School")
        session.add(other)
        await session.flush()
        await ensure_builtin_roles(session, school_id=other.id)
        stranger = User(school_id=other.id, phone="+919899999999", name="Stranger")
        session.add(stranger)
        await session.flush()
        stranger_id = stranger.id
    async with client_for("api") as api:
        listed = await api.get("/users", headers=admin.headers)
        poke = await api.post(f"/users/{stranger_id}/deactivate", headers=admin.headers)
    assert "Stranger" not in [u["name"] for u in listed.json()["items"]]
    assert poke.status_code == 404


async def test_me_answers_a_user_with_no_children_or_sections(client_for, make_user) -> None:
    parent = await make_user("parent")
    async with client_for("api") as api:
        me = await api.get("/auth/me", headers=parent.headers)
    assert me.status_code == 200
    assert "children" in me.json() and "sections" in me.json()


async def test_users_manage_alone_cannot_make_admins(client_for, admin, make_user) -> None:
    async with client_for("api") as api:
        created = await api.post(
            "/roles",
            json={"name": "office", "permissions": ["users:manage", "school:read"]},
            headers=admin.headers,
        )
        assert created.status_code == 201
        clerk = await make_user("office")
        someone = await make_user("teacher")
        escalate = await api.put(
            f"/users/{someone.user_id}/roles", json={"roles": ["admin"]}, headers=clerk.headers
        )
        self_escalate = await api.put(
            f"/users/{clerk.user_id}/roles", json={"roles": ["admin"]}, headers=clerk.headers
        )
        by_admin = await api.put(
            f"/users/{someone.user_id}/roles", json={"roles": ["admin"]}, headers=admin.headers
        )
    assert escalate.status_code == self_escalate.status_code == 403
    assert by_admin.status_code == 200


async def test_the_last_admin_cannot_be_removed_or_deactivated(
    client_for, admin, make_user
) -> None:
    other = await make_user("admin")
    async with client_for("api") as api:
        demote_other = await api.put(
            f"/users/{other.user_id}/roles", json={"roles": ["teacher"]}, headers=admin.headers
        )
        assert demote_other.status_code == 200  # one admin is left
        demote_last = await api.put(
            f"/users/{admin.user_id}/roles", json={"roles": ["teacher"]}, headers=admin.headers
        )
    assert demote_last.status_code == 409
    assert "at least one active admin" in demote_last.json()["error"]["message"]
