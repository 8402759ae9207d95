"""How usable a detected face is: size, sharpness, pose and detector confidence.

Pose comes from the landmarks alone. After the similarity alignment, eyes and mouth sit on
the template, so what is left over measures the head's turn: the nose tip moves sideways
when the head turns left or right (yaw) and up or down when it nods (pitch). Both are given
in units of the template's own proportions: ``yaw`` 0 is frontal and 1 puts the nose tip
level with an eye (a profile); roll is removed by the alignment and reported in degrees.

Sharpness is the variance of the Laplacian of the aligned 112x112 grey face, so that it
compares faces of any size on one scale (a small face upscaled is blurred, and scores so).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from scas_lib.faces.alignment import ARCFACE_TEMPLATE, apply_transform, similarity_transform
from scas_lib.faces.detection import Detection

_HALF_EYE_DISTANCE = float(ARCFACE_TEMPLATE[1, 0] - ARCFACE_TEMPLATE[0, 0]) / 2
_EYES_TO_MOUTH = float(ARCFACE_TEMPLATE[3:, 1].mean() - ARCFACE_TEMPLATE[:2, 1].mean())

# Where a face counts as fully good for the overall score; below, the score falls linearly.
_GOOD_HEIGHT_PX = 96.0
_GOOD_SHARPNESS = 150.0


@dataclass(frozen=True)
class FaceQuality:
    height_px: float
    sharpness: float
    yaw: float
    pitch: float
    roll_deg: float
    detector_score: float

    @property
    def score(self) -> float:
        """One number in [0, 1] for ranking faces: big, sharp, frontal, confident."""
        size = min(1.0, self.height_px / _GOOD_HEIGHT_PX)
        sharp = min(1.0, self.sharpness / _GOOD_SHARPNESS)
        frontal = max(0.0, 1.0 - abs(self.yaw)) * max(0.0, 1.0 - abs(self.pitch))
        return size * sharp * frontal * self.detector_score

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "score": self.score}


def sharpness(aligned_face: NDArray[np.uint8]) -> float:
    """Variance of the Laplacian of the aligned face in grey."""
    grey = cv2.cvtColor(aligned_face, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def pose(landmarks: NDArray[np.float32]) -> tuple[float, float, float]:
    """``(yaw, pitch, roll_deg)`` from five landmarks (see the module docstring)."""
    left_eye, right_eye = landmarks[0], landmarks[1]
    roll = math.degrees(math.atan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0]))
    # Align on eyes and mouth only, so that the nose is free to show the turn.
    anchors = [0, 1, 3, 4]
    matrix = similarity_transform(landmarks[anchors], ARCFACE_TEMPLATE[anchors])
    nose = apply_transform(matrix, landmarks[2:3])[0]
    yaw = (nose[0] - ARCFACE_TEMPLATE[2, 0]) / _HALF_EYE_DISTANCE
    pitch = (nose[1] - ARCFACE_TEMPLATE[2, 1]) / _EYES_TO_MOUTH
    return float(yaw), float(pitch), roll


def assess(detection: Detection, aligned_face: NDArray[np.uint8]) -> FaceQuality:
    """The quality record of one detected and aligned face."""
    yaw, pitch, roll = pose(detection.landmarks)
    return FaceQuality(
        height_px=detection.height,
        sharpness=sharpness(aligned_face),
        yaw=yaw,
        pitch=pitch,
        roll_deg=roll,
        detector_score=detection.score,
    )
