"""Issue: fees. Receipt PDFs per second on one core (target: at least 100).

No servers needed: this is pure CPU. One process, one thread, so the figure is what
one worker core gives; a logo is included because real schools have one.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import date

from PIL import Image, ImageDraw

from bench.common import Row
from erplake.pdfs.render import (
    FeeLine,
    ReceiptDoc,
    SchoolLetterhead,
    render_receipt,
    render_receipts_bundle,
)

TARGET_PER_SECOND = 100.0


def _logo() -> bytes:
    image = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((16, 16, 496, 496), fill=(30, 80, 160, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _receipts(count: int) -> list[ReceiptDoc]:
    school = SchoolLetterhead(
        name="Saraswati Vidya Mandir Senior Secondary School",
        address="Plot 12, Sector 9\nDwarka, New Delhi 110075",
        phone="+91 11 2345 6789",
        email="office@svm.example.in",
        logo=_logo(),
    )
    receipts = []
    for n in range(count):
        lines = [
            FeeLine(head="Tuition fee (Term 1)", amount=1850000 + n * 100, concession=185000),
            FeeLine(head="Transport fee (Route 12)", amount=450000, late_fee=5000),
            FeeLine(head="Exam fee", amount=120000),
            FeeLine(head="Computer lab fee", amount=60000),
        ]
        total = sum(line.net for line in lines)
        receipts.append(
            ReceiptDoc(
                school=school,
                date=date(2026, 8, 14),
                student_name=f"Student {n:05d} Sharma",
                admission_number=f"SVM/2019/{n:05d}",
                class_section="VII-B",
                guardian_name="Rohit Sharma",
                academic_year="2026-27",
                lines=lines,
                total=total,
                paid=total,
                balance=0,
                receipt_number=f"R/2026-27/{n:06d}",
                payment_mode="UPI (Razorpay)",
                payment_reference=f"pay_Bench{n:010d}",
            )
        )
    return receipts


def _rate(render_all: Callable[[], None], count: int, seconds: float) -> float:
    """Documents per second, timed on this process's CPU clock (one core)."""
    rendered = 0
    began = time.process_time()
    while True:
        render_all()
        rendered += count
        spent = time.process_time() - began
        if spent >= seconds:
            return rendered / spent


def pdf_rows(seconds: float = 3.0) -> list[Row]:
    receipts = _receipts(200)
    render_receipt(receipts[0])  # warm-up: imports, font metrics, the logo cache

    def one_by_one() -> None:
        for receipt in receipts:
            render_receipt(receipt)

    def bundled() -> None:
        render_receipts_bundle(receipts)

    single = _rate(one_by_one, len(receipts), seconds)
    bundle = _rate(bundled, len(receipts), seconds)
    return [
        Row(
            "receipt PDFs, one per file (one core)",
            f"{single:,.0f}/s",
            "-",
            "-",
            f">= {TARGET_PER_SECOND:.0f}/s",
            single >= TARGET_PER_SECOND,
        ),
        Row(
            "receipt PDFs, a day's bundle (one core)",
            f"{bundle:,.0f} pages/s",
            "-",
            "-",
            "-",
            None,
        ),
    ]


if __name__ == "__main__":
    from bench.common import print_table

    print_table(pdf_rows())
