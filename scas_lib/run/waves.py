"""Sensing a live run's waves: what the recordings bucket holds that is not recognized
yet (:func:`look`), whether the event's run has ended (:func:`run_state`, from its
markers), and what a run does after its wave (:func:`next_step`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from scas_lib.errors import ScasError
from scas_lib.run.records import RunRequest, Wave
from scas_lib.storage import keys

if TYPE_CHECKING:  # for annotations only: the services and the stages load at run time
    from scas_lib.services.runtime import Services
    from scas_lib.storage import StoredObject

log = logging.getLogger(__name__)


#: Segment states after which a segment needs no more work in this event.
FINISHED_STATES = ("done", "failed")


def run_state(
    start_at: datetime | None, end_at: datetime | None, closed_end_at: datetime | None
) -> tuple[bool, bool]:
    """``(ended, closed)`` of an event's current run, from the times of its start and end
    markers (the object store's clock) and of the end marker its videos were last published
    after. A start marker newer than the end marker opens a new run, which only a newer end
    marker ends (one uploaded in the same second as the start ends it); an end marker the
    videos were published after is closed: a later run is not fooled by it.

    >>> from datetime import datetime as t
    >>> run_state(t(2026, 1, 1, 10), t(2026, 1, 1, 12), None)  # ended, not published yet
    (True, False)
    >>> run_state(t(2026, 1, 1, 13), t(2026, 1, 1, 12), t(2026, 1, 1, 12))  # a new run
    (False, False)
    >>> run_state(t(2026, 1, 1, 10), t(2026, 1, 1, 12), t(2026, 1, 1, 12))  # published
    (True, True)
    >>> run_state(None, None, None)
    (False, False)
    """
    if end_at is None or (start_at is not None and start_at > end_at):
        return False, False
    return True, closed_end_at is not None and end_at <= closed_end_at


def has_recordings(services: Services, event_id: str) -> bool:
    """Whether the recordings bucket holds anything of the event (segments or markers)."""
    store = services.object_store()
    prefix = keys.event_recordings_prefix(event_id)
    return bool(store.list(services.settings.bucket_recordings, prefix))


def stored_segments(
    services: Services, event_id: str, camera_id: str | None = None
) -> list[StoredObject]:
    prefix = keys.event_recordings_prefix(event_id)
    if camera_id:
        prefix += f"{keys.validate_id(camera_id, 'camera id')}/"
    stored = services.object_store().list(services.settings.bucket_recordings, prefix)
    return [s for s in stored if keys.parse_segment_key(s.key)]


def segment_keys(services: Services, event_id: str, camera_id: str | None = None) -> list[str]:
    """The event's segment keys in the recordings bucket (one camera's, if given)."""
    return [s.key for s in stored_segments(services, event_id, camera_id)]


def marker_times(services: Services, event_id: str) -> dict[str, datetime | None]:
    """When the event's ``start`` and ``end`` markers were uploaded (None: not there)."""
    store = services.object_store()
    bucket = services.settings.bucket_recordings
    found = {s.key: s.last_modified for s in store.list(bucket, keys.control_prefix(event_id))}
    return {name: found.get(keys.control_marker_key(event_id, name)) for name in ("start", "end")}


def end_marker_seen(services: Services, event_id: str) -> bool:
    """Whether the event's current run has ended: its end marker is there, and no start
    marker is newer (:func:`run_state`)."""
    markers = marker_times(services, event_id)
    return run_state(markers["start"], markers["end"], None)[0]


def pending_segments(
    services: Services, event_id: str, max_attempts: int, lease_s: float = 0.0
) -> list[str]:
    """Segment keys in the recordings bucket under ``<event>/`` with work left.

    Done and failed segments need no more work, unless their content changed (another ETag:
    a re-upload), which is recognized again. A new segment whose key names an invalid camera
    id is recorded as failed with the reason at once (it can belong to no camera). A segment
    left ``processing`` or ``pending`` (a worker died) is pending again, until it has been
    tried ``max_attempts`` times (:attr:`~scas_lib.run.records.RunRequest.max_attempts`):
    then it is given up on, so one segment that kills its worker cannot keep the event from
    finishing. With ``lease_s``, rows ``processing`` for longer than that (their worker
    died) are first put back to ``pending``, or failed once given up on, so the catalog says
    so too.
    """
    stored = {s.key: s for s in stored_segments(services, event_id)}
    with services.catalog() as catalog:
        if lease_s > 0:
            for stale in catalog.segments.reclaim_stale(event_id, lease_s, max_attempts):
                log.warning(
                    "%s: reclaimed from a stopped worker: %s", stale.object_key, stale.status
                )
        rows = {s.object_key: s for s in catalog.segments.for_event(event_id)}
        for key in stored:
            if key not in rows and (problem := keys.segment_camera_problem(key, {})):
                log.warning("%s: not recognized: %s", key, problem)
                parsed = keys.parse_segment_key(key)
                assert parsed is not None  # segment_keys lists only segment keys
                rows[key] = catalog.segments.reject(event_id, key, parsed.start_time, problem)
    pending = []
    for key, item in stored.items():
        row = rows.get(key)
        if row is None:
            pending.append(key)
        elif row.camera_id and row.etag and item.etag and row.etag != item.etag:
            log.info("%s: new content, recognized again", key)
            pending.append(key)
        elif row.status in FINISHED_STATES:
            continue
        elif row.attempts >= max_attempts:
            log.warning("%s: giving up after %d attempts (%s)", key, row.attempts, row.status)
        else:
            pending.append(key)
    return pending


def look(services: Services, event_id: str, max_attempts: int, lease_s: float = 0.0) -> Wave:
    """The next wave: segments to recognize now, and whether the event's run has ended
    (:func:`run_state`) and was published already.

    The markers are looked at first: segments a camera uploaded before its end marker
    are then in the listing that follows.
    """
    ended, closed = event_run_state(services, event_id)
    pending = pending_segments(services, event_id, max_attempts, lease_s)
    return Wave(event_id, pending, ended, closed)


def event_run_state(services: Services, event_id: str) -> tuple[bool, bool]:
    """``(ended, closed)`` of the event's current run (:func:`run_state`): from its markers
    in the object store and the end marker the catalog says it was published after."""
    markers = marker_times(services, event_id)
    closed_end_at = None
    if markers["end"] is not None:
        with services.catalog() as catalog:
            event = catalog.events.get(event_id)
        closed_end_at = event.closed_end_at if event else None
    return run_state(markers["start"], markers["end"], closed_end_at)


def segments_to_recognize(
    services: Services, request: RunRequest, wave: Wave | None, *, again: bool = False
) -> list[str]:
    """The keys to recognize in this run: a live run's wave (by hand, with no wave: the
    segments not finished yet), all of one camera's in a ``camera`` run, none when
    re-rendering. ``again``: every segment of the event, finished or not."""
    if request.mode == "camera" or again:
        return segment_keys(services, request.event_id, request.camera)
    if request.mode == "render":
        return []
    if wave is None:
        return pending_segments(services, request.event_id, request.max_attempts, request.lease_s)
    return list(wave.keys)


def next_step(services: Services, request: RunRequest) -> Literal["highlights", "next_wave"]:
    """After this run's recognition: render now, or wait for more segments in a new run.

    Live runs go on to the highlights only once the end marker is there and no segment is
    left to recognize; the other modes always do.
    """
    if request.mode != "live":
        return "highlights"
    wave = look(services, request.event_id, request.max_attempts, request.lease_s)
    if wave.ended and not wave.keys:
        with services.catalog() as catalog:
            catalog.events.set_status(request.event_id, "ended")
        return "highlights"
    return "next_wave"


def after_failed_wave(request: RunRequest) -> Literal["next_wave"]:
    """The next step of a run whose wave failed before recognition (a server out of reach
    through every retry): a live run hands over to the next wave, which tries again; the
    other modes cannot go on (ScasError)."""
    if request.mode != "live":
        raise ScasError(f"{request.event_id}: the {request.mode} run's segment list failed")
    log.warning("%s: this wave failed; the next wave tries again", request.event_id)
    return "next_wave"
