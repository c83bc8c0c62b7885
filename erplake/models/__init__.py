"""Every model, imported from one place so Alembic sees them all."""

from erplake.models.base import Base
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
from erplake.models.school import School

__all__ = [
    "AuditEntry",
    "Base",
    "IdempotencyRecord",
    "OutboxJob",
    "Permission",
    "RefreshToken",
    "Role",
    "RolePermission",
    "School",
    "User",
    "UserRole",
    "WhatsAppMessage",
]
