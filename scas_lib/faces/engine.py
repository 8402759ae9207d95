"""The face engine: a model pack's detector and recognizer, ready to use.

Example::

    engine = FaceEngine.load(Path("~/.scas/models/default").expanduser())
    faces = engine.analyze(cv2.imread("group.jpg"))
    [(round(face.quality.score, 2), face.embedding.shape) for face in faces]
    [attributes.dominant for attributes in engine.describe(faces)]  # with attribute models
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import NDArray

from scas_lib.faces.alignment import WIDE_ZOOM, align_face
from scas_lib.faces.attributes import FaceDescriber
from scas_lib.faces.detection import SCRFD, Detection, FaceDetector, YuNet
from scas_lib.faces.pack import DetectorSpec, ModelPack
from scas_lib.faces.quality import FaceQuality, assess
from scas_lib.faces.recognition import ArcFaceRecognizer
from scas_lib.faces.session import ProviderChoice, create_session
from scas_lib.settings import Settings
from scas_lib.tracks import FaceAttributes

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)
#: The packs already said to have no attribute models (said once per process and pack).
_UNDESCRIBED_PACKS: set[str] = set()


@dataclass(frozen=True, eq=False)
class Face:
    """A detected face with its aligned crop, quality record and (when asked) embedding;
    ``aligned_wide`` is the crop the attribute models read (None without them)."""

    detection: Detection
    aligned: NDArray[np.uint8] = field(repr=False)
    quality: FaceQuality
    embedding: NDArray[np.float32] | None = field(default=None, repr=False)
    aligned_wide: NDArray[np.uint8] | None = field(default=None, repr=False)


class FaceEngine:
    def __init__(
        self,
        pack: ModelPack,
        detector: FaceDetector,
        recognizer: ArcFaceRecognizer,
        *,
        max_parallel: int = 0,
        describer: FaceDescriber | None = None,
    ) -> None:
        self.pack = pack
        self.detector = detector
        self.recognizer = recognizer
        #: The pack's expression, age and gender models (None: the pack has none).
        self.describer = describer
        #: At most this many threads use the models at once (0: no limit), for an engine
        #: shared by concurrent requests: more runs than cores only share the cores, each
        #: taking longer, so the threads past the limit wait their turn instead.
        self.max_parallel = max_parallel
        self._gate = threading.BoundedSemaphore(max_parallel) if max_parallel else None
        self._holder = threading.local()

    @classmethod
    def load(
        cls,
        pack_dir: Path,
        *,
        provider: ProviderChoice = "auto",
        threads: int = 0,
        fast_detector: bool = False,
        detector_threshold: float | None = None,
        max_parallel: int = 0,
    ) -> FaceEngine:
        """The engine of the pack in ``pack_dir``; ``fast_detector`` picks the pack's cheaper
        detector when it has one, ``detector_threshold`` overrides its score threshold,
        ``max_parallel`` limits the model runs at once (0: no limit)."""
        pack = ModelPack.load(pack_dir)
        spec = pack.manifest
        detector_spec = (spec.fast_detector if fast_detector else None) or spec.detector
        if detector_threshold is not None:
            detector_spec = detector_spec.model_copy(update={"score_threshold": detector_threshold})
        detector = _detector(
            detector_spec, create_session(pack.path(detector_spec), provider, threads=threads)
        )
        recognizer = ArcFaceRecognizer(
            create_session(pack.path(spec.recognizer), provider, threads=threads),
            embedding_size=spec.recognizer.embedding_size,
            input_mean=spec.recognizer.input_mean,
            input_std=spec.recognizer.input_std,
            channel_order=spec.recognizer.channel_order,
        )
        describer = FaceDescriber.from_pack(pack, provider=provider, threads=threads)
        if describer is None and pack.name not in _UNDESCRIBED_PACKS:
            _UNDESCRIBED_PACKS.add(pack.name)
            log.warning(
                "model pack %r has no attribute models: expression, age and gender are off "
                "(`scas models install` builds the default pack with them)",
                pack.name,
            )
        return cls(pack, detector, recognizer, max_parallel=max_parallel, describer=describer)

    @classmethod
    def from_settings(cls, settings: Settings, *, fast_detector: bool = False) -> FaceEngine:
        """The engine of the pack the settings select (``SCAS_MODEL_PACK``)."""
        return cls.load(
            settings.model_pack_dir,
            provider=settings.onnx_provider,
            threads=settings.onnx_threads,
            fast_detector=fast_detector,
        )

    @property
    def model_pack(self) -> str:
        return self.pack.name

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``max_parallel`` places for a block of model runs (each run takes
        one by itself; a block nested in the same thread keeps the one it has). A request
        that holds its place from detection to embedding finishes before the next starts,
        instead of queueing again behind it for each model."""
        if self._gate is None or getattr(self._holder, "held", False):
            yield
            return
        with self._gate:
            self._holder.held = True
            try:
                yield
            finally:
                self._holder.held = False

    def analyze(
        self,
        image: NDArray[np.uint8],
        *,
        input_size: tuple[int, int] | None = None,
        pad: float = 0.0,
        embed: bool = True,
    ) -> list[Face]:
        """Detect, align and assess every face in a BGR image; embed them unless told not to."""
        with self.slot():
            detections = self.detector.detect(image, input_size=input_size, pad=pad)
        faces = []
        for detection in detections:
            crop = align_face(image, detection.landmarks)
            wide = (
                align_face(image, detection.landmarks, zoom=WIDE_ZOOM) if self.describer else None
            )
            faces.append(Face(detection, crop, assess(detection, crop), aligned_wide=wide))
        return self.embed(faces) if embed else faces

    def embed(self, faces: list[Face]) -> list[Face]:
        """The same faces with their embeddings, computed in batches."""
        if not faces:
            return []
        with self.slot():
            embeddings = self.recognizer.embed(np.stack([face.aligned for face in faces]))
        return [
            Face(face.detection, face.aligned, face.quality, embedding, face.aligned_wide)
            for face, embedding in zip(faces, embeddings, strict=True)
        ]

    def describe(self, faces: list[Face]) -> list[FaceAttributes]:
        """How each face looks (expression, age, gender); empty attributes for every face
        when the pack has no attribute models."""
        if self.describer is None:
            return [FaceAttributes() for _ in faces]
        crops = [face.aligned_wide for face in faces]
        if any(crop is None for crop in crops):
            raise ValueError("describe faces this engine analysed: some have no wide crop")
        if not faces:
            return []
        with self.slot():
            return self.describer.describe(np.stack(cast("list[NDArray[np.uint8]]", crops)))


def _detector(spec: DetectorSpec, session: ort.InferenceSession) -> FaceDetector:
    kinds: dict[str, type[SCRFD] | type[YuNet]] = {"scrfd": SCRFD, "yunet": YuNet}
    kind = kinds[spec.kind]
    return kind(
        session,
        input_size=spec.input_size,
        dynamic_input=spec.dynamic_input,
        score_threshold=spec.score_threshold,
        nms_threshold=spec.nms_threshold,
    )
