"""A second process using the same data folder never stops the first one's servers."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import redis

from erplake.core.embedded import EmbeddedServers


def test_servers_found_running_are_left_running(tmp_path: Path) -> None:
    first = EmbeddedServers(tmp_path / "var")
    urls = first.start()
    try:
        second = EmbeddedServers(tmp_path / "var")
        assert second.start() == urls  # `erplake token` beside a running `erplake run`
        second.stop()
        assert redis.Redis.from_url(urls["redis_url"]).ping()
        with psycopg.connect(urls["database_url"]) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        first.stop()
    # The owner's stop does stop them.
    assert not _answers(urls)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(urls["database_url"], connect_timeout=2).close()


def _answers(urls: dict[str, str]) -> bool:
    try:
        return bool(redis.Redis.from_url(urls["redis_url"], socket_timeout=1).ping())
    except redis.RedisError:
        return False
