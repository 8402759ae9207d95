"""From a video's face tracks to what each frame shows: who (a visitor's name or
``unknown #n``), where, and how they look. Pure: tracks in, records out.

Unknown people are grouped as the console's headcount groups them
(:func:`~scas_lib.recognition.headcount.group_unknown`: tracks whose mean embeddings are
alike enough and that never share a frame are one person), numbered in the order they are
first seen.

>>> from datetime import UTC, datetime
>>> import numpy as np
>>> from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity
>>> def track(index, start_s, visitor, centroid):
...     samples = (FaceSample(start_s, (0, 0, 50, 60), 0.9, 0.8),
...                FaceSample(start_s + 1, (10, 0, 60, 60), 0.9, 0.8))
...     identity = TrackIdentity(visitor, 0.6, np.array(centroid, np.float32))
...     return FaceTrack("file", datetime(2026, 1, 1, tzinfo=UTC), index, samples,
...                      (640, 480), "default", identity)
>>> tracks = [track(0, 0, "v-1", [1, 0]), track(1, 2, None, [0, 1]), track(2, 5, None, [0, 1])]
>>> track_labels(tracks, {"v-1": "Ana"}, same_person=0.5)
['Ana', 'unknown #1', 'unknown #1']
>>> frames = analysed_frames(tracks, track_labels(tracks, {"v-1": "Ana"}, 0.5))
>>> [(f.offset_s, [face.label for face in f.faces]) for f in frames][:2]
[(0, ['Ana']), (1, ['Ana'])]
>>> [face.box for face in faces_at(frames, 0.5, hold_s=0.2)]
[(5.0, 0.0, 55.0, 60.0)]
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

from scas_lib.analysis.records import AnalysedFace, AnalysedFrame, AnalysisSecond
from scas_lib.recognition.headcount import group_unknown
from scas_lib.tracks import Box, FaceSample, FaceTrack


def track_labels(
    tracks: Sequence[FaceTrack], names: Mapping[str, str], same_person: float
) -> list[str]:
    """Each track's label: its visitor's name (their id without one), else ``unknown #n``
    of its group of unknown tracks (an unknown track without a mean embedding is a person
    of its own)."""
    labels = [names.get(t.visitor_id, t.visitor_id) if t.visitor_id else "" for t in tracks]
    groups = group_unknown(tracks, same_person)
    loners = [[i] for i, t in enumerate(tracks) if not labels[i] and t.identity.centroid is None]
    first_seen = sorted(groups + loners, key=lambda group: min(tracks[i].start_time for i in group))
    for number, group in enumerate(first_seen, start=1):
        for index in group:
            labels[index] = f"unknown #{number}"
    return labels


def _nearest_described(samples: Sequence[FaceSample], offset_s: float) -> str | None:
    """The dominant expression of the track's described face nearest in time."""
    described = [s for s in samples if s.attributes is not None and s.attributes.dominant]
    if not described:
        return None
    nearest = min(described, key=lambda sample: abs(sample.offset_s - offset_s))
    assert nearest.attributes is not None
    return nearest.attributes.dominant


def analysed_frames(tracks: Sequence[FaceTrack], labels: Sequence[str]) -> list[AnalysedFrame]:
    """Every analysed frame with a face, in time order, with the faces on it."""
    by_offset: dict[float, list[AnalysedFace]] = defaultdict(list)
    for index, (track, label) in enumerate(zip(tracks, labels, strict=True)):
        looks = track.attributes()
        for sample in track.samples:
            by_offset[sample.offset_s].append(
                AnalysedFace(
                    box=sample.box,
                    label=label,
                    visitor_id=track.visitor_id,
                    track=index,
                    expression=_nearest_described(track.samples, sample.offset_s),
                    age=looks.age,
                    gender=looks.gender,
                )
            )
    return [AnalysedFrame(offset, tuple(faces)) for offset, faces in sorted(by_offset.items())]


def by_second(frames: Sequence[AnalysedFrame], duration_s: float) -> tuple[AnalysisSecond, ...]:
    """The frames gathered per second of the video, every second (an empty one too)."""
    seconds: dict[int, list[AnalysedFrame]] = defaultdict(list)
    for frame in frames:
        seconds[int(frame.offset_s)].append(frame)
    count = max(math.ceil(duration_s), max(seconds, default=-1) + 1)
    return tuple(AnalysisSecond(second, tuple(seconds[second])) for second in range(count))


def faces_at(
    frames: Sequence[AnalysedFrame], offset_s: float, *, hold_s: float
) -> tuple[AnalysedFace, ...]:
    """The faces to draw on the video's frame at ``offset_s``: those of the analysed frame
    before it, each moved towards where its track is on the analysed frame after (linear),
    or held where it was for up to ``hold_s`` when its track is not on that frame."""
    offsets = [frame.offset_s for frame in frames]
    at = bisect.bisect_right(offsets, offset_s) - 1
    if at < 0:
        return ()
    before = frames[at]
    after = frames[at + 1] if at + 1 < len(frames) else None
    following = {face.track: face for face in after.faces} if after else {}
    shown = []
    for face in before.faces:
        then = following.get(face.track)
        if then is not None and after is not None:
            share = (offset_s - before.offset_s) / (after.offset_s - before.offset_s)
            shown.append(_moved(face, then.box, share))
        elif offset_s - before.offset_s <= hold_s:
            shown.append(face)
    return tuple(shown)


def _moved(face: AnalysedFace, towards: Box, share: float) -> AnalysedFace:
    box = tuple(a + (b - a) * share for a, b in zip(face.box, towards, strict=True))
    return AnalysedFace(
        (box[0], box[1], box[2], box[3]), face.label, face.visitor_id, face.track,
        face.expression, face.age, face.gender,
    )  # fmt: skip
