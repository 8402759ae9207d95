"""The purge stage: apply an event's retention policy to the catalog and the object store.

Each step deletes one kind of data of the event, everywhere it is kept (see
:mod:`scas_lib.retention.policy` for when):

- ``bystander_embeddings``: the mean embeddings of tracks that are nobody enrolled;
- ``enrollments``: the kiosk photos (enrollments bucket) and every embedding of the event
  (enrollment rows, the mean embeddings of all tracks);
- ``recordings``: the camera segments and control markers (recordings bucket); the rows
  that say what was found in them stay, without any face;
- ``highlights``: the videos, posters and plans (highlights bucket), then the visitors
  with every row about them (names, tracks, appearances, outputs).

Idempotent: a step run again finds nothing and deletes nothing, so the daily run may
repeat every due step. Objects go first and rows last, so an interrupted purge is finished
by the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from scas_lib.catalog.scrub import scrub_deleted_rows
from scas_lib.retention.policy import PurgeStep, RetentionPolicy
from scas_lib.services.runtime import Services
from scas_lib.services.seaweedfs import vacuum
from scas_lib.storage import keys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    """What one purge of one event deleted: per step, objects and catalog rows."""

    event_id: str
    steps: tuple[PurgeStep, ...]
    objects: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def deleted(self) -> int:
        return sum(self.objects.values()) + sum(self.rows.values())


def purge_event(
    services: Services, event_id: str, policy: RetentionPolicy, now: datetime
) -> PurgeReport:
    """Apply ``policy`` to the event as of ``now`` (module docstring)."""
    with services.catalog() as catalog:
        event = catalog.events.get(event_id)
    if event is None:
        return PurgeReport(event_id, ())
    steps = tuple(policy.due_steps(event.done_at, now))
    objects: dict[str, int] = {}
    rows: dict[str, int] = {}
    settings = services.settings
    for step in steps:
        if step == "bystander_embeddings":
            with services.catalog() as catalog:
                rows[step] = catalog.tracks.forget_embeddings(event_id, bystanders_only=True)
        elif step == "enrollments":
            objects[step] = _remove(services, settings.bucket_enrollments, event_id, "enrollment")
            with services.catalog() as catalog:
                rows[step] = catalog.visitors.delete_enrollments(event_id)
                rows[step] += catalog.tracks.forget_embeddings(event_id, bystanders_only=False)
        elif step == "recordings":
            objects[step] = _remove(services, settings.bucket_recordings, event_id, "recording")
        elif step == "highlights":
            objects[step] = _remove(services, settings.bucket_highlights, event_id, "highlight")
            with services.catalog() as catalog:
                rows[step] = catalog.visitors.delete_all(event_id)
    report = PurgeReport(event_id, steps, objects, rows)
    if sum(objects.values()) and services.seaweed_master:
        vacuum(services.seaweed_master)  # deleted objects' bytes leave the volumes now
    if rows.get("enrollments") or rows.get("highlights"):
        # names and embeddings out of the tables' files and WAL, as after a forget
        scrub_deleted_rows(services.database_url, timeout_s=settings.connect_timeout_s)
    if report.deleted:
        log.info("%s: purged %s (objects %s, rows %s)", event_id, ", ".join(steps), objects, rows)
    return report


def _remove(services: Services, bucket: str, event_id: str, kind: keys.KeyKind) -> int:
    """Delete the event's objects of one kind (the buckets may be one: see
    :func:`~scas_lib.storage.keys.key_kind`); the number deleted."""
    store = services.object_store()
    if not store.bucket_exists(bucket):
        return 0
    prefix = keys.event_recordings_prefix(event_id)  # "<event>/", the same in every bucket
    doomed = [item.key for item in store.list(bucket, prefix) if keys.key_kind(item.key) == kind]
    store.remove_keys(bucket, doomed)
    return len(doomed)
