"""Fee reminders: rules as the accountant sets them, and the daily job that sends each
opted-in guardian the rule's WhatsApp template with the pay link, at most once per
invoice and rule however often it runs."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest

from erplake.core.db import libpq_url, transaction
from erplake.core.jobs import enqueue
from erplake.fees import ledger
from erplake.fees.reminders import REMINDER_TASK
from erplake.payments.links import invoice_id_from_token, pay_link_url
from tests.fees.factory import FeeLineSpec, add_head, add_instalment, issue_invoice
from tests.school_records import today

T = today()
DUE = T + timedelta(days=3)


def _rows(database_url: str, sql: str, *args: Any) -> list[Any]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        return conn.execute(sql, args).fetchall()


@pytest.fixture
async def invoices(resources, records) -> dict[str, uuid.UUID]:  # type: ignore[no-untyped-def]
    """₹1,000 tuition due in three days for Aarav (₹400 already paid), Diya and Kabir
    (paid in full), and Ishaan (cancelled)."""
    school_id = records.admin.school_id
    found = {}
    async with transaction(resources.sessionmaker) as session:
        tuition = await add_head(session, school_id, "TUITION", "Tuition")
        instalment = await add_instalment(session, school_id, "Term 2", DUE)
        for name in ("Aarav", "Diya", "Kabir", "Ishaan"):
            found[name] = await issue_invoice(
                session,
                school_id=school_id,
                student_id=records.students[name],
                instalment_id=instalment,
                lines=[FeeLineSpec(tuition, 100_000, 0, "Tuition")],
            )
        for name, amount in (("Aarav", 40_000), ("Kabir", 100_000)):
            await ledger.record_payment(
                session,
                None,
                school_id=school_id,
                student_id=records.students[name],
                amount=amount,
                method="cash",
                received_on=T,
            )
        await ledger.cancel_invoice(
            session, None, school_id=school_id, invoice_id=found["Ishaan"], reason="Left"
        )
    return found


async def _rule(api, user, offset: int, template: str, **extra: Any) -> Any:  # type: ignore[no-untyped-def]
    answer = await api.post(
        "/fee-reminder-rules",
        json={"name": f"{offset:+d} days", "offset_days": offset, "template": template, **extra},
        headers=user.headers,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _run_job(resources, drain_outbox, settings, school_id, on: date) -> None:  # type: ignore[no-untyped-def]
    """What the daily cron does (one job per school and day), then the sends it queued."""
    async with transaction(resources.sessionmaker) as session:
        await enqueue(session, REMINDER_TASK, {"school_id": str(school_id), "on": on.isoformat()})
    await drain_outbox(settings)  # the reminder job
    await drain_outbox(settings)  # the WhatsApp sends it queued


async def test_reminders_go_to_opted_in_guardians_with_the_amount_due_and_pay_link(
    client_for, records, invoices, make_user, resources, fake_whatsapp, drain_outbox, settings
) -> None:
    fake, fake_settings = fake_whatsapp
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        await _rule(api, accountant, -3, "tmpl-before")
        await _rule(api, accountant, 0, "tmpl-due")
    await _run_job(resources, drain_outbox, fake_settings, records.admin.school_id, T)

    to_neha = fake.messages_to("+919810000001")  # Aarav's mother
    to_vikram = fake.messages_to("+919800000005")  # Diya's father
    assert len(to_neha) == len(to_vikram) == 1
    assert fake.messages_to("+919810000002") == []  # Diya's mother did not opt in
    assert fake.messages_to("+919810000003") == []  # Kabir has paid
    assert fake.messages_to("+919810000004") == []  # Ishaan's invoice was cancelled
    neha = to_neha[0]
    assert neha.template_id == "tmpl-before"
    assert neha.params == (
        "Neha Sharma",
        "Aarav Sharma",
        "₹600.00",
        DUE.strftime("%d %b %Y"),
        pay_link_url(settings, invoices["Aarav"]),
        "Test Public School",
    )
    token = neha.params[4].rsplit("/", 1)[1]
    assert invoice_id_from_token(settings, token) == invoices["Aarav"]
    assert to_vikram[0].params[1:3] == ("Diya Singh", "₹1,000.00")


async def test_running_the_job_again_never_reminds_twice_for_a_rule(
    client_for, records, invoices, make_user, resources, fake_whatsapp, drain_outbox, database_url
) -> None:
    fake, fake_settings = fake_whatsapp
    accountant = await make_user("accountant")
    school_id = records.admin.school_id
    async with client_for("api") as api:
        await _rule(api, accountant, -3, "tmpl-before")
        await _rule(api, accountant, 0, "tmpl-due")
        await _rule(api, accountant, 7, "tmpl-late", is_active=False)
    for _ in range(2):
        await _run_job(resources, drain_outbox, fake_settings, school_id, T)
    assert len(fake.messages) == 2
    # On the due date the other rule reminds once more, again only once.
    for _ in range(2):
        await _run_job(resources, drain_outbox, fake_settings, school_id, DUE)
    assert [m.template_id for m in fake.messages] == [
        "tmpl-before",
        "tmpl-before",
        "tmpl-due",
        "tmpl-due",
    ]
    # The inactive rule sends nothing; a day no rule matches sends nothing.
    await _run_job(resources, drain_outbox, fake_settings, school_id, DUE + timedelta(days=7))
    await _run_job(resources, drain_outbox, fake_settings, school_id, T + timedelta(days=1))
    assert len(fake.messages) == 4
    assert _rows(database_url, "SELECT count(*) FROM fee_reminder_sends") == [(4,)]
    assert _rows(
        database_url,
        "SELECT count(*) FROM whatsapp_messages WHERE purpose = 'fee_reminder'",
    ) == [(4,)]


async def test_a_missed_reminder_day_is_caught_up_for_a_few_days_only(
    client_for, records, invoices, make_user, resources, fake_whatsapp, drain_outbox
) -> None:
    """No job ran between three days before the due date and two days after it: the
    due-date reminder still goes (two days late), the one five days late does not."""
    fake, fake_settings = fake_whatsapp
    accountant = await make_user("accountant")
    school_id = records.admin.school_id
    async with client_for("api") as api:
        await _rule(api, accountant, -3, "tmpl-before")
        await _rule(api, accountant, 0, "tmpl-due")
    for _ in range(2):
        await _run_job(resources, drain_outbox, fake_settings, school_id, DUE + timedelta(days=2))
    assert sorted(m.template_id for m in fake.messages) == ["tmpl-due", "tmpl-due"]
    assert {m.params[0] for m in fake.messages} == {"Neha Sharma", "Vikram Singh"}


async def test_a_paid_invoice_is_not_reminded(
    client_for, records, invoices, make_user, resources, fake_whatsapp, drain_outbox
) -> None:
    fake, fake_settings = fake_whatsapp
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        await _rule(api, accountant, -3, "tmpl-before")
    async with transaction(resources.sessionmaker) as session:
        await ledger.record_payment(
            session,
            None,
            school_id=records.admin.school_id,
            student_id=records.students["Aarav"],
            amount=60_000,
            method="cash",
            received_on=T,
        )
    await _run_job(resources, drain_outbox, fake_settings, records.admin.school_id, T)
    assert fake.messages_to("+919810000001") == []
    assert len(fake.messages) == 1  # Diya's father only


async def test_reminder_rules_crud_is_checked_audited_and_for_fee_managers(
    client_for, records, make_user, database_url
) -> None:
    accountant = await make_user("accountant")
    principal = await make_user("principal")
    async with client_for("api") as api:
        rule = await _rule(api, accountant, -3, "tmpl-before")
        taken = await api.post(
            "/fee-reminder-rules",
            json={"name": "again", "offset_days": -3, "template": "x"},
            headers=accountant.headers,
        )
        too_early = await api.post(
            "/fee-reminder-rules",
            json={"name": "early", "offset_days": -61, "template": "x"},
            headers=accountant.headers,
        )
        too_late = await api.post(
            "/fee-reminder-rules",
            json={"name": "late", "offset_days": 181, "template": "x"},
            headers=accountant.headers,
        )
        by_principal = await api.post(
            "/fee-reminder-rules",
            json={"name": "p", "offset_days": 1, "template": "x"},
            headers=principal.headers,
        )
        by_parent = await api.get("/fee-reminder-rules", headers=records.parent.headers)
        other = await _rule(api, accountant, 0, "tmpl-due")
        clash = await api.patch(
            f"/fee-reminder-rules/{other['id']}",
            json={"offset_days": -3},
            headers=accountant.headers,
        )
        changed = await api.patch(
            f"/fee-reminder-rules/{rule['id']}",
            json={"offset_days": -5, "is_active": False},
            headers=accountant.headers,
        )
        listed = await api.get("/fee-reminder-rules", headers=principal.headers)
        deleted = await api.delete(f"/fee-reminder-rules/{other['id']}", headers=accountant.headers)
        gone = await api.delete(f"/fee-reminder-rules/{other['id']}", headers=accountant.headers)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "reminder_offset_taken"
    assert too_early.status_code == too_late.status_code == 422
    assert by_principal.status_code == by_parent.status_code == 403
    assert clash.status_code == 409
    assert changed.status_code == 200
    assert (changed.json()["offset_days"], changed.json()["is_active"]) == (-5, False)
    assert [r["offset_days"] for r in listed.json()["items"]] == [-5, 0]
    assert deleted.status_code == 204 and gone.status_code == 404
    actions = [
        a
        for (a,) in _rows(
            database_url,
            "SELECT action FROM audit_log WHERE entity = 'fee_reminder_rule' ORDER BY created_at",
        )
    ]
    assert actions == [
        "fees.reminder_rule.create",
        "fees.reminder_rule.create",
        "fees.reminder_rule.update",
        "fees.reminder_rule.delete",
    ]


async def test_a_guardian_who_reads_hindi_gets_the_rules_hindi_template(
    client_for, records, invoices, make_user, resources, fake_whatsapp, drain_outbox
) -> None:
    fake, fake_settings = fake_whatsapp
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        rule = await _rule(api, accountant, -3, "tmpl-before", template_hi="tmpl-before-hi")
        assert rule["template_hi"] == "tmpl-before-hi"
    await _run_job(resources, drain_outbox, fake_settings, records.admin.school_id, T)

    # Vikram prefers Hindi; Neha has no preference (English).
    assert [m.template_id for m in fake.messages_to("+919800000005")] == ["tmpl-before-hi"]
    assert [m.template_id for m in fake.messages_to("+919810000001")] == ["tmpl-before"]

    async with client_for("api") as api:
        cleared = await api.patch(
            f"/fee-reminder-rules/{rule['id']}",
            json={"template_hi": None},
            headers=accountant.headers,
        )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["template"], cleared.json()["template_hi"]) == ("tmpl-before", None)
