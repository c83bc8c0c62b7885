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
    "Conversation",
    "ConversationMember",
    "Enrolment",
    "Guardian",
    "Holiday",
    "IdempotencyRecord",
    "JobProgress",
    "LeaveApplication",
    "Message",
    "OutboxJob",
    "Permission",
    "RefreshToken",
    "Role",
    "RolePermission",
    "School",
    "SchoolCalendar",
    "SchoolClass",
    "Section",
    "SocialPost",
    "Student",
    "StudentGuardian",
    "Subject",
    "TeacherAssignment",
    "User",
    "UserRole",
    "WhatsAppMessage",
]
