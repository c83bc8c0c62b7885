"""Receipt and invoice PDFs: rendered by the worker after the payment commits, kept
in storage, downloadable (parents: their own children's only), and a day's receipts
as one PDF through a job. The text is read back from the PDFs' content streams."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from PIL import Image

from erplake.core.db import libpq_url, transaction
from erplake.fees import ledger
from erplake.fees.documents import logo_key
from erplake.payments.links import pay_link_url
from erplake.storage import get_storage
from tests.fees.factory import FeeLineSpec, add_head, add_instalment, issue_invoice
from tests.pdfs.test_receipts import page_count, pdf_strings
from tests.school_records import today

T = today()


def pdf_text(pdf: bytes) -> str:
    """The text the PDF shows, words separated by single spaces."""
    return " ".join(" ".join(pdf_strings(pdf)).split())


def _rows(database_url: str, sql: str, *args: Any) -> list[Any]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        return conn.execute(sql, args).fetchall()


@pytest.fixture
async def invoices(resources, records) -> dict[str, uuid.UUID]:  # type: ignore[no-untyped-def]
    """Term 1 for Aarav and Diya: tuition ₹1,00,000 (Aarav: less ₹10,000) and
    transport ₹25,000."""
    school_id = records.admin.school_id
    found = {}
    async with transaction(resources.sessionmaker) as session:
        tuition = await add_head(session, school_id, "TUITION", "Tuition fee")
        transport = await add_head(session, school_id, "TRANSPORT", "Transport fee")
        term = await add_instalment(session, school_id, "Term 1", T - timedelta(days=5))
        for name, concession in (("Aarav", 1_000_000), ("Diya", 0)):
            found[name] = await issue_invoice(
                session,
                school_id=school_id,
                student_id=records.students[name],
                instalment_id=term,
                lines=[
                    FeeLineSpec(tuition, 10_000_000, concession, "Tuition fee"),
                    FeeLineSpec(transport, 2_500_000, 0, "Transport fee"),
                ],
            )
    return found


async def _pay(api, user, student_id, amount: int, day=T) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    answer = await api.post(
        "/payments",
        json={
            "student_id": str(student_id),
            "amount": amount,
            "method": "cash",
            "received_on": str(day),
        },
        headers={**user.headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_the_worker_renders_and_keeps_the_receipt_after_the_payment_commits(
    client_for, records, invoices, make_user, drain_outbox, settings, database_url
) -> None:
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        paid = await _pay(api, accountant, records.students["Aarav"], 10_000_000)
        before = await api.get(f"/payments/{paid['payment_id']}", headers=accountant.headers)
        assert before.json()["receipt_ready"] is False
        await drain_outbox(settings)
        after = await api.get(f"/payments/{paid['payment_id']}", headers=accountant.headers)
        pdf = await api.get(
            f"/payments/{paid['payment_id']}/receipt.pdf", headers=records.parent.headers
        )
        own = await api.get(
            f"/payments/{paid['payment_id']}/receipt.pdf", headers=accountant.headers
        )
    assert after.json()["receipt_ready"] is True
    ((key,),) = _rows(database_url, "SELECT receipt_key FROM payments")
    stored = await get_storage(settings).get(key)
    assert pdf.status_code == 404  # Aarav is not Vikram's child
    assert own.status_code == 200 and own.headers["content-type"] == "application/pdf"
    assert own.content == stored
    text = pdf_text(stored)
    for expected in (
        "Test Public School",
        "FEE RECEIPT",
        "Aarav Sharma",
        "GV-001",
        "6-A",
        paid["receipt_label"],
        "Cash",
        "Term 1 fees",
        "1,00,000.00",
        "Rupees One Lakh Only",
    ):
        assert expected in text, expected


async def test_a_receipt_not_rendered_yet_is_rendered_on_the_spot_for_its_parent(
    client_for, records, invoices, make_user
) -> None:
    accountant = await make_user("accountant")
    async with client_for("api") as api:
        paid = await _pay(api, accountant, records.students["Diya"], 12_345_678)
        pdf = await api.get(
            f"/payments/{paid['payment_id']}/receipt.pdf", headers=records.parent.headers
        )
    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    assert "Diya Singh" in text
    assert "Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six" in text
    assert "Seventy-Eight Paise Only" in text


async def test_the_schools_logo_is_printed_when_one_is_kept(
    client_for, records, invoices, make_user, settings
) -> None:
    accountant = await make_user("accountant")
    image = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(image, format="PNG")
    async with client_for("api") as api:
        paid = await _pay(api, accountant, records.students["Aarav"], 100_000)
        plain = await api.get(
            f"/payments/{paid['payment_id']}/receipt.pdf", headers=accountant.headers
        )
        await get_storage(settings).put(
            logo_key(records.admin.school_id), image.getvalue(), "image/png"
        )
        with_logo = await api.get(
            f"/payments/{paid['payment_id']}/receipt.pdf", headers=accountant.headers
        )
    assert b"/Subtype /Image" not in plain.content
    assert b"/Subtype /Image" in with_logo.content


async def test_an_invoice_pdf_shows_its_lines_figures_and_pay_link_as_they_stand(
    client_for, records, invoices, make_user, drain_outbox, settings, database_url
) -> None:
    accountant = await make_user("accountant")
    diya = invoices["Diya"]
    async with client_for("api") as api:
        first = await api.get(f"/invoices/{diya}/invoice.pdf", headers=records.parent.headers)
        other = await api.get(
            f"/invoices/{invoices['Aarav']}/invoice.pdf", headers=records.parent.headers
        )
        await _pay(api, accountant, records.students["Diya"], 5_000_000)
        await drain_outbox(settings)  # the receipt, and the invoice's kept copy
        ((key,),) = _rows(database_url, "SELECT pdf_key FROM invoices WHERE id = %s", diya)
        kept = await api.get(f"/invoices/{diya}/invoice.pdf", headers=records.parent.headers)
        await _pay(api, accountant, records.students["Diya"], 7_500_000)
        fresh = await api.get(f"/invoices/{diya}/invoice.pdf", headers=accountant.headers)
    assert first.status_code == 200 and other.status_code == 404
    text = pdf_text(first.content)
    for expected in (
        "FEE INVOICE",
        "Diya Singh",
        "Term 1",
        "Tuition fee",
        "Transport fee",
        "1,25,000.00",
        "Rupees One Lakh Twenty-Five Thousand Only",
        pay_link_url(settings, diya),
    ):
        assert expected in text, expected
    assert kept.content == await get_storage(settings).get(key)
    assert "75,000.00" in pdf_text(kept.content)  # balance due after ₹50,000
    paid_up = pdf_text(fresh.content)
    assert "1,25,000.00" in paid_up
    assert pay_link_url(settings, diya) not in paid_up  # nothing left to pay


async def test_all_receipts_of_a_day_come_as_one_pdf_from_a_job(
    client_for, records, invoices, make_user, drain_outbox, settings
) -> None:
    accountant = await make_user("accountant")
    colleague = await make_user("accountant")
    async with client_for("api") as api:
        first = await _pay(api, accountant, records.students["Aarav"], 100_000)
        second = await _pay(api, accountant, records.students["Diya"], 200_000)
        await _pay(api, accountant, records.students["Diya"], 300_000, day=T - timedelta(1))
        started = await api.post("/receipts/day", json={"date": str(T)}, headers=accountant.headers)
        empty = await api.post(
            "/receipts/day", json={"date": str(T - timedelta(2))}, headers=accountant.headers
        )
        by_parent = await api.post(
            "/receipts/day", json={"date": str(T)}, headers=records.parent.headers
        )
        assert started.status_code == 202, started.text
        job = started.json()
        too_soon = await api.get(job["download_url"], headers=accountant.headers)
        await drain_outbox(settings)
        status = await api.get(job["status_url"], headers=colleague.headers)
        bundle = await api.get(job["download_url"], headers=colleague.headers)
        nothing = await api.get(empty.json()["download_url"], headers=accountant.headers)
        nothing_status = await api.get(empty.json()["status_url"], headers=accountant.headers)
    assert by_parent.status_code == 403
    assert too_soon.status_code == 404
    assert status.json()["status"] == "done"
    assert status.json()["result"]["receipts"] == 2
    assert bundle.status_code == 200
    assert page_count(bundle.content) == 2
    text = pdf_text(bundle.content)
    assert text.index(first["receipt_label"]) < text.index(second["receipt_label"])
    assert "Rupees Three Thousand Only" not in text  # yesterday's receipt
    assert nothing_status.json()["result"]["receipts"] == 0
    assert nothing.status_code == 404


async def test_a_days_bundle_numbers_online_receipts_still_waiting_for_their_number(
    client_for, records, invoices, make_user, drain_outbox, settings, resources, database_url
) -> None:
    accountant = await make_user("accountant")
    async with transaction(resources.sessionmaker) as session:
        online = await ledger.record_payment(
            session,
            None,
            school_id=records.admin.school_id,
            student_id=records.students["Diya"],
            amount=250_000,
            method="razorpay",
            received_on=T,
            provider_payment_id="pay_Waiting000001",
            render_receipt=False,  # as if its receipt job had not run yet
        )
    assert online.receipt_label is None
    async with client_for("api") as api:
        counter_paid = await _pay(api, accountant, records.students["Aarav"], 100_000)
        started = await api.post("/receipts/day", json={"date": str(T)}, headers=accountant.headers)
        await drain_outbox(settings)
        job = started.json()
        status = await api.get(job["status_url"], headers=accountant.headers)
        bundle = await api.get(job["download_url"], headers=accountant.headers)

    ((label,),) = _rows(
        database_url, "SELECT receipt_label FROM payments WHERE id = %s", online.payment_id
    )
    assert counter_paid["receipt_label"].endswith("/00001")
    assert label.endswith("/00002")  # numbered by the bundle's job, after the counter's
    assert status.json()["result"]["receipts"] == 2
    text = pdf_text(bundle.content)
    assert counter_paid["receipt_label"] in text and label in text
