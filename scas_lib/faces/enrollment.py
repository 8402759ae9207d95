"""Enrollment: a kiosk photo's bytes in, one face embedding out, or a clear refusal.

Each way a photo can be unusable has its own error class and ``code``, and a message a
kiosk can show as it is. Checks run cheapest first: bytes, format and pixel count are read
from the file's header before anything is decoded, so a huge or hostile file costs nothing.

A close-up selfie whose face fills the frame is normal at a kiosk, and SCRFD misses such
faces; when nothing is found the photo is searched again inside a wide black border, on a
copy no longer than ``max_search_side`` (the border doubles each side, and the detector
sees 640 pixels anyway).

The photo is decoded upright (its EXIF orientation applied); that upright image, without
any of the file's metadata (GPS position, camera, time), is what is kept.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from scas_lib.catalog.records import Enrollment
from scas_lib.errors import ScasError
from scas_lib.faces.engine import Face, FaceEngine
from scas_lib.faces.matching import Gallery, identify_many
from scas_lib.faces.pack import Thresholds
from scas_lib.faces.quality import FaceQuality

ACCEPTED_FORMATS = ("jpeg", "png", "webp")


@dataclass(frozen=True)
class EnrollmentPolicy:
    """The quality gates a kiosk photo must pass."""

    max_bytes: int = 15 * 2**20
    max_pixels: int = 40_000_000
    #: Longest side, and how much longer than the other it may be: a phone photo is 4:3 or
    #: 16:9, a panorama is not a portrait.
    max_side: int = 10_000
    max_aspect: float = 4.0
    #: The padded second search works on a copy no longer than this.
    max_search_side: int = 2048
    #: Height of the face box; SFace similarity falls off below ~48 px faces.
    min_face_px: float = 80.0
    #: Variance of the Laplacian on the aligned face; sharp phone photos score 200-4000,
    #: a 4-pixel Gaussian blur of a 400 px face about 50, an 8-pixel one about 10.
    min_sharpness: float = 25.0
    #: Nose offset in half eye distances; 1 is a profile.
    max_abs_yaw: float = 0.8
    max_abs_pitch: float = 0.6
    #: Another face at least this fraction of the largest face's height is "prominent".
    prominent_fraction: float = 0.5
    #: Border (times the longer side) for the second search when no face is found.
    selfie_pad: float = 0.5


class EnrollmentError(ScasError):
    """A photo cannot enroll a visitor; ``code`` says why, the message says what to do."""

    code = "enrollment_error"


class UnsupportedImage(EnrollmentError):
    code = "unsupported_image"


class ImageTooLarge(EnrollmentError):
    code = "image_too_large"


class NoFace(EnrollmentError):
    code = "no_face"


class MultipleFaces(EnrollmentError):
    code = "multiple_faces"


class FaceTooSmall(EnrollmentError):
    code = "face_too_small"


class FaceTooBlurred(EnrollmentError):
    code = "face_too_blurred"


class ExtremePose(EnrollmentError):
    code = "extreme_pose"


class AnotherPerson(EnrollmentError):
    """The photos are of someone else than the visitor they should be added to."""

    code = "another_person"


@dataclass(frozen=True, eq=False)
class EnrolledPhoto:
    """The face a photo enrolls: its embedding (unit length) and quality."""

    face: Face
    model_pack: str
    #: The photo upright, without its file's metadata: what is stored.
    image: NDArray[np.uint8] = field(repr=False)

    @property
    def embedding(self) -> NDArray[np.float32]:
        assert self.face.embedding is not None
        return self.face.embedding

    @property
    def quality(self) -> FaceQuality:
        return self.face.quality


def enroll_photo(
    engine: FaceEngine, data: bytes, policy: EnrollmentPolicy | None = None
) -> EnrolledPhoto:
    """Check a photo and return the face it enrolls, or raise an :class:`EnrollmentError`."""
    policy = policy or EnrollmentPolicy()
    with engine.slot():  # the photo's CPU work in one go (a server's concurrent requests)
        image = decode_photo(data, policy)
        faces = engine.analyze(image, embed=False)
        if not faces:
            image = downscaled(image, policy.max_search_side)
            faces = engine.analyze(image, pad=policy.selfie_pad, embed=False)
        face = _the_one_face(faces, policy)
        _check_quality(face.quality, policy)
        (embedded,) = engine.embed([face])
    return EnrolledPhoto(embedded, engine.model_pack, image)


def downscaled(image: NDArray[np.uint8], max_side: int) -> NDArray[np.uint8]:
    """The image scaled down (never up) so that its longer side is at most ``max_side``.

    >>> downscaled(np.zeros((1000, 4000, 3), np.uint8), 2048).shape
    (512, 2048, 3)
    """
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # OpenCV's stubs type every result as any numeric array; resizing keeps the pixel type.
    return cast("NDArray[np.uint8]", cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def check_one_person(
    visitor_id: str,
    photos: Sequence[EnrolledPhoto],
    earlier: Sequence[Enrollment],
    thresholds: Thresholds,
) -> None:
    """Raise :class:`AnotherPerson` unless every photo shows the same person as the
    visitor's earlier enrollments (of the same model pack), or, for a new visitor, as the
    first photo. Without this, re-enrolling an id with someone else's face would merge two
    people into one visitor."""
    if not photos:
        return
    if earlier:
        gallery = Gallery.from_enrollments(photos[0].model_pack, earlier)
        whose = "this visitor's earlier photos"
    else:
        gallery = Gallery(photos[0].model_pack, (visitor_id,), photos[0].embedding[None, :])
        whose = "the first photo"
    matches = identify_many(gallery, np.stack([photo.embedding for photo in photos]), thresholds)
    for number, match in enumerate(matches, start=1):
        if match.visitor_id != visitor_id:
            raise AnotherPerson(
                f"photo {number} shows someone else than {whose} (similarity "
                f"{match.similarity:.2f}, {thresholds.match:.2f} needed): each person "
                "enrolls under their own id"
            )


def decode_photo(data: bytes, policy: EnrollmentPolicy | None = None) -> NDArray[np.uint8]:
    """The photo as a BGR image, after the byte, format and pixel checks."""
    policy = policy or EnrollmentPolicy()
    if len(data) > policy.max_bytes:
        raise ImageTooLarge(
            f"the photo is {len(data) / 2**20:.1f} MB; the limit is "
            f"{policy.max_bytes / 2**20:.0f} MB: send a smaller photo"
        )
    kind = image_format(data)
    if kind not in ACCEPTED_FORMATS:
        found = f"a {kind.upper()} file" if kind else "not an image"
        raise UnsupportedImage(f"this is {found}: send the photo as JPEG, PNG or WebP")
    size = image_size(data, kind)
    if size is None:
        raise UnsupportedImage(f"the {kind.upper()} file is damaged: take the photo again")
    width, height = size
    if max(width, height) > policy.max_side:
        raise ImageTooLarge(
            f"the photo is {width}x{height} pixels; the limit is {policy.max_side} on a side: "
            "send a smaller photo"
        )
    if max(width, height) > policy.max_aspect * max(1, min(width, height)):
        raise UnsupportedImage(
            f"the photo is {width}x{height} pixels, too long and narrow for a portrait "
            f"(at most {policy.max_aspect:g}:1): take a normal photo"
        )
    if width * height > policy.max_pixels:
        raise ImageTooLarge(
            f"the photo has {width}x{height} pixels ({width * height / 1e6:.0f} MP); the limit "
            f"is {policy.max_pixels / 1e6:.0f} MP: send a smaller photo"
        )
    # IMREAD_COLOR applies the EXIF orientation: the image comes out upright.
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise UnsupportedImage(f"the {kind.upper()} file is damaged: take the photo again")
    # IMREAD_COLOR decodes to 8-bit BGR, whatever the file held.
    return cast("NDArray[np.uint8]", image)


def _the_one_face(faces: list[Face], policy: EnrollmentPolicy) -> Face:
    if not faces:
        raise NoFace("no face was found in the photo: look at the camera, uncovered")
    largest = max(faces, key=lambda face: face.detection.height)
    prominent = [
        face
        for face in faces
        if face.detection.height >= policy.prominent_fraction * largest.detection.height
    ]
    if len(prominent) > 1:
        raise MultipleFaces(
            f"{len(prominent)} faces are in the photo: one person at a time, please"
        )
    return largest


def _check_quality(quality: FaceQuality, policy: EnrollmentPolicy) -> None:
    if quality.height_px < policy.min_face_px:
        raise FaceTooSmall(
            f"the face is {quality.height_px:.0f} px tall, at least {policy.min_face_px:.0f} "
            "are needed: come closer to the camera"
        )
    if quality.sharpness < policy.min_sharpness:
        raise FaceTooBlurred(
            f"the face is blurred (sharpness {quality.sharpness:.0f}, at least "
            f"{policy.min_sharpness:.0f} needed): hold still and take the photo again"
        )
    if abs(quality.yaw) > policy.max_abs_yaw or abs(quality.pitch) > policy.max_abs_pitch:
        raise ExtremePose(
            f"the head is turned too far (yaw {quality.yaw:+.2f}, pitch {quality.pitch:+.2f}): "
            "look straight at the camera"
        )


# Image headers --------------------------------------------------------------------------------

_SIGNATURES = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"%PDF", "pdf"),
)


def image_format(data: bytes) -> str | None:
    """The image format named by the file's signature, or None.

    >>> image_format(b"\\x89PNG\\r\\n\\x1a\\n...."), image_format(b"hello")
    ('png', None)
    """
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        return "heic" if data[8:12] != b"avif" else "avif"
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    return None


def image_size(data: bytes, kind: str) -> tuple[int, int] | None:
    """``(width, height)`` from the header of a JPEG, PNG or WebP file, without decoding."""
    try:
        if kind == "png":
            return struct.unpack(">II", data[16:24])
        if kind == "jpeg":
            return _jpeg_size(data)
        if kind == "webp":
            return _webp_size(data)
    except (struct.error, IndexError):
        return None
    return None


# Start-of-frame markers carry the frame size (all but DHT C4, JPG C8 and DAC CC).
_JPEG_FRAME_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    offset = 2
    while offset + 9 < len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        if marker in _JPEG_FRAME_MARKERS:
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return width, height
        offset += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None
