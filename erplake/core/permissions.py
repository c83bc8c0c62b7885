"""The permission catalogue and the built-in roles (seeded per school)."""

from __future__ import annotations

from enum import StrEnum


class P(StrEnum):
    school_read = "school:read"
    students_read = "students:read"
    students_write = "students:write"
    attendance_read = "attendance:read"
    attendance_mark = "attendance:mark"
    attendance_edit = "attendance:edit"
    leave_apply = "leave:apply"
    leave_approve = "leave:approve"
    fees_read = "fees:read"
    fees_manage = "fees:manage"
    concessions_approve = "concessions:approve"
    payments_record = "payments:record"
    invoices_read = "invoices:read"
    chat_use = "chat:use"
    chat_manage = "chat:manage"
    social_manage = "social:manage"
    campaigns_send = "campaigns:send"
    ai_use = "ai:use"
    ai_approve = "ai:approve"
    users_manage = "users:manage"
    settings_manage = "settings:manage"
    audit_read = "audit:read"
    reports_read = "reports:read"


DESCRIPTIONS: dict[P, str] = {
    P.school_read: "See the school's profile",
    P.students_read: "See student and guardian records",
    P.students_write: "Enrol, edit and deactivate students and guardians",
    P.attendance_read: "See attendance registers and reports",
    P.attendance_mark: "Mark attendance for assigned sections",
    P.attendance_edit: "Edit attendance after the day, within the allowed window",
    P.leave_apply: "Apply for leave for one's own children",
    P.leave_approve: "Approve or reject leave for one's sections (the whole school for staff)",
    P.fees_read: "See fee structures, concessions and late-fee rules",
    P.fees_manage: "Set fee heads, structures, concessions and late-fee rules",
    P.concessions_approve: "Approve or reject fee concessions",
    P.payments_record: "Record counter payments and issue receipts",
    P.invoices_read: "See invoices, payments and receipts",
    P.chat_use: "Use parent-teacher chat",
    P.chat_manage: "Set up any section's parent group",
    P.social_manage: "Manage the school's social posts",
    P.campaigns_send: "Send WhatsApp campaigns",
    P.ai_use: "Ask for AI drafts",
    P.ai_approve: "Approve AI drafts before they are sent",
    P.users_manage: "Invite users, assign roles, deactivate users",
    P.settings_manage: "Change school settings",
    P.audit_read: "Read the audit log",
    P.reports_read: "See school-wide reports",
}

ALL = frozenset(P)

BUILTIN_ROLES: dict[str, tuple[str, frozenset[P]]] = {
    "admin": ("Runs the school's ERPLake: every permission", ALL),
    "principal": (
        "Sees everything, approves circulars and AI drafts",
        frozenset(
            {
                P.school_read,
                P.students_read,
                P.attendance_read,
                P.attendance_edit,
                P.leave_approve,
                P.fees_read,
                P.concessions_approve,
                P.invoices_read,
                P.chat_use,
                P.chat_manage,
                P.campaigns_send,
                P.ai_use,
                P.ai_approve,
                P.audit_read,
                P.reports_read,
                P.social_manage,
            }
        ),
    ),
    "accountant": (
        "Fees, invoices, counter payments and collection reports",
        frozenset(
            {
                P.school_read,
                P.students_read,
                P.fees_read,
                P.fees_manage,
                P.payments_record,
                P.invoices_read,
                P.reports_read,
            }
        ),
    ),
    "teacher": (
        "Marks attendance for own sections and chats with parents",
        frozenset(
            {
                P.school_read,
                P.students_read,
                P.attendance_read,
                P.attendance_mark,
                P.leave_approve,
                P.chat_use,
                P.ai_use,
            }
        ),
    ),
    "parent": (
        "Sees own children's records, pays fees, chats with teachers",
        frozenset(
            {
                P.school_read,
                P.students_read,
                P.attendance_read,
                P.leave_apply,
                P.invoices_read,
                P.chat_use,
            }
        ),
    ),
    "student": (
        "Sees own records",
        frozenset({P.school_read, P.students_read, P.attendance_read}),
    ),
}
