"""Calibrate a model pack's open-set matching thresholds on real photos of real people.

Same-person pairs come from people with several photos; different-person pairs from every
two people, including every two faces of a group photo (all different people). The match
threshold is set a safety margin above the highest different-person similarity seen: on
these photos no stranger would have been accepted, and the report says how many
same-person pairs still pass. The margin over the second-best visitor is checked the same
way, by identifying every photo against a gallery of everybody's other photos.

    .venv/bin/python benchmarks/calibrate_thresholds.py                       # sample photos
    .venv/bin/python benchmarks/calibrate_thresholds.py --faces ../shared/faces --write
    .venv/bin/python benchmarks/calibrate_thresholds.py --pack ~/.scas/models/buffalo_l --json

``--write`` stores the result in ``scas_lib/faces/calibration/<pack>.json``, which
``scas models install`` copies into the pack's manifest.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.pack import calibration_file
from scas_lib.provisioning.install import DEFAULT_PACK, install_default_pack
from scas_lib.provisioning.samples import fetch_sample_photos
from scas_lib.settings import Settings
from scas_lib.simulation.people import Half, person_folders

SAFETY = 0.03  # above the worst different-person pair seen
MARGIN = 0.05  # over the second-best visitor


@dataclass
class Embedded:
    """A face: a named person's, or (identity "") one face of a group photo."""

    identity: str
    source: str
    embedding: np.ndarray
    #: "samples" (the registry photos) or "faces" (--faces)
    collection: str = "samples"
    #: A group face known to be none of the named people *of its own collection*: the sample
    #: group photos show none of the sample people (but t1.jpg, the cast of Friends, shows
    #: Jennifer Aniston, who may well be in a --faces folder).
    stranger: bool = False

    @property
    def photo(self) -> str:
        return self.source.split("#")[0]


def single_face(engine: FaceEngine, path: Path) -> np.ndarray | None:
    image = cv2.imread(str(path))
    if image is None:
        return None
    faces = engine.analyze(image) or engine.analyze(image, pad=0.5)
    if not faces:
        return None
    return max(faces, key=lambda face: face.detection.height).embedding


def group_faces(engine: FaceEngine, path: Path) -> list[np.ndarray]:
    image = cv2.imread(str(path))
    faces = engine.analyze(image) if image is not None else []
    return [face.embedding for face in faces if face.detection.height >= 48]


def collect(
    engine: FaceEngine, cache: Path, index_url: str, faces_dir: Path | None, half: Half = "all"
) -> list[Embedded]:
    items: list[Embedded] = []
    for photo in fetch_sample_photos(cache, index_url):
        if photo.group_size == 1:
            embedding = single_face(engine, photo.path)
            if embedding is not None:
                items.append(Embedded(photo.identity, photo.name, embedding))
        else:
            items += [
                Embedded("", f"{photo.name}#{i}", e, stranger=True)
                for i, e in enumerate(group_faces(engine, photo.path))
            ]
    if faces_dir:
        groups = [faces_dir / "groups"] if (faces_dir / "groups").is_dir() else []
        for folder in [*person_folders(faces_dir, half), *groups]:
            for path in sorted(folder.glob("*.jpg")):
                if folder.name == "groups":
                    items += [
                        Embedded("", f"{path.name}#{i}", e, "faces")
                        for i, e in enumerate(group_faces(engine, path))
                    ]
                else:
                    embedding = single_face(engine, path)
                    if embedding is not None:
                        source = f"{folder.name}/{path.name}"
                        items.append(Embedded(folder.name, source, embedding, "faces"))
    return items


def pair_similarities(items: list[Embedded]) -> tuple[np.ndarray, np.ndarray]:
    """Similarities of same-person and of different-person pairs. Two faces of one group
    photo are different people; a face of another group photo may be anybody (a celebrity
    selfie shows celebrities) unless the photo is known to hold none of the named people."""
    same, different = [], []
    for a, b in itertools.combinations(items, 2):
        similarity = float(a.embedding @ b.embedding)
        if a.identity and a.identity == b.identity:
            same.append(similarity)
        elif _different_people(a, b):
            different.append(similarity)
    return np.array(same), np.array(different)


def _different_people(a: Embedded, b: Embedded) -> bool:
    if a.identity and b.identity:
        return a.identity != b.identity
    if not a.identity and not b.identity:
        return a.photo == b.photo
    return _known_strangers(a, b) or _known_strangers(b, a)


def _known_strangers(group_face: Embedded, named: Embedded) -> bool:
    return (
        group_face.stranger and bool(named.identity) and named.collection == group_face.collection
    )


def identification_gaps(items: list[Embedded], threshold: float) -> list[float]:
    """For each photo of a person with other photos: best own-identity similarity minus best
    other-identity similarity, against templates built from everybody's other photos."""
    by_identity: dict[str, list[Embedded]] = defaultdict(list)
    for item in items:
        if item.identity:
            by_identity[item.identity].append(item)
    gaps = []
    for probe in items:
        if not probe.identity or len(by_identity[probe.identity]) < 2:
            continue
        own = [i.embedding for i in by_identity[probe.identity] if i is not probe]
        own_best = max(float(probe.embedding @ e) for e in own)
        others = [
            float(probe.embedding @ i.embedding)
            for identity, members in by_identity.items()
            if identity != probe.identity
            for i in members
        ]
        if own_best >= threshold:
            gaps.append(own_best - max(others))
    return gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, help="model pack directory (default: settings)")
    parser.add_argument("--faces", type=Path, help="extra photos: one folder per person")
    parser.add_argument(
        "--half",
        choices=["all", "tuning"],
        default="tuning",
        help="which people of --faces to calibrate on (default: the tuning half; the "
        "accuracy benchmark reports on the other)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--write", action="store_true", help="store the calibration file")
    args = parser.parse_args()

    settings = Settings()
    pack_dir = args.pack or settings.model_pack_dir
    if not pack_dir.exists() and pack_dir.name == DEFAULT_PACK:
        install_default_pack(settings.models_path, download_dir=settings.downloads_path)
    engine = FaceEngine.load(pack_dir, provider=settings.onnx_provider)
    items = collect(
        engine, settings.data_dir / "samples", settings.package_index_url, args.faces, args.half
    )
    same, different = pair_similarities(items)
    threshold = math.ceil((different.max() + SAFETY) * 100) / 100
    gaps = identification_gaps(items, threshold)
    command = (
        "benchmarks/calibrate_thresholds.py"
        + "".join(
            f" --{name} {value}"
            for name, value in (("pack", args.pack), ("faces", args.faces))
            if value
        )
        + (f" --half {args.half}" if args.faces else "")
    )
    result = {
        "pack": engine.model_pack,
        "thresholds": {
            "match": threshold,
            "margin": MARGIN,
            "calibrated": True,
            "source": command,
        },
        "evidence": {
            "photos": len([i for i in items if i.identity]),
            "group_faces": len([i for i in items if not i.identity]),
            "identities": len({i.identity for i in items if i.identity}),
            "same_person_pairs": int(same.size),
            "different_person_pairs": int(different.size),
            "same_person_min": round(float(same.min()), 4),
            "same_person_p05": round(float(np.percentile(same, 5)), 4),
            "different_person_max": round(float(different.max()), 4),
            "different_person_p99": round(float(np.percentile(different, 99)), 4),
            "same_person_accepted": round(float((same >= threshold).mean()), 4),
            "different_person_accepted": int((different >= threshold).sum()),
            "identified_probes": len(gaps),
            "identified_gap_min": round(min(gaps), 4) if gaps else None,
            "identified_below_margin": sum(gap < MARGIN for gap in gaps),
        },
    }
    if args.write:
        # The track thresholds (benchmarks/calibrate_tracks.py) stay as they are.
        path = calibration_file(engine.model_pack)
        path.parent.mkdir(parents=True, exist_ok=True)
        stored = json.loads(path.read_text()) if path.exists() else {}
        stored.setdefault("thresholds", {}).update(result["thresholds"])
        stored.update({"pack": result["pack"], "evidence": result["evidence"]})
        path.write_text(json.dumps(stored, indent=2) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in {**result["thresholds"], **result["evidence"]}.items():
            print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
