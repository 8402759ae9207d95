"""How many different people the cameras saw: enrolled visitors, and the others grouped
into people by their faces. Pure: face tracks in, a count out.

Every visitor seen counts once. Tracks nobody was recognised in are grouped as Immich
groups unknown faces, greedily: the two most alike groups (by the mean embeddings of their
tracks, single link) become one while they are at least ``same_person`` similar (the
pack's match threshold: from there two faces are taken for one person) and no two of their
tracks are in front of one camera at the same time (two faces at once are two people).

>>> from datetime import UTC, datetime
>>> from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity
>>> def track(index, start_s, visitor, centroid):
...     samples = (FaceSample(start_s, (0, 0, 50, 60), 0.9, 0.8),
...                FaceSample(start_s + 1, (0, 0, 50, 60), 0.9, 0.8))
...     identity = TrackIdentity(visitor, 0.6, np.array(centroid, np.float32))
...     return FaceTrack("cam1", datetime(2026, 1, 1, tzinfo=UTC), index, samples,
...                      (1920, 1080), "default", identity)
>>> tracks = [track(0, 0, "ana", [1, 0, 0]), track(1, 5, None, [0, 1, 0]),
...           track(2, 9, None, [0, 0.99, 0.14]), track(3, 9.5, None, [0, 0.98, 0.2])]
>>> count_people(tracks, same_person=0.48)   # 2 and 3 overlap in time: two people
Headcount(enrolled_seen=1, others=2)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scas_lib.tracks import FaceTrack


@dataclass(frozen=True)
class Headcount:
    enrolled_seen: int
    #: People seen who are not enrolled (or were not recognised).
    others: int

    @property
    def people(self) -> int:
        return self.enrolled_seen + self.others


def count_people(tracks: Sequence[FaceTrack], same_person: float) -> Headcount:
    """The people in ``tracks`` (see the module docstring). Unknown tracks without a mean
    embedding (purged by the retention policy) cannot be grouped and are left out."""
    enrolled = {track.visitor_id for track in tracks if track.visitor_id is not None}
    unknown = [t for t in tracks if t.visitor_id is None and t.identity.centroid is not None]
    if not unknown:
        return Headcount(len(enrolled), 0)
    vectors = np.stack([np.asarray(t.identity.centroid, np.float32) for t in unknown])
    similarities = vectors @ vectors.T
    group = list(range(len(unknown)))
    members = {index: [index] for index in group}
    pairs = sorted(
        ((float(similarities[a, b]), a, b) for a, b in itertools.combinations(group, 2)),
        reverse=True,
    )
    for similarity, a, b in pairs:
        if similarity < same_person:
            break
        first, second = group[a], group[b]
        if first == second or _at_once(members[first], members[second], unknown):
            continue
        for index in members[second]:
            group[index] = first
        members[first] += members.pop(second)
    return Headcount(len(enrolled), len(members))


def _at_once(left: list[int], right: list[int], tracks: Sequence[FaceTrack]) -> bool:
    """Whether a track of one group and a track of the other share a camera and a moment."""
    for a, b in itertools.product(left, right):
        one, other = tracks[a], tracks[b]
        if (
            one.camera_id == other.camera_id
            and one.start_time <= other.end_time
            and other.start_time <= one.end_time
        ):
            return True
    return False
