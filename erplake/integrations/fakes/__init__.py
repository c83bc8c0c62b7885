"""Fake providers that speak the real wire formats, and a way to serve them on loopback.

Tests and `erplake run` in demo mode point the adapters at these instead of the
outside world, so a message or payment goes through the whole HTTP path.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Literal, Self

import uvicorn
from starlette.types import ASGIApp

__all__ = ["ServedApp", "serve_in_thread"]


class ServedApp:
    """An ASGI app served by uvicorn in a daemon thread; `url` has no trailing slash."""

    def __init__(
        self,
        server: uvicorn.Server,
        thread: threading.Thread,
        sock: socket.socket,
        url: str,
    ) -> None:
        self._server = server
        self._thread = thread
        self._sock = sock
        self.url = url

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to shut down and wait for its thread; safe to call twice."""
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(
    app: ASGIApp,
    host: str = "127.0.0.1",
    *,
    startup_timeout: float = 10.0,
    lifespan: Literal["on", "off"] = "off",
) -> ServedApp:
    """Serve `app` on a free port of `host` and return once it is accepting requests.
    `lifespan="on"` runs the app's start-up (e.g. a role app opening its own
    connections on the server thread's event loop)."""
    # Binding the socket here (port 0) rather than handing uvicorn a port number avoids
    # the race where another process takes a port we only found to be free.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    port = sock.getsockname()[1]

    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan=lifespan, loop="asyncio"
    )
    server = uvicorn.Server(config)
    # uvicorn skips installing signal handlers outside the main thread, which is what we
    # want: Ctrl-C belongs to the test runner or the CLI, not to the fake.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"served-app:{port}", daemon=True
    )
    thread.start()

    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError(f"server for {app!r} exited during start-up")
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(startup_timeout)
            sock.close()
            raise RuntimeError(f"server for {app!r} did not start in {startup_timeout} s")
        time.sleep(0.01)

    url_host = f"[{host}]" if ":" in host else host
    return ServedApp(server, thread, sock, f"http://{url_host}:{port}")
