"""Fee receipt and invoice PDFs, drawn straight onto a ReportLab canvas.

Bulk work (a day's receipts, a whole school's invoices) renders thousands of these, so
the page is drawn with canvas calls rather than a flowing layout, only the built-in
Helvetica is used (no font files to register or embed), and a school's logo is
decoded, shrunk and re-encoded as JPEG once per process rather than once per page.
Output is deterministic (`invariant`): the same document always gives the same bytes.

Helvetica has no rupee sign, so amounts read "Rs."; text it cannot show (names in
Indian scripts, for one) prints as "?" rather than as boxes. Schools that need Indian
scripts on receipts need an embedded font, which is a separate, slower renderer.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any

from PIL import Image
from pydantic import model_validator
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from erplake.core.money import Paise, format_inr
from erplake.core.schemas import Schema
from erplake.pdfs.words import amount_in_words

__all__ = [
    "FeeLine",
    "InvoiceDoc",
    "ReceiptDoc",
    "SchoolLetterhead",
    "render_invoice",
    "render_receipt",
    "render_receipts_bundle",
]

logger = logging.getLogger(__name__)

# ReportLab wraps every compressed stream in ASCII85 by default, a 7-bit-safe armour
# PDFs have not needed for decades; without its optional C accelerator that encoding
# alone took half of a receipt's time. Process-wide, and harmless to any other use.
rl_config.useA85 = 0

REGULAR = "Helvetica"
BOLD = "Helvetica-Bold"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 15 * mm
RIGHT = PAGE_WIDTH - MARGIN
CONTENT_WIDTH = RIGHT - MARGIN
LOGO_BOX = 22 * mm
# A logo printed 22 mm wide needs no more than ~260 px for 300 dpi.
LOGO_MAX_PIXELS = 260
ROW_HEIGHT = 16.0
# Room kept below the last table row for totals, amount in words, payment and footer.
SPACE_AFTER_TABLE = 190.0


# --- What a document says --------------------------------------------------------------


class SchoolLetterhead(Schema):
    name: str
    address: str = ""
    """May span lines (newline-separated); three lines are shown."""
    phone: str | None = None
    email: str | None = None
    logo: bytes | None = None
    """PNG or JPEG; a logo that cannot be read is left out (and logged)."""


class FeeLine(Schema):
    head: str
    """The fee head, with its instalment if useful: "Tuition fee (Term 1)"."""
    amount: Paise
    concession: Paise = 0
    late_fee: Paise = 0

    @property
    def net(self) -> int:
        return self.amount - self.concession + self.late_fee


class _FeeDocument(Schema):
    school: SchoolLetterhead
    date: date
    student_name: str
    admission_number: str
    class_section: str
    """As printed: "VII-B"."""
    guardian_name: str | None = None
    academic_year: str | None = None
    lines: list[FeeLine] = []
    total: int
    """The sum of the lines' net amounts (checked when there are lines)."""
    paid: int
    balance: int
    amount_in_words: str | None = None
    """Defaults to the words for the document's headline amount."""

    @model_validator(mode="after")
    def _lines_add_up(self) -> _FeeDocument:
        if self.lines and sum(line.net for line in self.lines) != self.total:
            raise ValueError("total must equal the sum of the lines' net amounts")
        return self


class ReceiptDoc(_FeeDocument):
    """One payment's receipt. `paid` is the amount this receipt acknowledges; `balance`
    what the student still owes after it."""

    receipt_number: str
    payment_mode: str
    """Cash, cheque, UPI, bank transfer, Razorpay, ..."""
    payment_reference: str | None = None
    invoice_numbers: list[str] = []


class InvoiceDoc(_FeeDocument):
    """A fee invoice (demand). `paid` is what was received against it so far."""

    invoice_number: str
    due_date: date | None = None
    instalment: str | None = None
    """E.g. "Term 1 (Apr-Jun 2026)"."""
    pay_url: str | None = None
    """The invoice's pay-by-link address, printed for parents."""


# --- Rendering --------------------------------------------------------------------------


def render_receipt(receipt: ReceiptDoc) -> bytes:
    """One receipt as a one-page (A4) PDF."""
    canvas, buffer = _new_canvas(f"Receipt {receipt.receipt_number}", receipt.school.name)
    _draw_receipt(canvas, receipt)
    canvas.save()
    return buffer.getvalue()


def render_invoice(invoice: InvoiceDoc) -> bytes:
    """One invoice as a PDF (one page unless it has very many lines)."""
    canvas, buffer = _new_canvas(f"Invoice {invoice.invoice_number}", invoice.school.name)
    _draw_invoice(canvas, invoice)
    canvas.save()
    return buffer.getvalue()


def render_receipts_bundle(receipts: Sequence[ReceiptDoc]) -> bytes:
    """Many receipts (say, all of a day's) in one PDF, each starting on its own page.

    Raises ValueError for an empty sequence: there is no page to print.
    """
    if not receipts:
        raise ValueError("no receipts to render")
    first = receipts[0]
    canvas, buffer = _new_canvas(f"Receipts ({len(receipts)})", first.school.name)
    for receipt in receipts:
        _draw_receipt(canvas, receipt)
    canvas.save()
    return buffer.getvalue()


def _new_canvas(title: str, author: str) -> tuple[Canvas, io.BytesIO]:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(_printable(title))
    canvas.setAuthor(_printable(author))
    canvas.setCreator("ERPLake")
    return canvas, buffer


class _Sheet:
    """The page being drawn. Its text goes into one PDF text object per page, flushed
    at `end_page`: a text object per string (what `drawString` makes) costs several
    times more, and this is where the time of a receipt goes."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self._start_text()

    def _start_text(self) -> None:
        self._text = self.canvas.beginText()
        self._font: tuple[str, float] | None = None
        self._grey = 0.0

    def end_page(self) -> None:
        self.canvas.drawText(self._text)
        self.canvas.showPage()
        self._start_text()

    def write(
        self,
        x: float,
        y: float,
        text: str,
        *,
        font: str = REGULAR,
        size: float = 9,
        align: str = "left",
        grey: float = 0.0,
    ) -> None:
        if (font, size) != self._font:
            self._text.setFont(font, size)
            self._font = (font, size)
        if grey != self._grey:
            self._text.setFillGray(grey)
            self._grey = grey
        if align != "left":
            width = stringWidth(text, font, size)
            x -= width if align == "right" else width / 2
        self._text.setTextOrigin(x, y)
        self._text.textOut(text)


def _draw_receipt(canvas: Canvas, receipt: ReceiptDoc) -> None:
    left = [
        ("Receipt No.", receipt.receipt_number),
        ("Date", _date(receipt.date)),
        ("Payment mode", receipt.payment_mode),
    ]
    if receipt.payment_reference:
        left.append(("Reference", receipt.payment_reference))
    if receipt.invoice_numbers:
        left.append(("Against invoice", ", ".join(receipt.invoice_numbers)))
    totals = [
        ("Total", receipt.total, False),
        ("Received", receipt.paid, True),
        ("Balance", receipt.balance, False),
    ]
    words = receipt.amount_in_words or amount_in_words(max(receipt.paid, 0))
    _draw_document(
        _Sheet(canvas),
        receipt,
        title="FEE RECEIPT",
        left=left,
        totals=totals,
        words_label="Received with thanks",
        words=words,
        closing=[],
    )


def _draw_invoice(canvas: Canvas, invoice: InvoiceDoc) -> None:
    left = [("Invoice No.", invoice.invoice_number), ("Date", _date(invoice.date))]
    if invoice.due_date:
        left.append(("Due date", _date(invoice.due_date)))
    if invoice.instalment:
        left.append(("Instalment", invoice.instalment))
    totals = [
        ("Total", invoice.total, True),
        ("Paid", invoice.paid, False),
        ("Balance due", invoice.balance, True),
    ]
    words = invoice.amount_in_words or amount_in_words(max(invoice.total, 0))
    closing = [f"Pay online: {invoice.pay_url}"] if invoice.pay_url else []
    _draw_document(
        _Sheet(canvas),
        invoice,
        title="FEE INVOICE",
        left=left,
        totals=totals,
        words_label="Total in words",
        words=words,
        closing=closing,
    )


def _draw_document(
    sheet: _Sheet,
    document: _FeeDocument,
    *,
    title: str,
    left: list[tuple[str, str]],
    totals: list[tuple[str, int, bool]],
    words_label: str,
    words: str,
    closing: list[str],
) -> None:
    y = _draw_letterhead(sheet, document.school, title)
    right = [
        ("Student", document.student_name),
        ("Admission No.", document.admission_number),
        ("Class / Section", document.class_section),
    ]
    if document.guardian_name:
        right.append(("Parent / Guardian", document.guardian_name))
    if document.academic_year:
        right.append(("Academic year", document.academic_year))
    y = _draw_details(sheet, y, left, right)
    y = _draw_lines(sheet, y, document, title)
    y = _draw_totals(sheet, y, totals)

    y -= 22
    sheet.write(MARGIN, y, f"{words_label}:", font=BOLD)
    for line in _wrap(_printable(words), REGULAR, 9, CONTENT_WIDTH - 110):
        sheet.write(MARGIN + 110, y, line)
        y -= 12
    for text in closing:
        y -= 6
        sheet.write(MARGIN, y, _fit(_printable(text), REGULAR, 9, CONTENT_WIDTH))
        y -= 12

    sheet.write(
        MARGIN,
        MARGIN,
        "This is a computer-generated document and needs no signature.",
        size=8,
        grey=0.35,
    )
    sheet.write(RIGHT, MARGIN + 24, "Authorised signatory", align="right")
    sheet.canvas.setLineWidth(0.5)
    sheet.canvas.line(RIGHT - 110, MARGIN + 36, RIGHT, MARGIN + 36)
    sheet.end_page()


def _draw_letterhead(sheet: _Sheet, school: SchoolLetterhead, title: str) -> float:
    canvas = sheet.canvas
    top = PAGE_HEIGHT - MARGIN
    x = MARGIN
    logo = _logo(school.logo) if school.logo else None
    if logo is not None:
        with logo.lock:
            canvas.drawImage(
                logo.reader,
                MARGIN,
                top - LOGO_BOX,
                LOGO_BOX,
                LOGO_BOX,
                preserveAspectRatio=True,
                anchor="nw",
            )
        x += LOGO_BOX + 4 * mm
    width = RIGHT - x
    sheet.write(x, top - 14, _fit(_printable(school.name), BOLD, 16, width), font=BOLD, size=16)
    y = top - 28
    address = [part.strip() for part in school.address.splitlines() if part.strip()][:3]
    contact = " | ".join(p for p in (school.phone, school.email) if p)
    for text in [*address, *([contact] if contact else [])]:
        sheet.write(x, y, _fit(_printable(text), REGULAR, 9, width))
        y -= 11
    y = min(y + 11, top - LOGO_BOX) - 6
    canvas.setLineWidth(0.8)
    canvas.line(MARGIN, y, RIGHT, y)
    sheet.write(PAGE_WIDTH / 2, y - 20, title, font=BOLD, size=13, align="centre")
    return y - 36


def _draw_details(
    sheet: _Sheet, y: float, left: list[tuple[str, str]], right: list[tuple[str, str]]
) -> float:
    half = CONTENT_WIDTH / 2
    label_width = 82
    for column, pairs in ((MARGIN, left), (MARGIN + half + 6, right)):
        row_y = y
        for label, value in pairs:
            sheet.write(column, row_y, label, font=BOLD)
            text = _fit(_printable(value), REGULAR, 9, half - label_width - 10)
            sheet.write(column + label_width, row_y, text)
            row_y -= 13
    return y - 13 * max(len(left), len(right)) - 10


# Amount columns of the table, each this wide; the fee head takes the rest.
_AMOUNT_WIDTH = 78.0
_NUMBER_COLUMNS = ("Amount", "Concession", "Late fee", "Net (Rs.)")


def _amount_right(column: int) -> float:
    return RIGHT - 4 - (len(_NUMBER_COLUMNS) - 1 - column) * _AMOUNT_WIDTH


def _draw_table_header(sheet: _Sheet, y: float) -> float:
    sheet.canvas.setFillGray(0.92)
    sheet.canvas.rect(MARGIN, y - 5, CONTENT_WIDTH, ROW_HEIGHT, stroke=0, fill=1)
    sheet.canvas.setFillGray(0)
    sheet.write(MARGIN + 4, y, "#", font=BOLD)
    sheet.write(MARGIN + 24, y, "Fee head", font=BOLD)
    for n, heading in enumerate(_NUMBER_COLUMNS):
        sheet.write(_amount_right(n), y, heading, font=BOLD, align="right")
    return y - ROW_HEIGHT


def _draw_lines(sheet: _Sheet, y: float, document: _FeeDocument, title: str) -> float:
    y = _draw_table_header(sheet, y)
    head_width = _amount_right(0) - _AMOUNT_WIDTH - (MARGIN + 24)
    for number, line in enumerate(document.lines, start=1):
        if y < MARGIN + SPACE_AFTER_TABLE:
            sheet.write(RIGHT, MARGIN, "continued on the next page", size=8, align="right")
            sheet.end_page()
            y = _draw_letterhead(sheet, document.school, f"{title} (continued)")
            y = _draw_table_header(sheet, y)
        sheet.write(MARGIN + 4, y, str(number))
        sheet.write(MARGIN + 24, y, _fit(_printable(line.head), REGULAR, 9, head_width))
        values = (line.amount, line.concession, line.late_fee, line.net)
        for column, value in enumerate(values):
            shown = _money(value) if value else "-"
            sheet.write(_amount_right(column), y, shown, align="right")
        y -= ROW_HEIGHT
    if not document.lines:
        sheet.write(MARGIN + 24, y, "No fee lines", grey=0.35)
        y -= ROW_HEIGHT
    sheet.canvas.setLineWidth(0.5)
    sheet.canvas.line(MARGIN, y + ROW_HEIGHT - 5, RIGHT, y + ROW_HEIGHT - 5)
    return y


def _draw_totals(sheet: _Sheet, y: float, totals: list[tuple[str, int, bool]]) -> float:
    for label, value, strong in totals:
        font, size = (BOLD, 10) if strong else (REGULAR, 9)
        sheet.write(_amount_right(2), y, label, font=font, size=size, align="right")
        sheet.write(
            _amount_right(3), y, f"Rs. {_money(value)}", font=font, size=size, align="right"
        )
        y -= ROW_HEIGHT
    return y


# --- Text helpers --------------------------------------------------------------------


def _money(paise: int) -> str:
    return format_inr(paise).replace("₹", "")


def _date(value: date) -> str:
    return value.strftime("%d-%m-%Y")


def _printable(text: str) -> str:
    """Text Helvetica (WinAnsi) can show: ₹ becomes "Rs.", line breaks spaces, and
    anything else it lacks "?"."""
    text = text.replace("₹", "Rs. ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        text = text.encode("cp1252", "replace").decode("cp1252")
    return text.strip()


def _fit(text: str, font: str, size: float, width: float) -> str:
    """`text`, cut with an ellipsis if it would be wider than `width` points."""
    if stringWidth(text, font, size) <= width:
        return text
    ellipsis = "…"
    while text and stringWidth(text + ellipsis, font, size) > width:
        text = text[:-1]
    return text.rstrip() + ellipsis


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and stringWidth(candidate, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines


# --- Logos ---------------------------------------------------------------------------


class _Logo:
    """A logo ready to draw: a small JPEG ReportLab embeds without decoding again.

    ReportLab rewinds and reads the reader's file for each document it embeds the logo
    in, so drawing takes `lock`.
    """

    def __init__(self, reader: ImageReader) -> None:
        self.reader = reader
        self.lock = threading.Lock()


@functools.lru_cache(maxsize=16)
def _logo(data: bytes) -> _Logo | None:
    # Keyed by the bytes themselves (hash and equality), so each distinct logo is
    # decoded, shrunk and re-encoded once per process. JPEG because ReportLab embeds a
    # JPEG as it is, while a PNG would be re-compressed for every document.
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            picture: Image.Image = image
            if picture.mode in ("RGBA", "LA", "P", "PA"):
                picture = picture.convert("RGBA")
                flattened = Image.new("RGB", picture.size, (255, 255, 255))
                flattened.paste(picture, mask=picture.getchannel("A"))
                picture = flattened
            elif picture.mode != "RGB":
                picture = picture.convert("RGB")
            picture.thumbnail((LOGO_MAX_PIXELS, LOGO_MAX_PIXELS))
            encoded = io.BytesIO()
            picture.save(encoded, format="JPEG", quality=90)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        logger.warning("school logo left out of PDFs: cannot read it (%s)", exc)
        return None
    encoded.seek(0)
    reader: Any = ImageReader(encoded)
    reader.getRGBData()  # decoded once here, so drawing never decodes again
    return _Logo(reader)
