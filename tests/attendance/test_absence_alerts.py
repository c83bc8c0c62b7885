"""Absence alerts: one WhatsApp template per opted-in guardian, in their language,
through the outbox; never twice for a child and day; A→P before sending cancels."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from erplake.core.db import libpq_url
from tests.attendance.test_marking import register


@pytest.fixture
async def no_delay(client_for, records) -> None:  # type: ignore[no-untyped-def]
    async with client_for("api") as api:
        answer = await api.put(
            "/attendance/settings",
            json={"mode": "daily", "alert_delay_minutes": 0},
            headers=records.admin.headers,
        )
        assert answer.status_code == 200


def _rows(database_url: str, sql: str) -> list[Any]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        return conn.execute(sql).fetchall()


async def test_an_absence_alerts_each_opted_in_guardian_in_their_language(
    client_for, records, no_delay, fake_whatsapp, drain_outbox, settings
) -> None:
    fake, fake_settings = fake_whatsapp
    async with client_for("api") as api:
        answer = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "A", "Diya": "A", "Kabir": "P"}),
            headers=records.sunita.headers,
        )
    assert answer.json()["alerts_queued"] == 2  # Neha for Aarav; Vikram (not Anita) for Diya
    assert await drain_outbox(fake_settings) == 2
    to_neha = fake.messages_to("+919810000001")
    to_vikram = fake.messages_to("+919800000005")
    assert len(to_neha) == len(to_vikram) == 1
    assert fake.messages_to("+919810000002") == []  # Anita did not opt in
    assert to_neha[0].template_id == settings.gupshup_absence_template_en
    assert to_vikram[0].template_id == settings.gupshup_absence_template_hi
    assert to_vikram[0].params[:2] == ("Vikram Singh", "Diya Singh")
    assert to_vikram[0].params[3] == "Test Public School"


async def test_resubmitting_or_editing_the_day_never_alerts_twice(
    client_for, records, no_delay, fake_whatsapp, drain_outbox, make_user
) -> None:
    fake, fake_settings = fake_whatsapp
    principal = await make_user("principal")
    absent = register(records, "6-A", {"Aarav": "A", "Diya": "P", "Kabir": "P"})
    async with client_for("api") as api:
        first = await api.post(
            "/attendance/bulk",
            json=absent,
            headers={**records.sunita.headers, "Idempotency-Key": "k1"},
        )
        await drain_outbox(fake_settings)
        # Sent again (another key), corrected to P and back to A after sending.
        again = await api.post(
            "/attendance/bulk",
            json=absent,
            headers={**records.sunita.headers, "Idempotency-Key": "k2"},
        )
        await api.post(
            "/attendance/corrections",
            json=register(records, "6-A", {"Aarav": "P"}),
            headers=principal.headers,
        )
        back = await api.post(
            "/attendance/corrections",
            json=register(records, "6-A", {"Aarav": "A"}),
            headers=principal.headers,
        )
        await drain_outbox(fake_settings)
    assert first.json()["alerts_queued"] == 1
    assert again.json()["alerts_queued"] == 0
    assert back.json()["alerts_queued"] == 0
    assert len(fake.messages_to("+919810000001")) == 1


async def test_changing_a_to_p_before_sending_cancels_the_alert(
    client_for, records, fake_whatsapp, drain_outbox, database_url
) -> None:
    fake, fake_settings = fake_whatsapp  # the default 10 minutes' grace applies
    async with client_for("api") as api:
        absent = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "A"}),
            headers=records.sunita.headers,
        )
        present = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "P"}),
            headers=records.sunita.headers,
        )
    assert absent.json()["alerts_queued"] == 1
    assert present.json()["alerts_cancelled"] == 1
    assert _rows(database_url, "SELECT status FROM outbox_jobs") == [("cancelled",)]
    assert _rows(database_url, "SELECT status FROM whatsapp_messages") == [("cancelled",)]
    # Even once its time has come, the cancelled alert is not sent.
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("UPDATE outbox_jobs SET run_after = now()")
    await drain_outbox(fake_settings)
    assert fake.messages == []


async def test_absent_again_before_sending_sends_exactly_one(
    client_for, records, no_delay, fake_whatsapp, drain_outbox
) -> None:
    fake, fake_settings = fake_whatsapp
    async with client_for("api") as api:
        for code in ("A", "P", "A", "A"):
            await api.post(
                "/attendance/bulk",
                json=register(records, "6-A", {"Aarav": code}),
                headers=records.sunita.headers,
            )
    assert await drain_outbox(fake_settings) == 1
    assert len(fake.messages_to("+919810000001")) == 1


async def test_a_pupil_who_left_is_neither_marked_nor_alerted(
    client_for, records, no_delay, fake_whatsapp, drain_outbox
) -> None:
    fake, fake_settings = fake_whatsapp
    async with client_for("api") as api:
        left = await api.post(
            f"/students/{records.students['Aarav']}/deactivate",
            json={"status": "left"},
            headers=records.admin.headers,
        )
        assert left.status_code == 200
        answer = await api.post(
            "/attendance/bulk",
            json=register(records, "6-A", {"Aarav": "A"}),
            headers=records.sunita.headers,
        )
        day_register = await api.get(
            f"/attendance/register?section_id={records.sections['6-A']}",
            headers=records.sunita.headers,
        )
    assert answer.status_code in (404, 422)  # not on the register any more
    await drain_outbox(fake_settings)
    assert fake.messages_to("+919810000001") == []
    assert "Aarav" not in day_register.text
