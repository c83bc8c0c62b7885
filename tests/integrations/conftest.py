"""A fake Gupshup served on loopback for the whole session, cleared before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from erplake.integrations.fakes import ServedApp, serve_in_thread
from erplake.integrations.fakes.gupshup import FakeGupshup
from erplake.integrations.gupshup import GupshupClient

GUPSHUP_API_KEY = "test-gupshup-key"
GUPSHUP_SOURCE = "917834811114"
GUPSHUP_APP_NAME = "ERPLakeTest"

MakeGupshup = Callable[..., GupshupClient]


@pytest.fixture(scope="session")
def _gupshup_server() -> Iterator[tuple[FakeGupshup, ServedApp]]:
    fake = FakeGupshup(GUPSHUP_API_KEY, source=GUPSHUP_SOURCE, app_name=GUPSHUP_APP_NAME)
    served = serve_in_thread(fake.app)
    yield fake, served
    served.stop()


@pytest.fixture
def fake_gupshup(_gupshup_server: tuple[FakeGupshup, ServedApp]) -> Iterator[FakeGupshup]:
    fake, _ = _gupshup_server
    fake.clear()
    fake.text_content_type = "application/json"
    fake.template_content_type = "text/html"
    yield fake
    fake.clear()


@pytest.fixture
def gupshup_url(_gupshup_server: tuple[FakeGupshup, ServedApp]) -> str:
    return _gupshup_server[1].url


@pytest.fixture
async def make_gupshup(gupshup_url: str, fake_gupshup: FakeGupshup) -> AsyncIterator[MakeGupshup]:
    """Build GupshupClients aimed at a freshly cleared fake; tiny backoff keeps retry
    tests fast."""
    clients: list[GupshupClient] = []

    def make(**overrides: Any) -> GupshupClient:
        options: dict[str, Any] = {
            "base_url": gupshup_url,
            "api_key": GUPSHUP_API_KEY,
            "source": GUPSHUP_SOURCE,
            "app_name": GUPSHUP_APP_NAME,
            "timeout": 2.0,
            "retries": 2,
            "backoff_base": 0.001,
        } | overrides
        client = GupshupClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def gupshup(make_gupshup: MakeGupshup) -> GupshupClient:
    return make_gupshup()
