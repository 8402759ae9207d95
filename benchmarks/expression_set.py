"""The crowd-labelled expression photos (``../shared/expressions``): the split by person and
the faces as recognition finds them. Used by ``benchmarks/expressions.py`` (which reports on
the held-out part) and ``benchmarks/train_expression_head.py`` (which tunes on the other).

The split is fixed and documented: a photo is held out when the first 8 hex digits of the
sha256 of its ``group`` (the person, or the stock contributor) are 0 or 1 modulo 5, so
whole people fall on one side, about 40% of the groups are held out and 60% tune, and the
split never moves when photos are added. Nothing is fitted on the held-out part.

Faces are found as recognition finds them in a tight crop: the product's detector (the
pack's SCRFD) on the photo with a black border of half its side around it (LFW's faces
fill the frame, and the detector misses a face that touches the edges), as enrolment's
second search does, at a 320x320 input (the bordered photos are at most 384 px: scaling
them up to the detector's 640 costs four times the time for the same face); the biggest
face, aligned by its landmarks on the photo itself, and its wide crop for the attribute
models.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from scas_lib.faces.engine import Face, FaceEngine
from scas_lib.tracks import FaceAttributes

#: The held-out groups: sha256(group)[:8] as an integer, modulo this, below HELD_OUT_BELOW.
SPLIT_MODULUS = 5
HELD_OUT_BELOW = 2
#: The black border around the photo, as a share of its longer side.
SEARCH_PAD = 0.5
#: The detector's input (width, height) for these small photos.
SEARCH_SIZE = (320, 320)


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    expression: str
    group: str

    @property
    def held_out(self) -> bool:
        return is_held_out(self.group)


def is_held_out(group: str) -> bool:
    """Whether a group (person or contributor) is on the reported side of the split.

    >>> is_held_out("AJ_Cook"), is_held_out("Aaron_Eckhart")
    (False, True)
    """
    digest = int(hashlib.sha256(group.encode()).hexdigest()[:8], 16)
    return digest % SPLIT_MODULUS < HELD_OUT_BELOW


def read_labels(directory: Path) -> list[LabelledPhoto]:
    """Every labelled photo of the set (``labels.csv``: image, expression, group)."""
    with open(directory / "labels.csv", newline="") as file:
        return [
            LabelledPhoto(directory / "images" / row["image"], row["expression"], row["group"])
            for row in csv.DictReader(file)
        ]


def find_face(engine: FaceEngine, image: NDArray[np.uint8]) -> Face | None:
    """The biggest face of a tight crop, found with a border around it (None: no face)."""
    faces = engine.analyze(image, input_size=SEARCH_SIZE, pad=SEARCH_PAD, embed=False)
    return max(faces, key=lambda face: face.detection.height, default=None)


def wide_crops(
    engine: FaceEngine, photos: list[LabelledPhoto]
) -> tuple[list[LabelledPhoto], NDArray[np.uint8]]:
    """The photos whose face was found, and each one's wide aligned crop."""
    found, crops = [], []
    for photo in photos:
        image = cv2.imread(str(photo.path))
        face = None if image is None else find_face(engine, image)
        if face is not None and face.aligned_wide is not None:
            found.append(photo)
            crops.append(face.aligned_wide)
    return found, np.stack(crops) if crops else np.zeros((0, 168, 168, 3), np.uint8)


#: The five classes the goals are measured over (fear and disgust are too rare to judge).
SCORED = ("angry", "happy", "neutral", "sad", "surprise")


def measure(looks: Sequence[FaceAttributes], labels: Sequence[str]) -> dict[str, object]:
    """The goals' measures of the product's own reading of each face (``dominant``, None
    where it is unsure, counts as a miss; ``smiling``): recall of smiles, the neutral faces
    called smiling or angry, the recall of each labelled class and their mean over
    :data:`SCORED` (``balanced_accuracy_5``), and the share of faces left unnamed."""
    said = [face.dominant for face in looks]
    smiling = [face.smiling for face in looks]
    by_class: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    recall = {
        label: sum(said[i] == label for i in rows) / len(rows)
        for label, rows in sorted(by_class.items())
    }
    neutral, happy = by_class.get("neutral", []), by_class.get("happy", [])
    return {
        "smile_recall": round(sum(smiling[i] for i in happy) / max(len(happy), 1), 3),
        "neutral_as_happy": round(sum(smiling[i] for i in neutral) / max(len(neutral), 1), 3),
        "neutral_as_angry": round(
            sum(said[i] == "angry" for i in neutral) / max(len(neutral), 1), 3
        ),
        "balanced_accuracy_5": round(sum(recall.get(c, 0.0) for c in SCORED) / len(SCORED), 3),
        "recall": {label: round(value, 3) for label, value in recall.items()},
        "unsure": round(sum(s is None for s in said) / max(len(said), 1), 3),
        "photos": {label: len(rows) for label, rows in sorted(by_class.items())},
    }
