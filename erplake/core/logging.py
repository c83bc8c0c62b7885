"""Structured JSON logs (structlog) with a request id; secrets never logged."""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Whole key names only: `password`, `jwt_secret`, `access_token`, `x-api-key`,
# `razorpay_signature`, `set-cookie`, `otp`, `code`... but never `status_code`,
# `error_code`, `http_status` or `prompt_tokens`, which a reader of the logs needs.
_SECRET_KEYS = re.compile(
    r"^(?:.*[_-])?(?:pass|passwd|password|secret|secret[_-]?key|token|api[_-]?key|apikey"
    r"|private[_-]?key|signature|cookie|authorization)$"
    r"|^(?:otp|otp[_-]?code|code)$",
    re.I,
)
REDACTED = "[redacted]"
# uvicorn's own handlers (installed by its dictConfig) are replaced by the root one.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# Record attributes that only repeat the event (`message`, `asctime`: set when another
# handler formatted the record first) or colour it (uvicorn's `color_message`).
_DROPPED_EXTRA = ("message", "asctime", "color_message")


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key != "event" and _SECRET_KEYS.search(key):
            event_dict[key] = REDACTED
    return event_dict


def add_request_id(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    rid = request_id_var.get()
    if rid is not None:
        event_dict.setdefault("request_id", rid)
    return event_dict


def _drop_noise(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in _DROPPED_EXTRA:
        event_dict.pop(key, None)
    return event_dict


class _StderrHandler(logging.Handler):
    """The root handler: writes to whatever sys.stderr is at the time."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:
            self.handleError(record)


class _StderrLogger:
    """Writes to whatever sys.stderr is at the time (test capture swaps it)."""

    def __init__(self, *_: Any) -> None:
        pass

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """structlog loggers and stdlib loggers (uvicorn, the integrations) alike come out
    as one JSON object a line, with the request id and secrets redacted."""
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
        structlog.processors.format_exc_info,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_StderrLogger,
        cache_logger_on_first_use=True,
    )
    # Records of stdlib loggers: their `extra={...}` fields become keys, then the
    # same request id, level, timestamp and redaction as structlog's own events.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.ExtraAdder(),
            _drop_noise,
            structlog.contextvars.merge_contextvars,
            add_request_id,
            structlog.processors.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    root = logging.getLogger()
    # Replace only our own handler (a second call reconfigures); others, such as
    # pytest's capture handlers, stay.
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # pgserver narrates every step at INFO; only its warnings matter to a user.
    logging.getLogger("pgserver").setLevel(logging.WARNING)


# Request ids: a random per-process prefix and a counter. Unique across replicas
# like a uuid4, without a getrandom() system call per request.
_RID_PREFIX = secrets.token_hex(8)
_rid_counter = itertools.count()


def new_request_id() -> str:
    return f"{_RID_PREFIX}{next(_rid_counter):016x}"


# The Gupshup delivery callback carries its shared secret as a path segment.
_SECRET_PATH = re.compile(r"(/webhooks/gupshup/)[^/]+")


def loggable_path(scope: Scope) -> str:
    """A request's path safe for a log: the matched route's template
    (`/webhooks/gupshup/{token}`) when routing got that far, else the raw path with
    the secret segment of the Gupshup callback masked."""
    template = getattr(scope.get("route"), "path", None)
    if isinstance(template, str) and template:
        return template
    return _SECRET_PATH.sub(r"\1***", str(scope.get("path", "")))


_VALID_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Pure ASGI (cheap): take a sane X-Request-ID or make one, echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _VALID_RID.match(candidate):
                    rid = candidate
                break
        rid = rid or new_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        header = (b"x-request-id", rid.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Logged here, while the request id is still bound; the client gets the
            # error JSON and never a trace.
            structlog.get_logger(__name__).exception("unhandled_error", path=loggable_path(scope))
            if scope["type"] != "http" or started:
                raise
            body = (
                b'{"error":{"code":"internal_error","message":"Something went wrong on our '
                b'side. Please try again.","details":null}}'
            )
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})
        finally:
            request_id_var.reset(token)
