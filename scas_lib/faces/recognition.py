"""Face recognizers: aligned 112x112 faces in, L2-normalised embeddings out.

One class serves every ArcFace-style model; only the input normalisation differs, and it
comes from the pack's manifest: insightface's ``w600k_*`` want ``(pixel - 127.5) / 127.5``
and give 512 numbers, OpenCV Zoo's SFace normalises inside its graph (mean 0, std 1 here)
and gives 128. Both want RGB.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray


class ArcFaceRecognizer:
    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        embedding_size: int,
        input_mean: float,
        input_std: float,
        channel_order: Literal["rgb", "bgr"] = "rgb",
        batch_size: int = 16,
    ) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.embedding_size = embedding_size
        self.input_mean = input_mean
        self.input_std = input_std
        self.channel_order = channel_order
        # Models exported with a fixed batch of 1 (insightface's) take one face per run.
        batch_dim = session.get_inputs()[0].shape[0]
        self.batch_size = batch_size if not isinstance(batch_dim, int) else batch_dim

    def embed(self, faces: NDArray[np.uint8]) -> NDArray[np.float32]:
        """``(N, 112, 112, 3)`` BGR uint8 aligned faces -> ``(N, D)`` unit-length float32."""
        if len(faces) == 0:
            return np.zeros((0, self.embedding_size), np.float32)
        pixels = np.asarray(faces, dtype=np.float32)
        if self.channel_order == "rgb":
            pixels = pixels[..., ::-1]
        pixels = (pixels - self.input_mean) / self.input_std
        batch = np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))
        embeddings = np.concatenate(
            [
                self.session.run(None, {self.input_name: batch[start : start + self.batch_size]})[0]
                for start in range(0, len(batch), self.batch_size)
            ]
        ).astype(np.float32)
        if embeddings.shape[1] != self.embedding_size:
            raise ValueError(
                f"the recognizer gave {embeddings.shape[1]}-d embeddings, "
                f"its manifest says {self.embedding_size}"
            )
        return normalize(embeddings)


def normalize(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    unit: NDArray[np.float32] = vectors / np.maximum(norms, 1e-12)
    return unit
