"""The recognize stage: a segment in the recordings bucket in, its tracks in the catalog.

Idempotent: the segment is registered once per object key, and its tracks replace any
earlier ones in one transaction, so a retried task leaves one set of rows. The segment's
status goes pending -> processing -> done, or failed with the reason; a segment that can
only be read in part keeps the tracks of that part and is marked failed. A transient fault
(the catalog or the object store out of reach, a dropped connection,
:func:`~scas_lib.errors.is_transient`) is raised for the task to be retried, and puts the
segment back to pending, not failed: only bad data fails a segment.

The segment's start time is the recorder's: the ``start-time`` metadata when present, else
the time in its key.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scas_lib.errors import ScasError, is_transient
from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.matching import Gallery
from scas_lib.faces.pack import thresholds_for
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.headcount import GrowingHeadcount, Headcount, count_people
from scas_lib.recognition.lease import LeaseKeeper
from scas_lib.recognition.pipeline import recognize_video
from scas_lib.recognition.records import SegmentOutcome, WorkTiming
from scas_lib.services.runtime import Services
from scas_lib.services.scratch import SEGMENT_PREFIX, scratch_dir
from scas_lib.storage import keys
from scas_lib.tracks import FaceTrack

log = logging.getLogger(__name__)


def segment_start_time(key: str, metadata: dict[str, str]) -> tuple[str, str, datetime]:
    """Event, camera and UTC start of a segment, from its key and metadata."""
    parsed = keys.parse_segment_key(key)
    if parsed is None:
        raise ScasError(f"{key} is not a segment key (<event>/<camera>/<UTC start>.mp4)")
    start = parsed.start_time
    if "start-time" in metadata:
        try:
            start = datetime.fromisoformat(metadata["start-time"])
        except ValueError:
            log.warning("%s: unreadable start-time metadata %r", key, metadata["start-time"])
    camera = metadata.get("camera", parsed.camera_id)
    return keys.validate_id(parsed.event_id, "event id"), camera, start


def recognize_segment(
    services: Services,
    engine: FaceEngine,
    key: str,
    config: RecognitionConfig | None = None,
) -> SegmentOutcome:
    """Recognize one stored segment and record its tracks (see the module docstring)."""
    called = time.perf_counter()
    store = services.object_store()
    bucket = services.settings.bucket_recordings
    stored = store.stat(bucket, key)
    metadata = stored.metadata
    event_id, camera_id, start = segment_start_time(key, metadata)
    if problem := keys.segment_camera_problem(key, metadata):
        with services.catalog() as catalog:
            rejected = catalog.segments.reject(event_id, key, start, problem)
        log.warning("%s: not recognized: %s", key, problem)
        return SegmentOutcome(key, rejected.id, "failed", 0, {}, problem)
    thresholds = engine.pack.manifest.thresholds
    with services.catalog() as catalog:
        catalog.events.ensure(event_id)
        catalog.events.ensure_camera(event_id, camera_id)
        segment = catalog.segments.register(event_id, camera_id, key, start, etag=stored.etag)
        catalog.segments.mark_processing(segment.id)
        try:
            with LeaseKeeper(services, segment.id):
                gallery = Gallery.from_enrollments(
                    engine.model_pack, catalog.visitors.enrollments(event_id, engine.model_pack)
                )
                with scratch_dir(services.settings.data_dir, SEGMENT_PREFIX) as scratch:
                    local = store.download_file(bucket, key, scratch / Path(key).name)
                    started, started_cpu = time.perf_counter(), time.process_time()
                    started_at = time.time()
                    result = recognize_video(
                        local, camera_id, start, engine, gallery, thresholds, config
                    )
                    timing = WorkTiming(
                        setup_s=started - called,
                        started_at=started_at,
                        started_cpu_s=started_cpu,
                        work_s=time.perf_counter() - started,
                        work_cpu_s=time.process_time() - started_cpu,
                    )
                catalog.segments.save_tracks(
                    segment.id,
                    result.tracks,
                    duration_s=result.decoded_s,
                    failure=result.error,
                )
        except Exception as error:
            reason = f"{type(error).__name__}: {error}".strip()
            if is_transient(error):
                _release(services, segment.id, key, reason)
            else:
                catalog.segments.mark_failed(segment.id, reason)
            raise
    identified: dict[str, int] = {}
    for track in result.tracks:
        if track.visitor_id:
            identified[track.visitor_id] = identified.get(track.visitor_id, 0) + 1
    status = "failed" if result.error else "done"
    log.debug("%s: %s, %d tracks, %s", key, status, len(result.tracks), identified or "no visitor")
    return SegmentOutcome(
        key, segment.id, status, len(result.tracks), identified, result.error, timing
    )


def _release(services: Services, segment_id: int, key: str, reason: str) -> None:
    """Put the segment back to pending after a transient fault, on a new connection (the
    task's own may be the one that broke). If the catalog cannot be reached either, the
    row stays ``processing`` until a later wave reclaims it (see
    :meth:`~scas_lib.catalog.segments.SegmentRepository.reclaim_stale`)."""
    first_line = reason.splitlines()[0] if reason else "unknown error"
    try:
        with services.catalog() as catalog:
            catalog.segments.release(segment_id, f"retrying after: {first_line}")
    except Exception as error:
        if not is_transient(error):
            raise
        log.warning("%s: left processing, the catalog is out of reach (%s)", key, error)
    else:
        log.warning("%s: pending again after a transient fault: %s", key, first_line)


def people_seen(services: Services, event_id: str) -> Headcount:
    """How many different people the event's cameras have seen so far: the visitors
    recognised, and the others grouped by their faces (:mod:`scas_lib.recognition.headcount`,
    at the model pack's match threshold, those with a face good enough to compare). Tracks
    of another model pack than most of them cannot be compared with those and are left
    out, as are bystanders' tracks whose mean embedding the retention policy has cleared."""
    with services.catalog() as catalog:
        tracks = catalog.tracks.for_event(event_id, ends_only=True)
    if not tracks:
        return Headcount(0, 0)
    (pack, _), *_ = Counter(track.model_pack for track in tracks).most_common(1)
    comparable = [track for track in tracks if track.model_pack == pack]
    return count_people(
        comparable, thresholds_for(pack).match, min_quality=RecognitionConfig().probe_min_quality
    )


@dataclass(frozen=True)
class _Counted:
    fingerprint: str
    headcount: Headcount
    #: Until when (``time.monotonic``) the count stands even if the tracks changed.
    stands_until: float


@dataclass
class _Growing:
    """An event's count kept between counts: its tracks (of the pack most of them are of)
    by catalog id, each with what its count depends on as it was read."""

    pack: str
    counter: GrowingHeadcount
    tracks: dict[int, tuple[tuple[str | None, str, bool], FaceTrack]]


class PeopleSeenCounter:
    """:func:`people_seen` for a page that asks every second (the operator's console).

    The event's people are counted again only when its tracks changed
    (:meth:`~scas_lib.catalog.tracks.TrackRepository.fingerprint`), and while they keep changing
    (recognition adds tracks every few seconds during an event) at most once per
    ``spacing`` times the last count's own time, reading and comparing only the tracks new
    since the last count (a day's 60,000 tracks counted from scratch take a minute): a
    count that takes a second is made again at most every ``spacing`` + 1 seconds, and
    one that takes a few milliseconds on every poll. One count at a time: an ask
    meanwhile gets the last count (or, with none yet, waits for it).

    >>> counter = PeopleSeenCounter()   # then counter(services, "expo") -> Headcount
    """

    def __init__(self, spacing: float = 10.0) -> None:
        self.spacing = spacing
        #: How many times the people were counted (not answered from the last count).
        self.recounts = 0
        self._counted: dict[str, _Counted] = {}
        self._growing: dict[str, _Growing] = {}
        self._lock = threading.Lock()

    def __call__(self, services: Services, event_id: str) -> Headcount:
        with services.catalog() as catalog:
            fingerprint = catalog.tracks.fingerprint(event_id)
        last = self._counted.get(event_id)
        if last and (last.fingerprint == fingerprint or time.monotonic() < last.stands_until):
            return last.headcount
        if last is not None and not self._lock.acquire(blocking=False):
            return last.headcount  # another ask is counting: the last count meanwhile
        if last is None:
            self._lock.acquire()
        try:
            last = self._counted.get(event_id)
            if last and last.fingerprint == fingerprint:  # (counted while this one waited)
                return last.headcount
            started = time.monotonic()
            headcount = self._count(services, event_id)
            took = time.monotonic() - started
            self._counted[event_id] = _Counted(
                fingerprint, headcount, started + took * (1 + self.spacing)
            )
            self.recounts += 1
            return headcount
        finally:
            self._lock.release()

    def _count(self, services: Services, event_id: str) -> Headcount:
        """:func:`people_seen`, reading and comparing only the tracks new or changed since
        the last count (:class:`~scas_lib.recognition.headcount.GrowingHeadcount`)."""
        with services.catalog() as catalog:
            keys = catalog.tracks.count_keys(event_id)
            if not keys:
                return Headcount(0, 0)
            (pack, _), *_ = Counter(key[1] for key in keys.values()).most_common(1)
            growing = self._growing.get(event_id)
            if growing is None or growing.pack != pack:
                counter = GrowingHeadcount(
                    thresholds_for(pack).match, min_quality=RecognitionConfig().probe_min_quality
                )
                growing = self._growing[event_id] = _Growing(pack, counter, {})
            kept = {
                track_id: (key, track)
                for track_id, (key, track) in growing.tracks.items()
                if keys.get(track_id) == key
            }
            new = [i for i, key in keys.items() if key[1] == pack and i not in kept]
            for track_id, track in catalog.tracks.by_id(event_id, new, ends_only=True).items():
                kept[track_id] = (keys[track_id], track)
        growing.tracks = kept
        return growing.counter.count({i: track for i, (_key, track) in kept.items()})
