"""Imports every domain's tasks module so their handlers are registered."""

from erplake.identity import otp  # noqa: F401
from erplake.messaging import tasks  # noqa: F401
from erplake.ops import tasks as ops_tasks  # noqa: F401
from erplake.students import tasks as students_tasks  # noqa: F401
