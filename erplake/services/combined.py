"""`erplake run`: every role in one process under its prefix, and the web app at /."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from erplake.core.app import Resources
from erplake.core.settings import Settings
from erplake.integrations.fakes.gupshup import FakeGupshup
from erplake.integrations.fakes.razorpay import FakeRazorpay
from erplake.services.roles import ROLES, create_app

WEB_DIST = Path(__file__).resolve().parents[2] / "apps" / "web" / "dist"

NO_WEB_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>ERPLake</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<h1>ERPLake is running</h1>
<p>The web app has not been built yet. Build it with <code>make web</code>
(needs Node.js and npm), or run <code>npm install &amp;&amp; npm run build</code> in
<code>apps/web</code>, then reload this page.</p>
<p>The API is live: <a href="/api/docs">/api/docs</a>, <a href="/healthz">/healthz</a>.</p>
</body></html>"""


class SpaStaticFiles(StaticFiles):
    """Static files with the single-page-app fallback to index.html."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or "." in path.rsplit("/", 1)[-1]:
                raise
            return await super().get_response("index.html", scope)


async def _healthz(_: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def _no_web(_: Request) -> HTMLResponse:
    return HTMLResponse(NO_WEB_PAGE)


DEV_GUPSHUP_PREFIX = "/_dev/gupshup"
DEV_RAZORPAY_PREFIX = "/_dev/razorpay"


def dev_fake_razorpay(settings: Settings) -> FakeRazorpay | None:
    """Outside production, when RAZORPAY_API_BASE points at our own /_dev/razorpay (as
    `erplake run` sets it in development), the fake Razorpay to serve there: its
    checkout page pays an order and posts the signed webhooks back to the billing role,
    so a demo payment goes through the whole path."""
    base = settings.razorpay_api_base.rstrip("/")
    if settings.is_production or not base.endswith(DEV_RAZORPAY_PREFIX):
        return None
    return FakeRazorpay(
        settings.razorpay_key_id,
        settings.razorpay_key_secret,
        settings.razorpay_webhook_secret,
        webhook_url=base.removesuffix(DEV_RAZORPAY_PREFIX) + "/billing/webhooks/razorpay",
    )


def create_combined_app(
    settings: Settings, *, web_dist: Path = WEB_DIST, fake_gupshup: FakeGupshup | None = None
) -> Starlette:
    """`fake_gupshup`, in development, is served at /_dev/gupshup and shown on the
    notify role's developer inbox; a fake Razorpay at /_dev/razorpay when the settings
    point there (see `dev_fake_razorpay`)."""
    resources = Resources.open(settings, role="all")
    routes: list[Route | Mount] = [Route("/healthz", _healthz)]
    for role in ROLES:
        role_app = create_app(role, settings, resources=resources)
        if role == "notify" and fake_gupshup is not None:
            role_app.state.fake_gupshup = fake_gupshup
        routes.append(Mount(f"/{role}", app=role_app))
    if fake_gupshup is not None:
        routes.append(Mount(DEV_GUPSHUP_PREFIX, app=fake_gupshup.app))
    fake_razorpay = dev_fake_razorpay(settings)
    if fake_razorpay is not None:
        routes.append(Mount(DEV_RAZORPAY_PREFIX, app=fake_razorpay.app))
    if (web_dist / "index.html").exists():
        routes.append(Mount("/", app=SpaStaticFiles(directory=web_dist, html=True)))
    else:
        routes.append(Route("/{path:path}", _no_web))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await resources.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.resources = resources
    app.state.fake_razorpay = fake_razorpay
    return app
