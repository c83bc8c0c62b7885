"""Issue: identity. OTP verify latency, and what authentication adds to a read."""

from __future__ import annotations

import time

import httpx
import redis

from bench.common import Row, Servers, served
from bench.fixtures import demo_school_and_admin_token
from bench.load import run_load
from erplake.identity import otp

DEMO_PARENT = "+919800000005"


async def identity_rows(servers: Servers, *, seconds: float) -> list[Row]:
    school_id, token = await demo_school_and_admin_token(servers)
    settings = servers.settings()
    auth = {"Authorization": f"Bearer {token}"}
    with served("full", servers.env) as port:
        authed = await run_load("127.0.0.1", port, "/school", seconds=seconds, headers=auth)
        anon = await run_load("127.0.0.1", port, f"/bench/school/{school_id}", seconds=seconds)

        # OTP verify, one at a time as users do; each verify burns its code, so a
        # fresh code is planted (untimed) before each call.
        r = redis.Redis.from_url(settings.redis_url)
        latencies: list[float] = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for i in range(400):
                code = f"{i:06d}"
                r.hset(
                    f"otp:code:{DEMO_PARENT}",
                    mapping={
                        "digest": otp._digest(settings, DEMO_PARENT, code),
                        "wrong": 0,
                    },
                )
                began = time.perf_counter()
                answer = client.post("/auth/otp/verify", json={"phone": DEMO_PARENT, "code": code})
                latencies.append((time.perf_counter() - began) * 1000)
                assert answer.status_code == 200, answer.text
    assert authed.errors == 0 and anon.errors == 0
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[int(len(latencies) * 0.99)]
    cost = anon.rps / authed.rps
    return [
        Row(
            "OTP verify (sequential, ms)",
            f"p50 {p50:.1f} / p99 {p99:.1f}",
            "-",
            "-",
            "-",
            None,
        ),
        Row(
            "authenticated read vs same read unauthenticated",
            f"{authed.rps:,.0f} req/s (p50 {authed.p50:.1f} ms)",
            f"{anon.rps:,.0f} req/s (p50 {anon.p50:.1f} ms)",
            f"{cost:.2f}x",
            "<= 1.3x",
            cost <= 1.3,
        ),
    ]
