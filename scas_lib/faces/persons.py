"""Whole people: the pack's person detector and body embedder, ONNX in and numpy out.

:class:`PersonDetector` finds the people of a frame (boxes in the frame's pixels, scores,
after NMS) and :class:`BodyEmbedder` turns each person's box into an L2-normalised
appearance embedding, so that a person whose face is turned away can still be followed
from frame to frame. Both are optional in a pack: :func:`load_person_models` returns None
for a pack without them, and says once that person tracking is off.

Example::

    models = load_person_models(pack, provider="cpu")   # None: person tracking is off
    people = models.detector.detect(frame_bgr)          # list[PersonBox]
    embeddings = models.embedder.embed(frame_bgr, [p.box for p in people])
    embeddings @ embeddings.T                           # cosine similarities
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import cv2
import numpy as np
from numpy.typing import NDArray

from scas_lib.faces.pack import BodyEmbedderSpec, ModelPack, PersonDetectorSpec
from scas_lib.faces.session import ProviderChoice, create_session

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

#: (x1, y1, x2, y2) in the frame's pixels.
Box = tuple[float, float, float, float]

_told_off: set[str] = set()  # the packs already said to have no person models


@dataclass(frozen=True)
class PersonBox:
    """One detected person: the box in the frame's pixels and the detector's score."""

    box: Box
    score: float


def _normalised(
    images: NDArray[np.uint8],
    color: str,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
) -> NDArray[np.float32]:
    """NHWC BGR uint8 images as the model's NCHW float input."""
    if color == "rgb":
        images = images[..., ::-1]
    batch = (images.astype(np.float32) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


class PersonDetector:
    """The pack's person detector: a BGR frame ``(H, W, 3)`` in, :class:`PersonBox` list
    out, best first, after the spec's score threshold and NMS."""

    def __init__(self, session: ort.InferenceSession, spec: PersonDetectorSpec) -> None:
        self.session = session
        self.spec = spec
        self._input = session.get_inputs()[0].name

    def raw(self, frame: NDArray[np.uint8]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Every anchor's box (x1, y1, x2, y2 in the frame's pixels) and score, before
        thresholds and NMS."""
        height, width = frame.shape[:2]
        # Bilinear, as the graph's own preprocessor resized (INTER_AREA loses people here).
        resized = np.asarray(
            cv2.resize(frame, self.spec.input_size, interpolation=cv2.INTER_LINEAR), np.uint8
        )
        batch = _normalised(
            resized[None], self.spec.color, self.spec.input_mean, self.spec.input_std
        )
        boxes, scores = self.session.run(None, {self._input: batch})
        scale = np.array([width, height, width, height], np.float32)
        return np.asarray(boxes[0], np.float32) * scale, np.asarray(scores[0], np.float32)

    def detect(
        self, frame: NDArray[np.uint8], *, score_threshold: float | None = None
    ) -> list[PersonBox]:
        """The people in ``frame`` (BGR), best first; boxes clipped to the frame."""
        threshold = self.spec.score_threshold if score_threshold is None else score_threshold
        boxes, scores = self.raw(frame)
        keep = scores >= threshold
        boxes, scores = boxes[keep], scores[keep]
        if len(boxes) == 0:
            return []
        height, width = frame.shape[:2]
        boxes = np.clip(boxes, 0, [width, height, width, height])
        rects = [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in boxes]
        chosen = cv2.dnn.NMSBoxes(rects, scores.tolist(), threshold, self.spec.nms_threshold)
        order = sorted(np.asarray(chosen, np.int64).ravel().tolist(), key=lambda i: -scores[i])
        return [
            PersonBox(cast("Box", tuple(round(float(v), 1) for v in boxes[i])), float(scores[i]))
            for i in order
        ]


class BodyEmbedder:
    """The pack's body embedder: person boxes of a BGR frame in, ``(N, embedding_size)``
    L2-normalised float32 embeddings out (similarity of two people: their dot product)."""

    def __init__(self, session: ort.InferenceSession, spec: BodyEmbedderSpec) -> None:
        self.session = session
        self.spec = spec
        self._input = session.get_inputs()[0].name

    def crops(self, frame: NDArray[np.uint8], boxes: Sequence[Box]) -> NDArray[np.uint8]:
        """Each box cut from the frame (clipped to it) and resized to the model's input."""
        height, width = frame.shape[:2]
        cut = []
        for x1, y1, x2, y2 in boxes:
            left, top = (
                int(np.clip(np.floor(x1), 0, width - 1)),
                int(np.clip(np.floor(y1), 0, height - 1)),
            )
            right = max(left + 1, min(width, int(np.ceil(x2))))
            bottom = max(top + 1, min(height, int(np.ceil(y2))))
            cut.append(cv2.resize(frame[top:bottom, left:right], self.spec.input_size))
        width_in, height_in = self.spec.input_size
        return np.asarray(cut, np.uint8).reshape(len(cut), height_in, width_in, 3)

    def embed_crops(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Embeddings of crops already of the model's input size (BGR)."""
        if len(crops) == 0:
            return np.zeros((0, self.spec.embedding_size), np.float32)
        batch = _normalised(crops, self.spec.color, self.spec.input_mean, self.spec.input_std)
        (embeddings,) = self.session.run(None, {self._input: batch})
        vectors = np.asarray(embeddings, np.float32)
        # The graph normalises already; again here so that any pack's embedder gives unit vectors.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return cast("NDArray[np.float32]", vectors / np.maximum(norms, 1e-12))

    def embed(self, frame: NDArray[np.uint8], boxes: Sequence[Box]) -> NDArray[np.float32]:
        """One embedding per box of ``frame`` (BGR), in order."""
        return self.embed_crops(self.crops(frame, boxes))


@dataclass(frozen=True)
class PersonEngine:
    """A pack's person detector and body embedder, loaded."""

    detector: PersonDetector
    embedder: BodyEmbedder


def load_person_models(
    pack: ModelPack, *, provider: ProviderChoice = "auto", threads: int = 0
) -> PersonEngine | None:
    """The pack's person models; None (said once per pack) when it lacks either."""
    declared = pack.manifest.persons
    if declared.detector is None or declared.embedder is None:
        if pack.name not in _told_off:
            _told_off.add(pack.name)
            log.warning(
                "model pack %r has no person detector and body embedder: person tracking is "
                "off (`scas models install` builds the default pack with them)",
                pack.name,
            )
        return None
    return PersonEngine(
        PersonDetector(
            create_session(pack.path(declared.detector), provider, threads=threads),
            declared.detector,
        ),
        BodyEmbedder(
            create_session(pack.path(declared.embedder), provider, threads=threads),
            declared.embedder,
        ),
    )
