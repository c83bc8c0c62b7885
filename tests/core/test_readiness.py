"""Readiness follows Redis down and back up, without a restart (our own Redis)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from erplake.core.app import Resources
from erplake.core.settings import Settings
from erplake.services.roles import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnRedis:
    def __init__(self, binary: str, folder: Path) -> None:
        self.binary, self.folder, self.port = binary, folder, _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("redis did not start")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def own_redis(redis_cli_path: str, tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(redis_cli_path, tmp_path)
    server.start()
    yield server
    if server.proc and server.proc.poll() is None:
        server.stop()


async def test_readiness_goes_503_when_redis_stops_and_200_when_it_returns(
    settings: Settings, own_redis: OwnRedis
) -> None:
    local = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{own_redis.port}/0"})
    resources = Resources.open(local, role="test")
    app = create_app("api", local, resources=resources)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/readyz")).status_code == 200

            own_redis.stop()
            down = await client.get("/readyz")
            assert down.status_code == 503
            body = down.json()
            assert body["error"]["code"] == "unavailable"
            assert "redis" in body["error"]["message"]
            assert body["error"]["details"]["postgres"] == "ok"
            assert body["error"]["details"]["redis"] != "ok"

            own_redis.start()  # same port, same app, no restart
            back = await client.get("/readyz")
            assert back.status_code == 200, back.text
            assert back.json()["checks"] == {"postgres": "ok", "redis": "ok"}
    finally:
        await resources.close()


async def test_readiness_goes_503_when_postgres_is_unreachable(settings: Settings) -> None:
    local = settings.model_copy(
        update={"database_url": f"postgresql://postgres@127.0.0.1:{_free_port()}/nothing"}
    )
    resources = Resources.open(local, role="test")
    app = create_app("api", local, resources=resources)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["error"]["details"]["redis"] == "ok"
        assert response.json()["error"]["details"]["postgres"] != "ok"
    finally:
        await resources.close()
