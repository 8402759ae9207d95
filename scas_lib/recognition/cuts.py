"""Shot cuts and sudden camera motion, found between sampled frames. Pure: images in, a
yes or no out.

A face track must never run across a cut: on the far side of a cut, the face at the same
place in the picture is somebody else's (an edited upload, a broadcast, a robot camera
that swings round). The method is PySceneDetect's content detector: both frames are
shrunk, turned to HSV, and the mean absolute difference of hue, saturation and value,
averaged over the three, is the *content score*; a score at or above the threshold (27 on
the 0-255 scale, PySceneDetect's default) is a cut. People walking in front of a fixed
camera change a few percent of the picture and score a few points; a cut to another shot,
or a camera swinging round, changes nearly all of it.

>>> dark, light = np.zeros((90, 160, 3), np.uint8), np.full((90, 160, 3), 200, np.uint8)
>>> detector = CutDetector()
>>> [detector.is_cut(frame) for frame in (dark, dark, light, light)]
[False, False, True, False]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class CutConfig:
    #: Content score (0-255) from which two frames are different shots.
    threshold: float = 27.0
    #: Frames are compared at about this width (every n-th pixel): cheap, and the score is
    #: a mean over the whole picture.
    width: int = 160


def content_score(before: NDArray[np.uint8], after: NDArray[np.uint8]) -> float:
    """PySceneDetect's content score of two HSV images of one size: the mean absolute
    difference of each channel, averaged over hue, saturation and value.

    >>> a = np.zeros((2, 2, 3), np.uint8); b = a.copy(); b[..., 2] = 90
    >>> content_score(a, b)
    30.0
    """
    difference = np.abs(before.astype(np.int16) - after.astype(np.int16))
    return float(difference.reshape(-1, 3).mean(axis=0).mean())


class CutDetector:
    """Feed it each sampled frame (BGR) in time order; it says whether a cut came just
    before that frame."""

    def __init__(self, config: CutConfig | None = None) -> None:
        self.config = config or CutConfig()
        self._previous: NDArray[np.uint8] | None = None

    def is_cut(self, image: NDArray[np.uint8]) -> bool:
        current = self._small_hsv(image)
        previous, self._previous = self._previous, current
        if previous is None or previous.shape != current.shape:
            return False
        return content_score(previous, current) >= self.config.threshold

    def forget(self) -> None:
        """Compare the next frame with nothing: the frames before it were not looked at, so
        a change since the last one seen says nothing about a cut."""
        self._previous = None

    def _small_hsv(self, image: NDArray[np.uint8]) -> NDArray[np.uint8]:
        # Every n-th pixel, as PySceneDetect downscales: a strided copy costs next to
        # nothing next to resizing a 1080p frame, and the score is a mean over the picture.
        step = max(1, image.shape[1] // self.config.width)
        small = np.ascontiguousarray(image[::step, ::step])
        # OpenCV's stubs type every result as any numeric array; HSV of 8-bit BGR is 8-bit.
        return cast("NDArray[np.uint8]", cv2.cvtColor(small, cv2.COLOR_BGR2HSV))
