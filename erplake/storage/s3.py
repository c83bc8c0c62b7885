"""Storage in an S3 bucket: MinIO next to the app on a VPS, or any S3-compatible service."""

from __future__ import annotations

import asyncio
import builtins
import threading
from typing import TYPE_CHECKING, Any

from erplake.storage.base import (
    DEFAULT_CONTENT_TYPE,
    StorageObjectNotFound,
    validate_key,
    validate_prefix,
)

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

# S3 and MinIO spell "not there" in several ways depending on the call and on whether the
# request carried a body (HEAD responses have none, so only the status code is left).
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Storage:
    """Objects in one bucket, created on first use if it does not exist yet."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None,
        access_key: str,
        secret_key: str,
        region: str,
        *,
        timeout_seconds: float = 10.0,
        max_attempts: int = 3,
    ) -> None:
        # Imported here so that importing erplake.storage (every role does) stays cheap
        # for deployments that store files locally.
        import boto3.session
        from botocore.config import Config
        from botocore.exceptions import ClientError

        self.bucket = bucket
        self.region = region
        self._client_error = ClientError
        config = Config(
            connect_timeout=timeout_seconds,
            read_timeout=timeout_seconds,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            # MinIO on localhost or an IP has no per-bucket DNS names.
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        # An own session, not boto3's module-level default one, which is not thread-safe;
        # clients themselves are safe to share across the worker threads used below.
        session = boto3.session.Session(
            # Empty credentials mean "use the default chain" (instance role, env, profile).
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region,
        )
        self._client: Any = session.client("s3", endpoint_url=endpoint_url or None, config=config)
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            try:
                # HEAD first: production credentials often may read and write a bucket
                # without being allowed to create one.
                self._client.head_bucket(Bucket=self.bucket)
            except self._client_error as exc:
                if _error_code(exc) not in _MISSING_CODES:
                    raise
                self._create_bucket()
            self._bucket_ready = True

    def _create_bucket(self) -> None:
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        # us-east-1 is the one region S3 refuses an explicit LocationConstraint for.
        if self.region and self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._client.create_bucket(**kwargs)
        except self._client_error as exc:
            # Another replica won the race to create it; that is the outcome we wanted.
            if _error_code(exc) != "BucketAlreadyOwnedByYou":
                raise

    async def put(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        validate_key(key)
        await asyncio.to_thread(self._put_sync, key, data, content_type)

    def _put_sync(self, key: str, data: bytes, content_type: str) -> None:
        self._ensure_bucket()
        self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes:
        validate_key(key)
        return await asyncio.to_thread(self._get_sync, key)

    def _get_sync(self, key: str) -> bytes:
        self._ensure_bucket()
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except self._client_error as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise StorageObjectNotFound(f"no stored object under {key!r}") from None
            raise
        body = response["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    async def delete(self, key: str) -> None:
        validate_key(key)
        await asyncio.to_thread(self._delete_sync, key)

    def _delete_sync(self, key: str) -> None:
        self._ensure_bucket()
        # S3 answers 204 for a missing key too, so a retried delete needs no special case.
        self._client.delete_object(Bucket=self.bucket, Key=key)

    async def exists(self, key: str) -> bool:
        validate_key(key)
        return await asyncio.to_thread(self._exists_sync, key)

    def _exists_sync(self, key: str) -> bool:
        self._ensure_bucket()
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except self._client_error as exc:
            if _error_code(exc) in _MISSING_CODES:
                return False
            raise
        return True

    async def list(self, prefix: str = "") -> builtins.list[str]:
        validate_prefix(prefix)
        return await asyncio.to_thread(self._list_sync, prefix)

    def _list_sync(self, prefix: str) -> builtins.list[str]:
        self._ensure_bucket()
        paginator = self._client.get_paginator("list_objects_v2")
        keys: builtins.list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        keys.sort()
        return keys
