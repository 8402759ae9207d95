"""Where faces are looked for in a sampled frame: the whole frame, or only around the tracks.

A face that extends a track can only be near where that track's face is predicted
(:meth:`~scas_lib.recognition.tracking.FaceTracker.search_areas`); only a face that starts a
new track needs the whole frame. So the pipeline searches the whole frame every few samples
and, in between, only those areas: each is cropped and given to the detector at the whole
frame's scale (so a face looks the same size to it either way), which costs a fraction of
a whole frame for a few people (0.5-1.5 ms an area against 14 ms for a 960x544 frame with
YuNet on one core). A new face is found at the next whole-frame search instead, a fifth of
a second later at the defaults. The detector sees an area with less around it than the
whole frame, so a face scored near its threshold may be found in one and not the other:
95-98% of the faces found whole are found near their tracks too (tests/test_recognition.py),
and the accuracy benchmark did not change (docs/benchmarks-history.md).

Both searches return :class:`Found` faces in the sampled image's pixels, with the scale at
which the detector saw each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from scas_lib.faces.detection import Detection, FaceDetector
from scas_lib.tracks import Box, iou

#: The smallest detector input for an area (pixels a side): tiny inputs lose the face's
#: surroundings that the detector's anchors expect.
MIN_AREA_INPUT = 96

#: Two faces found in overlapping areas are one face when their boxes overlap this much.
SAME_FACE_IOU = 0.4


@dataclass(frozen=True)
class Found:
    """One face the detector found, in the searched image's pixels."""

    detection: Detection
    #: Detector input pixels per image pixel where it was seen.
    scale: float


def input_scale(image: NDArray[np.uint8], input_size: tuple[int, int]) -> float:
    """Detector input pixels per image pixel when ``image`` is letterboxed into
    ``input_size``.

    >>> input_scale(np.zeros((1080, 1920, 3), np.uint8), (960, 544))
    0.5
    """
    height: int = image.shape[0]
    width: int = image.shape[1]
    return min(input_size[0] / width, input_size[1] / height)


def whole_frame(
    detector: FaceDetector, image: NDArray[np.uint8], input_size: tuple[int, int]
) -> list[Found]:
    """Every face of ``image``, the image letterboxed into ``input_size``."""
    scale = input_scale(image, input_size)
    return [Found(d, scale) for d in detector.detect(image, input_size=input_size)]


def near(
    detector: FaceDetector, image: NDArray[np.uint8], areas: Sequence[Box], scale: float
) -> list[Found]:
    """The faces inside ``areas`` (image pixels) of ``image``, each area seen by the detector
    at ``scale`` (at least :data:`MIN_AREA_INPUT` pixels a side); a face found in two
    overlapping areas is kept once, from the area it scored best in."""
    height, width = image.shape[:2]
    found: list[Found] = []
    for x1, y1, x2, y2 in areas:
        left, top = max(0, math.floor(x1)), max(0, math.floor(y1))
        right, bottom = min(width, math.ceil(x2)), min(height, math.ceil(y2))
        if right - left < 8 or bottom - top < 8:
            continue
        side = max(MIN_AREA_INPUT, math.ceil(max(right - left, bottom - top) * scale / 32) * 32)
        crop = image[top:bottom, left:right]
        crop_scale = min(side / crop.shape[1], side / crop.shape[0])
        offset = np.array([left, top], np.float32)
        for detection in detector.detect(crop, input_size=(side, side)):
            moved = Detection(
                detection.box + np.tile(offset, 2),
                detection.landmarks + offset,
                detection.score,
            )
            found.append(Found(moved, crop_scale))
    return _one_each(found)


def area_cost(areas: Sequence[Box], scale: float) -> float:
    """The detector input pixels that searching ``areas`` at ``scale`` takes (an upper
    bound: areas are clipped to the image when searched)."""
    return sum(
        max(MIN_AREA_INPUT, (max(x2 - x1, y2 - y1)) * scale) ** 2 for x1, y1, x2, y2 in areas
    )


def _one_each(found: list[Found]) -> list[Found]:
    """``found`` without the weaker of two boxes of one face (areas can overlap)."""
    kept: list[Found] = []
    for candidate in sorted(found, key=lambda f: -f.detection.score):
        box = _as_box(candidate.detection.box)
        if all(iou(box, _as_box(k.detection.box)) < SAME_FACE_IOU for k in kept):
            kept.append(candidate)
    return kept


def _as_box(box: NDArray[np.float32]) -> Box:
    """A detection's box as the tracks' ``(x1, y1, x2, y2)`` of floats."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return (x1, y1, x2, y2)
