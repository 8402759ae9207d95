"""Appearances: a visitor's face tracks turned into time intervals per camera. Pure.

Tracks of one visitor on one camera that are less than ``merge_gap_s`` apart are one
appearance (a face lost behind a pillar for a second is still the same moment); appearances
shorter than ``min_length_s`` are dropped as blips; ``pre_roll_s`` and ``post_roll_s``
widen each one so that a cut does not start on the first frame the face was found. The
score of an appearance is the best :attr:`~scas_lib.tracks.FaceTrack.score` of its tracks,
each raised by ``smile_weight`` times the share of its faces that smile.

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
from scas_lib.highlights.records import ExpressionMoment
from scas_lib.tracks import FaceTrack


@dataclass(frozen=True)
class AppearanceRules:
    """How tracks become appearances. The defaults are what highlights use: a face lost for
    up to 1.5 s is the same moment; a sighting under 0.4 s is a blip; half a second of
    footage on each side lets the cut breathe. ``smile_weight`` is the template's
    (:attr:`~scas_lib.highlights.templates.Template.smile_weight`); 0 here: no preference."""

    merge_gap_s: float = 1.5
    min_length_s: float = 0.4
    pre_roll_s: float = 0.5
    post_roll_s: float = 0.5
    smile_weight: float = 0.0


def moment_score(track: FaceTrack, smile_weight: float) -> float:
    """How good a moment ``track`` is: its :attr:`~scas_lib.tracks.FaceTrack.score`, raised by
    ``smile_weight`` times the share of its described faces that smile.

    >>> from datetime import datetime, UTC
    >>> from scas_lib.tracks import FaceAttributes, FaceSample, TrackIdentity
    >>> smiling = FaceAttributes((0.1, 0.9, 0, 0, 0, 0, 0))
    >>> sample = FaceSample(0, (0, 0, 50, 60), 0.9, 0.8, attributes=smiling)
    >>> track = FaceTrack("cam1", datetime(2026, 1, 1, tzinfo=UTC), 0, (sample,), (640, 480),
    ...                   "default", TrackIdentity("ana", 0.5))
    >>> round(moment_score(track, 0.0), 2), round(moment_score(track, 0.5), 2)
    (0.4, 0.6)
    """
    if smile_weight == 0:
        return track.score
    share = track.attributes().smile_share
    return track.score * (1.0 + smile_weight * (share or 0.0))


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
            score = moment_score(track, rules.smile_weight)
            if merged and track.start_time - merged[-1][1] <= gap:
                start, end, best = merged[-1]
                merged[-1] = (start, max(end, track.end_time), max(best, score))
            else:
                merged.append((track.start_time, track.end_time, score))
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


def expression_timeline(
    appearance: Appearance, tracks: Iterable[FaceTrack]
) -> list[ExpressionMoment]:
    """How the visitor looked through one of their appearances: each described face of
    their tracks on its camera within its span, in time order (the console's timeline).

    >>> from datetime import UTC, datetime, timedelta
    >>> from scas_lib.tracks import FaceAttributes, FaceSample, TrackIdentity
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> happy = FaceAttributes((0.1, 0.9, 0, 0, 0, 0, 0))
    >>> samples = (FaceSample(1.0, (0, 0, 9, 9), 0.9, 0.8, attributes=happy),
    ...            FaceSample(1.5, (0, 0, 9, 9), 0.9, 0.8))
    >>> track = FaceTrack("cam1", t0, 0, samples, (640, 480), "default", TrackIdentity("ana", 0.6))
    >>> moment = Appearance("ana", "cam1", t0, t0 + timedelta(seconds=3), 0.5)
    >>> [(m.time.second, m.expression, m.smile) for m in expression_timeline(moment, [track])]
    [(1, 'happy', 0.9)]
    """
    timeline = []
    for track in tracks:
        if track.visitor_id != appearance.visitor_id or track.camera_id != appearance.camera_id:
            continue
        for sample in track.samples:
            looks = sample.attributes
            at = track.time_of(sample)
            if looks is None or looks.dominant is None:
                continue
            if appearance.start_time <= at <= appearance.end_time:
                timeline.append(ExpressionMoment(at, looks.dominant, looks.smile))
    return sorted(timeline, key=lambda moment: moment.time)
