"""The school's profile: everyone signed in reads it; an admin changes it, audited;
bad input changes nothing."""

from __future__ import annotations

import psycopg

from erplake.core.db import libpq_url


async def test_an_admin_edits_the_profile_and_others_cannot(
    client_for, make_user, database_url
) -> None:  # type: ignore[no-untyped-def]
    admin = await make_user("admin", phone="+919800000001")
    teacher = await make_user("teacher", phone="+919800000004")
    async with client_for("api") as api:
        changed = await api.patch(
            "/school",
            json={"name": "Green Valley School", "phone": "98000 12345", "address": None},
            headers=admin.headers,
        )
        refused = await api.patch("/school", json={"name": "Mine"}, headers=teacher.headers)
        bad = [
            await api.patch("/school", json=body, headers=admin.headers)
            for body in (
                {"timezone": "Mars/Olympus"},
                {"email": "not-an-email"},
                {"phone": "12345"},
                {"name": None},
                {"code": "other"},
            )
        ]
        read = await api.get("/school", headers=teacher.headers)

    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["phone"]) == (
        "Green Valley School",
        "+919800012345",
    )
    assert refused.status_code == 403
    assert [b.status_code for b in bad] == [422] * 5, [b.text for b in bad]
    assert read.json()["name"] == "Green Valley School"  # nothing bad was written
    with psycopg.connect(libpq_url(database_url)) as conn:
        audit = conn.execute(
            "SELECT changes FROM audit_log WHERE action = 'school.update'"
        ).fetchall()
    assert len(audit) == 1
    assert audit[0][0]["name"]["after"] == "Green Valley School"
