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

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import connected_components
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
    """:func:`count_people` for an event whose tracks grow between counts (the console's).

    A count compares only the tracks new since the last one with the others (not every
    pair again), and groups again only the part of the event they touch: the greedy merge
    never joins two tracks without a chain of alike pairs or one visitor between them, so
    the event falls into *components* (tracks linked that way) grouped independently of
    each other, and a day's 60,000 tracks need only the few components a new track is
    alike to grouped again (a count of the whole day: a minute). Tracks are given by a key
    that stays theirs (the catalog's id); a track whose key is gone, or that comes as
    another object under its key (its embedding cleared, another visitor), is forgotten
    with its pairs, its component grouped again, and compared again if still there.
    Counts as :func:`count_people` does.

    >>> from datetime import UTC, datetime
    >>> from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity
    >>> def track(start_s, centroid):
    ...     samples = (FaceSample(start_s, (0, 0, 50, 60), 0.9, 0.8),)
    ...     identity = TrackIdentity(None, 0.1, np.array(centroid, np.float32))
    ...     return FaceTrack("cam1", datetime(2026, 1, 1, tzinfo=UTC), 0, samples,
    ...                      (1920, 1080), "default", identity)
    >>> counter = GrowingHeadcount(same_person=0.48)
    >>> ana, bo = track(0, [1, 0]), track(5, [0, 1])
    >>> counter.count({1: ana, 2: bo}), counter.compared, counter.regrouped
    (Headcount(enrolled_seen=0, others=2), 4, 2)
    >>> counter.count({1: ana, 2: bo, 3: track(9, [0.99, 0.14])})
    Headcount(enrolled_seen=0, others=2)
    >>> counter.compared, counter.regrouped
    (7, 4)

    The second count compared the new track with the three (3 more), and grouped again
    only it and the track it is alike to (2 more): not Bo, alike to neither.
    """

    def __init__(self, same_person: float, *, min_quality: float = 0.0) -> None:
        self.same_person = same_person
        self.min_quality = min_quality
        #: Pairs of tracks compared so far (a new track with every track there then).
        self.compared = 0
        #: Tracks grouped so far (those of the components a count touched, at each count).
        self.regrouped = 0
        self._given: dict[int, FaceTrack] = {}  # every track of the last count, by key
        self._tracks: dict[int, FaceTrack] = {}  # the clear ones
        self._embeddings = _Embeddings()
        # The alike pairs kept, as three arrays: lower key, higher key, similarity (a day's
        # million pairs as Python tuples took seconds to filter and sort on every count).
        self._lower = np.empty(0, np.int64)
        self._higher = np.empty(0, np.int64)
        self._similarity = np.empty(0, np.float64)
        self._component: dict[int, int] = {}  # each clear track's component
        self._members: dict[int, list[int]] = {}  # each component's tracks
        self._others: dict[int, int] = {}  # each component's people without a visitor
        self._of_visitor: dict[str, int] = {}  # the component of each visitor's tracks
        self._next_label = 0  # labels are never used again: a stale one is in no map

    def count(self, tracks: Mapping[int, FaceTrack]) -> Headcount:
        """The people in ``tracks`` (key -> track): the module docstring's rule."""
        changed = {key for key, t in tracks.items() if self._given.get(key) is not t}
        gone = [key for key in self._tracks if key in changed or key not in tracks]
        self._given = dict(tracks)
        new = [key for key in changed if self._is_clear(tracks[key])]
        touched = {self._component.pop(key) for key in gone}
        self._forget(gone)
        for key in new:
            self._tracks[key] = tracks[key]
        partners = self._compare(new)
        touched |= {self._component[key] for key in partners if key in self._component}
        visitors = {v for key in new if (v := self._tracks[key].visitor_id) is not None}
        touched |= {self._of_visitor[v] for v in visitors if v in self._of_visitor}
        touched &= self._members.keys()  # (a visitor whose tracks all went has none)
        self._regroup(touched, new)
        enrolled = {t.visitor_id for t in tracks.values() if t.visitor_id is not None}
        return Headcount(len(enrolled), sum(self._others.values()))

    def _is_clear(self, track: FaceTrack) -> bool:
        """Whether ``track`` can be told apart from others (see :func:`count_people`)."""
        return track.identity.centroid is not None and (
            track.visitor_id is not None or track.quality >= self.min_quality
        )

    def _forget(self, gone: list[int]) -> None:
        """``gone``'s tracks, embeddings and alike pairs, dropped."""
        if not gone:
            return
        gone_keys = np.array(gone, np.int64)
        kept = ~(np.isin(self._lower, gone_keys) | np.isin(self._higher, gone_keys))
        self._lower, self._higher = self._lower[kept], self._higher[kept]
        self._similarity = self._similarity[kept]
        for key in gone:
            del self._tracks[key]
            self._embeddings.remove(key)

    def _compare(self, new: list[int]) -> set[int]:
        """The alike pairs of each of ``new`` with every clear track, kept; the tracks
        they pair ``new`` with."""
        if not new:
            return set()
        for key in new:
            self._embeddings.add(key, self._tracks[key].identity.centroid)
        lower, higher, similarity = self._embeddings.alike_to(new, self.same_person)
        self._lower = np.concatenate([self._lower, lower])
        self._higher = np.concatenate([self._higher, higher])
        self._similarity = np.concatenate([self._similarity, similarity])
        self.compared += len(new) * len(self._tracks)
        return set(lower.tolist()) | set(higher.tolist())

    def _regroup(self, touched: set[int], new: list[int]) -> None:
        """The tracks of the ``touched`` components and the ``new`` tracks grouped again
        (those still there), as components of their own, each with its people counted."""
        region = set(new)
        for label in touched:
            region.update(self._members.pop(label))
            del self._others[label]
        keys = sorted(key for key in region if key in self._tracks)
        if not keys:
            return
        self.regrouped += len(keys)
        sorted_keys = np.array(keys, np.int64)
        inside = np.isin(self._lower, sorted_keys)  # (a pair never leaves its component)
        lower, higher = self._lower[inside], self._higher[inside]
        # Positions follow keys, so pairs sort as by position: most alike first (ties: the
        # higher positions first).
        order = np.lexsort((higher, lower, self._similarity[inside]))[::-1]
        first = np.searchsorted(sorted_keys, lower[order])
        second = np.searchsorted(sorted_keys, higher[order])
        ordered = [self._tracks[key] for key in keys]
        people = _people(
            ordered, self.same_person, zip(first.tolist(), second.tolist(), strict=True)
        )
        labels = (_components(ordered, first, second) + self._next_label).tolist()
        self._next_label = max(labels) + 1
        for key, label in zip(keys, labels, strict=True):
            self._members.setdefault(label, []).append(key)
            self._others[label] = 0
            self._component[key] = label
            visitor = self._tracks[key].visitor_id
            if visitor is not None:
                self._of_visitor[visitor] = label
        for person in people:  # (a person never leaves their component)
            if all(ordered[i].visitor_id is None for i in person):
                self._others[labels[person[0]]] += 1


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
    search = _alike_search(same_person).fit(vectors)
    alike = sparse.triu(search.radius_neighbors_graph(mode="distance"), k=1).tocoo()
    first, second = alike.row.astype(np.int64), alike.col.astype(np.int64)
    similarity = 1.0 - np.square(alike.data) / 2.0
    order = np.lexsort((second, first, similarity))[::-1]
    return zip(first[order].tolist(), second[order].tolist(), strict=True)


def _alike_search(same_person: float) -> NearestNeighbors:
    """scikit-learn's radius neighbours over unit vectors, finding those at least
    ``same_person`` alike. A distance ``d`` is a similarity of ``1 - d * d / 2``."""
    # Unit vectors: squared distance is 2 - 2 x similarity, so "alike enough" is a radius.
    # Euclidean, not cosine: scikit-learn's euclidean is one matrix product a block (its
    # cosine normalises again, about 1.5x slower here).
    radius = math.sqrt(2.0 * (1.0 - same_person))
    return NearestNeighbors(radius=radius, metric="euclidean", algorithm="brute")


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


class _Embeddings:
    """The clear tracks' mean embeddings as the rows of one matrix that grows by doubling,
    so a count compares its few new tracks with a day's 60,000 without stacking them all
    again. A forgotten track's row is left empty and reused once half of them are."""

    def __init__(self) -> None:
        self._matrix = np.empty((0, 0), np.float32)
        self._keys = np.empty(0, np.int64)  # each row's track, -1 for none
        self._rows = 0  # rows used, empty ones included
        self._row_of: dict[int, int] = {}

    def add(self, key: int, vector: NDArray[np.float32] | None) -> None:
        vector = np.asarray(vector, np.float32)
        if self._rows == len(self._matrix):
            capacity = max(1024, 2 * len(self._row_of))
            matrix = np.zeros((capacity, vector.size), np.float32)
            keys = np.full(capacity, -1, np.int64)
            live = self._keys[: self._rows] >= 0
            count = int(live.sum())
            if not count:  # the first: the vectors' size known from now
                self._matrix = np.empty((0, vector.size), np.float32)
            matrix[:count], keys[:count] = (
                self._matrix[: self._rows][live],
                self._keys[: self._rows][live],
            )
            self._matrix, self._keys, self._rows = matrix, keys, count
            self._row_of = {int(k): row for row, k in enumerate(keys[:count].tolist())}
        self._matrix[self._rows], self._keys[self._rows] = vector, key
        self._row_of[key] = self._rows
        self._rows += 1

    def remove(self, key: int) -> None:
        row = self._row_of.pop(key, None)
        if row is not None:
            self._keys[row] = -1

    def alike_to(
        self, new: list[int], same_person: float
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """The lower key, higher key and similarity of each track of ``new`` (added) with
        every track kept at least ``same_person`` alike, each pair once. scikit-learn's
        radius neighbours compute the distances a block at a time: the others, nearly all
        of them at a crowded event, are never stored."""
        vectors = self._matrix[: self._rows]
        distances, neighbours = (
            _alike_search(same_person)
            .fit(vectors)
            .radius_neighbors(vectors[[self._row_of[key] for key in new]])
        )
        found = [len(near) for near in neighbours]
        query = np.repeat(np.array(new, np.int64), found)
        other = self._keys[: self._rows][np.concatenate(neighbours).astype(np.int64)]
        distance = np.concatenate(distances).astype(np.float64)
        # Not itself nor an empty row; a pair of two new tracks is found from both: kept
        # from its lower key's side.
        once = (other >= 0) & (other != query) & (~np.isin(other, query) | (query < other))
        query, other, distance = query[once], other[once], distance[once]
        return np.minimum(query, other), np.maximum(query, other), 1.0 - distance * distance / 2.0


def _components(
    tracks: Sequence[FaceTrack], first: NDArray[np.intp], second: NDArray[np.intp]
) -> NDArray[np.int32]:
    """Each of ``tracks``' component: tracks linked by a chain of alike pairs (positions
    ``first[i]``, ``second[i]``) or of one visitor's tracks."""
    by_visitor: dict[str, list[int]] = {}
    for position, track in enumerate(tracks):
        if track.visitor_id is not None:
            by_visitor.setdefault(track.visitor_id, []).append(position)
    chained = [(a, b) for same in by_visitor.values() for a, b in itertools.pairwise(same)]
    rows = np.concatenate([first, np.array([a for a, _ in chained], np.intp)])
    columns = np.concatenate([second, np.array([b for _, b in chained], np.intp)])
    size = len(tracks)
    graph = sparse.coo_matrix((np.ones(len(rows), np.int8), (rows, columns)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, np.int32)
