"""Every model, imported from one place so Alembic sees them all."""

from erplake.models.academics import (
    AcademicYear,
    Holiday,
    SchoolCalendar,
    SchoolClass,
    Section,
    Subject,
    TeacherAssignment,
)
from erplake.models.attendance import (
    AttendanceCode,
    AttendanceRecord,
    AttendanceSettings,
    LeaveApplication,
)
from erplake.models.base import Base
from erplake.models.chat import Conversation, ConversationMember, Message
from erplake.models.fees import (
    Concession,
    FeeHead,
    FeeInstalment,
    FeeStructure,
    FeeStructureLine,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    LateFeeRule,
    LedgerEntry,
    Payment,
    PaymentOrder,
    ReceiptCounter,
    ReminderRule,
    ReminderSend,
    StudentFeeCategory,
    WebhookEvent,
)
from erplake.models.identity import (
    AuditEntry,
    Permission,
    RefreshToken,
    Role,
    RolePermission,
    User,
    UserRole,
)
from erplake.models.messaging import WhatsAppMessage
from erplake.models.outbox import IdempotencyRecord, OutboxJob
from erplake.models.progress import JobProgress
from erplake.models.school import School
from erplake.models.social import SocialPost
from erplake.models.students import Enrolment, Guardian, Student, StudentGuardian

__all__ = [
    "AcademicYear",
    "AttendanceCode",
    "AttendanceRecord",
    "AttendanceSettings",
    "AuditEntry",
    "Base",
    "Concession",
    "Conversation",
    "ConversationMember",
    "Enrolment",
    "FeeHead",
    "FeeInstalment",
    "FeeStructure",
    "FeeStructureLine",
    "Guardian",
    "Holiday",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLine",
    "JobProgress",
    "LateFeeRule",
    "LeaveApplication",
    "LedgerEntry",
    "Message",
    "OutboxJob",
    "Payment",
    "PaymentOrder",
    "Permission",
    "ReceiptCounter",
    "RefreshToken",
    "ReminderRule",
    "ReminderSend",
    "Role",
    "RolePermission",
    "School",
    "SchoolCalendar",
    "SchoolClass",
    "Section",
    "SocialPost",
    "Student",
    "StudentFeeCategory",
    "StudentGuardian",
    "Subject",
    "TeacherAssignment",
    "User",
    "UserRole",
    "WebhookEvent",
    "WhatsAppMessage",
]
