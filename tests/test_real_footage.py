"""Recognition on edited real footage: real people's photos (the registry sample photos)
over real street video (Debian's vtest.avi), cut like an uploaded video or a broadcast.

Each clip is 640x360 at 25 fps. In the cut clip, three shots put three different people's
faces at the same place in the picture, so that only the cuts can tell their tracks apart;
the crossing clip has two people walking past each other in one shot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from scas_lib.catalog import Enrollment
from scas_lib.faces import FaceEngine, Gallery
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.headcount import Headcount, count_people
from scas_lib.recognition.pipeline import SegmentResult, recognize_video
from scas_lib.simulation.background import find_background_video

# Starts programs of its own (ffmpeg, an RTSP camera, Airflow, the scas command): not fast.
pytestmark = pytest.mark.programs

SIZE = (640, 360)
FPS = 25
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
#: (photo in the clip, the same person's other photo to enroll from)
PEOPLE = {"obama": ("obama", "obama2"), "macron": ("macron1", "macron2"),
          "ardern": ("ardern1", "ardern2")}  # fmt: skip


def _street() -> cv2.VideoCapture:
    video = find_background_video()
    assert video is not None, "vtest.avi is missing: run `make system-deps`"
    return cv2.VideoCapture(str(video))


def _paste(frame: np.ndarray, photo: np.ndarray, center: tuple[int, int], height: int) -> None:
    """The photo, scaled to ``height``, over the frame at ``center`` (clipped at the edges)."""
    scale = height / photo.shape[0]
    scaled = cv2.resize(photo, (round(photo.shape[1] * scale), height))
    x0, y0 = center[0] - scaled.shape[1] // 2, center[1] - height // 2
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(frame.shape[1], x0 + scaled.shape[1]), min(frame.shape[0], y0 + height)
    frame[fy0:fy1, fx0:fx1] = scaled[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]


def _write(path: Path, frames: int, draw: Callable[[int, np.ndarray], None]) -> Path:
    street = _street()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for number in range(frames):
        ok, frame = street.read()
        assert ok
        frame = cv2.resize(frame, SIZE)
        draw(number, frame)
        writer.write(frame)
    writer.release()
    street.release()
    return path


def _read(photos: dict[str, SamplePhoto], name: str) -> np.ndarray:
    image = cv2.imread(str(photos[name].path))
    assert image is not None
    return image


def _gallery(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> Gallery:
    enrollments = []
    for person, (_, enrolled_from) in PEOPLE.items():
        (face,) = engine.analyze(_read(photos, enrolled_from))
        embedding = tuple(float(v) for v in face.embedding)
        enrollments.append(Enrollment("clip", person, "0.jpg", engine.model_pack, embedding, 1))
    return Gallery.from_enrollments(engine.model_pack, enrollments)


def _recognize(
    path: Path, engine: FaceEngine, footage: FaceEngine, photos: dict[str, SamplePhoto]
) -> SegmentResult:
    gallery = _gallery(engine, photos)
    thresholds = engine.pack.manifest.thresholds
    return recognize_video(path, "clip", START, footage, gallery, thresholds)


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, SamplePhoto]) -> Path:
    """Three 2 s shots, each of another person at the same place, with hard cuts at 2 s
    and 4 s; the second shot is the street mirrored, the third the street in grey."""
    faces = [_read(photos, PEOPLE[person][0]) for person in ("obama", "macron", "ardern")]

    def draw(number: int, frame: np.ndarray) -> None:
        shot = number // (2 * FPS)
        if shot == 1:
            frame[:] = frame[:, ::-1]
        elif shot == 2:
            frame[:] = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        drift = number % (2 * FPS)  # each shot moves in slowly, as a camera operator would
        _paste(frame, faces[shot], (320 + drift, 180), 260)

    return _write(tmp_path_factory.mktemp("cuts") / "cuts.mp4", 6 * FPS, draw)


def test_no_track_spans_a_hard_cut_and_each_shot_has_its_person(
    cut_clip: Path, engine: FaceEngine, footage: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    result = _recognize(cut_clip, engine, footage, photos)

    assert result.cuts == pytest.approx((2.0, 4.0), abs=0.21)
    shots = [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    for track in result.tracks:
        times = [sample.offset_s for sample in track.samples]
        assert any(start <= min(times) and max(times) < end for start, end in shots), times
    named = {
        shot: {t.visitor_id for t in result.tracks if start <= t.samples[0].offset_s < end}
        for shot, (start, end) in enumerate(shots)
    }
    # The person present only after a cut is found, and nobody is named outside their shot.
    assert named == {0: {"obama"}, 1: {"macron"}, 2: {"ardern"}}
    # Each track keeps the evidence of its embedded faces, one a second at least, for review.
    for track in result.tracks:
        evidence = [(s.similarity, s.runner_up) for s in track.samples if s.similarity is not None]
        assert len(evidence) >= track.duration_s // 1
        if track.visitor_id:
            assert max(similarity - runner_up for similarity, runner_up in evidence) > 0.1


def test_the_people_seen_are_counted_enrolled_or_not(
    cut_clip: Path, engine: FaceEngine, footage: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    """Only Obama is enrolled: the other two people of the cut clip count as two others."""
    gallery = _gallery(engine, photos)
    only_obama = Gallery(
        gallery.model_pack, ("obama",), gallery.templates[[gallery.visitor_ids.index("obama")]]
    )
    thresholds = engine.pack.manifest.thresholds
    result = recognize_video(cut_clip, "clip", START, footage, only_obama, thresholds)

    floor = RecognitionConfig().probe_min_quality
    counted = count_people(result.tracks, thresholds.match, min_quality=floor)
    assert counted == Headcount(enrolled_seen=1, others=2)


@pytest.fixture(scope="module")
def swap_clip(
    tmp_path_factory: pytest.TempPathFactory, photos: dict[str, SamplePhoto], engine: FaceEngine
) -> Path:
    """One shot of the street, 4 s: Obama's face, then from 2 s Emmanuel Macron's in the
    very same box, with no cut (the street goes on): only their faces tell them apart."""
    faces = [_face_crop(engine, _read(photos, PEOPLE[p][0])) for p in ("obama", "macron")]

    def draw(number: int, frame: np.ndarray) -> None:
        _paste(frame, faces[number // (2 * FPS)], (320, 180), 200)

    return _write(tmp_path_factory.mktemp("swap") / "swap.mp4", 4 * FPS, draw)


def _face_crop(engine: FaceEngine, photo: np.ndarray) -> np.ndarray:
    """The photo cut to the detected face with a margin, so that two people's crops pasted
    at one size put their faces in the same box."""
    (face,) = engine.analyze(photo, embed=False)
    x1, y1, x2, y2 = (int(v) for v in face.detection.box)
    margin = (y2 - y1) // 3
    return photo[max(0, y1 - margin) : y2 + margin, max(0, x1 - margin) : x2 + margin].copy()


def test_a_face_replaced_at_the_same_place_without_a_cut_is_two_tracks(
    swap_clip: Path, engine: FaceEngine, footage: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    result = _recognize(swap_clip, engine, footage, photos)

    assert result.cuts == ()  # the street goes on: the content score stays low
    spans = sorted(
        (t.samples[0].offset_s, t.samples[-1].offset_s, t.visitor_id) for t in result.tracks
    )
    assert [visitor for *_, visitor in spans] == ["obama", "macron"]
    (_, obama_end, _), (macron_start, _, _) = spans
    assert obama_end < 2.0 <= macron_start


@pytest.fixture(scope="module")
def crossing_clip(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, SamplePhoto]) -> Path:
    """Two people walking past each other in front of a fixed camera over 4 s: Obama from
    the left, Jacinda Ardern from the right, crossing in the middle at the same height."""
    left, right = _read(photos, "obama"), _read(photos, "ardern1")
    frames = 4 * FPS

    def draw(number: int, frame: np.ndarray) -> None:
        x = round(60 + (SIZE[0] - 120) * number / (frames - 1))
        _paste(frame, right, (SIZE[0] - x, 190), 150)
        _paste(frame, left, (x, 170), 150)

    return _write(tmp_path_factory.mktemp("crossing") / "crossing.mp4", frames, draw)


def test_two_people_crossing_keep_their_own_identities(
    crossing_clip: Path, engine: FaceEngine, footage: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    result = _recognize(crossing_clip, engine, footage, photos)

    assert result.cuts == ()
    for track in result.tracks:
        if track.visitor_id is None:
            continue
        # Obama walks right, Ardern walks left: a track that changes direction changed person.
        xs = [sample.center[0] for sample in track.samples]
        moving_right = xs[-1] > xs[0] if len(xs) > 1 else None
        assert moving_right in (None, track.visitor_id == "obama"), (track.visitor_id, xs)
    assert {t.visitor_id for t in result.tracks} >= {"obama", "ardern"}
