"""Face detectors: ONNX in, :class:`Detection` out. One class per model family.

Every detector takes a BGR ``uint8`` image and returns detections in that image's pixel
coordinates, best first. Detectors are interchangeable behind :class:`FaceDetector`.

SCRFD (insightface; also the ``det_*.onnx`` of the buffalo packs) misses faces that fill
most of the frame, such as close-up selfies: ``pad`` adds a black border of ``pad`` times
the longer side around the image first (0.5, a 2x canvas, finds them all in our tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import cv2
import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray


@dataclass(frozen=True, eq=False)
class Detection:
    """One face: box ``(x1, y1, x2, y2)``, five landmarks (eyes, nose, mouth corners, in
    image left-to-right order) and the detector's confidence."""

    box: NDArray[np.float32] = field(repr=False)
    landmarks: NDArray[np.float32] = field(repr=False)
    score: float

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])


class FaceDetector(Protocol):
    def detect(
        self,
        image: NDArray[np.uint8],
        *,
        input_size: tuple[int, int] | None = None,
        pad: float = 0.0,
    ) -> list[Detection]: ...


def input_size_for(width: int, height: int, long_side: int = 640) -> tuple[int, int]:
    """A detector input ``(width, height)`` with the frame's aspect ratio, sides multiples of 32.

    >>> input_size_for(1920, 1080)
    (640, 384)
    >>> input_size_for(1080, 1920)
    (384, 640)
    """
    scale = long_side / max(width, height)
    return (
        max(32, math.ceil(width * scale / 32) * 32),
        max(32, math.ceil(height * scale / 32) * 32),
    )


def non_max_suppression(
    boxes: NDArray[np.floating[Any]], scores: NDArray[np.floating[Any]], iou_threshold: float
) -> list[int]:
    """Indices of the boxes kept by greedy NMS, highest score first."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        width = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        height = np.maximum(
            0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1
        )
        overlap = width * height / (areas[best] + areas[rest] - width * height)
        order = rest[overlap <= iou_threshold]
    return keep


def letterbox(
    image: NDArray[np.uint8], size: tuple[int, int], pad: float = 0.0
) -> tuple[NDArray[np.uint8], float, int]:
    """The image (with a black border of ``pad`` x its longer side) scaled into the top-left
    corner of a black ``size`` canvas; returns ``(canvas, scale, border)`` to map back."""
    border = round(pad * max(image.shape[:2])) if pad > 0 else 0
    if border:
        # OpenCV's stubs type every result as any numeric array; a border keeps the pixel type.
        image = cast(
            "NDArray[np.uint8]",
            cv2.copyMakeBorder(
                image, border, border, border, border, cv2.BORDER_CONSTANT, value=(0, 0, 0)
            ),
        )
    width, height = size
    image_height, image_width = image.shape[:2]
    scale = min(width / image_width, height / image_height)
    scaled_w, scaled_h = max(1, int(image_width * scale)), max(1, int(image_height * scale))
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[:scaled_h, :scaled_w] = cv2.resize(image, (scaled_w, scaled_h))
    return canvas, scaled_h / image_height, border


def _detections(
    boxes: NDArray[np.floating[Any]],
    landmarks: NDArray[np.floating[Any]],
    scores: NDArray[np.floating[Any]],
    nms_threshold: float,
    scale: float,
    border: int,
) -> list[Detection]:
    """NMS, then boxes and landmarks mapped from canvas back to image coordinates."""
    if scores.size == 0:
        return []
    keep = non_max_suppression(boxes, scores, nms_threshold)
    return [
        Detection(
            (box / scale - border).astype(np.float32),
            (points / scale - border).astype(np.float32),
            float(score),
        )
        for box, points, score in zip(boxes[keep], landmarks[keep], scores[keep], strict=True)
    ]


class OnnxDetector:
    """What every ONNX detector is configured with; subclasses decode their model."""

    default_score_threshold = 0.5
    default_nms_threshold = 0.4

    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        input_size: tuple[int, int] = (640, 640),
        dynamic_input: bool = True,
        score_threshold: float | None = None,
        nms_threshold: float | None = None,
    ) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.input_size = input_size
        self.dynamic_input = dynamic_input
        # "is None", not "or": a threshold of 0.0 is a choice (keep every candidate).
        self.score_threshold = (
            self.default_score_threshold if score_threshold is None else score_threshold
        )
        self.nms_threshold = self.default_nms_threshold if nms_threshold is None else nms_threshold

    def effective_size(self, requested: tuple[int, int] | None) -> tuple[int, int]:
        """The input size to run at: the requested one if the model accepts any."""
        return requested if requested and self.dynamic_input else self.input_size


class SCRFD(OnnxDetector):
    """SCRFD: anchor-free face detector with 5 landmarks, strides 8/16/32, 2 anchors per cell.

    Input: RGB, ``(pixel - 127.5) / 128``, the image scaled into the top-left corner of an
    input-sized black canvas (insightface's layout). Outputs per stride: scores (already
    sigmoid), box distances and landmark offsets, in units of the stride.
    """

    strides = (8, 16, 32)
    anchors_per_cell = 2

    def detect(
        self,
        image: NDArray[np.uint8],
        *,
        input_size: tuple[int, int] | None = None,
        pad: float = 0.0,
    ) -> list[Detection]:
        size = self.effective_size(input_size)
        canvas, scale, border = letterbox(image, size, pad)
        blob = cv2.dnn.blobFromImage(canvas, 1.0 / 128, size, (127.5, 127.5, 127.5), swapRB=True)
        outputs = self.session.run(None, {self.input_name: blob})
        return _detections(*self._decode(outputs, size), self.nms_threshold, scale, border)

    def _decode(
        self, outputs: list[NDArray[np.float32]], size: tuple[int, int]
    ) -> tuple[NDArray[np.floating[Any]], NDArray[np.floating[Any]], NDArray[np.floating[Any]]]:
        width, height = size
        levels = len(self.strides)
        all_boxes, all_points, all_scores = [], [], []
        for level, stride in enumerate(self.strides):
            scores = outputs[level].reshape(-1)
            chosen = np.flatnonzero(scores >= self.score_threshold)
            if chosen.size == 0:
                continue
            centers = self._anchor_centers(height // stride, width // stride, stride)[chosen]
            distances = outputs[level + levels].reshape(-1, 4)[chosen] * stride
            offsets = outputs[level + 2 * levels].reshape(-1, 10)[chosen] * stride
            all_boxes.append(np.hstack([centers - distances[:, :2], centers + distances[:, 2:]]))
            all_points.append((np.tile(centers, 5) + offsets).reshape(-1, 5, 2))
            all_scores.append(scores[chosen])
        if not all_scores:
            return np.zeros((0, 4)), np.zeros((0, 5, 2)), np.zeros(0)
        return np.concatenate(all_boxes), np.concatenate(all_points), np.concatenate(all_scores)

    def _anchor_centers(self, rows: int, cols: int, stride: int) -> NDArray[np.float32]:
        # Anchor centres depend only on the input size: computed once per size.
        self._centers: dict[tuple[int, int, int], NDArray[np.float32]] = getattr(
            self, "_centers", {}
        )
        key = (rows, cols, stride)
        if key not in self._centers:
            grid = np.stack(list(np.mgrid[:rows, :cols][::-1]), axis=-1).astype(np.float32)
            centers = (grid * stride).reshape(-1, 2)
            self._centers[key] = np.repeat(centers, self.anchors_per_cell, axis=0)
        return self._centers[key]


class YuNet(OnnxDetector):
    """YuNet (OpenCV Zoo, 2023mar): a small, fast detector with 5 landmarks, one anchor per
    cell at strides 8/16/32, following OpenCV's ``FaceDetectorYN``.

    Input: BGR pixels 0-255, no normalisation, scaled into the top-left of the canvas.
    Score: ``sqrt(class * objectness)``; box centre ``(cell + d) * stride``, size
    ``exp(d) * stride``. OpenCV's default threshold 0.9 drops most small faces; 0.7 keeps
    the 29 faces of the 1927 Solvay photo.
    """

    strides = (8, 16, 32)
    default_score_threshold = 0.7
    default_nms_threshold = 0.3

    def detect(
        self,
        image: NDArray[np.uint8],
        *,
        input_size: tuple[int, int] | None = None,
        pad: float = 0.0,
    ) -> list[Detection]:
        size = self.effective_size(input_size)
        width = size[0]
        canvas, scale, border = letterbox(image, size, pad)
        blob = canvas.transpose(2, 0, 1)[None].astype(np.float32)
        names = [output.name for output in self.session.get_outputs()]
        outputs = dict(zip(names, self.session.run(None, {self.input_name: blob}), strict=True))
        all_boxes, all_points, all_scores = [], [], []
        for stride in self.strides:
            cols = width // stride
            score = np.sqrt(
                np.clip(outputs[f"cls_{stride}"].reshape(-1), 0, 1)
                * np.clip(outputs[f"obj_{stride}"].reshape(-1), 0, 1)
            )
            chosen = np.flatnonzero(score >= self.score_threshold)
            if chosen.size == 0:
                continue
            cells = np.stack([chosen % cols, chosen // cols], axis=-1).astype(np.float32)
            deltas = outputs[f"bbox_{stride}"].reshape(-1, 4)[chosen]
            centers = (cells + deltas[:, :2]) * stride
            sizes = np.exp(deltas[:, 2:]) * stride
            all_boxes.append(np.hstack([centers - sizes / 2, centers + sizes / 2]))
            points = outputs[f"kps_{stride}"].reshape(-1, 5, 2)[chosen]
            all_points.append((points + cells[:, None, :]) * stride)
            all_scores.append(score[chosen])
        if not all_scores:
            return []
        return _detections(
            np.concatenate(all_boxes),
            np.concatenate(all_points),
            np.concatenate(all_scores),
            self.nms_threshold,
            scale,
            border,
        )
