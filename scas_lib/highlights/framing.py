"""Framing: where a vertical crop sits so that it follows a visitor's face. Pure.

A 9:16 crop of 16:9 footage keeps a third of the picture; the face decides which third.
Face centres come from the visitor's tracks (sampled a few times a second); they are
smoothed over a second, so the crop glides rather than shakes, and turned into an ffmpeg
expression of the frame time for the ``crop`` filter.

>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 5, 1, tzinfo=UTC)
>>> path = FacePath({"cam1": [(t0 + timedelta(seconds=s), x) for s, x in
...                            [(0, 0.2), (1, 0.2), (2, 0.8), (3, 0.8)]]})
>>> round(path.centre("cam1", t0 + timedelta(seconds=0.5)), 2)
0.2
>>> crop_x_expression([(0.0, 100.0), (2.0, 300.0)])
'if(lt(t,2.000),100.0+(t-0.000)*100.0000,300.0)'
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scas_lib.tracks import FaceTrack

#: Face centres are averaged over this window (seconds, centred).
SMOOTHING_S = 1.0
#: Points of the crop's path, per second.
POINTS_PER_S = 2


@dataclass(frozen=True)
class FacePath:
    """A visitor's face centre over time, per camera: x as a fraction of the frame width."""

    points: Mapping[str, Sequence[tuple[datetime, float]]] = field(default_factory=dict)

    @classmethod
    def from_tracks(cls, tracks: Iterable[FaceTrack]) -> FacePath:
        """The face path of the given tracks (one visitor's), per camera. Tracks whose
        frame size is unknown are left out: their centres cannot be put in proportion."""
        points: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
        for track in tracks:
            width = track.frame_size[0]
            if not width:
                continue
            for sample in track.samples:
                points[track.camera_id].append((track.time_of(sample), sample.center[0] / width))
        return cls(dict(points))

    def centre(self, camera_id: str, at: datetime) -> float | None:
        """The smoothed face centre at ``at``; the nearest known one outside the samples,
        None when the camera never saw the face."""
        samples = sorted(self.points.get(camera_id, ()))
        if not samples:
            return None
        half = timedelta(seconds=SMOOTHING_S / 2)
        times = [t for t, _ in samples]
        lo = bisect.bisect_left(times, at - half)
        hi = bisect.bisect_right(times, at + half)
        if lo < hi:
            window = [x for _, x in samples[lo:hi]]
            return sum(window) / len(window)
        nearest = min(samples, key=lambda sample: abs(sample[0] - at))
        return nearest[1]

    def crop_path(
        self,
        camera_id: str,
        start: datetime,
        length_s: float,
        frame_width: int,
        crop_width: int,
    ) -> list[tuple[float, float]]:
        """Left edges of the crop (pixels) at seconds from ``start``; centred when the face
        is unknown."""
        steps = max(1, round(length_s * POINTS_PER_S))
        path = []
        for step in range(steps + 1):
            offset = length_s * step / steps
            centre = self.centre(camera_id, start + timedelta(seconds=offset))
            x = (0.5 if centre is None else centre) * frame_width - crop_width / 2
            path.append((offset, float(min(max(x, 0.0), frame_width - crop_width))))
        return path


def crop_x_expression(path: Sequence[tuple[float, float]]) -> str:
    """An ffmpeg expression of ``t`` that moves linearly between the points of ``path``
    and holds the last one."""
    if not path:
        return "0"
    expression = f"{path[-1][1]:.1f}"
    for (t0, x0), (t1, x1) in reversed(list(itertools.pairwise(path))):
        slope = (x1 - x0) / (t1 - t0) if t1 > t0 else 0.0
        segment = f"{x0:.1f}+(t-{t0:.3f})*{slope:.4f}"
        expression = f"if(lt(t,{t1:.3f}),{segment},{expression})"
    return expression


def crop_size(width: int, height: int, out_width: int, out_height: int) -> tuple[int, int]:
    """The largest even-sized crop of a ``width`` x ``height`` frame with the output's shape.

    >>> crop_size(1920, 1080, 1080, 1920)   # 16:9 footage, 9:16 output: full height
    (606, 1080)
    >>> crop_size(1080, 1920, 1920, 1080)   # the other way round: full width
    (1080, 606)
    """
    if width * out_height > height * out_width:  # source wider: full height
        return (height * out_width // out_height) // 2 * 2, height // 2 * 2
    return width // 2 * 2, (width * out_height // out_width) // 2 * 2
