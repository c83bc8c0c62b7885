from __future__ import annotations

from pathlib import Path

import pytest

from erplake.core.errors import AppError, NotConfigured
from erplake.core.settings import StorageDriver, load_settings
from erplake.storage import (
    InvalidStorageKey,
    LocalStorage,
    Storage,
    StorageObjectNotFound,
    get_storage,
)
from erplake.storage.local import TEMP_PREFIX


def files_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


@pytest.fixture
def storage_root(tmp_path: Path) -> Path:
    # Not created here: LocalStorage must create its own root.
    return tmp_path / "var" / "storage"


@pytest.fixture
def storage(storage_root: Path) -> LocalStorage:
    return LocalStorage(storage_root)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"not for the school app")
    return folder


def test_local_storage_creates_missing_root(storage_root: Path) -> None:
    assert not storage_root.exists()
    LocalStorage(storage_root)
    assert storage_root.is_dir()


async def test_local_storage_is_a_storage(storage: LocalStorage) -> None:
    assert isinstance(storage, Storage)


async def test_local_storage_round_trips_bytes(storage: LocalStorage, storage_root: Path) -> None:
    payload = bytes(range(256)) * 10

    await storage.put("students/42/photo.jpg", payload, content_type="image/jpeg")

    assert await storage.get("students/42/photo.jpg") == payload
    assert await storage.exists("students/42/photo.jpg")
    assert (storage_root / "students" / "42" / "photo.jpg").read_bytes() == payload


async def test_local_storage_overwrite_replaces_content(storage: LocalStorage) -> None:
    await storage.put("receipts/r-1.pdf", b"first version, longer than the second")
    await storage.put("receipts/r-1.pdf", b"second")

    assert await storage.get("receipts/r-1.pdf") == b"second"


async def test_local_storage_write_leaves_no_temp_files(
    storage: LocalStorage, storage_root: Path
) -> None:
    await storage.put("a/b.txt", b"x")
    await storage.put("a/b.txt", b"y")

    assert files_under(storage_root / "a") == [storage_root / "a" / "b.txt"]


async def test_local_storage_list_skips_interrupted_writes(
    storage: LocalStorage, storage_root: Path
) -> None:
    await storage.put("a/b.txt", b"x")
    # What a crash between write and rename leaves behind.
    (storage_root / "a" / f"{TEMP_PREFIX}abc123").write_bytes(b"half")

    assert await storage.list() == ["a/b.txt"]


async def test_local_storage_lists_keys_by_prefix(storage: LocalStorage) -> None:
    for key in (
        "students/1/photo.jpg",
        "students/12/photo.jpg",
        "students/2/tc.pdf",
        "staff/7/photo.jpg",
        "logo.png",
    ):
        await storage.put(key, b"x")

    assert await storage.list() == [
        "logo.png",
        "staff/7/photo.jpg",
        "students/1/photo.jpg",
        "students/12/photo.jpg",
        "students/2/tc.pdf",
    ]
    assert await storage.list("students/") == [
        "students/1/photo.jpg",
        "students/12/photo.jpg",
        "students/2/tc.pdf",
    ]
    # A plain string prefix, as in S3: "students/1" also matches "students/12/…".
    assert await storage.list("students/1") == ["students/1/photo.jpg", "students/12/photo.jpg"]
    assert await storage.list("students/1/") == ["students/1/photo.jpg"]
    assert await storage.list("nobody/") == []


async def test_local_storage_delete_removes_object(storage: LocalStorage) -> None:
    await storage.put("tmp/upload.bin", b"x")

    await storage.delete("tmp/upload.bin")

    assert not await storage.exists("tmp/upload.bin")
    assert await storage.list("tmp/") == []


async def test_local_storage_delete_of_missing_key_is_not_an_error(storage: LocalStorage) -> None:
    await storage.delete("never/stored.txt")


async def test_local_storage_get_of_missing_key_raises_not_found(storage: LocalStorage) -> None:
    with pytest.raises(StorageObjectNotFound) as caught:
        await storage.get("never/stored.txt")

    assert caught.value.status_code == 404
    assert caught.value.code == "not_found"
    assert isinstance(caught.value, AppError)
    assert not await storage.exists("never/stored.txt")


async def test_local_storage_treats_folder_as_missing_object(storage: LocalStorage) -> None:
    await storage.put("students/1/photo.jpg", b"x")

    assert not await storage.exists("students/1")
    with pytest.raises(StorageObjectNotFound):
        await storage.get("students/1")


async def test_local_storage_refuses_object_under_an_object(storage: LocalStorage) -> None:
    await storage.put("students/1", b"x")

    with pytest.raises(InvalidStorageKey):
        await storage.put("students/1/photo.jpg", b"y")
    assert await storage.get("students/1") == b"x"


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "a/../../x",
        "a/../b",
        "..",
        "/etc/passwd",
        "a\\b",
        "..\\x",
        "",
        "a\x00b",
        "a//b",
        "./a",
        "a/",
        "a\nb",
        "x" * 1025,
    ],
)
async def test_local_storage_refuses_unsafe_keys(
    storage: LocalStorage, storage_root: Path, tmp_path: Path, key: str
) -> None:
    before = files_under(tmp_path)

    with pytest.raises(InvalidStorageKey) as caught:
        await storage.put(key, b"x")
    with pytest.raises(InvalidStorageKey):
        await storage.get(key)
    with pytest.raises(InvalidStorageKey):
        await storage.exists(key)
    with pytest.raises(InvalidStorageKey):
        await storage.delete(key)

    assert caught.value.status_code == 400
    assert caught.value.code == "invalid_storage_key"
    assert files_under(tmp_path) == before


async def test_local_storage_refuses_prefix_escaping_root(storage: LocalStorage) -> None:
    with pytest.raises(InvalidStorageKey):
        await storage.list("../")
    with pytest.raises(InvalidStorageKey):
        await storage.list("/etc/")


async def test_local_storage_refuses_symlink_escaping_root(
    storage: LocalStorage, storage_root: Path, outside: Path
) -> None:
    (storage_root / "link").symlink_to(outside, target_is_directory=True)

    with pytest.raises(InvalidStorageKey):
        await storage.get("link/secret.txt")
    with pytest.raises(InvalidStorageKey):
        await storage.put("link/secret.txt", b"overwritten")
    with pytest.raises(InvalidStorageKey):
        await storage.put("link/new.txt", b"planted")
    with pytest.raises(InvalidStorageKey):
        await storage.put("link/deeper/new.txt", b"planted")
    with pytest.raises(InvalidStorageKey):
        await storage.delete("link/secret.txt")
    with pytest.raises(InvalidStorageKey):
        await storage.exists("link/secret.txt")

    assert (outside / "secret.txt").read_bytes() == b"not for the school app"
    assert files_under(outside) == [outside / "secret.txt"]
    assert await storage.list() == []
    assert await storage.list("link/") == []


async def test_local_storage_refuses_file_symlink_escaping_root(
    storage: LocalStorage, storage_root: Path, outside: Path
) -> None:
    (storage_root / "passwd").symlink_to(outside / "secret.txt")

    with pytest.raises(InvalidStorageKey):
        await storage.get("passwd")
    with pytest.raises(InvalidStorageKey):
        await storage.put("passwd", b"overwritten")

    assert (outside / "secret.txt").read_bytes() == b"not for the school app"
    assert await storage.list() == []


async def test_local_storage_follows_symlink_that_stays_inside_root(
    storage: LocalStorage, storage_root: Path
) -> None:
    await storage.put("archive/2025/report.pdf", b"report")
    (storage_root / "current").symlink_to(storage_root / "archive" / "2025")

    assert await storage.get("current/report.pdf") == b"report"
    assert await storage.list("current/") == ["current/report.pdf"]


async def test_local_storage_accepts_root_reached_through_symlink(tmp_path: Path) -> None:
    real_root = tmp_path / "real"
    real_root.mkdir()
    (tmp_path / "alias").symlink_to(real_root, target_is_directory=True)
    storage = LocalStorage(tmp_path / "alias")

    await storage.put("a.txt", b"x")

    assert (real_root / "a.txt").read_bytes() == b"x"


async def test_get_storage_builds_local_storage_at_configured_path(tmp_path: Path) -> None:
    settings = load_settings(storage_driver="local", local_storage_path=tmp_path / "files")

    storage = get_storage(settings)

    assert isinstance(storage, LocalStorage)
    assert storage.root == (tmp_path / "files").resolve()


async def test_get_storage_refuses_gdrive_instead_of_falling_back(tmp_path: Path) -> None:
    settings = load_settings(storage_driver="gdrive", local_storage_path=tmp_path / "files")
    assert settings.storage_driver is StorageDriver.gdrive

    with pytest.raises(NotConfigured) as caught:
        get_storage(settings)

    assert caught.value.status_code == 503
    assert "STORAGE_DRIVER=gdrive is not configured" in caught.value.message
    assert "use local or s3" in caught.value.message
    assert not (tmp_path / "files").exists()
