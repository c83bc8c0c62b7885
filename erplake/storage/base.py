"""The storage contract every driver keeps, its errors, and the one key validator."""

from __future__ import annotations

import builtins
from typing import Protocol, runtime_checkable

from erplake.core.errors import BadRequest, NotFound

DEFAULT_CONTENT_TYPE = "application/octet-stream"

# S3 caps keys at 1024 bytes of UTF-8; holding local storage to the same limit keeps a key
# that works on a laptop working after the school moves to MinIO.
MAX_KEY_BYTES = 1024


class StorageObjectNotFound(NotFound):
    """No object is stored under the key."""


class InvalidStorageKey(BadRequest):
    """The key could name something outside the storage area, or is not a plain relative path."""

    code = "invalid_storage_key"


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a safe relative POSIX path, else raise InvalidStorageKey.

    Rules are the same for every driver so that one key names one object everywhere:
    empty, `.` and `..` components are refused because a filesystem would collapse them
    (`a//b` and `a/./b` are `a/b` on disk but three distinct keys in S3).
    """
    if not key:
        raise InvalidStorageKey("storage key must not be empty")
    if "\x00" in key:
        raise InvalidStorageKey("storage key must not contain NUL bytes")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in key):
        raise InvalidStorageKey("storage key must not contain control characters")
    if "\\" in key:
        raise InvalidStorageKey("storage key must use '/' as separator, not '\\'")
    if key.startswith("/"):
        raise InvalidStorageKey("storage key must be a relative path")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidStorageKey(f"storage key must be at most {MAX_KEY_BYTES} bytes")
    for part in key.split("/"):
        if part == "..":
            raise InvalidStorageKey("storage key must not contain '..'")
        if part in ("", "."):
            raise InvalidStorageKey("storage key must not contain empty or '.' components")
    return key


def validate_prefix(prefix: str) -> str:
    """Validate a listing prefix: empty, or a key that may end in '/' (a folder)."""
    if prefix:
        validate_key(prefix.removesuffix("/"))
    return prefix


@runtime_checkable
class Storage(Protocol):
    """Where uploaded files (photos, documents, receipts) live, keyed by relative path.

    Callers keep content type and ownership in the database; storage is only bytes by key.
    """

    async def put(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        """Store `data` under `key`, replacing any object already there."""
        ...

    async def get(self, key: str) -> bytes:
        """Return the object's bytes; raise StorageObjectNotFound if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error (deletes are retried)."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        ...

    # `builtins.list` because the method name shadows the builtin inside the class body.
    async def list(self, prefix: str = "") -> builtins.list[str]:
        """Keys starting with `prefix` (a plain string prefix, as in S3), sorted."""
        ...
