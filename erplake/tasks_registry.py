"""Imports every domain's tasks module so their handlers are registered."""

from erplake.fees import documents as fees_documents  # noqa: F401
from erplake.fees import reminders as fees_reminders  # noqa: F401
from erplake.fees import tasks as fees_tasks  # noqa: F401
from erplake.identity import otp  # noqa: F401
from erplake.messaging import tasks  # noqa: F401
from erplake.ops import tasks as ops_tasks  # noqa: F401
from erplake.payments import tasks as payments_tasks  # noqa: F401
from erplake.students import tasks as students_tasks  # noqa: F401
