"""Linking face detections across sampled frames into tracks. Pure: no I/O, no models.

ByteTrack's idea, sized for faces sampled at a few frames per second: predict where each
track's face is now from its velocity, match confident detections to tracks first, then let
unmatched tracks take the weaker detections (a face turning away or passing into shadow
scores lower for a moment), and start tracks only from confident detections. At 5 fps a
walking face moves more than its own width between samples when it is small, so a match
needs either some overlap with the predicted box or a centre within one face size of it
(three for a track seen only once, whose motion is not known yet).

The tracker takes and returns :class:`~scas_lib.tracks.FaceSample` records: each track it
finds is the tuple of its samples in time order (the face path of a
:class:`~scas_lib.tracks.FaceTrack`).

>>> tracker = FaceTracker()
>>> tracker.update(0.0, [FaceSample(0.0, (100, 100, 140, 150), 0.9)])
>>> tracker.update(0.2, [FaceSample(0.2, (120, 100, 160, 150), 0.9)])
>>> [len(samples) for samples in tracker.finish()]
[2]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from scas_lib.tracks import Box, FaceSample, box_center, iou


@dataclass
class _ActiveTrack:
    """A track while the tracker still extends it."""

    index: int
    samples: list[FaceSample] = field(default_factory=list)

    @property
    def last(self) -> FaceSample:
        return self.samples[-1]

    def velocity(self) -> tuple[float, float]:
        """Centre velocity (px/s) over the last two samples."""
        if len(self.samples) < 2:
            return 0.0, 0.0
        a, b = self.samples[-2], self.samples[-1]
        dt = b.offset_s - a.offset_s
        if dt <= 0:
            return 0.0, 0.0
        (ax, ay), (bx, by) = a.center, b.center
        return (bx - ax) / dt, (by - ay) / dt

    def predicted_box(self, t: float) -> Box:
        vx, vy = self.velocity()
        dt = t - self.last.offset_s
        x1, y1, x2, y2 = self.last.box
        return (x1 + vx * dt, y1 + vy * dt, x2 + vx * dt, y2 + vy * dt)


@dataclass(frozen=True)
class TrackerConfig:
    #: Detections at or above this start tracks and are matched first.
    confident: float = 0.5
    #: A track ends after this long without a match (a face behind a pillar comes back).
    max_gap_s: float = 1.2
    min_iou: float = 0.1
    #: Or: centre within this many face widths of the prediction...
    max_center_distance: float = 1.0
    #: ...or of the last position, for a track seen once (its motion is not known yet: a
    #: small face walking past moves two or three of its widths between samples at 5 fps).
    max_center_distance_new: float = 3.0


class FaceTracker:
    """Feed it the detections of each sampled frame in time order; collect the tracks."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._active: list[_ActiveTrack] = []
        self._finished: list[_ActiveTrack] = []
        self._next_index = 0

    def update(self, t: float, detections: Sequence[FaceSample]) -> None:
        self._retire(t)
        confident = [d for d in detections if d.score >= self.config.confident]
        weak = [d for d in detections if d.score < self.config.confident]
        unmatched_tracks, unmatched = self._associate(self._active, confident, t)
        # Second chance for tracks that lost their face: the weaker detections.
        self._associate(unmatched_tracks, weak, t)
        for detection in unmatched:
            self._active.append(_ActiveTrack(self._next_index, [detection]))
            self._next_index += 1

    def search_areas(self, t: float) -> list[Box]:
        """Where the face of each track still running at ``t`` can be: the square around its
        predicted box within which :meth:`update` would match a detection to it (its reach,
        plus the face's own size). Searching these alone finds every face that would extend
        a track; only a new face needs the whole frame.

        >>> tracker = FaceTracker()
        >>> tracker.update(0.0, [FaceSample(0.0, (100, 100, 140, 150), 0.9)])
        >>> tracker.search_areas(0.2)  # seen once: up to 3 widths away, and its own size
        [(-80.0, -75.0, 320.0, 325.0)]
        """
        areas = []
        for track in self._active:
            if t - track.last.offset_s > self.config.max_gap_s:
                continue
            x1, y1, x2, y2 = track.predicted_box(t)
            reach = (
                self.config.max_center_distance_new
                if len(track.samples) == 1
                else self.config.max_center_distance
            )
            half = (reach + 1.0) * max(x2 - x1, y2 - y1)
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            areas.append((cx - half, cy - half, cx + half, cy + half))
        return areas

    def cut(self) -> None:
        """End every track now: the next frame is another shot (see
        :mod:`scas_lib.recognition.cuts`), where the face at the same place is someone
        else's."""
        self._finished += self._active
        self._active = []

    def finish(self) -> list[tuple[FaceSample, ...]]:
        """Every track's samples, tracks in the order they started (call once, after the
        last frame)."""
        self.cut()
        return [tuple(track.samples) for track in sorted(self._finished, key=lambda t: t.index)]

    def _retire(self, t: float) -> None:
        still = []
        for track in self._active:
            if t - track.last.offset_s > self.config.max_gap_s:
                self._finished.append(track)
            else:
                still.append(track)
        self._active = still

    def _associate(
        self, tracks: list[_ActiveTrack], detections: list[FaceSample], t: float
    ) -> tuple[list[_ActiveTrack], list[FaceSample]]:
        """Greedy matching by cost; returns the tracks and detections left unmatched."""
        candidates = []
        for ti, track in enumerate(tracks):
            predicted = track.predicted_box(t)
            reach = (
                self.config.max_center_distance_new
                if len(track.samples) == 1
                else self.config.max_center_distance
            )
            for di, detection in enumerate(detections):
                overlap = iou(predicted, detection.box)
                distance = _center_distance(predicted, detection.box)
                if overlap >= self.config.min_iou or distance <= reach:
                    candidates.append((distance - overlap, ti, di))
        used_tracks: set[int] = set()
        used_detections: set[int] = set()
        for _, ti, di in sorted(candidates):
            if ti in used_tracks or di in used_detections:
                continue
            used_tracks.add(ti)
            used_detections.add(di)
            tracks[ti].samples.append(detections[di])
        return (
            [track for ti, track in enumerate(tracks) if ti not in used_tracks],
            [d for di, d in enumerate(detections) if di not in used_detections],
        )


def _center_distance(predicted: Box, box: Box) -> float:
    """Distance between centres, in widths of the predicted face."""
    (px, py), (bx, by) = box_center(predicted), box_center(box)
    size = max(1.0, predicted[2] - predicted[0])
    # A float power is typed loosely (a negative base would give a complex); this one is a
    # sum of squares.
    distance: float = ((px - bx) ** 2 + (py - by) ** 2) ** 0.5
    return distance / size
