"""`erplake worker`: an RQ worker (with the scheduler) plus the outbox relay."""

from __future__ import annotations

import asyncio
import threading

import structlog
from rq import Queue, Worker

from erplake.core.db import create_engine, create_sessionmaker
from erplake.core.jobs import QUEUES, registered_tasks, relay_forever
from erplake.core.redis import create_sync_redis
from erplake.core.settings import Settings

log = structlog.get_logger(__name__)


class Relay:
    """The outbox relay on its own thread and event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._ready = threading.Event()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        engine = create_engine(self.settings, role="relay", pooled=False)
        try:
            await relay_forever(
                self.settings,
                create_sessionmaker(engine),
                create_sync_redis(self.settings),
                self._stop,
            )
        finally:
            await engine.dispose()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(5)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def run_worker(settings: Settings, *, burst: bool = False, with_relay: bool = True) -> None:
    registered_tasks()  # import every handler before the first job arrives
    connection = create_sync_redis(settings)
    queues = [Queue(name, connection=connection) for name in QUEUES]
    relay = Relay(settings) if with_relay else None
    if relay is not None:
        relay.start()
    try:
        worker = Worker(queues, connection=connection)
        log.info("worker_started", queues=list(QUEUES))
        worker.work(with_scheduler=True, burst=burst, logging_level="WARNING")
    finally:
        if relay is not None:
            relay.stop()
