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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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
    return Headcount(len(enrolled), len(group_unknown(tracks, same_person)))


def group_unknown(tracks: Sequence[FaceTrack], same_person: float) -> list[list[int]]:
    """The unknown tracks of ``tracks`` grouped into people (the module docstring's rule):
    each group the indices in ``tracks`` of one person's tracks, ascending, the groups in
    the order of their first track. Unknown tracks without a mean embedding are in none."""
    positions = [
        position
        for position, t in enumerate(tracks)
        if t.visitor_id is None and t.identity.centroid is not None
    ]
    unknown = [tracks[position] for position in positions]
    if not unknown:
        return []
    vectors = np.stack([np.asarray(t.identity.centroid, np.float32) for t in unknown])
    moments = _Moments.of(unknown)
    group = list(range(len(unknown)))
    members = {index: [index] for index in group}
    #: Groups found in front of one camera at once: they stay two people as they grow.
    apart: dict[int, set[int]] = {}
    for a, b in _alike_pairs(vectors, same_person):
        first, second = group[a], group[b]
        if first == second or second in apart.get(first, ()):
            continue
        if moments.at_once(members[first], members[second]):
            apart.setdefault(first, set()).add(second)
            apart.setdefault(second, set()).add(first)
            continue
        if len(members[first]) < len(members[second]):  # relabel the smaller group
            first, second = second, first
        for index in members[second]:
            group[index] = first
        members[first] += members.pop(second)
        for other in apart.pop(second, set()):
            apart[other].discard(second)
            apart[other].add(first)
            apart.setdefault(first, set()).add(other)
    return sorted([positions[i] for i in sorted(person)] for person in members.values())


#: Similarities computed at once, at most: ``rows x tracks`` float32 values (64 MB).
_SIMILARITY_BLOCK = 16_000_000


def _alike_pairs(vectors: NDArray[np.float32], same_person: float) -> Iterator[tuple[int, int]]:
    """The pairs ``(a, b)``, ``a < b``, at least ``same_person`` alike, most alike first
    (ties: the higher indices first). Only those pairs are kept and sorted: the others,
    nearly all of them at a crowded event, are dropped block by block."""
    count = len(vectors)
    rows = max(1, _SIMILARITY_BLOCK // count)
    firsts, seconds, similarities = [], [], []
    for top in range(0, count, rows):
        block = vectors[top : top + rows] @ vectors.T
        row, column = np.nonzero(block >= same_person)
        above_diagonal = column > row + top
        row, column = row[above_diagonal], column[above_diagonal]
        firsts.append(row + top)
        seconds.append(column)
        similarities.append(block[row, column])
    first, second = np.concatenate(firsts), np.concatenate(seconds)
    order = np.lexsort((second, first, np.concatenate(similarities)))[::-1]
    return zip(first[order].tolist(), second[order].tolist(), strict=True)


@dataclass(frozen=True)
class _Moments:
    """Where and when each track was: camera, start and end, as arrays."""

    cameras: NDArray[np.int_]
    starts: NDArray[np.float64]
    ends: NDArray[np.float64]

    @classmethod
    def of(cls, tracks: Sequence[FaceTrack]) -> _Moments:
        names = {camera: code for code, camera in enumerate({t.camera_id for t in tracks})}
        return cls(
            np.array([names[t.camera_id] for t in tracks]),
            np.array([t.start_time.timestamp() for t in tracks]),
            np.array([t.end_time.timestamp() for t in tracks]),
        )

    def at_once(self, left: list[int], right: list[int]) -> bool:
        """Whether a track of ``left`` and one of ``right`` share a camera and a moment."""
        one, other = np.asarray(left), np.asarray(right)
        same_camera = self.cameras[one][:, None] == self.cameras[other][None, :]
        overlap = (self.starts[one][:, None] <= self.ends[other][None, :]) & (
            self.starts[other][None, :] <= self.ends[one][:, None]
        )
        return bool((same_camera & overlap).any())
