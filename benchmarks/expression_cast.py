"""A smiling cast: a faces folder (the layout of ../shared/faces) whose photos are labelled
with the expression they show, made from an expression-labelled photo set (the layout of
../shared/expressions: ``labels.csv`` with ``image,expression,group`` and ``images/``).

Everyone with at least two smiling (``happy``) and two ``neutral`` photos whose group is a
person (not a stock contributor, ``user...``) gets a folder of up to ``--per-expression``
photos of each, a neutral one first (the generator enrolls a visitor with their first
photo: the kiosk photo is a neutral one, the footage smiles some of the time). The photos
are tight crops, so each is padded (``--pad``, a share of its size on every side, the
border's pixels repeated) for a detector to find the face and for a head to be cut out.
``manifest.json`` lists the identities and labels every photo (``"expressions"``).

    .venv/bin/python benchmarks/expression_cast.py OUT_DIR [--source ../shared/expressions]
        [--people 80] [--per-expression 3]
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import cv2

SMILING, NEUTRAL = "happy", "neutral"


def cast_people(labels: Path, min_each: int = 2) -> dict[str, dict[str, list[str]]]:
    """Person -> expression -> image names, for the people with ``min_each`` smiling and
    ``min_each`` neutral photos (sorted by name)."""
    people: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    with labels.open(newline="") as rows:
        for row in csv.DictReader(rows):
            if row["group"].startswith("user") or row["expression"] not in (SMILING, NEUTRAL):
                continue
            people[row["group"]][row["expression"]].append(row["image"])
    return {
        person: {label: sorted(names) for label, names in photos.items()}
        for person, photos in sorted(people.items())
        if len(photos[SMILING]) >= min_each and len(photos[NEUTRAL]) >= min_each
    }


def build_cast(source: Path, target: Path, people: int, per_expression: int, pad: float) -> int:
    """Write the cast folder; return how many people it holds."""
    chosen = list(cast_people(source / "labels.csv").items())[:people]
    target.mkdir(parents=True, exist_ok=True)
    identities: dict[str, list[str]] = {}
    expressions: dict[str, str] = {}
    for person, photos in chosen:
        folder = target / person.lower()
        folder.mkdir(exist_ok=True)
        neutral, smiling = photos[NEUTRAL][:per_expression], photos[SMILING][:per_expression]
        ordered = [(neutral[0], NEUTRAL)] + [(n, NEUTRAL) for n in neutral[1:]]
        ordered += [(name, SMILING) for name in smiling]
        identities[folder.name] = []
        for number, (name, label) in enumerate(ordered, start=1):
            image = cv2.imread(str(source / "images" / name))
            if image is None:
                raise SystemExit(f"cannot read {source / 'images' / name}")
            border = round(pad * max(image.shape[:2]))
            padded = cv2.copyMakeBorder(image, *[border] * 4, cv2.BORDER_REPLICATE)
            relative = f"{folder.name}/{number:02d}.jpg"
            cv2.imwrite(str(target / relative), padded, [cv2.IMWRITE_JPEG_QUALITY, 95])
            identities[folder.name].append(relative)
            expressions[relative] = label
    manifest = {
        "source": f"{source} (labels.csv: image, expression, group), padded by {pad} a side",
        "identities": identities,
        "expressions": expressions,
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--source", type=Path, default=Path("../shared/expressions"))
    parser.add_argument("--people", type=int, default=80)
    parser.add_argument("--per-expression", type=int, default=3)
    parser.add_argument("--pad", type=float, default=0.6)
    args = parser.parse_args()
    count = build_cast(args.source, args.out_dir, args.people, args.per_expression, args.pad)
    print(f"{count} people written to {args.out_dir}")


if __name__ == "__main__":
    main()
