"""Ground truth of a synthetic event, and scoring predicted appearances against it. Pure.

Intervals are ``(start, end)`` seconds on the event clock (since the event's start, the
clock of the segments' start times), end exclusive. A person is visible in a frame when
:func:`scas_lib.simulation.scene.face_states` says so: face at least ``min_face_px`` high,
mostly inside the frame, mostly unhidden.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from scas_lib.simulation.plan import EventPlan, PhotoSpec
from scas_lib.simulation.scene import SpriteGeometry, face_states
from scas_lib.tracks import iou

Interval = tuple[float, float]
#: person id -> camera id -> intervals
Appearances = Mapping[str, Mapping[str, Sequence[Interval]]]


#: The expression label of a smiling photo.
SMILING = "happy"


def ground_truth(
    plan: EventPlan,
    sprites: dict[str, SpriteGeometry],
    *,
    present: bool = False,
    smiling: bool = False,
) -> dict[str, dict[str, list[Interval]]]:
    """When each person's face is visible on each camera, from every frame of the plan.

    With ``present``, when any of the face is in the frame at all, however small, hidden or
    cut off: a prediction there is the right person even where the truth cannot promise
    that the face can be recognised. With ``smiling``, when it is visible and smiles (the
    pass shows a photo labelled :data:`SMILING`).
    """
    fps = plan.config.fps
    frames = round(plan.config.duration_s * fps)
    smiles = {photo.name for photo in photo_specs(plan) if photo.expression == SMILING}
    if smiling and not smiles:
        return {}
    visible: dict[tuple[str, str], list[int]] = defaultdict(list)
    for camera in plan.cameras:
        for index in range(frames):
            for state in face_states(plan, camera.id, index / fps, sprites):
                if smiling and not (state.visible and state.pass_.photo in smiles):
                    continue
                if state.visible or (present and state.inside > 0):
                    visible[(state.person_id, camera.id)].append(index)
    truth: dict[str, dict[str, list[Interval]]] = defaultdict(dict)
    for (person, camera_id), indices in sorted(visible.items()):
        runs = _runs(sorted(set(indices)))
        truth[person][camera_id] = [(first / fps, (last + 1) / fps) for first, last in runs]
    return dict(truth)


def photo_specs(plan: EventPlan) -> list[PhotoSpec]:
    """Every photo the plan's people may show in the footage."""
    return [photo for person in plan.people for photo in person.footage_photos]


def person_at(
    plan: EventPlan,
    camera_id: str,
    t: float,
    box: tuple[float, float, float, float],
    sprites: dict[str, SpriteGeometry],
    *,
    min_overlap: float = 0.3,
) -> str | None:
    """Whose face is at ``box`` (frame pixels) on ``camera_id`` at ``t`` (event clock): the
    planned face overlapping it most, if by at least ``min_overlap`` (intersection over
    union); None for a face the plan did not place (a passer-by of the background video).
    """
    best, overlap = None, min_overlap
    for state in face_states(plan, camera_id, t, sprites):
        if (value := iou(box, state.box)) >= overlap:
            best, overlap = state.person_id, value
    return best


def _runs(indices: list[int]) -> Iterable[tuple[int, int]]:
    start = previous = indices[0]
    for index in indices[1:]:
        if index != previous + 1:
            yield start, previous
            start = index
        previous = index
    yield start, previous


# Interval arithmetic ---------------------------------------------------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union.

    >>> merge([(3, 4), (0, 1), (0.5, 2)])
    [(0, 2), (3, 4)]
    """
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def total(intervals: Iterable[Interval]) -> float:
    return sum(end - start for start, end in merge(intervals))


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Pairwise intersection of two interval sets.

    >>> intersect([(0, 5)], [(1, 2), (4, 6)])
    [(1, 2), (4, 5)]
    """
    left, right = merge(a), merge(b)
    out, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        start, end = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if start < end:
            out.append((start, end))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """``a`` without ``b``.

    >>> subtract([(0, 10)], [(2, 3), (5, 6)])
    [(0, 2), (3, 5), (6, 10)]
    """
    out = []
    for start, end in merge(a):
        cursor = start
        for cut_start, cut_end in merge(b):
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                out.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def widen(intervals: Iterable[Interval], by: float) -> list[Interval]:
    return merge((start - by, end + by) for start, end in intervals)


# Scoring ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitorScore:
    visible_s: float
    found_s: float
    predicted_s: float
    correct_s: float
    false_identities: int

    @property
    def recall(self) -> float:
        return self.found_s / self.visible_s if self.visible_s else 1.0

    @property
    def precision(self) -> float:
        return self.correct_s / self.predicted_s if self.predicted_s else 1.0


@dataclass(frozen=True)
class Score:
    visitors: dict[str, VisitorScore] = field(default_factory=dict)

    @property
    def recall(self) -> float:
        visible = sum(v.visible_s for v in self.visitors.values())
        return sum(v.found_s for v in self.visitors.values()) / visible if visible else 1.0

    @property
    def precision(self) -> float:
        predicted = sum(v.predicted_s for v in self.visitors.values())
        return sum(v.correct_s for v in self.visitors.values()) / predicted if predicted else 1.0

    @property
    def false_identities(self) -> int:
        return sum(v.false_identities for v in self.visitors.values())

    @property
    def missed_visitors(self) -> list[str]:
        return sorted(
            visitor
            for visitor, score in self.visitors.items()
            if score.visible_s > 0 and score.found_s == 0
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "false_identities": self.false_identities,
            "missed_visitors": self.missed_visitors,
            "per_visitor": {
                visitor: {
                    "recall": round(score.recall, 4),
                    "precision": round(score.precision, 4),
                    "visible_s": round(score.visible_s, 2),
                    "predicted_s": round(score.predicted_s, 2),
                    "false_identities": score.false_identities,
                }
                for visitor, score in sorted(self.visitors.items())
            },
        }


def score_appearances(
    truth: Appearances,
    predicted: Appearances,
    visitors: Iterable[str],
    *,
    present: Appearances | None = None,
    tolerance_s: float = 0.5,
    min_false_s: float = 0.5,
) -> Score:
    """Predicted appearance intervals of ``visitors`` against the ground truth of everyone.

    - recall: share of a visitor's visible time that a prediction of them covers;
    - precision: share of a visitor's predicted time in which they are there (``present``,
      when given: visible or not, e.g. behind a pillar; else visible);
    - false identities: predicted stretches (at least ``min_false_s`` long) in which the
      visitor is not there but another person (stranger or visitor) is visible, on that
      camera;
    - missed visitors: visible visitors of whom nothing was found.

    Predictions come from sampled frames, so boundaries ``tolerance_s`` off do not count.
    Scoring is by time, not by box: a stranger labelled as the visitor while the visitor is
    in the same frame goes unnoticed here (the recognition tests check boxes for that).
    """
    scores = {}
    for visitor in visitors:
        truth_cams = truth.get(visitor, {})
        there_cams = (present or truth).get(visitor, {})
        predicted_cams = predicted.get(visitor, {})
        visible = found = predicted_total = correct = 0.0
        false_count = 0
        for camera in set(truth_cams) | set(there_cams) | set(predicted_cams):
            seen = merge(truth_cams.get(camera, []))
            there = merge([*seen, *there_cams.get(camera, [])])
            guessed = merge(predicted_cams.get(camera, []))
            visible += total(seen)
            found += total(intersect(seen, widen(guessed, tolerance_s)))
            predicted_total += total(guessed)
            correct += total(intersect(guessed, widen(there, tolerance_s)))
            others = merge(
                interval
                for person, cams in truth.items()
                if person != visitor
                for interval in cams.get(camera, [])
            )
            for stretch in subtract(guessed, widen(there, tolerance_s)):
                if total(intersect([stretch], others)) >= min_false_s:
                    false_count += 1
        scores[visitor] = VisitorScore(visible, found, predicted_total, correct, false_count)
    return Score(scores)
