"""One person per track: where the faces of a track stop looking alike, it is split. Pure:
samples and embeddings in, split points out.

The tracker links faces by position and motion; two people who cross, or a face that
leaves as another enters at the same place, can end up in one track. As appearance-gated
trackers do (DeepSORT, BoT-SORT), the faces are also compared: a *probe*, the best face of
each ``window_s`` of the track, is embedded, and where two neighbouring probes are less
similar than ``split_below``, the track holds two people. The change is then found between
the two probes by bisection, each step embedding one more face and asking which side it
looks like.

``split_below`` (0.35 by default) was chosen on the tuning half of ../shared/faces
(``scas_lib.simulation.people.person_folders``): on two generated 3-camera, 60 s events of
those people (seeds 0 and 1), with splitting off, the neighbouring probes (1 s apart) of
one person were never less similar than 0.395 (192 pairs, faces of any size), and the three
pairs of two people that the tracker had joined scored 0.132, 0.198 and 0.340. In the
calibration of the registry sample photos, 99% of different-person pairs score under 0.381
(0.348 with ../shared/faces): a swap more alike than the threshold stays unsplit, the
price of never splitting a person.

>>> qualities = [0.2, 0.9, 0.5, 0.1, 0.8, 0.3]
>>> faces = [FaceSample(t / 5, (0, 0, 50, 60), 0.9, q) for t, q in enumerate(qualities)]
>>> probe_indices(faces, window_s=0.6)
[1, 4]
>>> split_samples(tuple(faces), [2])[1][0].offset_s
0.4
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from scas_lib.tracks import FaceSample


def probe_indices(
    samples: Sequence[FaceSample], window_s: float, min_quality: float = 0.0
) -> list[int]:
    """The best face of each ``window_s`` of the track (windows from its first face), in
    time order, if it is at least ``min_quality``: a tiny, blurred or turned face's
    embedding says too little to compare (it would split a person in two)."""
    best: dict[int, int] = {}
    start = samples[0].offset_s
    for index, sample in enumerate(samples):
        window = int((sample.offset_s - start) // window_s)
        if window not in best or sample.quality > samples[best[window]].quality:
            best[window] = index
    return [best[w] for w in sorted(best) if samples[best[w]].quality >= min_quality]


def similarity(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Cosine similarity of two unit-length embeddings."""
    return float(np.dot(a, b))


def change_points(
    probes: Sequence[int],
    embedding: Callable[[int], NDArray[np.float32]],
    split_below: float,
) -> list[int]:
    """The sample indices where another person's faces begin: between each two
    neighbouring probes that disagree, the first face that looks more like the later probe
    than the earlier one (bisection; ``embedding`` gives a sample's unit embedding)."""
    changes = []
    for before, after in itertools.pairwise(probes):
        first, last = embedding(before), embedding(after)
        if similarity(first, last) >= split_below:
            continue
        low, high = before, after
        while high - low > 1:
            middle = (low + high) // 2
            face = embedding(middle)
            if similarity(face, first) >= similarity(face, last):
                low = middle
            else:
                high = middle
        changes.append(high)
    return changes


def split_samples(
    samples: tuple[FaceSample, ...], changes: Sequence[int]
) -> list[tuple[FaceSample, ...]]:
    """The samples cut before each index of ``changes``."""
    bounds = [0, *sorted(changes), len(samples)]
    return [samples[a:b] for a, b in itertools.pairwise(bounds) if b > a]
