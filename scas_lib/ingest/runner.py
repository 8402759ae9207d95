"""``scas ingest``: one recorder per camera of an event, one uploader, until the event ends.

The calling thread looks at the event file every ``poll_s`` (cameras added start within a
poll, removed ones stop cleanly), at the end marker and at the catalog's end request; the
recorders (:mod:`scas_lib.ingest.recorder`) fill the spool; the uploader empties it, oldest
first, into the recordings bucket with the same keys and metadata as ``scas replay``, so the
event's DAG picks the segments up as it does replayed ones. While the object store is
unreachable the segments wait in the spool; a restarted ``scas ingest`` uploads what the
spool holds. Health and lag go to the catalog (:mod:`scas_lib.ingest.health`), best effort:
a catalog outage never stops the recording.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from scas_lib.catalog import Catalog
from scas_lib.errors import ConfigurationError, ObjectStoreError, ScasError
from scas_lib.events import CameraConfig, EventConfig
from scas_lib.ingest import health
from scas_lib.ingest.policy import RestartPolicy, camera_changes, find_gap
from scas_lib.ingest.recorder import CameraRecorder, StateChange
from scas_lib.ingest.sources import Source, resolve_source
from scas_lib.ingest.spool import Spool, SpooledSegment
from scas_lib.run import waves
from scas_lib.services.runtime import Services
from scas_lib.storage import ObjectStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestOptions:
    """How ``scas ingest`` runs (the event file says how cameras are recorded)."""

    spool_dir: Path
    #: Only these cameras of the event (empty: every camera with a ``url``).
    cameras: tuple[str, ...] = ()
    #: Seconds between two looks at the event file, the end marker and the end request.
    poll_s: float = 5.0
    #: At the end, how long to go on uploading what the spool holds before giving up
    #: (what is left stays in the spool for the next ``scas ingest``).
    drain_s: float = 120.0


@dataclass(frozen=True)
class IngestReport:
    """What one ``scas ingest`` did."""

    event_id: str
    pushed: int
    #: Segments left in the spool (the object store stayed unreachable).
    spooled: int
    #: Why it stopped: ``end marker``, ``end requested``, ``stopped`` (Ctrl-C or ``stop``).
    reason: str


class HealthBoard:
    """The cameras' states, kept in memory and written to the catalog, best effort (a
    catalog outage is logged, not raised). Thread-safe."""

    def __init__(self, services: Services, event_id: str) -> None:
        self.services = services
        self.event_id = event_id
        self._lock = threading.Lock()
        self._states: dict[str, StateChange] = {}
        self._sources: dict[str, str] = {}
        self._spooled: Counter[str] = Counter()
        self._catalog: Catalog | None = None
        self._warned_at = 0.0

    def source(self, camera_id: str, display: str) -> None:
        with self._lock:
            self._sources[camera_id] = display

    def state(self, change: StateChange) -> None:
        reason = f" ({change.detail})" if change.detail else ""
        log.info("%s: %s%s", change.camera_id, change.state, reason)
        with self._lock:
            self._states[change.camera_id] = change
            self._write(lambda c: self._save_state(c, change.camera_id))

    def spooled(self, counts: Mapping[str, int]) -> None:
        with self._lock:
            previous, self._spooled = self._spooled, Counter(counts)
            # Only the cameras whose count changed: one row a segment, not one per camera.
            for camera_id in [c for c in self._states if previous[c] != self._spooled[c]]:
                self._write(partial(self._save_state, camera_id=camera_id))

    def heartbeat(self) -> None:
        with self._lock:
            self._write(self._save_all)

    def pushed(self, segment: SpooledSegment, previous_end: datetime | None) -> None:
        gap = find_gap(segment.camera_id, previous_end, segment.start_time)
        if gap:
            log.warning("%s: gap of %.1f s before %s", gap.camera_id, gap.seconds, segment.key)
        with self._lock:

            def save(catalog: Catalog) -> None:
                health.record_push(catalog, segment)
                if gap:
                    health.record_gap(catalog, self.event_id, gap)

            self._write(save)

    def last_end(self, camera_id: str) -> datetime | None:
        with self._lock:
            found: list[datetime | None] = [None]
            self._write(
                lambda c: found.__setitem__(0, health.last_pushed_end(c, self.event_id, camera_id))
            )
            return found[0]

    def end_requested_after(self, moment: datetime) -> bool:
        with self._lock:
            found: list[datetime | None] = [None]
            self._write(lambda c: found.__setitem__(0, health.end_requested_at(c, self.event_id)))
        return found[0] is not None and found[0] > moment

    # under the lock -----------------------------------------------------------------------

    def _save_state(self, catalog: Catalog, camera_id: str) -> None:
        change = self._states[camera_id]
        health.record_state(
            catalog, self.event_id, camera_id, change.state,
            source=self._sources.get(camera_id, ""), detail=change.detail,
            reconnects=change.reconnects, spooled=self._spooled.get(camera_id, 0),
        )  # fmt: skip

    def _save_all(self, catalog: Catalog) -> None:
        for camera_id in self._states:
            self._save_state(catalog, camera_id)

    def _write(self, action: Callable[[Catalog], None]) -> None:
        for attempt in (1, 2):  # a dropped connection is opened again once
            try:
                if self._catalog is None:
                    self._catalog = self.services.catalog()
                action(self._catalog)
                return
            except Exception as error:  # the catalog is best effort here; recording goes on
                if self._catalog is not None:
                    with contextlib.suppress(Exception):  # a broken connection
                        self._catalog.close()
                self._catalog = None
                if attempt == 2 and time.monotonic() - self._warned_at > 60:
                    self._warned_at = time.monotonic()
                    log.warning("camera health not saved in the catalog: %s", error)

    def close(self) -> None:
        with self._lock:
            if self._catalog is not None:
                self._catalog.close()
                self._catalog = None


class Uploader(threading.Thread):
    """Uploads the spool's segments, oldest first, each once, until told to finish."""

    def __init__(
        self, spool: Spool, store: ObjectStore, bucket: str, board: HealthBoard, *,
        retry_max_s: float = 5.0,
    ) -> None:  # fmt: skip
        super().__init__(name="upload", daemon=True)
        self.spool, self.store, self.bucket, self.board = spool, store, bucket, board
        self.retry_max_s = retry_max_s
        self.wake = threading.Event()
        self.pushed = 0
        self._finish_by: float | None = None
        self._ends: dict[str, datetime | None] = {}
        self._done = threading.Event()

    def finish(self, within_s: float) -> None:
        """Upload what the spool holds, for at most ``within_s`` more seconds, then end."""
        self._finish_by = time.monotonic() + within_s
        self.wake.set()

    def run(self) -> None:
        failures = 0
        while True:
            waiting = self.spool.ready()
            self.board.spooled(Counter(segment.camera_id for segment in waiting))
            if not waiting and self._finish_by is not None:
                return
            if self._finish_by is not None and time.monotonic() > self._finish_by:
                log.warning("%d segments left in the spool %s", len(waiting), self.spool.directory)
                return
            if not waiting:
                self.wake.wait(1.0)
                self.wake.clear()
                continue
            try:
                self._push(waiting[0])
                failures = 0
            except ObjectStoreError as error:
                failures += 1
                delay = min(self.retry_max_s, 0.5 * 2**failures)
                log.warning("could not push, %d segments spooled: %s", len(waiting), error)
                self.wake.wait(delay)
                self.wake.clear()

    def _push(self, segment: SpooledSegment) -> None:
        if segment.camera_id not in self._ends:
            self._ends[segment.camera_id] = self.board.last_end(segment.camera_id)
        push_segment(self.store, self.bucket, self.board, segment, self._ends[segment.camera_id])
        self._ends[segment.camera_id] = segment.end_time
        self.pushed += 1


def push_segment(
    store: ObjectStore,
    bucket: str,
    board: HealthBoard,
    segment: SpooledSegment,
    previous_end: datetime | None,
) -> None:
    """Upload one spooled segment with the metadata ``scas replay`` writes, record it (and
    the gap before it, after ``previous_end``), then forget it in the spool."""
    store.put_file(
        bucket, segment.key, segment.path, content_type="video/mp4", metadata=segment.metadata
    )
    # Uploaded, atomically; the spool forgets it only now, so a crash in between uploads
    # the same content to the same key again: one object all the same.
    board.pushed(segment, previous_end)
    Spool.remove(segment)
    log.info("pushed %s (%.1f s)", segment.key, segment.duration_s)


def _wanted(config: EventConfig, only: tuple[str, ...]) -> dict[str, CameraConfig]:
    return {c.id: c for c in config.cameras if c.url and (not only or c.id in only)}


def check_sources(
    config: EventConfig, only: tuple[str, ...], environ: Mapping[str, str]
) -> list[Source]:
    """The sources of the cameras ingest would record now; ConfigurationError (one line,
    naming the camera and what is missing, never a secret) for a camera asked for that is
    not in the file, or whose url cannot be resolved. A camera added later with such a url
    is logged and skipped instead, so that the others go on recording."""
    unknown = sorted(set(only) - {camera.id for camera in config.cameras})
    if unknown:
        raise ConfigurationError(f"event {config.id} has no camera {', '.join(unknown)}")
    sources = []
    for camera in _wanted(config, only).values():
        try:
            sources.append(resolve_source(camera.id, camera.url or "", environ))
        except ConfigurationError as error:
            raise ConfigurationError(f"camera {camera.id}: {error}") from None
    return sources


def ingest_event(
    services: Services,
    event_id: str,
    options: IngestOptions,
    load_config: Callable[[], EventConfig],
    *,
    environ: Mapping[str, str],
    stop: threading.Event | None = None,
) -> IngestReport:
    """Record the event's cameras until its end marker, an end request, or ``stop``."""
    stop = stop or threading.Event()
    started_at = datetime.now(UTC)
    config = load_config()
    check_sources(config, options.cameras, environ)
    spool = Spool(options.spool_dir, event_id)
    for camera_id, run in spool.leftover_runs():
        log.info("%s: finishing segments of an earlier run in %s", camera_id, run)
        spool.close_run(camera_id, run)
    store = services.object_store()
    bucket = services.settings.bucket_recordings
    board = HealthBoard(services, event_id)
    uploader = Uploader(spool, store, bucket, board)
    uploader.start()
    recorders: dict[str, CameraRecorder] = {}
    stopping: list[CameraRecorder] = []  # removed from the file, finishing their segment
    urls: dict[str, str] = {}
    reason = "stopped"
    warned_empty = False
    try:
        while True:
            try:
                config = load_config()
            except ConfigurationError as error:
                log.error("event file not reloaded, cameras unchanged: %s", error)
            wanted = _wanted(config, options.cameras)
            stopping = [recorder for recorder in stopping if recorder.is_alive()]
            changed = [c for c in wanted if c in recorders and urls[c] != wanted[c].url]
            gone = [c for c, r in recorders.items() if not r.is_alive()]
            to_start, to_stop = camera_changes(
                [c for c in recorders if c not in changed and c not in gone], wanted
            )
            for camera_id in sorted(set(to_stop) | set(changed)):
                what = "its url changed" if camera_id in changed else "removed from the file"
                log.info("%s: %s; stopping", camera_id, what)
                stopping.append(recorders.pop(camera_id))
                stopping[-1].stop()
            for camera_id in to_start:
                camera = wanted[camera_id]
                if camera_id in gone and recorders[camera_id].failure is not None:
                    continue  # a bug in the recorder: reported; not retried at every poll
                try:
                    source = resolve_source(camera_id, camera.url or "", environ)
                except ConfigurationError as error:
                    if camera_id not in urls or urls[camera_id] != camera.url:
                        log.error("%s: %s", camera_id, error)
                    urls[camera_id] = camera.url or ""
                    continue
                recorders[camera_id] = _start_recorder(source, spool, config, camera, board,
                                                       uploader)  # fmt: skip
                urls[camera_id] = camera.url or ""
            if not wanted and not recorders and not warned_empty:
                log.warning("event %s has no camera with a url to record", event_id)
            warned_empty = not wanted and not recorders
            board.heartbeat()
            if stop.is_set():
                break
            if ended := _ended(services, event_id, board, started_at):
                reason = ended
                break
            stop.wait(options.poll_s)
    except KeyboardInterrupt:
        log.info("interrupted: finishing the segments being recorded")
    finally:
        for recorder in recorders.values():
            recorder.stop()
        for recorder in [*recorders.values(), *stopping]:
            recorder.join(timeout=30)  # a frozen camera's ffmpeg may take 15 s
        uploader.finish(options.drain_s)
        uploader.join()
        board.heartbeat()
        board.close()
    left = len(spool.ready())
    return IngestReport(event_id, uploader.pushed, left, reason)


def _start_recorder(
    source: Source,
    spool: Spool,
    config: EventConfig,
    camera: CameraConfig,
    board: HealthBoard,
    uploader: Uploader,
) -> CameraRecorder:
    board.source(source.camera_id, source.display)

    def on_segment(_segment: SpooledSegment) -> None:
        uploader.wake.set()

    recorder = CameraRecorder(
        source, spool, config.segment_s, policy=RestartPolicy(**config.ingest.model_dump()),
        transcode=camera.transcode, on_segment=on_segment, on_state=board.state,
    )  # fmt: skip
    recorder.start()
    return recorder


def _ended(
    services: Services, event_id: str, board: HealthBoard, started_at: datetime
) -> str | None:
    """Why ingest should end now, or None: the event's end marker (its current run has
    ended), or an end request made after ingest started."""
    if board.end_requested_after(started_at):
        return "end requested"
    try:
        if waves.end_marker_seen(services, event_id):
            return "end marker"
    except ScasError as error:
        log.debug("end marker not checked: %s", error)
    return None
