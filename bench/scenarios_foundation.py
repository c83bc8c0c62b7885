"""Issue: foundation. Requests per second through the full stack against a bare
Starlette + asyncpg endpoint doing the same work, served the same way."""

from __future__ import annotations

from bench.common import Row, Servers, served
from bench.fixtures import demo_school_and_admin_token
from bench.load import run_load


async def foundation_rows(servers: Servers, *, seconds: float) -> list[Row]:
    school_id, token = await demo_school_and_admin_token(servers)
    auth = {"Authorization": f"Bearer {token}"}
    with served("full", servers.env) as full, served("bare", servers.env) as bare:
        ours_h = await run_load("127.0.0.1", full, "/healthz", seconds=seconds)
        raw_h = await run_load("127.0.0.1", bare, "/healthz", seconds=seconds)
        ours_r = await run_load("127.0.0.1", full, "/school", seconds=seconds, headers=auth)
        raw_r = await run_load("127.0.0.1", bare, f"/school/{school_id}", seconds=seconds)
    for result in (ours_h, raw_h, ours_r, raw_r):
        assert result.errors == 0, "a request failed during the load"
    share_h = ours_h.rps / raw_h.rps
    share_r = ours_r.rps / raw_r.rps
    return [
        Row(
            "GET /api/healthz (req/s)",
            f"{ours_h.rps:,.0f}",
            f"{raw_h.rps:,.0f}",
            f"{share_h:.0%} of bare",
            "-",
            None,
        ),
        Row(
            "one-row read, full stack (req/s)",
            f"{ours_r.rps:,.0f} (p99 {ours_r.percentile(99):.1f} ms)",
            f"{raw_r.rps:,.0f} (p99 {raw_r.percentile(99):.1f} ms)",
            f"{share_r:.0%} of bare",
            ">= 40% of bare",
            share_r >= 0.40,
        ),
    ]
