"""Access tokens are checked strictly; refresh tokens rotate and detect theft."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest

from erplake.core.security import ISSUER


async def _sign_in(client_for, make_user, fake_whatsapp, drain_outbox, phone: str) -> dict:  # type: ignore[no-untyped-def]
    fake, fake_settings = fake_whatsapp
    async with client_for("api") as api:
        await api.post("/auth/otp/start", json={"phone": phone})
        await drain_outbox(fake_settings)
        (code,) = fake.last_to(phone).params
        answer = await api.post("/auth/otp/verify", json={"phone": phone, "code": code})
    assert answer.status_code == 200
    return answer.json()


@pytest.fixture
async def teacher_tokens(client_for, make_user, fake_whatsapp, drain_outbox) -> dict:  # type: ignore[no-untyped-def]
    await make_user("teacher", phone="+919812345678", name="Sunita Rao")
    return await _sign_in(client_for, make_user, fake_whatsapp, drain_outbox, "+919812345678")


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _me(client_for, token: str):  # type: ignore[no-untyped-def]
    async with client_for("api") as api:
        return await api.get("/auth/me", headers={"Authorization": f"Bearer {token}"})


async def test_access_token_carries_user_school_roles_and_lasts_15_minutes(
    teacher_tokens,
) -> None:
    claims = _claims(teacher_tokens["access_token"])
    assert claims["roles"] == ["teacher"]
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert uuid.UUID(claims["sub"]) and uuid.UUID(claims["sch"])


async def test_token_with_bad_signature_is_refused(client_for, teacher_tokens) -> None:
    head, body, sig = teacher_tokens["access_token"].split(".")
    tampered = f"{head}.{body}.{sig[:-4]}AAAA"
    answer = await _me(client_for, tampered)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_token"


async def test_token_with_alg_none_is_refused(client_for, teacher_tokens) -> None:
    claims = _claims(teacher_tokens["access_token"])
    claims["roles"] = ["admin"]
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    answer = await _me(client_for, forged)
    assert answer.status_code == 401


async def test_token_signed_with_another_key_is_refused(client_for, teacher_tokens) -> None:
    claims = _claims(teacher_tokens["access_token"])
    forged = jwt.encode(claims, "another-key-that-is-long-enough-for-hs256!!", algorithm="HS256")
    assert (await _me(client_for, forged)).status_code == 401


async def test_expired_token_is_refused(client_for, settings, teacher_tokens) -> None:
    claims = _claims(teacher_tokens["access_token"])
    claims["iat"], claims["exp"] = int(time.time()) - 1000, int(time.time()) - 100
    expired = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    answer = await _me(client_for, expired)
    assert answer.status_code == 401
    assert "expired" in answer.json()["error"]["message"]


async def test_token_without_issuer_is_refused(client_for, settings, teacher_tokens) -> None:
    claims = _claims(teacher_tokens["access_token"])
    assert claims["iss"] == ISSUER
    del claims["iss"]
    forged = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    assert (await _me(client_for, forged)).status_code == 401


async def test_missing_or_malformed_authorization_is_401(client_for) -> None:
    async with client_for("api") as api:
        none = await api.get("/auth/me")
        basic = await api.get("/auth/me", headers={"Authorization": "Basic dXNlcjpwdw=="})
        garbage = await api.get("/auth/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert none.status_code == basic.status_code == garbage.status_code == 401
    assert none.headers["www-authenticate"] == "Bearer"


async def test_refresh_rotates_and_the_new_pair_works(client_for, teacher_tokens) -> None:
    async with client_for("api") as api:
        rotated = await api.post(
            "/auth/refresh", json={"refresh_token": teacher_tokens["refresh_token"]}
        )
    assert rotated.status_code == 200
    pair = rotated.json()
    assert pair["refresh_token"] != teacher_tokens["refresh_token"]
    assert (await _me(client_for, pair["access_token"])).status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    client_for, teacher_tokens
) -> None:
    async with client_for("api") as api:
        first = await api.post(
            "/auth/refresh", json={"refresh_token": teacher_tokens["refresh_token"]}
        )
        stolen_reuse = await api.post(
            "/auth/refresh", json={"refresh_token": teacher_tokens["refresh_token"]}
        )
        legit_next = await api.post(
            "/auth/refresh", json={"refresh_token": first.json()["refresh_token"]}
        )
    assert first.status_code == 200
    assert stolen_reuse.status_code == 401
    assert stolen_reuse.json()["error"]["code"] == "refresh_reused"
    assert legit_next.status_code == 401
    assert legit_next.json()["error"]["code"] == "refresh_invalid"


async def test_reuse_does_not_touch_other_logins_of_the_same_user(
    client_for, make_user, fake_whatsapp, drain_outbox, teacher_tokens, settings
) -> None:
    import redis

    redis.Redis.from_url(settings.redis_url).delete("otp:cooldown:+919812345678")
    other = await _sign_in(client_for, make_user, fake_whatsapp, drain_outbox, "+919812345678")
    async with client_for("api") as api:
        await api.post("/auth/refresh", json={"refresh_token": teacher_tokens["refresh_token"]})
        await api.post("/auth/refresh", json={"refresh_token": teacher_tokens["refresh_token"]})
        other_refresh = await api.post(
            "/auth/refresh", json={"refresh_token": other["refresh_token"]}
        )
    assert other_refresh.status_code == 200


async def test_logout_revokes_the_refresh_token(client_for, teacher_tokens) -> None:
    async with client_for("api") as api:
        out = await api.post(
            "/auth/logout", json={"refresh_token": teacher_tokens["refresh_token"]}
        )
        after = await api.post(
            "/auth/refresh", json={"refresh_token": teacher_tokens["refresh_token"]}
        )
    assert out.status_code == 204
    assert after.status_code == 401


async def test_unknown_refresh_token_is_refused(client_for) -> None:
    async with client_for("api") as api:
        answer = await api.post("/auth/refresh", json={"refresh_token": "x" * 43})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "refresh_invalid"


async def test_reuse_also_ends_the_thiefs_access_token_and_is_audited(
    client_for, teacher_tokens, resources
) -> None:
    from sqlalchemy import text

    async with client_for("api") as api:
        stolen = teacher_tokens["access_token"]
        await api.post("/auth/refresh", json={"refresh_token": teacher_tokens["refresh_token"]})
        assert (await _me(client_for, stolen)).status_code == 200
        reused = await api.post(
            "/auth/refresh", json={"refresh_token": teacher_tokens["refresh_token"]}
        )
    assert reused.status_code == 401
    assert (await _me(client_for, stolen)).status_code == 401
    async with resources.engine.connect() as conn:
        actions = (await conn.execute(text("SELECT action FROM audit_log"))).scalars().all()
    assert "auth.refresh_reused" in actions
