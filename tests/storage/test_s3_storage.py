from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from erplake.core.settings import load_settings
from erplake.storage import (
    InvalidStorageKey,
    S3Storage,
    Storage,
    StorageObjectNotFound,
    get_storage,
)

MakeS3Storage = Callable[..., S3Storage]
MakeS3Client = Callable[..., Any]


async def test_s3_storage_is_a_storage(s3_storage: S3Storage) -> None:
    assert isinstance(s3_storage, Storage)


async def test_s3_storage_round_trips_through_the_wire(
    s3_storage: S3Storage, make_s3_client: MakeS3Client, s3_bucket: str
) -> None:
    payload = bytes(range(256)) * 10

    await s3_storage.put("students/42/photo.jpg", payload, content_type="image/jpeg")

    assert await s3_storage.get("students/42/photo.jpg") == payload
    assert await s3_storage.exists("students/42/photo.jpg")
    head = make_s3_client().head_object(Bucket=s3_bucket, Key="students/42/photo.jpg")
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentLength"] == len(payload)


async def test_s3_storage_creates_missing_bucket_on_first_use(
    s3_storage: S3Storage, make_s3_client: MakeS3Client, s3_bucket: str
) -> None:
    client = make_s3_client()
    with pytest.raises(ClientError):
        client.head_bucket(Bucket=s3_bucket)

    await s3_storage.put("logo.png", b"x")

    client.head_bucket(Bucket=s3_bucket)


async def test_s3_storage_uses_existing_bucket_and_its_objects(
    make_s3_storage: MakeS3Storage, make_s3_client: MakeS3Client, s3_bucket: str
) -> None:
    client = make_s3_client()
    client.create_bucket(Bucket=s3_bucket)
    client.put_object(Bucket=s3_bucket, Key="already/there.txt", Body=b"kept")

    assert await make_s3_storage().get("already/there.txt") == b"kept"


async def test_s3_storage_creates_bucket_outside_us_east_1(
    make_s3_storage: MakeS3Storage, make_s3_client: MakeS3Client, s3_bucket: str
) -> None:
    storage = make_s3_storage(region="ap-south-1")

    await storage.put("a.txt", b"x")

    location = make_s3_client(region="ap-south-1").get_bucket_location(Bucket=s3_bucket)
    assert location["LocationConstraint"] == "ap-south-1"
    assert await storage.get("a.txt") == b"x"


async def test_s3_storage_overwrite_replaces_content(s3_storage: S3Storage) -> None:
    await s3_storage.put("receipts/r-1.pdf", b"first version")
    await s3_storage.put("receipts/r-1.pdf", b"second")

    assert await s3_storage.get("receipts/r-1.pdf") == b"second"


async def test_s3_storage_lists_keys_by_prefix(s3_storage: S3Storage) -> None:
    for key in ("students/1/photo.jpg", "students/12/photo.jpg", "staff/7/photo.jpg"):
        await s3_storage.put(key, b"x")

    assert await s3_storage.list() == [
        "staff/7/photo.jpg",
        "students/1/photo.jpg",
        "students/12/photo.jpg",
    ]
    assert await s3_storage.list("students/1") == [
        "students/1/photo.jpg",
        "students/12/photo.jpg",
    ]
    assert await s3_storage.list("students/1/") == ["students/1/photo.jpg"]
    assert await s3_storage.list("nobody/") == []


async def test_s3_storage_delete_removes_object(s3_storage: S3Storage) -> None:
    await s3_storage.put("tmp/upload.bin", b"x")

    await s3_storage.delete("tmp/upload.bin")

    assert not await s3_storage.exists("tmp/upload.bin")
    assert await s3_storage.list("tmp/") == []


async def test_s3_storage_delete_of_missing_key_is_not_an_error(s3_storage: S3Storage) -> None:
    await s3_storage.delete("never/stored.txt")


async def test_s3_storage_get_of_missing_key_raises_not_found(s3_storage: S3Storage) -> None:
    with pytest.raises(StorageObjectNotFound) as caught:
        await s3_storage.get("never/stored.txt")

    assert caught.value.status_code == 404
    assert caught.value.code == "not_found"
    assert not await s3_storage.exists("never/stored.txt")


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a\\b", "", "a\x00b"])
async def test_s3_storage_refuses_unsafe_keys_before_any_request(
    s3_storage: S3Storage, make_s3_client: MakeS3Client, s3_bucket: str, key: str
) -> None:
    with pytest.raises(InvalidStorageKey) as caught:
        await s3_storage.put(key, b"x")
    with pytest.raises(InvalidStorageKey):
        await s3_storage.get(key)
    with pytest.raises(InvalidStorageKey):
        await s3_storage.delete(key)
    with pytest.raises(InvalidStorageKey):
        await s3_storage.list("../")

    assert caught.value.code == "invalid_storage_key"
    # Not even the bucket was created: the key never reached the wire.
    with pytest.raises(ClientError):
        make_s3_client().head_bucket(Bucket=s3_bucket)


async def test_get_storage_builds_s3_storage_from_minio_settings(
    s3_settings: dict[str, str], s3_bucket: str
) -> None:
    storage = get_storage(load_settings(**s3_settings))

    await storage.put("from/settings.txt", b"ok")

    assert isinstance(storage, S3Storage)
    assert storage.bucket == s3_bucket
    assert await storage.get("from/settings.txt") == b"ok"
