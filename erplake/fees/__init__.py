"""Fees: set-up, invoices, the ledger, counter payments, receipts, reports, reminders."""
