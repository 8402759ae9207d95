"""The ingest stages the ``scas`` command (and later the operator console) calls:
recorded files in (:func:`upload_files`), the event's start and end (:func:`start_event`,
:func:`end_event`) and the cameras' health (:func:`cameras`). ``scas ingest`` itself is
:func:`scas_lib.ingest.runner.ingest_event`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scas_lib.errors import ScasError
from scas_lib.ingest import health
from scas_lib.ingest.health import CameraHealth
from scas_lib.ingest.runner import HealthBoard, push_segment
from scas_lib.ingest.sources import COPY_CODECS, segment_output_args
from scas_lib.ingest.spool import Spool, SpooledSegment
from scas_lib.media.ffmpeg import MediaError, run_ffmpeg
from scas_lib.media.probe import probe_recording
from scas_lib.run import waves
from scas_lib.services.runtime import Services
from scas_lib.storage import keys
from scas_lib.storage.control import put_control_marker

log = logging.getLogger(__name__)


class UploadRefused(ScasError):
    """A file given to ``scas upload`` cannot become segments (one line says why)."""


@dataclass(frozen=True)
class RecordedFile:
    """What ``scas upload`` needs to know of a file: its video codec and first-frame time."""

    path: Path
    codec: str
    #: UTC time of the first frame, from ``--start`` or the file's ``creation_time`` tag.
    start_time: datetime
    duration_s: float


def inspect_file(path: Path, start: datetime | None) -> RecordedFile:
    """The file's codec, start and length; :class:`UploadRefused` with one line when it is
    missing, empty, not a video, or has no start time."""
    if not path.is_file():
        raise UploadRefused(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise UploadRefused(f"{path}: empty file (0 bytes), not a video")
    try:
        recording = probe_recording(path)
    except MediaError as error:
        raise UploadRefused(f"{path}: not a video file ({error})") from None
    if recording.codec is None:
        raise UploadRefused(f"{path}: no video stream in it")
    if start is None:
        if recording.creation_time is None:
            raise UploadRefused(
                f"{path}: no creation_time tag; give its start time with --start "
                "(ISO 8601 with a time zone)"
            )
        start = datetime.fromisoformat(recording.creation_time.replace("Z", "+00:00"))
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
    return RecordedFile(path, recording.codec, start.astimezone(UTC), recording.duration)


def upload_files(
    services: Services,
    event_id: str,
    camera_id: str,
    files: Sequence[Path],
    *,
    start: datetime | None = None,
    segment_s: float = 60.0,
) -> list[SpooledSegment]:
    """Cut recorded files into segments of the event (on keyframes, ``segment_s`` long) and
    upload them as ingest does. Every file is checked before anything is uploaded. With
    ``start`` and several files, they are consecutive parts of one recording."""
    keys.validate_id(event_id, "event id")
    keys.validate_id(camera_id, "camera id")
    recorded: list[RecordedFile] = []
    for path in files:
        begin = None
        if start is not None:
            begin = start + timedelta(seconds=sum(r.duration_s for r in recorded))
        recorded.append(inspect_file(path, begin))
    spool = Spool(services.settings.spool_path, event_id)
    board = HealthBoard(services, event_id)
    store = services.object_store()
    bucket = services.settings.bucket_recordings
    uploaded: list[SpooledSegment] = []
    try:
        for item in recorded:
            run = spool.new_run(camera_id)
            Spool.write_start(run, item.start_time.timestamp())
            copy = item.codec in COPY_CODECS
            output = segment_output_args(segment_s, str(run), copy=copy)
            run_ffmpeg(["-i", str(item.path), *output], f"cutting {item.path.name}")
            for segment in spool.close_run(camera_id, run):
                push_segment(store, bucket, board, segment, None)
                uploaded.append(segment)
    finally:
        board.close()
    return uploaded


def _run_markers(services: Services, event_id: str) -> tuple[datetime | None, datetime | None]:
    """``(start, end)`` marker times of the event's current run; ``end`` is None unless
    the run has ended (:func:`scas_lib.run.waves.run_state`)."""
    markers = waves.marker_times(services, event_id)
    ended, _ = waves.run_state(markers["start"], markers["end"], None)
    return markers["start"], markers["end"] if ended else None


def _has_ended(event_id: str, end_at: datetime) -> ScasError:
    return ScasError(
        f"event {event_id} has already ended (end marker at {end_at:%Y-%m-%d %H:%M:%S} UTC); "
        f"`scas event start --event {event_id}` opens a new run"
    )


def start_event(services: Services, event_id: str) -> datetime | None:
    """Write the event's start marker, opening a run; the start of the run already open
    (and nothing written) if there is one."""
    started, ended = _run_markers(services, event_id)
    if started is not None and ended is None:
        return started
    put_control_marker(
        services.object_store(), services.settings.bucket_recordings, event_id, "start"
    )
    return None


def open_for_ingest(services: Services, event_id: str) -> bool:
    """Make sure the event has a run for ``scas ingest`` to record into: write the start
    marker if the event has none (True). An event whose run has ended is not opened again
    behind the operator's back: :class:`ScasError` says how to (``scas event start``)."""
    started, ended = _run_markers(services, event_id)
    if ended is not None:
        raise _has_ended(event_id, ended)
    if started is not None:
        return False
    start_event(services, event_id)
    return True


@dataclass(frozen=True)
class EndResult:
    """What ``scas event end`` did."""

    event_id: str
    #: Cameras still being ingested when the end marker was written (ingest did not finish
    #: within the wait).
    still_ingesting: list[CameraHealth]


def end_event(
    services: Services,
    event_id: str,
    *,
    wait_s: float = 120.0,
    poll_s: float = 1.0,
    on_wait: Callable[[list[CameraHealth]], None] | None = None,
) -> EndResult:
    """End the event's current run: ask ``scas ingest`` to finish its segments, wait (at
    most ``wait_s``) until no camera is being ingested, then write the end marker, so the
    last segments are in before it. Refuses (:class:`ScasError`) when the run has ended."""
    _, ended = _run_markers(services, event_id)
    if ended is not None:
        raise _has_ended(event_id, ended)
    with services.catalog() as catalog:
        health.request_end(catalog, event_id)
    deadline = time.monotonic() + wait_s
    while True:
        with services.catalog() as catalog:
            busy = [h for h in health.camera_health(catalog, event_id)
                    if h.ingesting(datetime.now(UTC))]  # fmt: skip
        if not busy or time.monotonic() >= deadline:
            break
        if on_wait:
            on_wait(busy)
        time.sleep(poll_s)
    put_control_marker(
        services.object_store(), services.settings.bucket_recordings, event_id, "end"
    )
    return EndResult(event_id, busy)


def cameras(services: Services, event_id: str) -> list[CameraHealth]:
    """Every camera of the event with its state, last segment, gaps, reconnects and lag."""
    with services.catalog() as catalog:
        return health.camera_health(catalog, event_id)
