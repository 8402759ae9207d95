"""Appearances: a visitor's face tracks turned into time intervals per camera. Pure.

Tracks of one visitor on one camera that are less than ``merge_gap_s`` apart are one
appearance (a face lost behind a pillar for a second is still the same moment); appearances
shorter than ``min_length_s`` are dropped as blips; ``pre_roll_s`` and ``post_roll_s``
widen each one so that a cut does not start on the first frame the face was found. The
score of an appearance is the best :attr:`~scas_lib.tracks.FaceTrack.score` of its tracks.

>>> from datetime import datetime, UTC
>>> from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity
>>> def track(start_s, end_s):
...     samples = (FaceSample(start_s, (0, 0, 50, 60), 0.9, 0.8),
...                FaceSample(end_s, (0, 0, 50, 60), 0.9, 0.8))
...     return FaceTrack("cam1", datetime(2026, 1, 1, tzinfo=UTC), 0, samples, (1920, 1080),
...                      "default", TrackIdentity("ana", 0.7))
>>> rules = AppearanceRules(merge_gap_s=1.0, pre_roll_s=0, post_roll_s=0)
>>> [(a.start_time.second, a.end_time.second) for a in build_appearances(
...     [track(0, 2), track(2.5, 4)], rules)]
[(0, 4)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from scas_lib.catalog.records import Appearance, MomentCorrection
from scas_lib.tracks import FaceTrack


@dataclass(frozen=True)
class AppearanceRules:
    """How tracks become appearances. The defaults are what highlights use: a face lost for
    up to 1.5 s is the same moment; a sighting under 0.4 s is a blip; half a second of
    footage on each side lets the cut breathe."""

    merge_gap_s: float = 1.5
    min_length_s: float = 0.4
    pre_roll_s: float = 0.5
    post_roll_s: float = 0.5


def without_corrected(
    tracks: Iterable[FaceTrack], corrections: Iterable[MomentCorrection]
) -> list[FaceTrack]:
    """The tracks no correction takes from their visitor."""
    corrections = list(corrections)
    return [t for t in tracks if not any(c.covers(t) for c in corrections)]


def build_appearances(
    tracks: Iterable[FaceTrack], rules: AppearanceRules | None = None
) -> list[Appearance]:
    """The appearances of the identified tracks (unknown ones are left out), sorted by
    visitor, start and camera."""
    rules = rules or AppearanceRules()
    grouped: dict[tuple[str, str], list[FaceTrack]] = defaultdict(list)
    for track in tracks:
        if track.visitor_id is not None:
            grouped[(track.visitor_id, track.camera_id)].append(track)
    appearances = []
    gap = timedelta(seconds=rules.merge_gap_s)
    for (visitor, camera), own in grouped.items():
        own.sort(key=lambda track: track.start_time)
        merged: list[tuple[datetime, datetime, float]] = []
        for track in own:
            if merged and track.start_time - merged[-1][1] <= gap:
                start, end, score = merged[-1]
                merged[-1] = (start, max(end, track.end_time), max(score, track.score))
            else:
                merged.append((track.start_time, track.end_time, track.score))
        for start, end, score in merged:
            if (end - start).total_seconds() < rules.min_length_s:
                continue
            appearances.append(
                Appearance(
                    visitor,
                    camera,
                    start - timedelta(seconds=rules.pre_roll_s),
                    end + timedelta(seconds=rules.post_roll_s),
                    float(score),
                )
            )
    return sorted(appearances, key=lambda a: (a.visitor_id, a.start_time, a.camera_id))
