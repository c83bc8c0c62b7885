"""File storage: one `Storage` contract, a local-folder and an S3/MinIO driver.

Pick the driver with `get_storage(settings)`; `STORAGE_DRIVER` decides.
"""

from __future__ import annotations

from typing import assert_never

from erplake.core.errors import NotConfigured
from erplake.core.settings import Settings, StorageDriver
from erplake.storage.base import (
    DEFAULT_CONTENT_TYPE,
    InvalidStorageKey,
    Storage,
    StorageObjectNotFound,
    validate_key,
    validate_prefix,
)
from erplake.storage.local import LocalStorage
from erplake.storage.s3 import S3Storage

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "InvalidStorageKey",
    "LocalStorage",
    "S3Storage",
    "Storage",
    "StorageObjectNotFound",
    "get_storage",
    "validate_key",
    "validate_prefix",
]


def get_storage(settings: Settings) -> Storage:
    """Build the storage driver `settings.storage_driver` names.

    An unusable driver is refused loudly: silently falling back to local disk would scatter
    a school's files across replicas that do not share a disk.
    """
    match settings.storage_driver:
        case StorageDriver.local:
            return LocalStorage(settings.local_storage_path)
        case StorageDriver.s3:
            return S3Storage(
                bucket=settings.minio_bucket,
                endpoint_url=settings.minio_endpoint or None,
                access_key=settings.minio_root_user,
                secret_key=settings.minio_root_password,
                region=settings.minio_region,
                timeout_seconds=settings.http_timeout_seconds,
                max_attempts=settings.http_retries + 1,
            )
        case StorageDriver.gdrive:
            raise NotConfigured(
                "STORAGE_DRIVER=gdrive is not configured: Google Drive storage is not "
                "available in this release; use local or s3",
                details={"setting": "STORAGE_DRIVER", "value": "gdrive"},
            )
        case _:
            assert_never(settings.storage_driver)
