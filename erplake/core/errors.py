"""Domain errors and the one JSON shape clients see: {"error": {code, message, details}}."""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Base of every error business code raises; it knows its HTTP status and code."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}

    def to_body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unprocessable(AppError):
    status_code = 422
    code = "validation_error"


class TooManyRequests(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(
            message,
            details=details or {"retry_after": retry_after},
            headers={"Retry-After": str(max(1, retry_after))},
        )


class ServiceUnavailable(AppError):
    status_code = 503
    code = "unavailable"


class NotConfigured(AppError):
    status_code = 503
    code = "not_configured"
