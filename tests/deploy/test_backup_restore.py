"""`erplake backup` / `erplake restore`: the demo school and its files make the round
trip into a fresh database byte for byte; non-empty targets and damaged archives are
refused; the nightly job keeps the newest N."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from erplake.core.app import Resources
from erplake.core.db import libpq_url
from erplake.core.jobs import execute_outbox_job, registered_tasks
from erplake.core.settings import Settings, StorageDriver
from erplake.demo.seed import seed_demo_school
from erplake.ops.backup import (
    BackupError,
    RestoreRefused,
    create_backup,
    find_pg_tool,
    list_backups,
    prune_backups,
    read_manifest,
    restore_backup,
    tool_version,
)
from erplake.ops.tasks import BACKUP_TASK, build_cron_scheduler, schedule_backup
from erplake.storage import get_storage
from tests.conftest import TEST_JWT_SECRET, create_scratch_database, drop_scratch_database
from tests.deploy.conftest import base_env

FILES = {
    "students/2026/0001/photo.jpg": os.urandom(64 * 1024),
    "receipts/2026-27/RCPT-000123.pdf": b"%PDF-1.4\n% receipt\n" + bytes(range(256)) * 8,
    "notes/नमस्ते welcome.txt": "नमस्ते, welcome to Green Valley".encode(),
}


def table_fingerprints(url: str) -> dict[str, tuple[int, str | None]]:
    """Row count and an order-independent checksum of every table's contents."""
    out: dict[str, tuple[int, str | None]] = {}
    with psycopg.connect(libpq_url(url)) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            row = conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {}.{} t"
                ).format(sql.Identifier(schema), sql.Identifier(table))
            ).fetchone()
            assert row is not None
            out[f"{schema}.{table}"] = (int(row[0]), row[1])
        for name, last in conn.execute(
            "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences"
        ):
            out[f"sequence {name}"] = (int(last or 0), None)
    return out


@pytest.fixture
def school_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test settings with a storage folder of this test's own."""
    return settings.model_copy(update={"local_storage_path": tmp_path / "storage"})


@pytest.fixture
async def seeded(school_settings: Settings) -> Settings:
    assert await seed_demo_school(school_settings)
    storage = get_storage(school_settings)
    for key, data in FILES.items():
        await storage.put(key, data)
    return school_settings


@pytest.fixture
def scratch_database(server_urls: tuple[str, str]) -> Iterator[str]:
    admin_url, _ = server_urls
    name = f"erplake_restore_{uuid.uuid4().hex[:10]}"
    url = create_scratch_database(admin_url, name)
    try:
        yield url
    finally:
        drop_scratch_database(admin_url, name)


async def test_backup_then_restore_into_a_fresh_database_is_identical(
    seeded: Settings, scratch_database: str, tmp_path: Path
) -> None:
    source = table_fingerprints(seeded.database_url)
    result = await create_backup(seeded, out_dir=tmp_path / "backups")

    manifest = read_manifest(result.archive)
    assert manifest == result.manifest
    assert manifest["database"]["schema_revision"]
    counts = manifest["database"]["tables"]
    assert counts["public.schools"] == 1 and counts["public.users"] >= 5
    assert {k: v[0] for k, v in source.items() if not k.startswith("sequence")} == counts
    assert manifest["storage"] == {
        "driver": "local",
        "file_count": len(FILES),
        "total_bytes": sum(len(v) for v in FILES.values()),
    }
    assert set(manifest["members"]) == {"database.dump", *(f"files/{k}" for k in FILES)}
    assert all(len(m["sha256"]) == 64 for m in manifest["members"].values())
    assert oct(result.archive.stat().st_mode & 0o777) == "0o600"

    restored_settings = seeded.model_copy(
        update={"database_url": scratch_database, "local_storage_path": tmp_path / "restored"}
    )
    restored = await restore_backup(restored_settings, result.archive)
    assert restored.files == len(FILES)
    assert restored.tables == len(counts)

    target = table_fingerprints(scratch_database)
    assert target == source
    assert sum(n for n, _ in source.values()) > 0
    for key, data in FILES.items():
        assert (tmp_path / "restored" / key).read_bytes() == data


async def test_restore_refuses_a_database_that_has_tables(seeded: Settings, tmp_path: Path) -> None:
    result = await create_backup(seeded, out_dir=tmp_path / "backups")
    before = table_fingerprints(seeded.database_url)
    with pytest.raises(RestoreRefused, match=r"already has .* tables"):
        await restore_backup(seeded, result.archive)
    assert table_fingerprints(seeded.database_url) == before

    # The command line says the same, and fails.
    cli = subprocess.run(
        [sys.executable, "-m", "erplake", "restore", str(result.archive)],
        env=base_env(
            DATABASE_URL=seeded.database_url,
            REDIS_URL=seeded.redis_url,
            ERPLAKE_ENV="test",
            JWT_SECRET=TEST_JWT_SECRET,
            LOCAL_STORAGE_PATH=str(tmp_path / "cli-storage"),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 1
    assert "refusing to restore" in cli.stderr and "empty database" in cli.stderr


async def test_a_tampered_archive_is_refused(
    seeded: Settings, scratch_database: str, tmp_path: Path
) -> None:
    result = await create_backup(seeded, out_dir=tmp_path / "backups")
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(result.archive, "r:gz") as src, tarfile.open(tampered, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.endswith("photo.jpg"):
                data = b"not the photo" + data[13:]
            dst.addfile(member, io.BytesIO(data))
    target = seeded.model_copy(
        update={"database_url": scratch_database, "local_storage_path": tmp_path / "restored"}
    )
    with pytest.raises(RestoreRefused, match="damaged"):
        await restore_backup(target, tampered)
    assert table_fingerprints(scratch_database) == {}  # nothing was restored
    restored_files = [p for p in (tmp_path / "restored").rglob("*") if p.is_file()]
    assert restored_files == []


async def test_backup_command_keeps_the_newest_n(seeded: Settings, tmp_path: Path) -> None:
    out = tmp_path / "backups"
    out.mkdir()
    (out / "README.txt").write_text("not an archive: never pruned")
    made = [(await create_backup(seeded, out_dir=out, keep=2)).archive for _ in range(3)]
    assert list_backups(out) == made[1:]
    assert (out / "README.txt").exists()

    env = base_env(
        DATABASE_URL=seeded.database_url,
        REDIS_URL=seeded.redis_url,
        ERPLAKE_ENV="test",
        JWT_SECRET=TEST_JWT_SECRET,
        LOCAL_STORAGE_PATH=str(seeded.local_storage_path),
    )
    cli = subprocess.run(
        [sys.executable, "-m", "erplake", "backup", "--out", str(out), "--keep", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    newest = Path(cli.stdout.strip().splitlines()[-1])
    assert list_backups(out) == [newest]
    assert read_manifest(newest)["storage"]["file_count"] == len(FILES)
    with pytest.raises(BackupError):
        prune_backups(out, 0)


async def test_nightly_job_runs_through_the_outbox_and_prunes(
    seeded: Settings, resources: Resources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "nightly"
    monkeypatch.setenv("BACKUP_DIR", str(out))
    monkeypatch.setenv("BACKUP_KEEP", "2")
    assert BACKUP_TASK in registered_tasks()

    ids = []
    for day in (1, 2, 3):
        slot = datetime(2026, 11, day, 21, 30, tzinfo=UTC)
        job_id = await schedule_backup(resources.sessionmaker, slot=slot)
        assert job_id is not None
        # The same slot again (a second scheduler, a restart) adds nothing.
        assert await schedule_backup(resources.sessionmaker, slot=slot) is None
        ids.append(job_id)
    for job_id in ids:
        assert await execute_outbox_job(resources.sessionmaker, seeded, job_id) == "done"
    kept = list_backups(out)
    assert len(kept) == 2
    assert read_manifest(kept[-1])["storage"]["file_count"] == len(FILES)


def test_cron_scheduler_registers_the_nightly_backup(monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    from erplake.ops.backup import BackupSettings

    connection = redis.Redis()  # never contacted: registering is local
    always = [
        ("erplake.payments.tasks.enqueue_payments_reconcile", "*/5 * * * *", "low"),
        ("erplake.fees.tasks.enqueue_daily_fee_jobs", "5 * * * *", "low"),
    ]
    jobs = build_cron_scheduler(connection, BackupSettings(cron="0 22 * * *")).get_jobs()
    assert [(j.func_name, j.cron, j.queue_name) for j in jobs] == [
        ("erplake.ops.tasks.enqueue_nightly_backup", "0 22 * * *", "low"),
        *always,
    ]
    # BACKUP_CRON=off turns the backup off, not the school's daily work.
    jobs = build_cron_scheduler(connection, BackupSettings(cron="off")).get_jobs()
    assert [(j.func_name, j.cron, j.queue_name) for j in jobs] == always


def test_pg_dump_is_chosen_by_server_version() -> None:
    chosen = find_pg_tool("pg_dump", 16)
    assert int(tool_version(chosen).split(".")[0]) >= 16
    with pytest.raises(BackupError, match="PostgreSQL 99"):
        find_pg_tool("pg_dump", 99)


async def test_s3_storage_files_make_the_round_trip(
    settings: Settings, scratch_database: str, tmp_path: Path
) -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = {
            "storage_driver": StorageDriver.s3,
            "minio_endpoint": f"http://{host}:{port}",
            "minio_root_user": "test-access-key",
            "minio_root_password": "test-secret-key",
        }
        source = settings.model_copy(update={**s3, "minio_bucket": "school-media-src"})
        for key, data in FILES.items():
            await get_storage(source).put(key, data)
        result = await create_backup(source, out_dir=tmp_path / "backups")
        assert result.manifest["storage"]["driver"] == "s3"
        assert result.manifest["storage"]["file_count"] == len(FILES)

        target = settings.model_copy(
            update={**s3, "minio_bucket": "school-media-dst", "database_url": scratch_database}
        )
        await restore_backup(target, result.archive)
        restored = get_storage(target)
        assert await restored.list("") == sorted(FILES)
        for key, data in FILES.items():
            assert await restored.get(key) == data
        assert json.dumps(read_manifest(result.archive)["members"], sort_keys=True)
    finally:
        server.stop()


def test_versions_are_read_from_debian_and_plain_builds(tmp_path: Path) -> None:
    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)'\n")
    fake.chmod(0o755)
    assert find_pg_tool("pg_dump", 16, bin_dir=tmp_path) == fake  # an explicit folder wins
    assert tool_version(fake) == "15.20"
    with pytest.raises(BackupError, match="BACKUP_PG_BIN_DIR"):
        find_pg_tool("pg_restore", 16, bin_dir=tmp_path)
