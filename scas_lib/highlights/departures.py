"""Who has left the event while it runs (progressive delivery). Pure: no I/O.

A visitor who has not been seen for ``leave_after_s`` (the event file's setting) gets
their video then, not after the end marker. "Not seen for" is measured on the *footage
clock*, never on the wall clock: footage is recognized a few segments at a time, some
cameras upload later than others, and a visitor may be on footage not recognized yet. The
footage clock is the time up to which every camera's footage has been recognized: each
camera's recognized footage up to its first segment with work left, the earliest of those
over the cameras. So a camera that uploads late holds the clock back (nobody "leaves"
because their camera is behind); a camera that stops uploading holds early delivery back
until the end marker, when every video is made anyway. A camera that never uploaded a
segment cannot have seen anybody and does not count.

>>> from datetime import datetime, timedelta
>>> t0 = datetime(2026, 11, 22, 10, 0)
>>> def at(s): return t0 + timedelta(seconds=s)
>>> footage = [
...     SegmentSpan("cam1", at(0), 60.0, True), SegmentSpan("cam1", at(60), 60.0, True),
...     SegmentSpan("cam2", at(0), 60.0, True), SegmentSpan("cam2", at(60), None, False),
... ]
>>> footage_clock(footage) == at(60)  # cam2's second minute is not recognized yet
True
>>> departed({"ada": at(5), "bob": at(50)}, footage_clock(footage), 30.0)
['ada']
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SegmentSpan:
    """One segment of footage as far as the clock cares: its camera, start, length (None
    while unknown: not recognized yet) and whether it needs no more work (recognized, or
    given up on)."""

    camera_id: str
    start: datetime
    duration_s: float | None
    finished: bool

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s or 0.0)


def camera_clock(segments: Iterable[SegmentSpan]) -> datetime | None:
    """How far one camera's footage is recognized without a hole: the end of its last
    finished segment that starts before its first segment with work left (None: nothing
    finished before that). A gap in the recording (a restarted recorder) is no hole: there
    is no footage to wait for.

    >>> t = datetime(2026, 1, 1, 10)
    >>> def seg(s, done): return SegmentSpan("c", t + timedelta(seconds=s), 10.0, done)
    >>> camera_clock([seg(0, True), seg(10, False), seg(20, True)]) == t + timedelta(seconds=10)
    True
    >>> camera_clock([seg(0, False), seg(10, True)]) is None
    True
    """
    spans = sorted(segments, key=lambda span: span.start)
    waiting = [span.start for span in spans if not span.finished]
    first_waiting = min(waiting) if waiting else None
    ends = [
        span.end
        for span in spans
        if span.finished and (first_waiting is None or span.start < first_waiting)
    ]
    return max(ends) if ends else None


def footage_clock(segments: Iterable[SegmentSpan]) -> datetime | None:
    """The time up to which every camera's footage is recognized (see the module
    docstring); None while some camera has nothing recognized, or there is no footage.

    >>> t = datetime(2026, 1, 1, 10)
    >>> late = [SegmentSpan("cam1", t, 10.0, True),
    ...         SegmentSpan("cam1", t + timedelta(seconds=10), 10.0, True),
    ...         SegmentSpan("cam2", t, None, False)]  # cam2 uploads late: no clock yet
    >>> footage_clock(late) is None
    True
    """
    by_camera: dict[str, list[SegmentSpan]] = defaultdict(list)
    for span in segments:
        by_camera[span.camera_id].append(span)
    clocks = [camera_clock(spans) for spans in by_camera.values()]
    if not clocks or any(clock is None for clock in clocks):
        return None
    return min(clock for clock in clocks if clock is not None)


def departed(
    last_seen: Mapping[str, datetime], clock: datetime | None, leave_after_s: float | None
) -> list[str]:
    """The visitors last seen ``leave_after_s`` or more before ``clock``
    (:func:`footage_clock`), who left first first; nobody without a clock or a
    ``leave_after_s``.

    >>> t = datetime(2026, 1, 1, 10)
    >>> departed({"ada": t, "bob": t + timedelta(seconds=90)}, t + timedelta(seconds=120), 120)
    ['ada']
    >>> departed({"ada": t}, None, 120), departed({"ada": t}, t + timedelta(hours=1), None)
    ([], [])
    """
    if clock is None or leave_after_s is None:
        return []
    limit = clock - timedelta(seconds=leave_after_s)
    gone = [visitor for visitor, seen in last_seen.items() if seen <= limit]
    return sorted(gone, key=lambda visitor: (last_seen[visitor], visitor))
