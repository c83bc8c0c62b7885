"""Storage on the local filesystem, sandboxed under one root folder (laptop and single-VPS)."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import tempfile
from pathlib import Path

from erplake.storage.base import (
    DEFAULT_CONTENT_TYPE,
    InvalidStorageKey,
    StorageObjectNotFound,
    validate_key,
    validate_prefix,
)

# In-flight writes live next to their target (so os.replace stays on one filesystem) under
# this reserved name; listings skip them and keys may not use it, so a crash mid-write
# never surfaces half a file as an object.
TEMP_PREFIX = ".erplake-tmp-"


class LocalStorage:
    """Files under `root`; a key is a relative POSIX path below it.

    The content type is not kept: a filesystem has nowhere to put it, and callers record
    it in the database next to the key anyway.
    """

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        # Resolved once so that a symlinked root (e.g. /var/lib -> /data) is the sandbox
        # itself rather than something every key appears to escape.
        self.root = root.resolve(strict=True)

    def _path_for(self, key: str) -> Path:
        validate_key(key)
        if key.rsplit("/", 1)[-1].startswith(TEMP_PREFIX):
            raise InvalidStorageKey(f"storage key must not start with {TEMP_PREFIX!r}")
        # resolve() follows symlinks in every existing component, so a link inside root
        # that points elsewhere is caught here for reads and writes alike.
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidStorageKey("storage key resolves outside the storage root")
        return path

    async def put(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        path = self._path_for(key)
        await asyncio.to_thread(self._write_atomically, key, path, data)

    def _write_atomically(self, key: str, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidStorageKey(
                f"storage key {key!r} cannot be stored: part of its folder is an object"
            ) from None
        fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                # Without fsync a power cut after the rename can leave an empty file
                # under the key, which is exactly what the rename was meant to prevent.
                os.fsync(handle.fileno())
            os.replace(temp_name, path)
        except IsADirectoryError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise InvalidStorageKey(
                f"storage key {key!r} cannot be stored: it is a folder of other objects"
            ) from None
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise

    async def get(self, key: str) -> bytes:
        path = self._path_for(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            # A folder is not an object, as in S3 where "a/" only exists through "a/b".
            raise StorageObjectNotFound(f"no stored object under {key!r}") from None

    async def delete(self, key: str) -> None:
        path = self._path_for(key)
        await asyncio.to_thread(self._unlink_if_file, path)

    @staticmethod
    def _unlink_if_file(path: Path) -> None:
        # Empty parent folders are left behind on purpose: pruning them would race with a
        # concurrent put that has just created the folder and is about to write into it.
        if path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    async def exists(self, key: str) -> bool:
        path = self._path_for(key)
        return await asyncio.to_thread(path.is_file)

    async def list(self, prefix: str = "") -> builtins.list[str]:
        validate_prefix(prefix)
        return await asyncio.to_thread(self._list_sync, prefix)

    def _list_sync(self, prefix: str) -> builtins.list[str]:
        # Walk only the deepest folder the prefix fixes, not the whole tree.
        folder, _, _ = prefix.rpartition("/")
        # Walk the unresolved folder so keys come back spelled as the caller spelled the
        # prefix, but only if it really lies inside the root.
        start = self.root / folder if folder else self.root
        if not start.resolve().is_relative_to(self.root) or not start.is_dir():
            return []
        keys: builtins.list[str] = []
        # followlinks=False: a linked folder could loop or lead outside the root.
        for dirpath, _dirnames, filenames in os.walk(start, followlinks=False):
            directory = Path(dirpath)
            for name in filenames:
                if name.startswith(TEMP_PREFIX):
                    continue
                path = directory / name
                if path.is_symlink() and not path.resolve().is_relative_to(self.root):
                    continue
                if not path.is_file():
                    continue
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        keys.sort()
        return keys
