from __future__ import annotations

import uuid

from erplake.core.jobs import JobContext, task
from erplake.messaging.service import SEND_TASK, deliver


@task(SEND_TASK)
async def send_whatsapp(ctx: JobContext, *, message_id: str) -> None:
    await deliver(ctx, message_id=uuid.UUID(message_id))
