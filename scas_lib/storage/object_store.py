"""The object store adapter: the ``minio`` SDK against MinIO or any S3 server (SeaweedFS).

It makes no decisions: it moves bytes and metadata, and turns the SDK's failures into
:mod:`scas_lib.errors` that name the server, bucket and key involved.

Publication is atomic because S3 makes it so: an object becomes visible only when its single
PUT, or the completion of its multipart upload, has succeeded, so a reader sees the old
object, the new one or none, never part of one. ``tests/test_object_store.py`` checks this on
the test server instead of taking it on trust.

Example::

    store = ObjectStore(S3Config("http://127.0.0.1:8333", "key", "secret"))
    store.put_bytes("recordings", "expo/_control/end", b"")
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar, cast
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error, ServerError

from scas_lib.errors import (
    BucketNotFound,
    LocalFileError,
    ObjectNotFound,
    ObjectStoreAccessDenied,
    ObjectStoreError,
    ObjectStoreUnavailable,
)

_METADATA_PREFIX = "x-amz-meta-"
_ACCESS_CODES = {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken"}
_T = TypeVar("_T")
#: User metadata as MinIO's client declares it. A ``dict[str, str]`` is one, but dict
#: types do not widen their values; the client only reads the dict.
_MinioMetadata = dict[str, str | list[str] | tuple[str]]


@dataclass(frozen=True)
class S3Config:
    """Where the object store is and how to sign requests to it."""

    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str = "us-east-1"
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"S3 endpoint must look like http://host:port, got {self.endpoint!r}")


@dataclass(frozen=True)
class StoredObject:
    """An object's key, size and user metadata (metadata names in lower case)."""

    bucket: str
    key: str
    size: int
    last_modified: datetime | None
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    #: The server's ETag of the content (quotes removed): another upload, another ETag.
    etag: str | None = None


def user_metadata(headers: object) -> dict[str, str]:
    """User metadata from response headers, names lower-cased and without ``x-amz-meta-``.

    MinIO and SeaweedFS return the names in different cases; SCAS reads them in lower case.

    >>> user_metadata({"X-Amz-Meta-Camera": "cam1", "x-amz-meta-start-time": "t", "Etag": "x"})
    {'camera': 'cam1', 'start-time': 't'}
    """
    items = headers.items() if hasattr(headers, "items") else []
    return {
        name.lower()[len(_METADATA_PREFIX) :]: value
        for name, value in items
        if name.lower().startswith(_METADATA_PREFIX)
    }


class ObjectStore:
    """Buckets, objects and presigned URLs on one S3 endpoint."""

    def __init__(self, config: S3Config) -> None:
        self.config = config
        parts = urlsplit(config.endpoint)
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=config.timeout_s, read=max(60.0, config.timeout_s)),
            # A few quick retries for a restarting server; not the SDK's minutes of them.
            retries=urllib3.Retry(
                total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
            ),
        )
        self._client = Minio(
            parts.netloc,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=parts.scheme == "https",
            region=config.region,
            http_client=http,
        )

    @property
    def endpoint(self) -> str:
        return self.config.endpoint

    # error translation -------------------------------------------------------------------

    @contextmanager
    def _errors(self, bucket: str, key: str | None = None) -> Iterator[None]:
        where = f"s3://{bucket}/{key}" if key else f"bucket {bucket!r}"
        try:
            yield
        except S3Error as error:
            if error.code == "NoSuchBucket":
                raise BucketNotFound(
                    f"bucket {bucket!r} does not exist on {self.endpoint} "
                    "(run `scas store init` to create the SCAS buckets)"
                ) from None
            if error.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                raise ObjectNotFound(f"{where} does not exist on {self.endpoint}") from None
            if error.code in _ACCESS_CODES:
                raise ObjectStoreAccessDenied(
                    f"{self.endpoint} refused access to {where}: {error.code} "
                    "(check SCAS_S3_ACCESS_KEY and SCAS_S3_SECRET_KEY)"
                ) from None
            raise ObjectStoreError(
                f"{self.endpoint} failed on {where}: {error.code}: {error.message}"
            ) from None
        except ServerError as error:
            raise ObjectStoreUnavailable(
                f"{self.endpoint} answered HTTP {error.status_code} on {where}"
            ) from None
        except OSError as error:
            if error.filename is None:  # a socket's error: the server is out of reach
                raise ObjectStoreUnavailable(
                    f"cannot reach the object store at {self.endpoint}: {_root_cause(error)} "
                    "(check SCAS_S3_ENDPOINT, or run `scas up` for the embedded server)"
                ) from None
            raise LocalFileError(
                f"{error.filename}: {error.strerror or error} (transferring {where})"
            ) from None
        except urllib3.exceptions.HTTPError as error:
            raise ObjectStoreUnavailable(
                f"cannot reach the object store at {self.endpoint}: {_root_cause(error)} "
                "(check SCAS_S3_ENDPOINT, or run `scas up` for the embedded server)"
            ) from None
        except MinioException as error:
            raise ObjectStoreError(f"{self.endpoint} failed on {where}: {error}") from None

    def _call(self, bucket: str, key: str | None, action: Callable[[], _T]) -> _T:
        with self._errors(bucket, key):
            return action()

    # buckets -----------------------------------------------------------------------------

    def bucket_exists(self, bucket: str) -> bool:
        return self._call(bucket, None, lambda: self._client.bucket_exists(bucket))

    def ensure_bucket(self, bucket: str) -> bool:
        """Create ``bucket`` if missing; True if this call created it."""
        with self._errors(bucket):
            if self._client.bucket_exists(bucket):
                return False
            try:
                self._client.make_bucket(bucket)
            except S3Error as error:
                # Another process created it between the check and the create.
                if error.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
                return False
            return True

    def remove_bucket(self, bucket: str) -> None:
        """Delete a bucket and everything in it."""
        self.remove_prefix(bucket, "", whole_bucket=True)
        self._call(bucket, None, lambda: self._client.remove_bucket(bucket))

    def list_buckets(self) -> list[str]:
        with self._errors("*"):
            return sorted(bucket.name for bucket in self._client.list_buckets())

    # objects -----------------------------------------------------------------------------

    def put_bytes(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Store ``data`` at ``key``, replacing any object there, atomically."""
        self._call(
            bucket,
            key,
            lambda: self._client.put_object(
                bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                metadata=cast("_MinioMetadata | None", metadata),
            ),
        )

    def put_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Upload a local file to ``key`` (multipart for large files), atomically."""
        self._call(
            bucket,
            key,
            lambda: self._client.fput_object(
                bucket,
                key,
                str(path),
                content_type=content_type,
                metadata=cast("_MinioMetadata | None", metadata),
            ),
        )

    def get_bytes(self, bucket: str, key: str) -> bytes:
        with self._errors(bucket, key):
            response = self._client.get_object(bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def get_range(self, bucket: str, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes of ``key`` from ``offset`` (fewer at the end of the object): a
        web page streams a video in such pieces instead of holding it whole."""
        with self._errors(bucket, key):
            response = self._client.get_object(bucket, key, offset=offset, length=length)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def download_file(self, bucket: str, key: str, path: Path) -> Path:
        """Download ``key`` to ``path`` (through a temporary file the SDK renames)."""
        self._call(bucket, key, lambda: self._client.fget_object(bucket, key, str(path)))
        return path

    def stat(self, bucket: str, key: str) -> StoredObject:
        """Size, time and user metadata of one object."""
        with self._errors(bucket, key):
            info = self._client.stat_object(bucket, key)
        return StoredObject(
            bucket=bucket,
            key=key,
            size=info.size or 0,
            last_modified=info.last_modified,
            content_type=info.content_type,
            metadata=user_metadata(info.metadata or {}),
            etag=_etag(info.etag),
        )

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.stat(bucket, key)
        except ObjectNotFound:
            return False
        return True

    def list(self, bucket: str, prefix: str = "", *, recursive: bool = True) -> list[StoredObject]:
        """Objects under ``prefix``, sorted by key (metadata not included: use :meth:`stat`)."""
        with self._errors(bucket, prefix or None):
            found = [
                StoredObject(
                    bucket=bucket,
                    key=item.object_name or "",
                    size=item.size or 0,
                    last_modified=item.last_modified,
                    etag=_etag(item.etag),
                )
                for item in self._client.list_objects(bucket, prefix=prefix, recursive=recursive)
                if not item.is_dir
            ]
        return sorted(found, key=lambda stored: stored.key)

    def remove(self, bucket: str, key: str) -> None:
        """Delete one object; deleting a missing object is not an error."""
        self._call(bucket, key, lambda: self._client.remove_object(bucket, key))

    def remove_prefix(self, bucket: str, prefix: str, *, whole_bucket: bool = False) -> int:
        """Delete every object under ``prefix``; return how many were deleted.

        An empty prefix means the whole bucket and needs ``whole_bucket=True``.
        """
        if not prefix and not whole_bucket:
            raise ValueError("refusing to empty a whole bucket without whole_bucket=True")
        keys = [stored.key for stored in self.list(bucket, prefix)]
        self.remove_keys(bucket, keys, where=prefix)
        return len(keys)

    def remove_keys(self, bucket: str, keys: Sequence[str], *, where: str = "") -> None:
        """Delete the objects ``keys`` (in batches, as S3 does); missing ones are no error."""
        if not keys:
            return
        prefix = where or keys[0]
        with self._errors(bucket, prefix):
            failures = list(
                self._client.remove_objects(bucket, (DeleteObject(key) for key in keys))
            )
        if failures:
            raise ObjectStoreError(
                f"could not delete {len(failures)} objects under s3://{bucket}/{prefix}: "
                f"{failures[0].code} {failures[0].message}"
            )

    def presigned_url(self, bucket: str, key: str, expires: timedelta) -> str:
        """A URL anyone can GET ``key`` from until ``expires`` has passed."""
        return self._call(
            bucket,
            key,
            lambda: self._client.presigned_get_object(bucket, key, expires=expires),
        )


def _etag(value: str | None) -> str | None:
    """An ETag without the quotes some servers keep.

    >>> _etag('"d41d8cd98f00b204e9800998ecf8427e"')
    'd41d8cd98f00b204e9800998ecf8427e'
    """
    return value.strip('"') if value else None


def _root_cause(error: BaseException) -> str:
    """The innermost reason of a urllib3 error chain, e.g. 'Connection refused'."""
    reason: BaseException = error
    while True:
        inner = getattr(reason, "reason", None) or reason.__cause__ or reason.__context__
        if inner is None or inner is reason or not isinstance(inner, BaseException):
            break
        reason = inner
    text = str(reason)
    # urllib3 prefixes the connection object's repr; keep what a person needs.
    return text.split(": ", 1)[-1] if "object at 0x" in text else text
