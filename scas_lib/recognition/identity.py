"""Deciding who a face track is. Pure: embeddings in, an identity or "unknown" out.

A track is embedded on its *evidence*: its best few faces and, if one of them looks like
some visitor at all (:func:`looks_like_a_visitor`), the best face of every couple of
seconds too; never every frame. Their mean embedding is identified (open-set: the model
pack's threshold and margin), which is steadier than any single frame of a turning, moving
head; evidence accumulates, so a mean of several faces may be accepted from the pack's
lower, footage-calibrated ``track_match`` (:meth:`Thresholds.for_faces`). Each face is
also identified on its own as a check: if any of them picks a *different* visitor, the
track may hold two people and stays unknown. A stranger in someone's video is worse than
a missed moment.

A label covers only the time it is true for (:func:`attributed_runs`): the stretches of a
track whose evidence faces look less like the visitor than the pack's ``track_support`` are
left unknown.

Two tracks that share a frame are two people, so they can never both be the same visitor:
the one less similar to that visitor becomes unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from scas_lib.faces.matching import Gallery, identify, identify_many
from scas_lib.faces.pack import Thresholds
from scas_lib.faces.recognition import normalize
from scas_lib.tracks import FaceSample, TrackIdentity


def decide_identity(
    embeddings: NDArray[np.float32], gallery: Gallery, thresholds: Thresholds
) -> TrackIdentity:
    """The identity of one track from the embeddings of its evidence faces."""
    centroid = normalize(np.asarray(embeddings, np.float32).mean(axis=0))
    accumulated = thresholds.model_copy(update={"match": thresholds.for_faces(len(embeddings))})
    overall = identify(gallery, centroid, accumulated)
    votes = Counter(match.visitor_id for match in identify_many(gallery, embeddings, thresholds))
    winner = overall.visitor_id
    dissent = sum(count for visitor, count in votes.items() if visitor not in (None, winner))
    faces = len(embeddings)
    if winner is None or dissent:
        return TrackIdentity(None, overall.similarity, centroid, 0, faces)
    return TrackIdentity(winner, overall.similarity, centroid, votes.get(winner, 0), faces)


def looks_like_a_visitor(
    embeddings: NDArray[np.float32], gallery: Gallery, thresholds: Thresholds
) -> bool:
    """Whether any of a track's face ``embeddings`` is at least ``track_support`` similar
    to some visitor (any at all without a calibrated ``track_support``). Only such a track
    is worth more evidence than its best faces: a stranger's never is (99% of strangers'
    faces are below ``track_support``), and more of their faces would cost embeddings and
    change nothing.

    >>> gallery = Gallery("pack", ("ana",), np.array([[1.0, 0.0]]))
    >>> support = Thresholds(match=0.5, margin=0.05, calibrated=True, track_support=0.3)
    >>> looks_like_a_visitor(np.array([[0.2, 0.98], [0.35, 0.94]]), gallery, support)
    True
    >>> looks_like_a_visitor(np.array([[0.2, 0.98]]), gallery, support)
    False
    """
    if len(embeddings) == 0 or not gallery.visitor_ids:
        return False
    if thresholds.track_support is None:
        return True
    return bool((np.asarray(embeddings) @ gallery.templates.T).max() >= thresholds.track_support)


def resolve_conflicts(
    times: Sequence[set[float]], identities: Sequence[TrackIdentity]
) -> list[TrackIdentity]:
    """Make tracks that share a frame different people (see the module docstring).

    >>> a = TrackIdentity("ana", 0.8, np.zeros(2)); b = TrackIdentity("ana", 0.6, np.zeros(2))
    >>> [i.visitor_id for i in resolve_conflicts([{0.0, 0.2}, {0.2, 0.4}], [a, b])]
    ['ana', None]
    """
    result = list(identities)
    order = sorted(range(len(result)), key=lambda i: -(result[i].similarity or -1.0))
    for position, index in enumerate(order):
        visitor = result[index].visitor_id
        if visitor is None:
            continue
        for better in order[:position]:
            if result[better].visitor_id == visitor and times[better] & times[index]:
                result[index] = replace(result[index], visitor_id=None)
                break
    return result


def face_evidence(
    gallery: Gallery, embedding: NDArray[np.float32], visitor_id: str | None
) -> tuple[float | None, float | None]:
    """Why one face supports its track's label, or not: its similarity to ``visitor_id``
    (to the best visitor when None) and to the best other visitor (-1 when there is none);
    ``(None, None)`` with an empty gallery.

    >>> gallery = Gallery("pack", ("ana", "bo"), np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> face_evidence(gallery, np.array([0.6, 0.8]), "ana")
    (0.6, 0.8)
    """
    if not gallery.visitor_ids:
        return None, None
    similarities = gallery.templates @ normalize(np.asarray(embedding, np.float32))
    order = [int(i) for i in np.argsort(similarities)[::-1]]
    label = gallery.visitor_ids.index(visitor_id) if visitor_id in gallery.visitor_ids else order[0]
    others = [similarities[i] for i in order if i != label]
    runner_up = float(others[0]) if others else -1.0
    return round(float(similarities[label]), 4), round(runner_up, 4)


def attributed_runs(
    samples: Sequence[FaceSample], support: dict[int, bool]
) -> list[tuple[tuple[FaceSample, ...], bool]]:
    """A labelled track cut into runs that its label covers (True) or not (False).

    ``support`` says, for the index of each embedded evidence face, whether that face
    supports the label; every other face goes with the evidence face nearest in time (the
    earlier of two as near). Without evidence, everything is covered.

    >>> faces = [FaceSample(t / 5, (0, 0, 50, 60), 0.9) for t in range(6)]
    >>> [(run[0].offset_s, len(run), ok) for run, ok in attributed_runs(faces, {0: True, 5: False})]
    [(0.0, 3, True), (0.6, 3, False)]
    """
    if not support:
        return [(tuple(samples), True)]
    evidence = sorted(support)
    runs: list[tuple[list[FaceSample], bool]] = []
    for sample in samples:
        nearest = min(evidence, key=lambda i: abs(samples[i].offset_s - sample.offset_s))
        covered = support[nearest]
        if runs and runs[-1][1] == covered:
            runs[-1][0].append(sample)
        else:
            runs.append(([sample], covered))
    return [(tuple(run), covered) for run, covered in runs]
