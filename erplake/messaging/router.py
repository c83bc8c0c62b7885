"""The notify role's routes: Gupshup delivery callbacks and the developer inbox."""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from erplake.core.db import DbSession
from erplake.core.errors import NotFound
from erplake.messaging import service

router = APIRouter(tags=["whatsapp"])


@router.post("/webhooks/gupshup/{token}", status_code=204)
async def gupshup_callback(token: str, request: Request, session: DbSession) -> Response:
    """Gupshup delivery events (enqueued, failed, sent, delivered, read). Gupshup
    signs nothing, so the URL carries a secret token. Always answers 204 quickly:
    an event we cannot use is dropped, never retried forever."""
    expected = request.app.state.settings.gupshup_callback_token
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotFound("not found")
    try:
        body: Any = json.loads(await request.body())
    except ValueError:
        return Response(status_code=204)
    if isinstance(body, dict):
        await service.record_delivery_event(session, body)
    return Response(status_code=204)


@router.get("/dev/inbox", response_class=HTMLResponse, include_in_schema=True)
async def dev_inbox(request: Request) -> HTMLResponse:
    """Development only: what the in-process fake Gupshup received, newest first,
    so a newcomer can read the sign-in code. 404 outside development."""
    from erplake.integrations.fakes.gupshup import render_inbox_html

    fake = getattr(request.app.state, "fake_gupshup", None)
    if not request.app.state.settings.is_development or fake is None:
        raise NotFound("not found")
    return HTMLResponse(render_inbox_html(fake.messages, title="Developer WhatsApp inbox"))
