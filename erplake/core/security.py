"""Access tokens, the current principal, and the one permission dependency.

Access tokens are HS256 JWTs (15 minutes) carrying user, school, roles,
permissions and the user's auth epoch. Each request checks the epoch against
Redis (falling back to the database), so deactivation or a change of roles
refuses old tokens at once without a database query per request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from starlette.requests import HTTPConnection

from erplake.core.authcache import EpochCache
from erplake.core.clock import utcnow
from erplake.core.errors import Forbidden, Unauthorized
from erplake.core.permissions import P
from erplake.core.settings import Settings

ALGORITHM = "HS256"
ISSUER = "erplake"


class InvalidToken(Unauthorized):
    code = "invalid_token"


class TokenRevoked(Unauthorized):
    code = "token_revoked"


class PermissionDenied(Forbidden):
    code = "permission_denied"


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    school_id: uuid.UUID
    roles: tuple[str, ...]
    permissions: frozenset[str]
    epoch: int

    def has(self, permission: P | str) -> bool:
        return str(permission) in self.permissions

    def has_role(self, role: str) -> bool:
        return role in self.roles


def issue_access_token(
    settings: Settings,
    *,
    user_id: uuid.UUID,
    school_id: uuid.UUID,
    roles: list[str],
    permissions: list[str],
    epoch: int,
) -> tuple[str, int]:
    now = utcnow()
    ttl = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "sch": str(school_id),
        "roles": sorted(roles),
        "perms": sorted(permissions),
        "epc": epoch,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), int(ttl.total_seconds())


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[Principal, int]:
    """Signature and claims checked once per token string and process; expiry is
    checked on every use by the caller (a cached token still expires)."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],  # never "none", never what the token says
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "sch", "iss"]},
    )
    principal = Principal(
        user_id=uuid.UUID(claims["sub"]),
        school_id=uuid.UUID(claims["sch"]),
        roles=tuple(claims.get("roles", ())),
        permissions=frozenset(claims.get("perms", ())),
        epoch=int(claims.get("epc", 0)),
    )
    return principal, int(claims["exp"])


def decode_access_token(settings: Settings, token: str) -> Principal:
    try:
        principal, expires = _verified(token, settings.jwt_secret)
    except jwt.ExpiredSignatureError:
        raise InvalidToken("your session has expired; please sign in again") from None
    except (jwt.InvalidTokenError, ValueError, KeyError, TypeError):
        raise InvalidToken("invalid access token") from None
    if expires <= time.time():
        raise InvalidToken("your session has expired; please sign in again")
    return principal


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _current_epoch(request: HTTPConnection, user_id: uuid.UUID) -> int:
    """The user's current epoch, or -1 when they may not sign in (deactivated or
    gone). Usually answered from the process's cache, which pub/sub keeps fresh."""
    epochs: EpochCache = request.app.state.epochs
    state = await epochs.get(user_id)
    if state is None:
        from erplake.models.identity import User

        async with request.app.state.read_sessionmaker() as session:
            row = (
                await session.execute(
                    select(User.auth_epoch, User.is_active).where(User.id == user_id)
                )
            ).first()
        if row is None:
            return -1
        state = (int(row[0]), bool(row[1]))
        await epochs.fill(user_id, *state)
    epoch, active = state
    return epoch if active else -1


_bearer = HTTPBearer(auto_error=False)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def _principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """The request's principal, authenticated once per request: a route that both
    requires a permission and depends on `CurrentPrincipal` (e.g. via the audit
    actor) checks the token and its epoch one time."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("sign in to continue", headers={"WWW-Authenticate": "Bearer"})
    principal = await authenticate(request, credentials.credentials)
    request.state.principal = principal
    return principal


async def current_principal(request: Request, credentials: Credentials) -> Principal:
    return await _principal(request, credentials)


async def authenticate(connection: HTTPConnection, token: str) -> Principal:
    """An access token → its principal; expired, revoked and deactivated users are
    refused. HTTP requests and WebSocket handshakes both come through here."""
    principal = decode_access_token(connection.app.state.settings, token)
    current = await _current_epoch(connection, principal.user_id)
    if current < 0 or current != principal.epoch:
        raise TokenRevoked("this session is no longer valid; please sign in again")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class _RequirePermission(HTTPBearer):
    """`require(P.x)`: the bearer scheme itself (so OpenAPI documents it just as the
    plain `HTTPBearer`), which also authenticates and checks the permission. One
    dependency, not a chain: each level of dependencies costs FastAPI's resolver a
    measurable share of a one-row read, and this is on nearly every route."""

    def __init__(self, permission: P) -> None:
        super().__init__(auto_error=False, scheme_name=_bearer.scheme_name)
        self.permission = permission
        self.required_permission = str(permission)

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        principal = await _principal(request, await super().__call__(request))
        if not principal.has(self.permission):
            raise PermissionDenied(
                f"you do not have permission to do this ({self.permission})",
                details={"permission": str(self.permission)},
            )
        return principal


def require(permission: P) -> Any:
    """The one permission dependency: `user: Annotated[Principal, require(P.x)]`."""
    return Depends(_RequirePermission(permission))
