"""Enrollment on real photos: every refusal is produced by a real input, and the visitor
stages store, deduplicate and forget on the real catalog and object store."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from scas_lib.catalog import Output
from scas_lib.errors import ScasError
from scas_lib.faces import FaceEngine
from scas_lib.faces.enrollment import (
    AnotherPerson,
    ExtremePose,
    FaceTooBlurred,
    FaceTooSmall,
    ImageTooLarge,
    MultipleFaces,
    NoFace,
    UnsupportedImage,
    enroll_photo,
)
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.services.runtime import Services
from scas_lib.settings import setting_names
from scas_lib.storage import ObjectStore, keys
from scas_lib.visitors.stage import enroll_visitor, forget_visitor

from .conftest import CONSENT


def read(photo: SamplePhoto) -> np.ndarray:
    loaded = cv2.imread(str(photo.path))
    assert loaded is not None
    return loaded


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


# accepted photos ----------------------------------------------------------------------------


def test_a_portrait_enrolls(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> None:
    enrolled = enroll_photo(engine, photos["obama"].path.read_bytes())
    assert enrolled.embedding.shape == (128,)
    assert enrolled.model_pack == "default"
    assert enrolled.quality.height_px > 300


def test_a_close_up_selfie_filling_the_frame_enrolls(
    engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    close_up = enroll_photo(engine, photos["hanks"].path.read_bytes())  # PNG, face = frame
    assert close_up.quality.height_px > 80


def test_a_png_enrolls_like_its_jpeg(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> None:
    png = cv2.imencode(".png", read(photos["ardern1"]))[1].tobytes()
    from_png = enroll_photo(engine, png).embedding
    from_jpeg = enroll_photo(engine, photos["ardern1"].path.read_bytes()).embedding
    assert float(from_png @ from_jpeg) > 0.99


# refused photos, each by a real input -------------------------------------------------------


def test_a_long_thin_image_is_refused_before_it_is_decoded(engine: FaceEngine) -> None:
    """39,990 x 1,000: under the byte and pixel caps, but its padded search would need GBs."""
    strip = jpeg(np.full((1000, 39_990, 3), 128, np.uint8))
    with pytest.raises(ImageTooLarge, match=r"39990x1000 pixels; the limit is 10000 on a side"):
        enroll_photo(engine, strip)


def test_a_panorama_is_not_a_portrait(engine: FaceEngine) -> None:
    panorama = jpeg(np.full((1000, 8000, 3), 128, np.uint8))
    with pytest.raises(UnsupportedImage, match=r"8000x1000 pixels, too long and narrow"):
        enroll_photo(engine, panorama)


def test_a_big_close_up_is_searched_on_a_smaller_copy(
    engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    """The selfie whose face fills the frame (112 px), blown up to 2800 px: the padded
    search runs on a copy of at most 2048 px, and still finds it."""
    close_up = read(photos["hanks"])
    big = cv2.resize(close_up, (2800, 2800), interpolation=cv2.INTER_CUBIC)
    enrolled = enroll_photo(engine, jpeg(big))
    assert max(enrolled.image.shape[:2]) <= 2048
    assert enrolled.quality.height_px > 80


def test_not_an_image(engine: FaceEngine) -> None:
    with pytest.raises(UnsupportedImage, match="not an image"):
        enroll_photo(engine, Path(__file__).read_bytes())


def test_an_unsupported_format(
    engine: FaceEngine, photos: dict[str, SamplePhoto], tmp_path: Path
) -> None:
    gif = tmp_path / "obama.gif"
    run_ffmpeg(["-i", str(photos["obama"].path), str(gif)], "a GIF")
    with pytest.raises(UnsupportedImage, match="GIF"):
        enroll_photo(engine, gif.read_bytes())


def test_a_damaged_photo(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> None:
    with pytest.raises(UnsupportedImage, match="damaged"):
        enroll_photo(engine, photos["obama"].path.read_bytes()[:300])


def test_too_many_bytes(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> None:
    big = cv2.resize(read(photos["obama"]), None, fx=2.5, fy=2.5)
    png = cv2.imencode(".png", big, [cv2.IMWRITE_PNG_COMPRESSION, 0])[1].tobytes()
    assert len(png) > 15 * 2**20
    with pytest.raises(ImageTooLarge, match="MB"):
        enroll_photo(engine, png)


def test_too_many_pixels(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> None:
    huge = jpeg(cv2.resize(read(photos["obama"]), (8000, 6000)), quality=30)
    assert len(huge) < 15 * 2**20  # small file, 48 megapixels: refused before decoding
    with pytest.raises(ImageTooLarge, match="MP"):
        enroll_photo(engine, huge)


def test_no_face(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> None:
    portrait = read(photos["obama"])
    below_the_face = portrait[int(portrait.shape[0] * 0.62) :]
    with pytest.raises(NoFace):
        enroll_photo(engine, jpeg(below_the_face))


@pytest.mark.parametrize("group", ["t1", "solvay1927"])
def test_more_than_one_prominent_face(
    engine: FaceEngine, photos: dict[str, SamplePhoto], group: str
) -> None:
    with pytest.raises(MultipleFaces, match="one person at a time"):
        enroll_photo(engine, photos[group].path.read_bytes())


def test_a_face_too_small(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> None:
    far_away = cv2.resize(read(photos["obama"]), None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)
    with pytest.raises(FaceTooSmall, match="come closer"):
        enroll_photo(engine, jpeg(far_away))


def test_a_blurred_face(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> None:
    shaken = cv2.GaussianBlur(read(photos["ardern1"]), (0, 0), 8)
    with pytest.raises(FaceTooBlurred, match="hold still"):
        enroll_photo(engine, jpeg(shaken))


def test_an_extreme_pose(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> None:
    group = read(photos["t1"])
    turned = min(engine.analyze(group, embed=False), key=lambda face: face.quality.yaw)
    x1, y1, x2, y2 = (int(v) for v in turned.detection.box)
    margin = int(0.3 * (x2 - x1))
    crop = group[max(0, y1 - margin) : y2 + margin, max(0, x1 - margin) : x2 + margin]
    with pytest.raises(ExtremePose, match="look straight"):
        enroll_photo(engine, jpeg(crop))


# the visitor stages on the real catalog and object store ------------------------------------


def _with_exif(jpeg_bytes: bytes, orientation: int) -> bytes:
    """The JPEG with an EXIF block holding an orientation and a GPS position, as a phone
    writes it (little-endian TIFF: IFD0 with Orientation and a GPS IFD pointer, then a GPS
    IFD with GPSLatitudeRef "N" and GPSLatitude 52/1 13/1 0/1)."""
    gps_ifd = 8 + 2 + 2 * 12 + 4
    latitude = gps_ifd + 2 + 2 * 12 + 4
    tiff = b"II*\x00" + struct.pack("<I", 8)
    tiff += struct.pack("<H", 2)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack("<HHII", 0x8825, 4, 1, gps_ifd)
    tiff += struct.pack("<I", 0)
    tiff += struct.pack("<H", 2)
    tiff += struct.pack("<HHI4s", 0x0001, 2, 2, b"N\x00\x00\x00")
    tiff += struct.pack("<HHII", 0x0002, 5, 3, latitude)
    tiff += struct.pack("<I", 0)
    tiff += struct.pack("<6I", 52, 1, 13, 1, 0, 1)
    app1 = b"Exif\x00\x00" + tiff
    return jpeg_bytes[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg_bytes[2:]


def test_a_kiosk_photo_is_stored_upright_and_without_its_exif(
    services: Services, engine: FaceEngine, photos: dict[str, SamplePhoto], store: ObjectStore
) -> None:
    upright = read(photos["obama"])
    # Orientation 6: the sensor's pixels are turned a quarter left; viewers turn them back.
    sideways = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)
    sent = _with_exif(jpeg(sideways), orientation=6)
    assert b"Exif\x00\x00" in sent and b"N\x00\x00\x00" in sent

    result = enroll_visitor(
        services,
        engine,
        consent=CONSENT,
        event_id="expo",
        display_name="Barack",
        photos=[sent],
        visitor_id="v1",
    )

    stored = store.get_bytes(services.settings.bucket_enrollments, result.photo_keys[0])
    assert b"Exif" not in stored
    assert cv2.imdecode(np.frombuffer(stored, np.uint8), cv2.IMREAD_COLOR).shape == upright.shape


def test_an_existing_visitor_is_not_extended_with_someone_elses_face(
    services: Services, engine: FaceEngine, photos: dict[str, SamplePhoto], store: ObjectStore
) -> None:
    ardern = photos["ardern1"].path.read_bytes()
    enroll_visitor(
        services, engine, consent=CONSENT, event_id="expo", display_name="Jacinda", photos=[ardern],
        visitor_id="v1",
    )  # fmt: skip
    with services.catalog() as catalog:
        before = catalog.visitors.get("expo", "v1")

    with pytest.raises(AnotherPerson, match="photo 1 shows someone else"):
        enroll_visitor(
            services, engine, consent=CONSENT, event_id="expo", display_name="Emmanuel",
            photos=[photos["macron1"].path.read_bytes()], visitor_id="v1",
        )  # fmt: skip
    with pytest.raises(AnotherPerson, match="photo 2 shows someone else than the first photo"):
        enroll_visitor(
            services, engine, consent=CONSENT, event_id="expo", display_name="Two people",
            photos=[photos["obama"].path.read_bytes(), photos["macron1"].path.read_bytes()],
        )  # fmt: skip

    with services.catalog() as catalog:
        assert catalog.visitors.get("expo", "v1") == before
        assert len(catalog.visitors.enrollments("expo", "default")) == 1
    assert [o.key for o in store.list(services.settings.bucket_enrollments)] == ["expo/v1/0.jpg"]
    # The same face again is welcome: a second photo of her extends her template.
    again = enroll_visitor(
        services, engine, consent=CONSENT, event_id="expo", display_name="Jacinda", visitor_id="v1",
        photos=[ardern, photos["ardern2"].path.read_bytes()],
    )  # fmt: skip
    assert again.photo_keys[0] == "expo/v1/0.jpg"


def test_enrolling_stores_photos_and_embeddings_once(
    services: Services, engine: FaceEngine, photos: dict[str, SamplePhoto], store: ObjectStore
) -> None:
    data = [photos["obama"].path.read_bytes(), photos["obama2"].path.read_bytes()]
    first = enroll_visitor(
        services,
        engine,
        consent=CONSENT,
        event_id="expo",
        display_name="李明",
        photos=data,
        visitor_id="v1",
    )
    again = enroll_visitor(
        services,
        engine,
        consent=CONSENT,
        event_id="expo",
        display_name="李明",
        photos=data,
        visitor_id="v1",
    )

    assert first.photo_keys == again.photo_keys == ("expo/v1/0.jpg", "expo/v1/1.jpg")
    bucket = services.settings.bucket_enrollments
    assert [o.key for o in store.list(bucket, "expo/v1/")] == list(first.photo_keys)
    assert store.stat(bucket, "expo/v1/0.jpg").metadata["visitor"] == "v1"
    with services.catalog() as catalog:
        (visitor,) = catalog.visitors.for_event("expo")
        assert visitor.display_name == "李明"
        assert visitor.consent == CONSENT  # the text's version, its language, the time
        assert len(catalog.visitors.enrollments("expo", "default")) == 2


def test_a_bad_photo_stores_nothing(
    services: Services, engine: FaceEngine, photos: dict[str, SamplePhoto], store: ObjectStore
) -> None:
    with pytest.raises(MultipleFaces, match="photo 2"):
        enroll_visitor(
            services,
            engine,
            consent=CONSENT,
            event_id="expo",
            display_name="Ana",
            photos=[photos["ardern1"].path.read_bytes(), photos["t1"].path.read_bytes()],
        )
    assert store.list(services.settings.bucket_enrollments) == []
    with services.catalog() as catalog:
        assert catalog.events.get("expo") is None


def test_forgetting_a_visitor_removes_them_everywhere(
    services: Services, engine: FaceEngine, photos: dict[str, SamplePhoto], store: ObjectStore
) -> None:
    for visitor, photo in (("v1", "macron1"), ("v2", "ardern1")):
        enroll_visitor(
            services,
            engine,
            consent=CONSENT,
            event_id="expo",
            display_name=visitor,
            photos=[photos[photo].path.read_bytes()],
            visitor_id=visitor,
        )
    bucket = services.settings.bucket_highlights
    store.put_bytes(bucket, keys.highlight_key("expo", "v1"), b"video")
    store.put_bytes(bucket, keys.poster_key("expo", "v1"), b"poster")
    store.put_bytes(bucket, keys.moment_key("expo", "v1", 0), b"a moment's thumbnail")
    with services.catalog() as catalog:
        catalog.outputs.upsert(Output("expo", "v1", "done", keys.highlight_key("expo", "v1")))

    result = forget_visitor(services, "expo", "v1")

    assert result.objects_deleted == 4 and result.catalog_rows
    assert [o.key for o in store.list(bucket)] == ["expo/v2/0.jpg"]
    with services.catalog() as catalog:
        assert [v.id for v in catalog.visitors.for_event("expo")] == ["v2"]
        assert [e.visitor_id for e in catalog.visitors.enrollments("expo", "default")] == ["v2"]
        assert catalog.outputs.for_event("expo") == []
    assert forget_visitor(services, "expo", "v1").objects_deleted == 0


def test_the_enroll_command_reports_success_and_refusals(
    services: Services, model_pack_dir: Path, photos: dict[str, SamplePhoto], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in setting_names()}
    env.update(
        SCAS_CONFIG_FILE="/nonexistent/scas.yaml",
        SCAS_DATA_DIR=str(tmp_path),
        SCAS_MODELS_DIR=str(model_pack_dir.parent),
        SCAS_DATABASE_URL=services.database_url,
        SCAS_S3_ENDPOINT=services.s3.endpoint,
        SCAS_S3_ACCESS_KEY=services.s3.access_key,
        SCAS_S3_SECRET_KEY=services.s3.secret_key,
        SCAS_BUCKET_ENROLLMENTS=services.settings.bucket_enrollments,
    )

    def scas(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "scas_lib.cli", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    unasked = scas("enroll", "--event", "expo", "--name", "Jacinda", str(photos["ardern1"].path))
    assert unasked.returncode != 0 and "--consent" in unasked.stdout + unasked.stderr
    elsewhere = ("--event", "expo", "--name", "Jacinda", "--consent", "fr")
    unknown = scas("enroll", *elsewhere, str(photos["ardern1"].path))
    assert unknown.returncode == 1
    assert "error: no consent text in 'fr'; this event offers en, zh" in unknown.stdout

    ok = scas(
        "enroll", "--event", "expo", "--name", "Jacinda", "--consent", "zh",
        str(photos["ardern1"].path),
    )  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "enrolled Jacinda as v-" in ok.stdout

    refused = scas(
        "enroll", "--event", "expo", "--name", "Crowd", "--consent", "en", str(photos["t1"].path)
    )
    assert refused.returncode == 1
    assert "error: photo 1: 6 faces are in the photo" in refused.stdout
    assert "Traceback" not in refused.stdout + refused.stderr

    listed = scas("models", "list")
    assert "default (selected)" in listed.stdout and "yes" in listed.stdout


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("Ana 🎉", "emoji or symbol (🎉)"),
        ("Ana\nLee", "invisible or control character (U+000A)"),
        ("A" * 41, "at most 40"),
    ],
)
def test_a_name_the_card_cannot_draw_as_typed_is_refused_before_anything_is_stored(
    services: Services,
    engine: FaceEngine,
    photos: dict[str, SamplePhoto],
    store: ObjectStore,
    name: str,
    complaint: str,
) -> None:
    photo = photos["obama"].path.read_bytes()
    with pytest.raises(ScasError, match=re.escape(complaint)):
        enroll_visitor(
            services, engine, consent=CONSENT, event_id="expo", display_name=name, photos=[photo]
        )
    with services.catalog() as catalog:
        assert catalog.visitors.for_event("expo") == []
    assert store.list(services.settings.bucket_enrollments) == []

    typed = ' 100% "Fan" A\\B 王 %{localtime} '
    result = enroll_visitor(
        services, engine, consent=CONSENT, event_id="expo", display_name=typed, photos=[photo]
    )
    assert result.visitor.display_name == typed.strip()
