"""`erplake worker`: an RQ worker (with the scheduler) plus the outbox relay.

RQ forks a work horse per job and a scheduler process; forking a process that
runs other threads can deadlock the child on a lock held at fork time. So the
relay never runs as a thread here: it is its own process (`erplake relay`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import structlog
from rq import Queue, Worker

from erplake.core.db import create_engine, create_sessionmaker
from erplake.core.jobs import QUEUES, registered_tasks, relay_forever, relay_once
from erplake.core.redis import create_sync_redis
from erplake.core.settings import Settings

log = structlog.get_logger(__name__)


def run_relay(settings: Settings) -> None:
    """Relay committed outbox rows to RQ until SIGTERM/SIGINT."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        engine = create_engine(settings, role="relay", pooled=False)
        try:
            await relay_forever(
                settings, create_sessionmaker(engine), create_sync_redis(settings), stop
            )
        finally:
            await engine.dispose()

    asyncio.run(main())


async def _relay_pending(settings: Settings) -> int:
    engine = create_engine(settings, role="relay", pooled=False)
    try:
        moved = 0
        while batch := await relay_once(create_sessionmaker(engine), create_sync_redis(settings)):
            moved += batch
        return moved
    finally:
        await engine.dispose()


def run_worker(settings: Settings, *, burst: bool = False, with_relay: bool = True) -> None:
    registered_tasks()  # import every handler before the first job arrives
    connection = create_sync_redis(settings)
    queues = [Queue(name, connection=connection) for name in QUEUES]
    relay: subprocess.Popen[bytes] | None = None
    if with_relay and burst:
        asyncio.run(_relay_pending(settings))  # finished before RQ forks anything
    elif with_relay:
        relay = subprocess.Popen([sys.executable, "-m", "erplake", "relay"], env=os.environ.copy())
    try:
        worker = Worker(queues, connection=connection)
        log.info("worker_started", queues=list(QUEUES))
        worker.work(with_scheduler=True, burst=burst, logging_level="WARNING")
    finally:
        if relay is not None and relay.poll() is None:
            relay.terminate()
            try:
                relay.wait(10)
            except subprocess.TimeoutExpired:
                relay.kill()
