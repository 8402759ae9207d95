"""Face attributes: a face's expression, age and gender, from the pack's attribute models.

One small class per model, ONNX in and numpy out, like the detectors and the recognizer:
:class:`AttributeModel` crops the face as its manifest entry says
(:class:`~scas_lib.faces.pack.AttributeModelSpec`), normalises it and returns one
probability per class. :class:`FaceDescriber` runs the pack's three together and returns a
:class:`~scas_lib.tracks.FaceAttributes` per face. Every model reads the face's wide
aligned crop (:func:`~scas_lib.faces.alignment.align_face` at
:data:`~scas_lib.faces.alignment.WIDE_ZOOM`), so a face is cut from its frame once for
all of them.

Example::

    describer = FaceDescriber.from_pack(pack)     # None: the pack has no attribute models
    [face] = describer.describe(np.stack([wide_crop]))
    face.dominant, face.age, face.male
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import cv2
import numpy as np
from numpy.typing import NDArray

from scas_lib.faces.alignment import zoomed_in
from scas_lib.faces.pack import AttributeModelSpec, ModelPack
from scas_lib.faces.session import ProviderChoice, create_session
from scas_lib.tracks import EXPRESSIONS, FaceAttributes

if TYPE_CHECKING:
    import onnxruntime as ort


class AttributeModel:
    """One attribute model: wide aligned BGR crops ``(N, 112, 112, 3)`` in, probabilities
    ``(N, len(spec.classes))`` out."""

    def __init__(self, session: ort.InferenceSession, spec: AttributeModelSpec) -> None:
        self.session = session
        self.spec = spec
        self._input = session.get_inputs()[0].name

    def inputs(self, wide_crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """The model's input batch (NCHW, normalised) from wide aligned BGR crops."""
        width, height = self.spec.input_size
        images = []
        for wide in wide_crops:
            crop = cv2.resize(
                zoomed_in(wide, self.spec.crop_scale, self.spec.crop_centre),
                (width, height),
                interpolation=cv2.INTER_AREA,
            )
            if self.spec.color == "gray":
                crop = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)[:, :, None]
            elif self.spec.color == "rgb":
                crop = crop[:, :, ::-1]
            images.append(crop)
        batch = np.stack(images).astype(np.float32)
        mean = np.asarray(self.spec.input_mean, np.float32)
        std = np.asarray(self.spec.input_std, np.float32)
        return np.ascontiguousarray(((batch - mean) / std).transpose(0, 3, 1, 2))

    def probabilities(self, wide_crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """One row of class probabilities per crop (an empty batch gives no rows)."""
        if len(wide_crops) == 0:
            return np.zeros((0, len(self.spec.classes)), np.float32)
        outputs = self.session.run(None, {self._input: self.inputs(wide_crops)})
        return cast("NDArray[np.float32]", np.asarray(outputs[0], np.float32))


class FaceDescriber:
    """The pack's expression, age and gender models together (any of them may be absent).

    The expression model's classes are reordered to :data:`~scas_lib.tracks.EXPRESSIONS`:
    a model with other classes or another order describes faces in SCAS's terms."""

    def __init__(
        self,
        expression: AttributeModel | None,
        age: AttributeModel | None,
        gender: AttributeModel | None,
    ) -> None:
        self.expression = expression
        self.age = age
        self.gender = gender
        if expression is not None:
            missing = set(EXPRESSIONS) - set(expression.spec.classes)
            if missing:
                raise ValueError(f"the expression model lacks the classes {sorted(missing)}")
            self._expression_order = [expression.spec.classes.index(e) for e in EXPRESSIONS]
        if gender is not None:
            self._male = gender.spec.classes.index("male")
        if age is not None and age.spec.class_values is None:
            raise ValueError("the age model's manifest entry has no class_values")

    @classmethod
    def from_pack(
        cls, pack: ModelPack, *, provider: ProviderChoice = "auto", threads: int = 0
    ) -> FaceDescriber | None:
        """The describer of the pack's attribute models; None when it has none."""
        specs = pack.manifest.attributes

        def load(spec: AttributeModelSpec | None) -> AttributeModel | None:
            if spec is None:
                return None
            return AttributeModel(create_session(pack.path(spec), provider, threads=threads), spec)

        if specs.expression is None and specs.age is None and specs.gender is None:
            return None
        return cls(load(specs.expression), load(specs.age), load(specs.gender))

    @property
    def models(self) -> list[str]:
        """The kinds of attribute this describer tells (``expression``, ``age``, ``gender``)."""
        present = {"expression": self.expression, "age": self.age, "gender": self.gender}
        return [kind for kind, model in present.items() if model is not None]

    def describe(
        self, wide_crops: NDArray[np.uint8] | Sequence[NDArray[np.uint8]]
    ) -> list[FaceAttributes]:
        """One :class:`~scas_lib.tracks.FaceAttributes` per wide aligned crop, in order."""
        crops = np.asarray(wide_crops, np.uint8)
        count = len(crops)
        expressions: list[tuple[float, ...]] = [()] * count
        ages: list[float | None] = [None] * count
        males: list[float | None] = [None] * count
        if self.expression is not None:
            reordered = self.expression.probabilities(crops)[:, self._expression_order]
            expressions = [tuple(round(float(p), 4) for p in row) for row in reordered]
        if self.age is not None:
            values = np.asarray(self.age.spec.class_values, np.float32)
            ages = [round(float(row @ values), 1) for row in self.age.probabilities(crops)]
        if self.gender is not None:
            males = [round(float(row[self._male]), 4) for row in self.gender.probabilities(crops)]
        return [
            FaceAttributes(expression, age, male)
            for expression, age, male in zip(expressions, ages, males, strict=True)
        ]
