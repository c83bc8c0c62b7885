"""A small HTTP/1.1 keep-alive load generator on asyncio streams.

Cheap enough per request that a one-process server, not the generator, is the
bottleneck on a two-core machine; both sides of every comparison use it alike.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


def build_request(
    path: str,
    host: str,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    body: bytes = b"",
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    if length:
        await reader.readexactly(length)
    return status


async def run_load(
    host: str,
    port: int,
    path: str,
    *,
    connections: int = 16,
    seconds: float = 3.0,
    warmup: float = 0.5,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: bytes = b"",
    expect: int = 200,
) -> LoadResult:
    request = build_request(path, f"{host}:{port}", headers, method=method, body=body)
    latencies: list[float] = []
    errors = 0
    count = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def client() -> None:
        nonlocal errors, count
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                writer.write(request)
                status = await _read_response(reader)
                done = time.perf_counter()
                if sent >= measure_from:
                    count += 1
                    latencies.append((done - sent) * 1000)
                    if status != expect:
                        errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    return LoadResult(requests=count, seconds=seconds, latencies_ms=latencies, errors=errors)
