"""Visitor stages: enroll a visitor from kiosk photos, and forget a visitor everywhere.

Enrollment checks every photo before anything is stored, so a bad photo changes nothing:
the quality gates, and that every photo shows one person, the visitor's (an existing
visitor id is only extended with photos of the same face). Photos go to
``enrollments/<event>/<visitor>/<n>.jpg``: a JPEG re-encoded from the upright image, so
nothing of the file's metadata (GPS position included) is kept, with the sha256 of the
photo as sent in the object's metadata; a photo already stored for the visitor is not
stored again, so a kiosk that retries a request duplicates nothing. The catalog gets the
visitor, with the consent they gave (which text, in which language, when), and one
enrollment row per photo (embedding, quality, model pack). There is no enrollment without
a consent.

Forgetting deletes the objects first and the catalog rows last: if it stops half-way, the
catalog still names the visitor and running it again finishes the job.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import cv2

from scas_lib.analysis.folders import analyses_root, forget_in_analyses
from scas_lib.catalog import Consent, Enrollment, Visitor
from scas_lib.catalog.scrub import scrub_deleted_rows
from scas_lib.errors import ScasError
from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.enrollment import (
    EnrolledPhoto,
    EnrollmentError,
    EnrollmentPolicy,
    check_one_person,
    enroll_photo,
)
from scas_lib.services import scratch
from scas_lib.services.runtime import Services
from scas_lib.services.seaweedfs import vacuum
from scas_lib.storage import keys
from scas_lib.visitors.names import validate_display_name


@dataclass(frozen=True)
class EnrollmentResult:
    visitor: Visitor
    photo_keys: tuple[str, ...]
    qualities: tuple[float, ...]
    model_pack: str


@dataclass(frozen=True)
class ForgetResult:
    event_id: str
    visitor_id: str
    objects_deleted: int
    catalog_rows: bool


def new_visitor_id() -> str:
    """A random visitor id (names may be in any script, ids must be key-safe)."""
    return f"v-{secrets.token_hex(4)}"


def enroll_visitor(
    services: Services,
    engine: FaceEngine,
    *,
    event_id: str,
    display_name: str,
    photos: Sequence[bytes],
    consent: Consent,
    visitor_id: str | None = None,
    policy: EnrollmentPolicy | None = None,
    remember: bool = False,
) -> EnrollmentResult:
    """Check the photos, store them and the visitor with the consent they gave (see
    :meth:`scas_lib.events.ConsentText.agreed`) and, when ``remember``, the second consent:
    to be known at future events (:mod:`scas_lib.visitors.returning`); raise
    :class:`EnrollmentError` naming the first bad photo (1-based) before storing anything."""
    if not photos:
        raise ScasError("give at least one photo")
    if not display_name.strip():
        raise ScasError("the visitor needs a name for their video")
    display_name = validate_display_name(display_name)
    visitor_id = keys.validate_id(visitor_id or new_visitor_id(), "visitor id")
    keys.validate_id(event_id, "event id")
    enrolled: list[EnrolledPhoto] = []
    for number, data in enumerate(photos, start=1):
        try:
            enrolled.append(enroll_photo(engine, data, policy))
        except EnrollmentError as error:
            raise type(error)(f"photo {number}: {error}") from None

    with services.catalog() as catalog:
        earlier = [
            enrollment
            for enrollment in catalog.visitors.enrollments(event_id, engine.model_pack)
            if enrollment.visitor_id == visitor_id
        ]
        if catalog.visitors.get(event_id, visitor_id) is not None and not earlier:
            raise ScasError(
                f"visitor {visitor_id} was enrolled with another model pack, so these photos "
                "cannot be checked against them: enroll under a new id"
            )
    check_one_person(visitor_id, enrolled, earlier, engine.pack.manifest.thresholds)

    visitor = Visitor(event_id, visitor_id, display_name.strip(), consent, remember)
    photo_keys = _store_photos(services, event_id, visitor_id, photos, enrolled)
    with services.catalog() as catalog:
        catalog.events.ensure(event_id)
        catalog.visitors.upsert(visitor)
        for key, photo in zip(photo_keys, enrolled, strict=True):
            catalog.visitors.upsert_enrollment(
                Enrollment(
                    event_id=event_id,
                    visitor_id=visitor_id,
                    photo_key=key,
                    model_pack=photo.model_pack,
                    embedding=tuple(float(value) for value in photo.embedding),
                    quality=photo.quality.score,
                )
            )
    return EnrollmentResult(
        visitor,
        tuple(photo_keys),
        tuple(photo.quality.score for photo in enrolled),
        engine.model_pack,
    )


def _store_photos(
    services: Services,
    event_id: str,
    visitor_id: str,
    photos: Sequence[bytes],
    enrolled: Sequence[EnrolledPhoto],
) -> list[str]:
    """Upload the upright images as JPEG (see the module docstring), reusing the key of a
    photo already stored."""
    store = services.object_store()
    bucket = services.settings.bucket_enrollments
    store.ensure_bucket(bucket)
    existing = {
        store.stat(bucket, item.key).metadata.get("sha256"): item.key
        for item in store.list(bucket, keys.visitor_enrollment_prefix(event_id, visitor_id))
    }
    next_index = len(existing)
    stored = []
    for data, photo in zip(photos, enrolled, strict=True):
        digest = hashlib.sha256(data).hexdigest()
        if digest in existing:
            stored.append(existing[digest])
            continue
        key = keys.enrollment_photo_key(event_id, visitor_id, next_index)
        next_index += 1
        store.put_bytes(
            bucket,
            key,
            _as_jpeg(photo),
            content_type="image/jpeg",
            metadata={"sha256": digest, "event": event_id, "visitor": visitor_id},
        )
        existing[digest] = key
        stored.append(key)
    return stored


def _as_jpeg(photo: EnrolledPhoto) -> bytes:
    ok, encoded = cv2.imencode(".jpg", photo.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise ScasError("could not re-encode the photo as JPEG")
    return encoded.tobytes()


def forget_visitor(services: Services, event_id: str, visitor_id: str) -> ForgetResult:
    """Delete a visitor's photos, videos and catalog rows (embeddings, tracks, appearances,
    outputs), and whatever of them is on this machine's disk: the scratch folders of their
    renders and of killed tasks, the console's analyses that named them, and the deleted
    objects' bytes in the embedded store's volumes and the deleted rows' bytes in the
    database's files (:func:`~scas_lib.catalog.scrub.scrub_deleted_rows`). Under the
    visitor's lock, so a render
    in flight publishes nothing afterwards. Safe to run again; forgetting an unknown
    visitor deletes nothing."""
    store = services.object_store()
    settings = services.settings
    deleted = 0
    with services.catalog() as catalog, catalog.visitors.lock(event_id, visitor_id):
        if store.bucket_exists(settings.bucket_enrollments):
            deleted += store.remove_prefix(
                settings.bucket_enrollments, keys.visitor_enrollment_prefix(event_id, visitor_id)
            )
        if store.bucket_exists(settings.bucket_highlights):
            for key in keys.highlight_keys(event_id, visitor_id):
                if store.exists(settings.bucket_highlights, key):
                    store.remove(settings.bucket_highlights, key)
                    deleted += 1
            deleted += store.remove_prefix(
                settings.bucket_highlights, keys.moments_prefix(event_id, visitor_id)
            )
        removed = catalog.visitors.delete(event_id, visitor_id)
    root = scratch.scratch_root(settings.data_dir)
    scratch.remove_stale(root)
    scratch.remove_all(root, scratch.render_prefix(event_id, visitor_id))
    forget_in_analyses(analyses_root(settings.data_dir), event_id, visitor_id)
    if services.seaweed_master:
        vacuum(services.seaweed_master)
    # The deleted rows' bytes (the name, the embeddings) out of the tables' files and WAL.
    scrub_deleted_rows(services.database_url, timeout_s=settings.connect_timeout_s)
    return ForgetResult(event_id, visitor_id, deleted, removed)
