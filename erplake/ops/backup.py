"""`erplake backup` / `erplake restore`: the database and the stored files in one archive.

An archive is a `.tar.gz` holding, in this order:

- `manifest.json`: when, which schema revision, row counts per table (taken in the very
  snapshot that pg_dump dumps), the pg_dump version, the file count and the sha256 and
  size of every other member;
- `database.dump`: `pg_dump --format=custom`;
- `files/<key>`: every object in storage (local folder or S3/MinIO), by its key.

A restore goes into an EMPTY database only (it refuses otherwise), checks every member
against the manifest first, then runs pg_restore, puts the files back and checks the
row counts. pg_dump refuses to dump a server newer than itself, so the binaries are
chosen by version: the ones in the pgserver wheel (PostgreSQL 16) when new enough,
else those on PATH; `BACKUP_PG_BIN_DIR` overrides both.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import psycopg
import structlog
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from erplake import __version__
from erplake.core.clock import utcnow
from erplake.core.db import libpq_url
from erplake.core.settings import Settings
from erplake.storage import Storage, get_storage, validate_key

log = structlog.get_logger(__name__)

ARCHIVE_PREFIX = "erplake-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
MANIFEST_NAME = "manifest.json"
DUMP_NAME = "database.dump"
FILES_DIR = "files"
FORMAT = "erplake-backup"
FORMAT_VERSION = 1
FILE_CONCURRENCY = 8
_CHUNK = 1024 * 1024

_USER_RELATIONS = """
    SELECT n.nspname, c.relname, c.relkind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_(toast|temp)'
    ORDER BY n.nspname, c.relname
"""


class BackupError(Exception):
    """A backup or restore could not be done; the message says why and what to do."""


class RestoreRefused(BackupError):
    """The target is not empty (or the archive is not one we can trust)."""


class BackupSettings(BaseSettings):
    """`BACKUP_*` variables (process env > `.env.local` > defaults)."""

    model_config = SettingsConfigDict(
        env_prefix="BACKUP_", env_file=".env.local", extra="ignore", case_sensitive=False
    )

    dir: Path | None = None  # default: <DATA_DIR>/backups
    keep: int = 7
    # Five-field cron, in UTC: 21:30 UTC is 03:00 in India.
    cron: str = "30 21 * * *"
    pg_bin_dir: Path | None = None

    @field_validator("dir", "pg_bin_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `BACKUP_DIR=` in an env file means "the default", not the current folder.
        return None if isinstance(value, str) and not value.strip() else value

    def out_dir(self, settings: Settings) -> Path:
        return self.dir or settings.data_dir / "backups"


@dataclass(frozen=True)
class BackupResult:
    archive: Path
    manifest: dict[str, Any]
    pruned: list[Path]


@dataclass(frozen=True)
class RestoreResult:
    database: str
    tables: int
    rows: int
    files: int
    manifest: dict[str, Any]


# --- PostgreSQL client binaries ---------------------------------------------------------


def _major(version_output: str) -> int:
    found = re.search(r"(\d+)(?:\.\d+)?", version_output)
    if found is None:
        raise BackupError(f"cannot read a version from {version_output!r}")
    return int(found.group(1))


def tool_version(path: Path) -> str:
    out = subprocess.run(  # noqa: S603 - a PostgreSQL client binary we located
        [str(path), "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    # "pg_dump (PostgreSQL) 16.2", or "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    found = re.search(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)*)", out)
    return found.group(1) if found else out


def _bundled_bin_dir() -> Path | None:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return folder if folder.is_dir() else None


def find_pg_tool(name: str, min_major: int, *, bin_dir: Path | None = None) -> Path:
    """The `pg_dump`/`pg_restore` to use for a server (or archive) of `min_major`.

    An explicit folder wins; otherwise the pgserver wheel's binaries when new enough,
    else the ones on PATH when new enough.
    """
    if bin_dir is not None:
        explicit = bin_dir / name
        if not explicit.is_file():
            raise BackupError(f"{name} not found in BACKUP_PG_BIN_DIR={bin_dir}")
        return explicit
    found: list[str] = []
    bundled = _bundled_bin_dir()
    system = shutil.which(name)
    for candidate in (bundled / name if bundled else None, Path(system) if system else None):
        if candidate is None or not candidate.is_file():
            continue
        version = tool_version(candidate)
        if _major(version) >= min_major:
            return candidate
        found.append(f"{candidate} ({version})")
    raise BackupError(
        f"no {name} of PostgreSQL {min_major} or newer; found: {', '.join(found) or 'none'}. "
        f"Install postgresql-client-{min_major} or set BACKUP_PG_BIN_DIR"
    )


def _client_env(database_url: str) -> tuple[str, dict[str, str]]:
    """A conninfo without the password (it would show in `ps`), and the environment
    that carries the password instead."""
    params = conninfo_to_dict(libpq_url(database_url))
    password = params.pop("password", None)
    env = {**os.environ}
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


def _run_tool(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(  # noqa: S603 - fixed binaries, arguments we built
        command, capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise BackupError(f"{what} failed (exit {done.returncode}): {detail}")


# --- database ---------------------------------------------------------------------------


def _user_relations(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str]]:
    return [(r[0], r[1], r[2]) for r in conn.execute(_USER_RELATIONS).fetchall()]


def _count_rows(conn: psycopg.Connection[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for schema, name, kind in _user_relations(conn):
        if kind != "r":
            continue
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(name)
        )
        row = conn.execute(query).fetchone()
        counts[f"{schema}.{name}"] = int(row[0]) if row else 0
    return counts


def _schema_revision(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    versions = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
    return ",".join(sorted(versions)) or None


def _dump_database(database_url: str, target: Path, bin_dir: Path | None) -> dict[str, Any]:
    """pg_dump in the same snapshot the row counts are taken in, so the manifest
    describes exactly what the dump holds."""
    conninfo, env = _client_env(database_url)
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        row = conn.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
        snapshot, server_version = row.fetchone() or ("", "")
        server_major = conn.info.server_version // 10000
        counts = _count_rows(conn)
        revision = _schema_revision(conn)
        pg_dump = find_pg_tool("pg_dump", server_major, bin_dir=bin_dir)
        # The exporting transaction stays open until pg_dump has imported the snapshot;
        # keeping it open for the whole dump is the simple way to guarantee that.
        _run_tool(
            [
                str(pg_dump),
                "--format=custom",
                "--compress=6",
                f"--snapshot={snapshot}",
                f"--file={target}",
                f"--dbname={conninfo}",
            ],
            env,
            "pg_dump",
        )
        conn.rollback()
    return {
        "schema_revision": revision,
        "server_version": server_version,
        "pg_dump_version": tool_version(pg_dump),
        "tables": counts,
    }


def _relations_in(database_url: str) -> list[str]:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        return [f"{s}.{n}" for s, n, _ in _user_relations(conn)]


def _database_label(database_url: str) -> str:
    params = conninfo_to_dict(libpq_url(database_url))
    return f"{params.get('dbname', '?')} on {params.get('host') or 'localhost'}"


def _restore_database(
    database_url: str, dump: Path, manifest: dict[str, Any], bin_dir: Path | None
) -> dict[str, int]:
    dumped_by = _major(str(manifest["database"]["pg_dump_version"]))
    pg_restore = find_pg_tool("pg_restore", dumped_by, bin_dir=bin_dir)
    conninfo, env = _client_env(database_url)
    # --no-owner/--no-privileges: the target's own user owns what is restored, so an
    # archive from the Docker stack restores onto a laptop and back.
    _run_tool(
        [
            str(pg_restore),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={conninfo}",
            str(dump),
        ],
        env,
        "pg_restore",
    )
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        return _count_rows(conn)


# --- files ------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def _copy_out(storage: Storage, staging: Path) -> list[str]:
    keys = await storage.list("")
    limit = asyncio.Semaphore(FILE_CONCURRENCY)

    async def fetch(key: str) -> None:
        async with limit:
            data = await storage.get(key)
        await asyncio.to_thread(_write_bytes, staging / FILES_DIR / key, data)

    await asyncio.gather(*(fetch(key) for key in keys))
    return keys


async def _copy_in(storage: Storage, staging: Path, keys: list[str]) -> None:
    limit = asyncio.Semaphore(FILE_CONCURRENCY)

    async def put(key: str) -> None:
        data = await asyncio.to_thread((staging / FILES_DIR / key).read_bytes)
        async with limit:
            await storage.put(key, data)

    await asyncio.gather(*(put(key) for key in keys))


# --- archive ----------------------------------------------------------------------------


def archive_name(moment: Any) -> str:
    # Sortable by name; microseconds so two backups in one second do not collide.
    return f"{ARCHIVE_PREFIX}{moment:%Y%m%dT%H%M%S.%f}Z{ARCHIVE_SUFFIX}"


def _write_archive(staging: Path, out_dir: Path, name: str, manifest: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / name
    partial = out_dir / f".{name}.partial"
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
    # The archive holds every family's data: readable by the owner only.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            info = tarfile.TarInfo(MANIFEST_NAME)
            info.size = len(manifest_bytes)
            info.mtime = int(utcnow().timestamp())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(manifest_bytes))
            for member in manifest["members"]:
                tar.add(staging / member, arcname=member, recursive=False)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, final)  # a crash never leaves a half archive under a real name
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return final


def list_backups(out_dir: Path) -> list[Path]:
    """Archives in `out_dir`, oldest first."""
    if not out_dir.is_dir():
        return []
    return sorted(
        p
        for p in out_dir.iterdir()
        if p.is_file() and p.name.startswith(ARCHIVE_PREFIX) and p.name.endswith(ARCHIVE_SUFFIX)
    )


def prune_backups(out_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives; other files in the folder are left."""
    if keep < 1:
        raise BackupError("--keep must be at least 1")
    archives = list_backups(out_dir)
    doomed = archives[:-keep]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


async def create_backup(
    settings: Settings,
    *,
    out_dir: Path,
    keep: int | None = None,
    bin_dir: Path | None = None,
) -> BackupResult:
    """Dump the database and copy the stored files into one archive in `out_dir`;
    with `keep`, delete all but the newest `keep` archives afterwards."""
    if not settings.database_url:
        raise BackupError("DATABASE_URL is not set")
    if keep is not None and keep < 1:
        raise BackupError("--keep must be at least 1")
    started = utcnow()
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    storage = get_storage(settings)
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=out_dir) as tmp:
        staging = Path(tmp)
        database = await asyncio.to_thread(
            _dump_database, settings.database_url, staging / DUMP_NAME, bin_dir
        )
        keys = await _copy_out(storage, staging)
        members = [DUMP_NAME, *(f"{FILES_DIR}/{key}" for key in sorted(keys))]

        def describe() -> dict[str, dict[str, Any]]:
            return {
                m: {"sha256": _sha256_file(staging / m), "size": (staging / m).stat().st_size}
                for m in members
            }

        described = await asyncio.to_thread(describe)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": started.isoformat(),
            "erplake_version": __version__,
            "database": database,
            "storage": {
                "driver": settings.storage_driver.value,
                "file_count": len(keys),
                "total_bytes": sum(described[f"{FILES_DIR}/{k}"]["size"] for k in keys),
            },
            "members": described,
        }
        archive = await asyncio.to_thread(
            _write_archive, staging, out_dir, archive_name(started), manifest
        )
    pruned = prune_backups(out_dir, keep) if keep is not None else []
    log.info(
        "backup_created",
        archive=str(archive),
        tables=len(database["tables"]),
        files=len(keys),
        pruned=len(pruned),
    )
    return BackupResult(archive=archive, manifest=manifest, pruned=pruned)


def _member_target(staging: Path, name: str) -> Path:
    """Where an archive member may be extracted; anything unexpected is refused."""
    pure = PurePosixPath(name)
    if name in (MANIFEST_NAME, DUMP_NAME):
        return staging / name
    if pure.parts and pure.parts[0] == FILES_DIR and len(pure.parts) > 1:
        key = "/".join(pure.parts[1:])
        validate_key(key)  # no absolute paths, no '..', nothing odd
        return staging / FILES_DIR / key
    raise RestoreRefused(f"unexpected member {name!r} in the archive")


def _extract_verified(archive: Path, staging: Path) -> dict[str, Any]:
    if not archive.is_file():
        raise BackupError(f"no such archive: {archive}")
    seen: dict[str, tuple[str, int]] = {}
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    raise RestoreRefused(f"archive member {member.name!r} is not a plain file")
                target = _member_target(staging, member.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise RestoreRefused(f"cannot read {member.name!r}")
                digest = hashlib.sha256()
                with target.open("wb") as out:
                    for chunk in iter(lambda: source.read(_CHUNK), b""):  # noqa: B023
                        digest.update(chunk)
                        out.write(chunk)
                seen[member.name] = (digest.hexdigest(), member.size)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive} is not a readable backup archive: {exc}") from exc
    if MANIFEST_NAME not in seen:
        raise RestoreRefused(f"{archive} has no {MANIFEST_NAME}")
    manifest: dict[str, Any] = json.loads((staging / MANIFEST_NAME).read_text())
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise RestoreRefused(f"{archive} is not an ERPLake backup of format {FORMAT_VERSION}")
    expected = manifest.get("members", {})
    extra = set(seen) - set(expected) - {MANIFEST_NAME}
    missing = set(expected) - set(seen)
    if extra or missing:
        raise RestoreRefused(
            f"archive members do not match its manifest (missing {sorted(missing)}, "
            f"unexpected {sorted(extra)})"
        )
    for name, meta in expected.items():
        sha256, size = seen[name]
        if sha256 != meta["sha256"] or size != meta["size"]:
            raise RestoreRefused(f"{name} in {archive} is damaged (sha256 mismatch)")
    return manifest


def read_manifest(archive: Path) -> dict[str, Any]:
    """The manifest alone (the first member), without extracting the rest."""
    with tarfile.open(archive, mode="r:gz") as tar:
        member = tar.next()
        if member is None or member.name != MANIFEST_NAME:
            raise BackupError(f"{archive} does not start with {MANIFEST_NAME}")
        handle = tar.extractfile(member)
        if handle is None:
            raise BackupError(f"cannot read {MANIFEST_NAME} in {archive}")
        return dict(json.loads(handle.read()))


async def restore_backup(
    settings: Settings,
    archive: Path,
    *,
    database_url: str | None = None,
    bin_dir: Path | None = None,
) -> RestoreResult:
    """Restore `archive` into an empty database (refused otherwise), then its files."""
    target = database_url or settings.database_url
    if not target:
        raise BackupError("DATABASE_URL is not set (or pass --database-url)")
    existing = await asyncio.to_thread(_relations_in, target)
    if existing:
        shown = ", ".join(existing[:5]) + (" …" if len(existing) > 5 else "")
        raise RestoreRefused(
            f"refusing to restore into {_database_label(target)}: it already has "
            f"{len(existing)} tables or other relations ({shown}). A restore only goes "
            "into an empty database: create a new one and point DATABASE_URL "
            "(or --database-url) at it."
        )
    storage = get_storage(settings)
    with tempfile.TemporaryDirectory(prefix="erplake-restore-") as tmp:
        staging = Path(tmp)
        manifest = await asyncio.to_thread(_extract_verified, archive, staging)
        counts = await asyncio.to_thread(
            _restore_database, target, staging / DUMP_NAME, manifest, bin_dir
        )
        expected: dict[str, int] = manifest["database"]["tables"]
        wrong = {t: (n, counts.get(t)) for t, n in expected.items() if counts.get(t) != n}
        if wrong:
            raise BackupError(f"restored row counts differ from the manifest: {wrong}")
        prefix = f"{FILES_DIR}/"
        keys = [m.removeprefix(prefix) for m in manifest["members"] if m.startswith(prefix)]
        await _copy_in(storage, staging, keys)
    log.info("backup_restored", archive=str(archive), tables=len(counts), files=len(keys))
    return RestoreResult(
        database=_database_label(target),
        tables=len(counts),
        rows=sum(counts.values()),
        files=len(keys),
        manifest=manifest,
    )
