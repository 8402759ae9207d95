"""The cast of a synthetic event: visitors and strangers made from real face photos.

People with two or more photos can be visitors: one photo enrolls them at the kiosk and
the others appear in the footage, so enrollment and footage never share a picture. People
with one photo, and the faces of group photos, are strangers: they appear in the footage
and are never enrolled.

Photos come from a folder with one sub-folder of photos per person (the layout of
``../shared/faces``; a ``groups`` folder is skipped, as group photos may show anybody) or,
by default, from the sample photos of :mod:`scas_lib.provisioning.samples`, plus the 29 people of
its 1927 Solvay group photo as strangers.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from scas_lib.faces.engine import FaceEngine
from scas_lib.provisioning.samples import fetch_sample_photos
from scas_lib.simulation.plan import PersonSpec, PhotoSpec
from scas_lib.simulation.scene import Sprite, SpriteGeometry


@dataclass(frozen=True)
class SourcePhoto:
    identity: str
    name: str
    path: Path
    #: Which face of the photo (group photos give several people).
    face_index: int = 0
    #: The expression the photo shows, where its folder's manifest labels it ("happy"...).
    expression: str | None = None


Half = Literal["all", "tuning", "held-out"]


def person_folders(faces_dir: Path, half: Half = "all") -> list[Path]:
    """The person folders of ``faces_dir`` (sorted; ``groups`` is not a person), or one
    half of them: thresholds are tuned on the ``tuning`` half and accuracy is reported on
    the ``held-out`` half, so that no number is fitted to the people it is judged on. The
    halves alternate in name order: the 1st, 3rd, 5th... person tunes.
    """
    folders = sorted(p for p in faces_dir.iterdir() if p.is_dir() and p.name != "groups")
    if half == "all":
        return folders
    return folders[0 if half == "tuning" else 1 :: 2]


def folder_photos(faces_dir: Path, half: Half = "all") -> list[SourcePhoto]:
    """Photos in ``faces_dir/<person>/*.jpg|png``, one identity per sub-folder (of one half
    of the people: :func:`person_folders`), with the expression the folder's
    ``manifest.json`` gives each (``"expressions": {"<person>/<file>": "happy", ...}``)."""
    labels = manifest_expressions(faces_dir)
    photos = []
    for folder in person_folders(faces_dir, half):
        for path in sorted([*folder.glob("*.jpg"), *folder.glob("*.png")]):
            photos.append(
                SourcePhoto(
                    folder.name,
                    f"{folder.name}/{path.stem}",
                    path,
                    expression=labels.get(f"{folder.name}/{path.name}"),
                )
            )
    return photos


def manifest_expressions(faces_dir: Path) -> dict[str, str]:
    """The ``expressions`` of ``faces_dir/manifest.json`` (photo path -> label), if any."""
    manifest = faces_dir / "manifest.json"
    if not manifest.is_file():
        return {}
    labels = json.loads(manifest.read_text()).get("expressions") or {}
    if not isinstance(labels, dict):
        raise ValueError(f"{manifest}: 'expressions' must map photo paths to labels")
    return {str(path): str(label) for path, label in labels.items()}


def sample_photos(cache_dir: Path, index_url: str) -> list[SourcePhoto]:
    """The registry sample photos: people with their photos, Solvay's 29 as strangers."""
    photos = []
    for sample in fetch_sample_photos(cache_dir, index_url):
        if sample.group_size == 1:
            photos.append(SourcePhoto(sample.identity, sample.name, sample.path))
        elif sample.name == "solvay1927":
            photos += [
                SourcePhoto(f"solvay-{i:02d}", f"solvay-{i:02d}", sample.path, face_index=i)
                for i in range(sample.group_size)
            ]
    return photos


def with_visitors(photos: list[SourcePhoto], visitors: int) -> list[SourcePhoto]:
    """``photos`` with at most ``visitors`` people who have two or more photos (the first
    by name: :func:`cast` makes them visitors); the photos of the others are cut down to
    one each, so they can only be strangers."""
    by_person: dict[str, list[SourcePhoto]] = {}
    for photo in photos:
        by_person.setdefault(photo.identity, []).append(photo)
    chosen, kept = 0, []
    for person in sorted(by_person):
        group = by_person[person]
        if len(group) >= 2 and chosen < visitors:
            chosen += 1
            kept += group
        else:
            kept.append(group[0])
    return kept


def person_id(identity: str) -> str:
    """A key-safe id for a person ("Jennifer Aniston" -> "jennifer-aniston")."""
    return re.sub(r"[^a-z0-9]+", "-", identity.lower()).strip("-")[:63] or "person"


def cut_sprites(engine: FaceEngine, photos: list[SourcePhoto]) -> dict[str, Sprite]:
    """A head sprite per photo (photos in which no face is found are left out)."""
    sprites: dict[str, Sprite] = {}
    by_path: dict[Path, list[SourcePhoto]] = {}
    for photo in photos:
        by_path.setdefault(photo.path, []).append(photo)
    for path, wanted in by_path.items():
        image = typing.cast(NDArray[np.uint8] | None, cv2.imread(str(path)))  # 8-bit BGR
        if image is None:
            continue
        detections = engine.detector.detect(image) or engine.detector.detect(image, pad=0.5)
        # Group photos: faces in reading order, so that face_index is stable.
        detections.sort(key=lambda d: (round(float(d.box[1]) / 80), float(d.box[0])))
        for photo in wanted:
            if photo.face_index < len(detections):
                sprites[photo.name] = head_sprite(image, detections[photo.face_index].box)
    return sprites


def head_sprite(image: NDArray[np.uint8], face_box: NDArray[np.float32]) -> Sprite:
    """Cut a head (face, hair, a little neck) out of a photo with a soft oval mask."""
    x1, y1, x2, y2 = (float(v) for v in face_box)
    face_w, face_h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2
    left, right = round(cx - 0.95 * face_w), round(cx + 0.95 * face_w)
    top, bottom = round(y1 - 0.55 * face_h), round(y2 + 0.35 * face_h)
    pad = max(0, -left, -top, right - image.shape[1], bottom - image.shape[0])
    padded = typing.cast(
        NDArray[np.uint8], cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    )
    crop = padded[top + pad : bottom + pad, left + pad : right + pad].copy()
    height, width = crop.shape[:2]
    alpha = np.zeros((height, width), np.float32)
    center = (round(cx - left), round((y1 + y2) / 2 - top - 0.12 * face_h))
    axes = (round(0.66 * face_w), round(0.84 * face_h))
    cv2.ellipse(alpha, center, axes, 0, 0, 360, 1.0, thickness=-1)
    feather = max(3, int(face_w * 0.12) | 1)
    alpha = typing.cast(NDArray[np.float32], cv2.GaussianBlur(alpha, (feather, feather), 0))
    geometry = SpriteGeometry(width, height, (x1 - left, y1 - top, x2 - left, y2 - top))
    return Sprite(crop, alpha, geometry)


def cast(
    photos: list[SourcePhoto],
    sprites: dict[str, Sprite],
    *,
    strangers: int,
    rng: np.random.Generator,
) -> list[PersonSpec]:
    """Visitors (people with 2+ usable photos) and ``strangers`` strangers."""
    by_identity: dict[str, list[SourcePhoto]] = {}
    for photo in photos:
        if photo.name in sprites:
            by_identity.setdefault(photo.identity, []).append(photo)
    people: list[PersonSpec] = []
    singles = []
    several = sorted(identity for identity, own in by_identity.items() if len(own) >= 2)
    # A folder where everybody has several photos would leave no strangers: then up to half
    # of those people are strangers (all their photos in the footage, never enrolled).
    short = max(0, strangers - sum(len(own) == 1 for own in by_identity.values()))
    held_out = set(rng.permutation(several)[: min(short, len(several) // 2)].tolist())
    for identity, own in sorted(by_identity.items()):
        if len(own) >= 2 and identity not in held_out:
            people.append(
                PersonSpec(
                    id=person_id(identity),
                    role="visitor",
                    identity=identity,
                    footage_photos=tuple(_photo_spec(p, sprites) for p in own[1:]),
                    enrollment_photos=(own[0].name,),
                )
            )
        else:
            singles.append(own)
    for index in rng.permutation(len(singles))[:strangers]:
        own = singles[int(index)]
        people.append(
            PersonSpec(
                id=person_id(own[0].identity),
                role="stranger",
                identity=own[0].identity,
                footage_photos=tuple(_photo_spec(photo, sprites) for photo in own),
            )
        )
    return people


def _photo_spec(photo: SourcePhoto, sprites: dict[str, Sprite]) -> PhotoSpec:
    return PhotoSpec(photo.name, 1.5 * sprites[photo.name].geometry.face_height, photo.expression)
