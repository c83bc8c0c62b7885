"""Fee receipts and invoices as PDF, and amounts in words the Indian way.

Rendering is pure CPU and meant for the worker: the billing domain builds a
`ReceiptDoc`/`InvoiceDoc` from its rows, renders it here and keeps the bytes in
storage.
"""

from erplake.pdfs.render import (
    FeeLine,
    InvoiceDoc,
    ReceiptDoc,
    SchoolLetterhead,
    render_invoice,
    render_receipt,
    render_receipts_bundle,
)
from erplake.pdfs.words import amount_in_words, number_in_words

__all__ = [
    "FeeLine",
    "InvoiceDoc",
    "ReceiptDoc",
    "SchoolLetterhead",
    "amount_in_words",
    "number_in_words",
    "render_invoice",
    "render_receipt",
    "render_receipts_bundle",
]
