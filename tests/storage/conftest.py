"""A real S3 wire endpoint on loopback (moto in server mode) for the S3 driver's tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from erplake.storage import S3Storage

S3_ACCESS_KEY = "test-access-key"
S3_SECRET_KEY = "test-secret-key"

MakeS3Storage = Callable[..., S3Storage]
MakeS3Client = Callable[..., Any]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    # Port 0 lets the OS pick a free port, so parallel runs never collide.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket() -> str:
    # The server outlives each test, so each test gets a bucket nobody else has touched.
    return f"school-media-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_s3_storage(s3_endpoint: str, s3_bucket: str) -> MakeS3Storage:
    def make(region: str = "us-east-1") -> S3Storage:
        return S3Storage(
            bucket=s3_bucket,
            endpoint_url=s3_endpoint,
            access_key=S3_ACCESS_KEY,
            secret_key=S3_SECRET_KEY,
            region=region,
        )

    return make


@pytest.fixture
def s3_storage(make_s3_storage: MakeS3Storage) -> S3Storage:
    return make_s3_storage()


@pytest.fixture
def make_s3_client(s3_endpoint: str) -> MakeS3Client:
    """A plain boto3 client, to look at the bucket from outside the driver."""

    def make(region: str = "us-east-1") -> Any:
        return boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            aws_access_key_id=S3_ACCESS_KEY,
            aws_secret_access_key=S3_SECRET_KEY,
            region_name=region,
        )

    return make


@pytest.fixture
def s3_settings(s3_endpoint: str, s3_bucket: str) -> dict[str, str]:
    """Settings overrides that point STORAGE_DRIVER=s3 at the loopback server."""
    return {
        "storage_driver": "s3",
        "minio_endpoint": s3_endpoint,
        "minio_bucket": s3_bucket,
        "minio_root_user": S3_ACCESS_KEY,
        "minio_root_password": S3_SECRET_KEY,
        "minio_region": "us-east-1",
    }
