"""The decisions of ingest, as pure functions and small records (no I/O, no clock: the
time is passed in). The adapters (:mod:`scas_lib.ingest.recorder`,
:mod:`scas_lib.ingest.runner`) ask these and do what they say.

A camera's recorder moves through these states::

    starting --first segment--> recording --exit or stall--> reconnecting
    reconnecting --segment--> recording
    reconnecting --failures >= offline_after--> offline (still retried, with back-off)
    any --camera removed / event ended / Ctrl-C--> stopped

>>> policy = RestartPolicy(backoff_min_s=1, backoff_max_s=30)
>>> [policy.delay_s(n) for n in range(1, 8)]
[1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

CameraState = Literal["starting", "recording", "reconnecting", "offline", "stopped"]
#: States in which a camera is still being ingested (for ``scas event end``).
ACTIVE_STATES: tuple[CameraState, ...] = ("starting", "recording", "reconnecting", "offline")

_START_LINE = re.compile(r"Duration: [^,]*, start: (-?\d+\.\d+)")


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart a recorder, and when to call its camera offline."""

    #: No new data for this long: the recorder has stalled and is restarted (Frigate's
    #: watchdog does the same with the newest segment's age).
    stall_s: float = 20.0
    backoff_min_s: float = 1.0
    backoff_max_s: float = 30.0
    #: After this many failed starts in a row the camera is reported offline.
    offline_after: int = 3

    def delay_s(self, failures: int) -> float:
        """Seconds to wait before the next start after ``failures`` failures in a row
        (doubling from :attr:`backoff_min_s`, at most :attr:`backoff_max_s`)."""
        if failures <= 0:
            return 0.0
        return float(min(self.backoff_max_s, self.backoff_min_s * 2 ** (failures - 1)))

    def stalled(self, last_progress_s: float, now_s: float) -> bool:
        """Whether a recorder that last wrote data at ``last_progress_s`` has stalled."""
        return now_s - last_progress_s > self.stall_s

    def state_after_failure(self, failures: int) -> CameraState:
        """The state of a camera whose recorder failed ``failures`` times in a row.

        >>> RestartPolicy(offline_after=3).state_after_failure(2)
        'reconnecting'
        >>> RestartPolicy(offline_after=3).state_after_failure(3)
        'offline'
        """
        return "offline" if failures >= self.offline_after else "reconnecting"


def parse_input_start(line: str) -> float | None:
    """The input's start time from ffmpeg's ``Duration: ..., start: S, ...`` line (with
    wall-clock timestamps: seconds since the Unix epoch), or None for another line.

    >>> parse_input_start("  Duration: N/A, start: 1764452692.123456, bitrate: N/A")
    1764452692.123456
    >>> parse_input_start("Stream #0:0: Video: h264") is None
    True
    """
    match = _START_LINE.search(line)
    return float(match[1]) if match else None


@dataclass(frozen=True)
class ListedSegment:
    """One finished segment from a recorder's ``segments.csv``: its file name and its
    start and end in seconds on the recorder's timeline."""

    name: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


def parse_segment_list(text: str) -> list[ListedSegment]:
    """The complete lines of a ``segments.csv`` (a line still being written, without its
    newline, is left for the next look).

    >>> parse_segment_list("seg000000.mp4,0.000000,2.000000\\nseg000001.mp4,2.0,4.")
    [ListedSegment(name='seg000000.mp4', start_s=0.0, end_s=2.0)]
    """
    found = []
    for line in text.split("\n")[:-1]:
        parts = line.strip().split(",")
        if len(parts) == 3:
            found.append(ListedSegment(parts[0], float(parts[1]), float(parts[2])))
    return found


@dataclass(frozen=True)
class Gap:
    """Time a camera recorded nothing, between two of its segments (UTC)."""

    camera_id: str
    start_time: datetime
    end_time: datetime

    @property
    def seconds(self) -> float:
        return (self.end_time - self.start_time).total_seconds()


def find_gap(
    camera_id: str, previous_end: datetime | None, next_start: datetime, tolerance_s: float = 1.0
) -> Gap | None:
    """The gap between a camera's previous segment (ending at ``previous_end``) and the
    next one, if longer than ``tolerance_s`` (arrival jitter and a dropped frame are not
    gaps).

    >>> from datetime import UTC, timedelta
    >>> t = datetime(2026, 11, 22, 10, tzinfo=UTC)
    >>> find_gap("cam1", t, t + timedelta(seconds=0.3)) is None
    True
    >>> find_gap("cam1", t, t + timedelta(seconds=21)).seconds
    21.0
    """
    if previous_end is None or (next_start - previous_end).total_seconds() <= tolerance_s:
        return None
    return Gap(camera_id, previous_end, next_start)


def spool_order(start_times: Mapping[str, datetime]) -> list[str]:
    """Spooled segments in upload order: oldest first, then by name (camera), so the DAG
    sees each camera's segments in recording order.

    >>> from datetime import UTC, timedelta
    >>> t = datetime(2026, 11, 22, 10, tzinfo=UTC)
    >>> spool_order({"b": t, "a": t, "c": t - timedelta(seconds=2)})
    ['c', 'a', 'b']
    """
    return sorted(start_times, key=lambda name: (start_times[name], name))


def camera_changes(running: Iterable[str], wanted: Iterable[str]) -> tuple[list[str], list[str]]:
    """``(to_start, to_stop)``: cameras added to and removed from the event file.

    >>> camera_changes(["cam1", "cam2"], ["cam2", "cam3"])
    (['cam3'], ['cam1'])
    """
    running_set, wanted_set = set(running), set(wanted)
    return sorted(wanted_set - running_set), sorted(running_set - wanted_set)


def spool_has_room(free_bytes: int, needed_bytes: int) -> bool:
    """Whether the spool's disk can take another segment of ``needed_bytes``, keeping a
    reserve (the disk is shared with the system and with ffmpeg's own writes).

    >>> spool_has_room(10 * 2**30, 50 * 2**20), spool_has_room(100 * 2**20, 50 * 2**20)
    (True, False)
    """
    return free_bytes >= 2 * needed_bytes + 256 * 2**20


_VIDEO_LINE = re.compile(r"Stream #\d+:\d+[^:]*: Video: ([a-z0-9_]+)")


def parse_video_codec(line: str) -> str | None:
    """The codec of the input's video stream from ffmpeg's ``Stream #0:0: Video: ...``
    line, or None for another line.

    >>> parse_video_codec("  Stream #0:0: Video: h264 (High), yuv420p(progressive), 384x288")
    'h264'
    """
    match = _VIDEO_LINE.search(line)
    return match[1] if match else None


def describe_exit(returncode: int | None, last_lines: list[str]) -> str:
    """Why a recorder's ffmpeg ended, in a few words for the log and the catalog: the end
    of the stream (it exited normally: the camera closed it), else its last message.

    >>> describe_exit(0, ["video:9831kB audio:0kB subtitle:0kB"])
    'the stream ended'
    >>> describe_exit(1, ["Input #0", "rtsp://cam/s1: Connection refused"])
    'rtsp://cam/s1: Connection refused'
    """
    if returncode == 0:
        return "the stream ended"
    return last_lines[-1] if last_lines else f"ffmpeg exited with {returncode}"


_FRAME_LINE = re.compile(r"^frame=\s*(\d+)\s*$")


def parse_progress_frames(line: str) -> int | None:
    """Frames written so far, from ffmpeg's ``-progress`` report line ``frame=N``.

    >>> parse_progress_frames("frame=125"), parse_progress_frames("fps=25.0")
    (125, None)
    """
    match = _FRAME_LINE.match(line.strip())
    return int(match[1]) if match else None
