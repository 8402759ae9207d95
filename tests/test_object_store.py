"""The object store adapter against a real S3 server (SeaweedFS, or MinIO when configured)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from scas_lib.errors import (
    BucketNotFound,
    LocalFileError,
    ObjectNotFound,
    ObjectStoreAccessDenied,
    ObjectStoreUnavailable,
)
from scas_lib.services.embedded import free_ports
from scas_lib.storage import ObjectStore, S3Config


def test_round_trip_keeps_bytes_and_metadata(store: ObjectStore, bucket: str) -> None:
    data = os.urandom(10_000)
    store.put_bytes(
        bucket,
        "expo/cam1/20261122T054445.250000Z.mp4",
        data,
        content_type="video/mp4",
        metadata={"Camera": "cam1", "start-time": "2026-11-22T05:44:45.25Z"},
    )

    assert store.get_bytes(bucket, "expo/cam1/20261122T054445.250000Z.mp4") == data
    stored = store.stat(bucket, "expo/cam1/20261122T054445.250000Z.mp4")
    assert stored.size == len(data)
    assert stored.content_type == "video/mp4"
    # Whatever case the server returns, SCAS reads metadata names in lower case.
    assert stored.metadata == {"camera": "cam1", "start-time": "2026-11-22T05:44:45.25Z"}


def test_file_upload_and_download(store: ObjectStore, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "segment.mp4"
    source.write_bytes(os.urandom(200_000))
    store.put_file(bucket, "a/b.mp4", source, metadata={"camera": "cam2"})
    target = store.download_file(bucket, "a/b.mp4", tmp_path / "copy.mp4")
    assert target.read_bytes() == source.read_bytes()


def test_listing_by_prefix(store: ObjectStore, bucket: str) -> None:
    for key in ("expo/cam1/1.mp4", "expo/cam1/2.mp4", "expo/cam2/1.mp4", "other/cam1/1.mp4"):
        store.put_bytes(bucket, key, b"x")

    assert [o.key for o in store.list(bucket, "expo/cam1/")] == [
        "expo/cam1/1.mp4",
        "expo/cam1/2.mp4",
    ]
    assert len(store.list(bucket, "expo/")) == 3
    assert store.list(bucket, "nothing/") == []


def test_remove_prefix_deletes_only_that_prefix(store: ObjectStore, bucket: str) -> None:
    for key in ("expo/v1/0.jpg", "expo/v1/1.jpg", "expo/v10/0.jpg"):
        store.put_bytes(bucket, key, b"x")
    assert store.remove_prefix(bucket, "expo/v1/") == 2
    assert [o.key for o in store.list(bucket)] == ["expo/v10/0.jpg"]
    with pytest.raises(ValueError):
        store.remove_prefix(bucket, "")


def test_ensure_bucket_is_idempotent(store: ObjectStore, bucket: str) -> None:
    assert store.ensure_bucket(bucket) is False
    assert bucket in store.list_buckets()


def test_presigned_url_downloads_over_http(store: ObjectStore, bucket: str) -> None:
    store.put_bytes(bucket, "highlights/v1.mp4", b"a highlight video")
    url = store.presigned_url(bucket, "highlights/v1.mp4", timedelta(minutes=5))

    response = requests.get(url, timeout=10)

    assert response.status_code == 200
    assert response.content == b"a highlight video"


def test_expired_presigned_url_is_refused(store: ObjectStore, bucket: str) -> None:
    store.put_bytes(bucket, "v1.mp4", b"video")
    url = store.presigned_url(bucket, "v1.mp4", timedelta(seconds=1))
    time.sleep(2.5)

    response = requests.get(url, timeout=10)

    assert response.status_code == 403
    assert response.content != b"video"


def test_wrong_keys_are_refused_with_a_clear_error(s3_config: S3Config, bucket: str) -> None:
    wrong = ObjectStore(
        S3Config(s3_config.endpoint, s3_config.access_key, s3_config.secret_key + "x")
    )
    with pytest.raises(ObjectStoreAccessDenied, match="SCAS_S3_SECRET_KEY"):
        wrong.list(bucket)
    with pytest.raises(ObjectStoreAccessDenied):
        wrong.put_bytes(bucket, "intruder.txt", b"x")


def test_anonymous_requests_are_refused(store: ObjectStore, bucket: str) -> None:
    store.put_bytes(bucket, "private.jpg", b"face")
    response = requests.get(f"{store.endpoint}/{bucket}/private.jpg", timeout=10)
    assert response.status_code == 403


def test_missing_bucket_gives_a_clear_error(store: ObjectStore) -> None:
    with pytest.raises(BucketNotFound, match="'no-such-bucket-scas' does not exist"):
        store.put_bytes("no-such-bucket-scas", "k", b"x")
    with pytest.raises(BucketNotFound):
        store.list("no-such-bucket-scas")


def test_missing_object_gives_a_clear_error(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(ObjectNotFound, match=r"missing\.mp4"):
        store.get_bytes(bucket, "missing.mp4")
    with pytest.raises(ObjectNotFound):
        store.stat(bucket, "missing.mp4")
    assert store.exists(bucket, "missing.mp4") is False


def test_a_missing_local_file_is_named_as_such_not_as_an_unreachable_store(
    store: ObjectStore, bucket: str, tmp_path: Path
) -> None:
    missing = tmp_path / "gone.mp4"
    with pytest.raises(LocalFileError, match=r"gone\.mp4: No such file or directory"):
        store.put_file(bucket, "cam1/gone.mp4", missing)
    assert not store.exists(bucket, "cam1/gone.mp4")


def test_unreachable_server_gives_a_clear_error() -> None:
    (port,) = free_ports(1)  # nothing listens there
    store = ObjectStore(S3Config(f"http://127.0.0.1:{port}", "key", "secret", timeout_s=1))
    with pytest.raises(ObjectStoreUnavailable, match=f"cannot reach the object store at .*:{port}"):
        store.list_buckets()


def test_readers_never_see_a_partly_written_object(
    store: ObjectStore, bucket: str, tmp_path: Path
) -> None:
    """Replace a 12 MiB object (a multipart upload) while another thread keeps reading it:
    every read must return the complete old or the complete new object."""
    old, new = os.urandom(12 * 2**20), os.urandom(12 * 2**20)
    digests = {hashlib.sha256(old).hexdigest(): "old", hashlib.sha256(new).hexdigest(): "new"}
    store.put_bytes(bucket, "highlights/v1.mp4", old)
    new_file = tmp_path / "new.mp4"
    new_file.write_bytes(new)

    seen: list[str] = []
    writing = threading.Event()

    def read_until_written() -> None:
        while writing.is_set() or not seen:
            data = store.get_bytes(bucket, "highlights/v1.mp4")
            seen.append(digests.get(hashlib.sha256(data).hexdigest(), f"torn:{len(data)}"))

    writing.set()
    reader = threading.Thread(target=read_until_written)
    reader.start()
    store.put_file(bucket, "highlights/v1.mp4", new_file)
    writing.clear()
    reader.join(timeout=60)
    final = store.get_bytes(bucket, "highlights/v1.mp4")

    assert "old" in seen, "the reader never overlapped the upload; the test proved nothing"
    assert not [observation for observation in seen if observation.startswith("torn")]
    assert (
        hashlib.sha256(final).hexdigest() in digests
        and digests[hashlib.sha256(final).hexdigest()] == "new"
    )
