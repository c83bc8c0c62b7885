"""A teacher looking up a parent sees only the children they teach."""

from __future__ import annotations


async def test_teacher_sees_only_the_siblings_in_own_sections(client_for, records) -> None:
    async with client_for("api") as api:
        by_teacher = await api.get("/guardians?q=Vikram", headers=records.sunita.headers)
        by_admin = await api.get("/guardians?q=Vikram", headers=records.admin.headers)
        guardian_id = by_admin.json()["items"][0]["id"]
        detail = await api.get(f"/guardians/{guardian_id}", headers=records.sunita.headers)
    assert [c["name"] for c in by_admin.json()["items"][0]["children"]] == [
        "Diya Singh",
        "Rohan Singh",
    ]
    # Sunita teaches 6-A (Diya), not 7-A (Rohan).
    assert [c["name"] for c in by_teacher.json()["items"][0]["children"]] == ["Diya Singh"]
    assert [c["name"] for c in detail.json()["children"]] == ["Diya Singh"]
