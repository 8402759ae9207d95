"""Aligning a face to the 112x112 ArcFace template from its five landmarks.

>>> moved = ARCFACE_TEMPLATE * 2 + 10          # the template, scaled by 2 and shifted
>>> matrix = similarity_transform(moved, ARCFACE_TEMPLATE)
>>> bool(np.allclose(apply_transform(matrix, moved), ARCFACE_TEMPLATE, atol=1e-3))
True
"""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

ALIGNED_SIZE = 112

#: Eyes, nose tip, mouth corners of the ArcFace 112x112 template (insightface, OpenCV SFace).
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def similarity_transform(
    source: NDArray[np.float32], target: NDArray[np.float32]
) -> NDArray[np.float32]:
    """The 2x3 rotation + uniform scale + translation mapping ``source`` points onto
    ``target`` with least squares: what Umeyama's method (insightface's alignment)
    computes, in its closed form for the plane. Every face is aligned this way, twice (to
    crop it and to judge its pose), so it avoids the general method's SVD: a tenth of the
    cost, the same matrix."""
    source = source.astype(np.float64)
    target = target.astype(np.float64)
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    p, q = source - source_mean, target - target_mean
    spread = (p * p).sum()
    # [[a, -b], [b, a]] is scale x rotation; a and b solve the least-squares problem.
    a = (p * q).sum() / spread
    b = (p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]).sum() / spread
    linear = np.array([[a, -b], [b, a]])
    translation = target_mean - linear @ source_mean
    return np.hstack([linear, translation[:, None]]).astype(np.float32)


def apply_transform(
    matrix: NDArray[np.float32], points: NDArray[np.float32]
) -> NDArray[np.float32]:
    """Points ``(N, 2)`` mapped by a 2x3 affine matrix."""
    mapped: NDArray[np.float32] = points @ matrix[:, :2].T + matrix[:, 2]
    return mapped


#: How much more context than the ArcFace crop the attribute models' crops are cut from
#: (:attr:`~scas_lib.tracks.FaceSample.aligned_wide`): their crops zoom out by up to this.
WIDE_ZOOM = 1.5


def align_face(
    image: NDArray[np.uint8], landmarks: NDArray[np.float32], *, zoom: float = 1.0
) -> NDArray[np.uint8]:
    """The face warped onto the ArcFace template: a 112x112 crop in the image's colour
    order; ``zoom`` > 1 zooms out around the template's centre, so the crop holds that many
    times the width and height of the face's surroundings (the face at the same place)."""
    centre = ALIGNED_SIZE / 2
    target = (
        ARCFACE_TEMPLATE
        if zoom == 1.0
        else ((ARCFACE_TEMPLATE - centre) / zoom + centre).astype(np.float32)
    )
    matrix = similarity_transform(landmarks, target)
    # OpenCV's stubs type every result as any numeric array; a warp keeps the pixel type.
    return cast(
        "NDArray[np.uint8]",
        cv2.warpAffine(image, matrix, (ALIGNED_SIZE, ALIGNED_SIZE), borderValue=0.0),
    )


def zoomed_in(
    wide: NDArray[np.uint8],
    zoom: float,
    centre: tuple[float, float] = (ALIGNED_SIZE / 2, ALIGNED_SIZE / 2),
    wide_zoom: float = WIDE_ZOOM,
) -> NDArray[np.uint8]:
    """Part of a crop aligned at ``wide_zoom`` (:func:`align_face`): the square ``zoom``
    times the ArcFace crop's side around ``centre`` (in the ArcFace crop's pixels), at the
    pixels the wide crop has; a :class:`ValueError` if the wide crop does not hold it.

    >>> wide = np.zeros((112, 112, 3), np.uint8)
    >>> zoomed_in(wide, 1.0).shape, zoomed_in(wide, 1.5).shape
    ((75, 75, 3), (112, 112, 3))
    >>> zoomed_in(wide, 0.85, (56.3, 73.0)).shape
    (63, 63, 3)
    """
    size = wide.shape[0]
    middle = ALIGNED_SIZE / 2
    side = round(size * zoom / wide_zoom)
    x, y = (((c - middle) / wide_zoom + middle) * size / ALIGNED_SIZE for c in centre)
    left, top = round(x - side / 2), round(y - side / 2)
    if left < 0 or top < 0 or left + side > size or top + side > size:
        raise ValueError(f"a crop of zoom {zoom} at {centre} is not inside one at {wide_zoom}")
    return wide[top : top + side, left : left + side]
