"""Open-set identification: which enrolled visitor is this face, or nobody.

A face is given to the best-matching visitor only when the similarity reaches the pack's
calibrated threshold *and* beats the second-best visitor by the margin; otherwise the answer
is "unknown". A stranger in someone's personal video is the worst failure SCAS can make, so
an ambiguous face stays unknown rather than going to the nearest visitor.

>>> gallery = Gallery("pack", ("ana", "bo"), np.array([[1.0, 0.0], [0.0, 1.0]]))
>>> thresholds = Thresholds(match=0.5, margin=0.1, calibrated=True)
>>> identify(gallery, np.array([0.96, 0.28]), thresholds).visitor_id
'ana'
>>> identify(gallery, np.array([0.7, 0.7]), thresholds).reason   # as close to both
'ambiguous'
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from scas_lib.catalog.records import Enrollment
from scas_lib.faces.pack import Thresholds
from scas_lib.faces.recognition import normalize

MatchReason = Literal["matched", "below_threshold", "ambiguous", "empty_gallery"]


@dataclass(frozen=True, eq=False)
class Gallery:
    """The templates of an event's enrolled visitors, all from one model pack."""

    model_pack: str
    visitor_ids: tuple[str, ...]
    templates: NDArray[np.float32] = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.visitor_ids) != len(self.templates):
            raise ValueError("one template per visitor")

    @classmethod
    def from_enrollments(cls, model_pack: str, enrollments: Sequence[Enrollment]) -> Gallery:
        """One template per visitor from their enrollments of ``model_pack``."""
        by_visitor: dict[str, list[Enrollment]] = defaultdict(list)
        for enrollment in enrollments:
            if enrollment.model_pack != model_pack:
                raise ValueError(
                    f"enrollment of {enrollment.visitor_id} was made with pack "
                    f"{enrollment.model_pack!r}, not {model_pack!r}: embeddings of different "
                    "packs cannot be compared"
                )
            by_visitor[enrollment.visitor_id].append(enrollment)
        visitor_ids = tuple(sorted(by_visitor))
        templates = [
            combine_embeddings(
                np.array([e.embedding for e in by_visitor[visitor]], np.float32),
                np.array([e.quality for e in by_visitor[visitor]], np.float32),
            )
            for visitor in visitor_ids
        ]
        dimension = len(enrollments[0].embedding) if enrollments else 0
        matrix = np.array(templates, np.float32).reshape(len(visitor_ids), dimension)
        return cls(model_pack, visitor_ids, matrix)


@dataclass(frozen=True)
class Match:
    visitor_id: str | None
    similarity: float
    runner_up: float
    reason: MatchReason


def combine_embeddings(
    embeddings: NDArray[np.float32], qualities: NDArray[np.float32]
) -> NDArray[np.float32]:
    """One unit-length template from several photos' embeddings, better photos weighing more.

    >>> template = combine_embeddings(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 1.0]))
    >>> [round(float(value), 3) for value in template]
    [0.707, 0.707]
    """
    weights = np.maximum(np.asarray(qualities, np.float64), 1e-3)
    mean = (np.asarray(embeddings, np.float64) * weights[:, None]).sum(axis=0)
    return normalize(mean.astype(np.float32))


def identify(gallery: Gallery, embedding: NDArray[np.float32], thresholds: Thresholds) -> Match:
    """The visitor this embedding belongs to, or an unknown :class:`Match` saying why."""
    return identify_many(gallery, np.asarray(embedding)[None, :], thresholds)[0]


def identify_many(
    gallery: Gallery, embeddings: NDArray[np.float32], thresholds: Thresholds
) -> list[Match]:
    """:func:`identify` for each row of ``embeddings``."""
    if len(gallery.visitor_ids) == 0:
        return [Match(None, 0.0, 0.0, "empty_gallery") for _ in range(len(embeddings))]
    similarities = normalize(np.asarray(embeddings, np.float32)) @ gallery.templates.T
    matches = []
    for row in similarities:
        order = np.argsort(row)[::-1]
        best = float(row[order[0]])
        runner_up = float(row[order[1]]) if len(order) > 1 else -1.0
        if best < thresholds.match:
            matches.append(Match(None, best, runner_up, "below_threshold"))
        elif best - runner_up < thresholds.margin:
            matches.append(Match(None, best, runner_up, "ambiguous"))
        else:
            matches.append(Match(gallery.visitor_ids[order[0]], best, runner_up, "matched"))
    return matches
