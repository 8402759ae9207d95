"""How many different people the cameras saw: enrolled visitors, and the others grouped
into people by their faces. Pure: face tracks in, a count out.

Every visitor seen counts once. Tracks nobody was recognised in are grouped as Immich
groups unknown faces, greedily: the two most alike groups (by the mean embeddings of their
tracks, single link) become one while they are at least ``same_person`` similar (the
pack's match threshold: from there two faces are taken for one person) and no two of their
tracks are in front of one camera at the same time (two faces at once are two people).
The alike pairs come from scikit-learn's radius neighbours; the merging is written here,
because no library clustering keeps two tracks seen at once apart (a cannot-link
constraint) and the greedy merge needs only the alike pairs, not an N x N matrix.

An unknown track counts only if its best face is at least ``min_quality`` (recognition's
``probe_min_quality``): a face that small, blurred or turned away says too little to tell
a new person from one already counted. Without this floor every far-off passer-by of the
background, never recognisable, was a person of their own: 11 people counted for 6 on
the shared faces (docs/benchmarks.md, people counted).

>>> from datetime import UTC, datetime
>>> from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity
>>> def track(index, start_s, visitor, centroid):
...     samples = (FaceSample(start_s, (0, 0, 50, 60), 0.9, 0.8),
...                FaceSample(start_s + 1, (0, 0, 50, 60), 0.9, 0.8))
...     identity = TrackIdentity(visitor, 0.6, np.array(centroid, np.float32))
...     return FaceTrack("cam1", datetime(2026, 1, 1, tzinfo=UTC), index, samples,
...                      (1920, 1080), "default", identity)
>>> tracks = [track(0, 0, "ana", [1, 0, 0]), track(1, 5, None, [0, 1, 0]),
...           track(2, 9, None, [0, 0.99, 0.14]), track(3, 9.2, None, [0, 0.98, 0.2])]
>>> count_people(tracks, same_person=0.48)   # 2 and 3 at once for 0.8 s: two people
Headcount(enrolled_seen=1, others=2)
>>> count_people(tracks, same_person=0.48, min_quality=0.9)   # faces too poor to tell apart
Headcount(enrolled_seen=1, others=0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.neighbors import NearestNeighbors

from scas_lib.tracks import FaceTrack

#: Two tracks in front of one camera together for longer than this are two people. Not
#: from 0: the tracker sometimes follows one fast face twice for a frame or two (a track
#: that ends on the frame where the next one began), and that face would count twice.
AT_ONCE_S = 0.5


@dataclass(frozen=True)
class Headcount:
    enrolled_seen: int
    #: People seen who are not enrolled (or were not recognised).
    others: int

    @property
    def people(self) -> int:
        return self.enrolled_seen + self.others


def count_people(
    tracks: Sequence[FaceTrack], same_person: float, *, min_quality: float = 0.0
) -> Headcount:
    """The people in ``tracks`` (see the module docstring). A track nobody was recognised
    in that is alike a visitor's tracks is that visitor (recognition compares faces with
    the selfie; here footage is compared with footage), not one more person. Unknown
    tracks without a mean embedding (purged by the retention policy) cannot be grouped and
    are left out, as are those whose best face is below ``min_quality``."""
    counter = GrowingHeadcount(same_person, min_quality=min_quality)
    return counter.count(dict(enumerate(tracks)))


class GrowingHeadcount:
    """:func:`count_people` for an event whose tracks grow between counts (the console's):
    the alike pairs found are kept, so a count compares only the tracks new since the last
    one with the others, instead of every pair again (60,000 tracks of a day: a minute).
    Tracks are given by a key that stays theirs (the catalog's id); a track whose key is
    gone, or that comes as another object under its key (its embedding cleared, another
    visitor), is forgotten with its pairs, and compared again if still there. Counts as
    :func:`count_people` does.

    >>> from datetime import UTC, datetime
    >>> from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity
    >>> def track(start_s, centroid):
    ...     samples = (FaceSample(start_s, (0, 0, 50, 60), 0.9, 0.8),)
    ...     identity = TrackIdentity(None, 0.1, np.array(centroid, np.float32))
    ...     return FaceTrack("cam1", datetime(2026, 1, 1, tzinfo=UTC), 0, samples,
    ...                      (1920, 1080), "default", identity)
    >>> counter = GrowingHeadcount(same_person=0.48)
    >>> ana, bo = track(0, [1, 0]), track(5, [0, 1])
    >>> counter.count({1: ana, 2: bo}), counter.compared
    (Headcount(enrolled_seen=0, others=2), 4)
    >>> counter.count({1: ana, 2: bo, 3: track(9, [0.99, 0.14])}), counter.compared
    (Headcount(enrolled_seen=0, others=2), 7)

    The second count compared the new track with the three (3 more), not every pair again.
    """

    def __init__(self, same_person: float, *, min_quality: float = 0.0) -> None:
        self.same_person = same_person
        self.min_quality = min_quality
        #: Pairs of tracks compared so far (a new track with every track there then).
        self.compared = 0
        self._tracks: dict[int, FaceTrack] = {}  # the clear tracks kept, by key
        # The alike pairs kept, as three arrays: lower key, higher key, similarity (a day's
        # million pairs as Python tuples took seconds to filter and sort on every count).
        self._lower = np.empty(0, np.int64)
        self._higher = np.empty(0, np.int64)
        self._similarity = np.empty(0, np.float64)

    def count(self, tracks: Mapping[int, FaceTrack]) -> Headcount:
        """The people in ``tracks`` (key -> track): the module docstring's rule."""
        clear = {
            key: t
            for key, t in tracks.items()
            if t.identity.centroid is not None
            and (t.visitor_id is not None or t.quality >= self.min_quality)
        }
        gone = {key for key, kept in self._tracks.items() if clear.get(key) is not kept}
        if gone:
            gone_keys = np.fromiter(gone, np.int64)
            kept = ~(np.isin(self._lower, gone_keys) | np.isin(self._higher, gone_keys))
            self._lower, self._higher = self._lower[kept], self._higher[kept]
            self._similarity = self._similarity[kept]
        new = [key for key in clear if key not in self._tracks or key in gone]
        self._tracks = clear
        self._compare(new)
        keys = sorted(clear)
        # Positions follow keys, so pairs sort as by position: most alike first (ties: the
        # higher positions first).
        order = np.lexsort((self._higher, self._lower, self._similarity))[::-1]
        sorted_keys = np.array(keys, np.int64)
        first = np.searchsorted(sorted_keys, self._lower[order]).tolist()
        second = np.searchsorted(sorted_keys, self._higher[order]).tolist()
        ordered = [clear[key] for key in keys]
        people = _people(ordered, self.same_person, zip(first, second, strict=True))
        others = sum(all(ordered[i].visitor_id is None for i in person) for person in people)
        enrolled = {t.visitor_id for t in tracks.values() if t.visitor_id is not None}
        return Headcount(len(enrolled), others)

    def _compare(self, new: list[int]) -> None:
        """The alike pairs of each of ``new`` with every clear track, kept."""
        if not new:
            return
        keys = list(self._tracks)
        vectors = _unit_rows([self._tracks[key] for key in keys])
        lower, higher, similarity = _alike_to(vectors, keys, new, self.same_person)
        self._lower = np.concatenate([self._lower, lower])
        self._higher = np.concatenate([self._higher, higher])
        self._similarity = np.concatenate([self._similarity, similarity])
        self.compared += len(new) * len(keys)


def group_unknown(tracks: Sequence[FaceTrack], same_person: float) -> list[list[int]]:
    """The unknown tracks of ``tracks`` grouped into people (the module docstring's rule):
    each group the indices in ``tracks`` of one person's tracks, ascending, the groups in
    the order of their first track. Unknown tracks without a mean embedding are in none."""
    positions = [
        position
        for position, t in enumerate(tracks)
        if t.visitor_id is None and t.identity.centroid is not None
    ]
    people = _people([tracks[position] for position in positions], same_person)
    return [[positions[index] for index in person] for person in people]


def _people(
    tracks: Sequence[FaceTrack],
    same_person: float,
    alike: Iterable[tuple[int, int]] | None = None,
) -> list[list[int]]:
    """``tracks`` (each with a mean embedding) grouped into people, greedily (the module
    docstring's rule): each visitor's tracks start as one group, and two groups with a
    visitor each are never joined. Each group the indices of its tracks, ascending, the
    groups in the order of their first track. ``alike``: the alike pairs, most alike
    first, if already known."""
    if not tracks:
        return []
    if alike is None:
        alike = _alike_pairs(_unit_rows(tracks), same_person)
    moments = _Moments.of(tracks)
    group = list(range(len(tracks)))
    members = {index: [index] for index in group}
    visitor: dict[int, str] = {}  # the group's visitor, if it has one
    first_of: dict[str, int] = {}  # each visitor's group
    for index, track in enumerate(tracks):
        if track.visitor_id is None:
            continue
        first = first_of.setdefault(track.visitor_id, index)
        if first == index:
            visitor[index] = track.visitor_id
        else:
            group[index] = first
            members[first] += members.pop(index)
    #: Groups found in front of one camera at once: they stay two people as they grow.
    apart: dict[int, set[int]] = {}
    for a, b in alike:
        first, second = group[a], group[b]
        if first == second or second in apart.get(first, ()):
            continue
        if (first in visitor and second in visitor) or moments.at_once(
            members[first], members[second]
        ):
            apart.setdefault(first, set()).add(second)
            apart.setdefault(second, set()).add(first)
            continue
        if len(members[first]) < len(members[second]):  # relabel the smaller group
            first, second = second, first
        for index in members[second]:
            group[index] = first
        members[first] += members.pop(second)
        if second in visitor:
            visitor[first] = visitor.pop(second)
        for other in apart.pop(second, set()):
            apart[other].discard(second)
            apart[other].add(first)
            apart.setdefault(first, set()).add(other)
    return sorted(sorted(person) for person in members.values())


def _alike_pairs(vectors: NDArray[np.float32], same_person: float) -> Iterator[tuple[int, int]]:
    """The pairs ``(a, b)``, ``a < b``, at least ``same_person`` alike, most alike first
    (ties: the higher indices first). scikit-learn's radius neighbours keep only those
    pairs, computing the distances a block at a time: the others, nearly all of them at a
    crowded event, are never stored."""
    # Unit vectors: squared distance is 2 - 2 x similarity, so "alike enough" is a radius.
    # Euclidean, not cosine: scikit-learn's euclidean is one matrix product a block (its
    # cosine normalises again, about 1.5x slower here).
    radius = math.sqrt(2.0 * (1.0 - same_person))
    search = NearestNeighbors(radius=radius, metric="euclidean", algorithm="brute")
    alike = sparse.triu(search.fit(vectors).radius_neighbors_graph(mode="distance"), k=1).tocoo()
    first, second = alike.row.astype(np.int64), alike.col.astype(np.int64)
    similarity = 1.0 - np.square(alike.data) / 2.0
    order = np.lexsort((second, first, similarity))[::-1]
    return zip(first[order].tolist(), second[order].tolist(), strict=True)


def _alike_to(
    vectors: NDArray[np.float32], keys: list[int], new: list[int], same_person: float
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The lower key, higher key and similarity of each track of ``new`` with every track
    of ``keys`` (rows of ``vectors``) at least ``same_person`` alike, each pair once."""
    row_of = {key: row for row, key in enumerate(keys)}
    radius = math.sqrt(2.0 * (1.0 - same_person))
    search = NearestNeighbors(radius=radius, metric="euclidean", algorithm="brute").fit(vectors)
    distances, neighbours = search.radius_neighbors(vectors[[row_of[key] for key in new]])
    all_keys = np.array(keys, np.int64)
    found = [len(near) for near in neighbours]
    query = np.repeat(np.array(new, np.int64), found)
    other = all_keys[np.concatenate(neighbours).astype(np.int64)] if query.size else query
    # A pair of two new tracks is found from both: kept from its lower key's side.
    once = (other != query) & (~np.isin(other, query) | (query < other))
    distance = np.concatenate(distances).astype(np.float64)[once] if query.size else query
    query, other = query[once], other[once]
    return (
        np.minimum(query, other),
        np.maximum(query, other),
        1.0 - distance * distance / 2.0,
    )


def _unit_rows(tracks: Sequence[FaceTrack]) -> NDArray[np.float32]:
    """The tracks' mean embeddings, one row each."""
    return np.stack([np.asarray(t.identity.centroid, np.float32) for t in tracks])


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
        """Whether a track of ``left`` and one of ``right`` were in front of one camera
        together for longer than :data:`AT_ONCE_S`."""
        one, other = np.asarray(left), np.asarray(right)
        same_camera = self.cameras[one][:, None] == self.cameras[other][None, :]
        together = np.minimum(self.ends[one][:, None], self.ends[other][None, :]) - np.maximum(
            self.starts[one][:, None], self.starts[other][None, :]
        )
        return bool((same_camera & (together > AT_ONCE_S)).any())
