"""The local spool: where recorders write and where finished segments wait for the object
store. An adapter: it moves files and makes no decisions (the upload order is
:func:`scas_lib.ingest.policy.spool_order`).

::

    <spool>/<event>/rec/<camera>/<run>/seg000000.mp4 ...  what one ffmpeg run writes
    <spool>/<event>/rec/<camera>/<run>/segments.csv       the segments it has finished
    <spool>/<event>/rec/<camera>/<run>/start              the run's wall-clock start (epoch s)
    <spool>/<event>/ready/<camera>/<UTC start>.mp4        finished, waiting for upload
    <spool>/<event>/ready/<camera>/<UTC start>.json       its duration

A finished segment is *renamed* into ``ready/`` (same file system: atomic), its ``.json``
written first, so ``ready/`` never holds half a segment; everything there survives a restart
of ``scas ingest`` and is uploaded then. A half-written segment of a run that was killed is
never listed in its ``segments.csv`` and is dropped (its time is a gap); so is a listed
one that cannot be read (ffmpeg lists the segment it was closing when the disk filled).
"""

from __future__ import annotations

import errno
import json
import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scas_lib.errors import ScasError
from scas_lib.ingest.mp4 import UnreadableSegment, read_index, video_track_duration_s
from scas_lib.ingest.policy import parse_segment_list, spool_has_room, spool_order
from scas_lib.storage import keys

log = logging.getLogger(__name__)


class SpoolFull(ScasError):
    """The spool's disk has no room for more segments."""


@dataclass(frozen=True)
class SpooledSegment:
    """A finished segment waiting in the spool for upload."""

    event_id: str
    camera_id: str
    start_time: datetime
    duration_s: float
    path: Path

    @property
    def key(self) -> str:
        return keys.segment_key(self.event_id, self.camera_id, self.start_time)

    @property
    def end_time(self) -> datetime:
        return self.start_time + timedelta(seconds=self.duration_s)

    @property
    def metadata(self) -> dict[str, str]:
        """The object metadata, as ``scas replay`` writes it."""
        return {
            "camera": self.camera_id,
            "start-time": self.start_time.isoformat(),
            "duration": f"{self.duration_s:.6f}",
        }


def _disk_full(path: Path, error: OSError) -> SpoolFull:
    usage = shutil.disk_usage(path)
    return SpoolFull(
        f"the ingest spool {path} is full ({usage.free // 2**20} MiB free): {error.strerror}; "
        "free space or set SCAS_INGEST_SPOOL_DIR to a larger disk"
    )


def _video_duration_s(path: Path) -> float:
    """The duration of ``path``'s video track, from its MP4 index; UnreadableSegment when
    it has no index or no video track."""
    duration = video_track_duration_s(read_index(path))
    if duration is None:
        raise UnreadableSegment("it has no video track")
    return duration


class Spool:
    """One event's spool directory."""

    def __init__(self, root: Path, event_id: str) -> None:
        self.event_id = keys.validate_id(event_id, "event id")
        self.directory = root / event_id
        self._ready = self.directory / "ready"
        self._recording = self.directory / "rec"
        #: Each run's segment list (size, modification time) when it was last harvested
        #: whole: a recorder looks four times a second, and the list changes once a segment.
        self._harvested: dict[Path, tuple[int, int]] = {}

    def new_run(self, camera_id: str) -> Path:
        """A fresh directory for one ffmpeg run of a camera."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        run = self._recording / camera_id / stamp
        run.mkdir(parents=True, exist_ok=False)
        return run

    def check_room(self, needed_bytes: int) -> None:
        """:class:`SpoolFull` unless the disk can take a segment of ``needed_bytes``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.directory).free
        if not spool_has_room(free, needed_bytes):
            raise _disk_full(self.directory, OSError(errno.ENOSPC, "not enough room"))

    @staticmethod
    def write_start(run: Path, start_epoch_s: float) -> None:
        temporary = run / "start.tmp"
        temporary.write_text(f"{start_epoch_s:.6f}\n")
        temporary.replace(run / "start")

    @staticmethod
    def read_start(run: Path) -> float | None:
        try:
            return float((run / "start").read_text())
        except (OSError, ValueError):
            return None

    def harvest(self, camera_id: str, run: Path) -> list[SpooledSegment]:
        """Move the run's finished segments not moved yet into ``ready/``; the moved ones."""
        listing = run / "segments.csv"
        try:
            status = listing.stat()
            if self._harvested.get(run) == (status.st_size, status.st_mtime_ns):
                return []
            listed = parse_segment_list(listing.read_text())
        except FileNotFoundError:
            return []
        start = self.read_start(run)
        moved = []
        for item in listed:
            source = run / item.name
            if not source.exists():
                continue  # harvested before
            if start is None:
                log.warning("%s: %s has no start time; dropped", camera_id, source)
                source.unlink()
                continue
            begin = datetime.fromtimestamp(start + item.start_s, UTC)
            try:
                # The duration the file itself gives (what the renderer will find in it):
                # the list's end is the next segment's first frame, and a wall-clock-stamped
                # last frame has no duration of its own in the file. Read from the file's
                # index here, not by ffprobe: a process per segment cost more CPU than
                # recording it.
                duration = _video_duration_s(source) or item.duration_s
            except (UnreadableSegment, OSError) as error:
                # Listed, yet unreadable: ffmpeg lists the segment it was closing when the
                # disk filled, without the index it could not write (the MP4's moov). No
                # one can play it; uploading it would only fail recognition.
                log.warning("%s: %s is unreadable (%s); dropped, its %.1f s are a gap",
                            camera_id, source.name, error, item.duration_s)  # fmt: skip
                source.unlink(missing_ok=True)
                continue
            target = self._ready / camera_id / f"{keys.format_utc(begin)}.mp4"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                sidecar = target.with_suffix(".json.tmp")
                sidecar.write_text(json.dumps({"duration_s": duration}))
                sidecar.replace(target.with_suffix(".json"))
                source.replace(target)
            except OSError as error:
                if error.errno == errno.ENOSPC:
                    raise _disk_full(self.directory, error) from None
                raise
            moved.append(SpooledSegment(self.event_id, camera_id, begin, item.duration_s, target))
        # Only now: a harvest cut short (a full disk) is taken up again at the next look.
        self._harvested[run] = (status.st_size, status.st_mtime_ns)
        return moved

    def close_run(self, camera_id: str, run: Path) -> list[SpooledSegment]:
        """Harvest a run whose ffmpeg has ended, then delete what is left of it (a segment
        it did not finish)."""
        moved = self.harvest(camera_id, run)
        leftovers = [p.name for p in run.glob("seg*.mp4")]
        if leftovers:
            log.info("%s: dropped unfinished %s", camera_id, ", ".join(leftovers))
        self.discard_run(run)
        return moved

    def discard_run(self, run: Path) -> None:
        """Delete a run and everything it wrote (a stream that must be encoded, copied)."""
        shutil.rmtree(run, ignore_errors=True)
        self._harvested.pop(run, None)

    def leftover_runs(self) -> list[tuple[str, Path]]:
        """Runs a previous ``scas ingest`` left behind (it was killed): (camera, run)."""
        if not self._recording.is_dir():
            return []
        return sorted(
            (camera.name, run)
            for camera in self._recording.iterdir()
            if camera.is_dir()
            for run in camera.iterdir()
            if run.is_dir()
        )

    def ready(self) -> list[SpooledSegment]:
        """The segments waiting for upload, oldest first."""
        found: dict[str, SpooledSegment] = {}
        if not self._ready.is_dir():
            return []
        for path in self._ready.glob("*/*.mp4"):
            parsed = keys.parse_segment_key(f"{self.event_id}/{path.parent.name}/{path.name}")
            if parsed is None:
                continue
            try:
                duration = float(json.loads(path.with_suffix(".json").read_text())["duration_s"])
            except (OSError, ValueError, KeyError):
                duration = 0.0
            segment = SpooledSegment(
                self.event_id, parsed.camera_id, parsed.start_time, duration, path
            )
            found[str(path)] = segment
        order = spool_order({name: seg.start_time for name, seg in found.items()})
        return [found[name] for name in order]

    @staticmethod
    def remove(segment: SpooledSegment) -> None:
        """Forget an uploaded segment."""
        segment.path.with_suffix(".json").unlink(missing_ok=True)
        segment.path.unlink(missing_ok=True)
