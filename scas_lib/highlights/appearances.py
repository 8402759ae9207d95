"""Appearances: a visitor's tracks turned into time intervals per camera. Pure.

Tracks of one visitor on one camera that are less than ``merge_gap_s`` apart are one
appearance (a face lost behind a pillar for a second is still the same moment); appearances
shorter than ``min_length_s`` are dropped as blips; ``pre_roll_s`` and ``post_roll_s``
widen each one so that a cut does not start on the first frame the face was found.

>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
>>> spans = [TrackSpan("ana", "cam1", t0, t0 + timedelta(seconds=2), 0.8),
...          TrackSpan("ana", "cam1", t0 + timedelta(seconds=2.5), t0 + timedelta(seconds=4), 0.6)]
>>> [(a.start_time - t0).total_seconds() for a in build_appearances(spans, merge_gap_s=1.0)]
[0.0]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from scas_lib.catalog.records import Appearance


@dataclass(frozen=True)
class TrackSpan:
    visitor_id: str
    camera_id: str
    start_time: datetime
    end_time: datetime
    score: float


def build_appearances(
    spans: Iterable[TrackSpan],
    *,
    merge_gap_s: float = 1.5,
    min_length_s: float = 0.0,
    pre_roll_s: float = 0.0,
    post_roll_s: float = 0.0,
) -> list[Appearance]:
    """Appearances, sorted by visitor, start and camera; the score of an appearance is the
    best score of its tracks."""
    grouped: dict[tuple[str, str], list[TrackSpan]] = defaultdict(list)
    for span in spans:
        grouped[(span.visitor_id, span.camera_id)].append(span)
    appearances = []
    gap = timedelta(seconds=merge_gap_s)
    for (visitor, camera), own in grouped.items():
        own.sort(key=lambda span: span.start_time)
        merged: list[list] = []
        for span in own:
            if merged and span.start_time - merged[-1][1] <= gap:
                merged[-1][1] = max(merged[-1][1], span.end_time)
                merged[-1][2] = max(merged[-1][2], span.score)
            else:
                merged.append([span.start_time, span.end_time, span.score])
        for start, end, score in merged:
            if (end - start).total_seconds() < min_length_s:
                continue
            appearances.append(
                Appearance(
                    visitor,
                    camera,
                    start - timedelta(seconds=pre_roll_s),
                    end + timedelta(seconds=post_roll_s),
                    float(score),
                )
            )
    return sorted(appearances, key=lambda a: (a.visitor_id, a.start_time, a.camera_id))
