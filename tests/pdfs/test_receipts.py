"""Receipt and invoice PDFs: what they say, how many pages, and that they are stable."""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import zlib
from datetime import date
from typing import Any

import pytest
from PIL import Image, ImageDraw
from pydantic import ValidationError

from erplake.pdfs import render
from erplake.pdfs.render import (
    FeeLine,
    InvoiceDoc,
    ReceiptDoc,
    SchoolLetterhead,
    render_invoice,
    render_receipt,
    render_receipts_bundle,
)

# --- Reading PDFs back -------------------------------------------------------------

_STREAM = re.compile(rb"/Length (\d+)\s*>>\s*stream\r?\n")
_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
_SIMPLE_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(match: re.Match[bytes]) -> bytes:
    escaped = match.group(1)
    if escaped[:1].isdigit():
        return bytes([int(escaped, 8)])
    return _SIMPLE_ESCAPES.get(escaped, escaped)


def pdf_strings(pdf: bytes) -> list[str]:
    """The strings a PDF shows with `Tj`, in drawing order: enough to read back what
    our renderer (built-in fonts, WinAnsi text, Flate streams) wrote, without a PDF
    library."""
    shown: list[str] = []
    for header in _STREAM.finditer(pdf):
        raw = pdf[header.end() : header.end() + int(header.group(1))]
        try:
            content = zlib.decompress(raw)
        except zlib.error:
            continue  # an image
        for text in _SHOWN.findall(content):
            shown.append(_ESCAPE.sub(_unescape, text).decode("cp1252"))
    return shown


def pdf_text(pdf: bytes) -> str:
    return "\n".join(pdf_strings(pdf))


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


# --- Documents ---------------------------------------------------------------------


def _png_logo() -> bytes:
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((20, 20, 380, 280), fill=(30, 80, 160, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _jpeg_logo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 120), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


SCHOOL = SchoolLetterhead(
    name="Saraswati Vidya Mandir",
    address="Plot 12, Sector 9\nDwarka, New Delhi 110075",
    phone="+91 11 2345 6789",
    email="office@svm.example.in",
)
LINES = [
    FeeLine(head="Tuition fee (Term 1)", amount=1850000, concession=185000),
    FeeLine(head="Transport fee (Route 12)", amount=450000, late_fee=5000),
    FeeLine(head="Exam fee", amount=120000),
]
TOTAL = 2240000


def receipt(**overrides: Any) -> ReceiptDoc:
    fields: dict[str, Any] = {
        "school": SCHOOL,
        "date": date(2026, 8, 14),
        "student_name": "Aarav Sharma",
        "admission_number": "SVM/2019/0421",
        "class_section": "VII-B",
        "guardian_name": "Rohit Sharma",
        "academic_year": "2026-27",
        "lines": LINES,
        "total": TOTAL,
        "paid": 1234567,
        "balance": TOTAL - 1234567,
        "receipt_number": "R/2026-27/000123",
        "payment_mode": "UPI (Razorpay)",
        "payment_reference": "pay_Ntu7xYz1234abc",
        "invoice_numbers": ["INV/2026-27/00088"],
    } | overrides
    return ReceiptDoc(**fields)


def invoice(**overrides: Any) -> InvoiceDoc:
    fields: dict[str, Any] = {
        "school": SCHOOL,
        "date": date(2026, 8, 1),
        "due_date": date(2026, 8, 15),
        "instalment": "Term 1",
        "student_name": "Diya Iyer",
        "admission_number": "SVM/2021/0107",
        "class_section": "III-A",
        "lines": LINES,
        "total": TOTAL,
        "paid": 0,
        "balance": TOTAL,
        "invoice_number": "INV/2026-27/00088",
        "pay_url": "https://svm.example.in/pay/6b1f0c",
    } | overrides
    return InvoiceDoc(**fields)


# --- Receipts ----------------------------------------------------------------------


def test_receipt_shows_school_student_lines_amounts_and_amount_in_words() -> None:
    pdf = render_receipt(receipt())

    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert page_count(pdf) == 1
    strings = pdf_strings(pdf)
    for expected in (
        "Saraswati Vidya Mandir",
        "Dwarka, New Delhi 110075",
        "FEE RECEIPT",
        "R/2026-27/000123",
        "14-08-2026",
        "Aarav Sharma",
        "SVM/2019/0421",
        "VII-B",
        "Rohit Sharma",
        "UPI (Razorpay)",
        "pay_Ntu7xYz1234abc",
        "INV/2026-27/00088",
        "Tuition fee (Term 1)",
        "18,500.00",
        "1,850.00",
        "16,650.00",
        "Rs. 22,400.00",
        "Rs. 12,345.67",
        "Rs. 10,054.33",
    ):
        assert expected in strings, expected
    text = " ".join(strings)
    assert "Rupees Twelve Thousand Three Hundred Forty-Five and Sixty-Seven Paise Only" in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_a_pdf_reader_finds_the_student_and_the_amount_in_words() -> None:
    pdf = render_receipt(receipt(paid=10000000, balance=TOTAL - 10000000))

    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()

    assert "Aarav Sharma" in text
    assert "Rupees One Lakh Only" in text


def test_the_same_receipt_renders_to_the_same_bytes() -> None:
    assert render_receipt(receipt()) == render_receipt(receipt())


def test_rupee_sign_is_written_rs_and_unprintable_script_does_not_break_the_page() -> None:
    pdf = render_receipt(
        receipt(student_name="आरव Sharma", payment_mode="Cash ₹", guardian_name="Zoë D'Souza")
    )

    strings = pdf_strings(pdf)
    assert "??? Sharma" in strings
    assert "Cash Rs." in strings
    assert "Zoë D'Souza" in strings
    assert not any("₹" in s for s in strings)


def test_amount_in_words_given_by_the_caller_is_printed_as_given() -> None:
    pdf = render_receipt(receipt(amount_in_words="Rupees Twelve Thousand Only (part payment)"))

    assert "Rupees Twelve Thousand Only (part payment)" in pdf_strings(pdf)


def test_long_names_are_cut_to_fit_not_run_off_the_page() -> None:
    pdf = render_receipt(receipt(student_name="Aarav " + "Venkatanarasimharajuvaripeta " * 4))

    [name] = [s for s in pdf_strings(pdf) if s.startswith("Aarav ")]
    assert name.endswith("…")
    assert len(name) < 60


def test_receipt_without_lines_still_renders() -> None:
    pdf = render_receipt(receipt(lines=[], total=0, paid=500000, balance=-500000))

    assert page_count(pdf) == 1
    assert "No fee lines" in pdf_strings(pdf)
    assert "Rs. -5,000.00" in pdf_strings(pdf)


def test_lines_that_do_not_add_up_to_the_total_are_refused() -> None:
    with pytest.raises(ValidationError, match="sum of the lines"):
        receipt(total=TOTAL + 1)


def test_negative_line_amounts_are_refused() -> None:
    with pytest.raises(ValidationError):
        FeeLine(head="Tuition", amount=-100)


# --- Logos -------------------------------------------------------------------------


@pytest.mark.parametrize("logo", [_png_logo(), _jpeg_logo()], ids=["png-with-alpha", "jpeg"])
def test_receipt_with_a_logo_embeds_one_image(logo: bytes) -> None:
    school = SCHOOL.model_copy(update={"logo": logo})

    pdf = render_receipt(receipt(school=school))

    assert pdf.count(b"/Subtype /Image") == 1
    assert "Aarav Sharma" in pdf_strings(pdf)


def test_a_logo_is_prepared_once_however_many_receipts_use_it() -> None:
    logo = _png_logo() + b""  # equal bytes, another object
    render._logo.cache_clear()

    for _ in range(5):
        school = SCHOOL.model_copy(update={"logo": bytes(logo)})
        render_receipt(receipt(school=school))

    info = render._logo.cache_info()
    assert (info.misses, info.hits) == (1, 4)


def test_a_logo_that_cannot_be_read_is_left_out_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="erplake.pdfs.render")
    school = SCHOOL.model_copy(update={"logo": b"\x89PNG\r\n\x1a\nnot really"})

    pdf = render_receipt(receipt(school=school))

    assert b"/Subtype /Image" not in pdf
    assert "Aarav Sharma" in pdf_strings(pdf)
    assert "logo left out" in caplog.text


# --- Bundles -----------------------------------------------------------------------


def test_a_days_bundle_has_one_page_per_receipt_in_order() -> None:
    receipts = [
        receipt(receipt_number=f"R/2026-27/{n:06d}", student_name=f"Student {n}")
        for n in range(1, 8)
    ]

    pdf = render_receipts_bundle(receipts)

    assert page_count(pdf) == 7
    strings = pdf_strings(pdf)
    numbers = [s for s in strings if s.startswith("R/2026-27/")]
    assert numbers == [f"R/2026-27/{n:06d}" for n in range(1, 8)]


def test_a_bundle_embeds_a_shared_logo_once() -> None:
    school = SCHOOL.model_copy(update={"logo": _png_logo()})

    pdf = render_receipts_bundle([receipt(school=school) for _ in range(5)])

    assert page_count(pdf) == 5
    assert pdf.count(b"/Subtype /Image") == 1


def test_an_empty_bundle_is_refused() -> None:
    with pytest.raises(ValueError, match="no receipts"):
        render_receipts_bundle([])


# --- Invoices ----------------------------------------------------------------------


def test_invoice_shows_due_date_balance_total_in_words_and_pay_link() -> None:
    pdf = render_invoice(invoice(paid=240000, balance=TOTAL - 240000))

    strings = pdf_strings(pdf)
    assert page_count(pdf) == 1
    for expected in (
        "FEE INVOICE",
        "INV/2026-27/00088",
        "15-08-2026",
        "Term 1",
        "Diya Iyer",
        "III-A",
        "Rs. 22,400.00",
        "Rs. 2,400.00",
        "Rs. 20,000.00",
        "Pay online: https://svm.example.in/pay/6b1f0c",
    ):
        assert expected in strings, expected
    assert "Rupees Twenty-Two Thousand Four Hundred Only" in " ".join(strings)


def test_invoice_with_many_lines_continues_on_a_second_page() -> None:
    lines = [FeeLine(head=f"Activity fee {n}", amount=10000) for n in range(1, 41)]

    pdf = render_invoice(invoice(lines=lines, total=400000, balance=400000))

    strings = pdf_strings(pdf)
    assert page_count(pdf) == 2
    assert "FEE INVOICE (continued)" in strings
    assert [s for s in strings if s.startswith("Activity fee")] == [
        f"Activity fee {n}" for n in range(1, 41)
    ]
    assert strings.index("FEE INVOICE (continued)") < strings.index("Rs. 4,000.00")
