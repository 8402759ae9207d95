"""The visitor is the subject of their video, and its cuts are on the beat: generated
footage of real photos (a visitor, and a stranger who steps in front of them), recognized,
planned, rendered and published as the pipeline does, then read back frame by frame with
ffmpeg and the face engine."""

from __future__ import annotations

import math
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from scas_lib.catalog import Catalog
from scas_lib.faces.engine import Face, FaceEngine
from scas_lib.faces.matching import Gallery
from scas_lib.highlights.assembly import timeline
from scas_lib.highlights.records import EditPlan
from scas_lib.highlights.stage import plan_highlights, render_highlight
from scas_lib.highlights.templates import load_template
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.recognition.stage import recognize_segment
from scas_lib.services.runtime import Services
from scas_lib.storage import keys
from scas_lib.storage.object_store import ObjectStore
from scas_lib.visitors.stage import enroll_visitor

from .conftest import CONSENT
from .test_punch_in import decoded

EVENT = "gala"
CAMERA = "hall"
START = datetime(2026, 11, 22, 18, 0, 0, tzinfo=UTC)
FRAME = (1920, 1080)
FPS = 25
SECONDS = 14.0
#: The visitor's face: this tall, its top here, swaying a little around this centre.
VISITOR_FACE_H, VISITOR_TOP, VISITOR_X = 120, 260, 960
#: When the stranger stands in front of the visitor (seconds): their face larger, just below
#: the visitor's chin, over their chest. Otherwise the stranger stands far to the left,
#: smaller.
IN_FRONT = ((0.6, 3.6), (6.2, 8.6))
STRANGER_FRONT_H, STRANGER_AWAY_H = 200, 90


def _face_box(engine: FaceEngine, image: np.ndarray) -> tuple[float, float, float, float]:
    faces = engine.analyze(image, embed=False)
    assert faces, "no face in the sample photo"
    box = max(faces, key=lambda f: f.detection.box[3] - f.detection.box[1]).detection.box
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def _person(
    engine: FaceEngine, photo: Path
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The photo cropped around its face (some hair above, the chest below) and the face's
    box in the crop."""
    image = cv2.imread(str(photo))
    x0, y0, x1, y1 = _face_box(engine, image)
    w, h = x1 - x0, y1 - y0
    left, top = max(0, round(x0 - 0.7 * w)), max(0, round(y0 - 0.35 * h))
    right, bottom = min(image.shape[1], round(x1 + 0.7 * w)), min(image.shape[0], round(y1 + h))
    return image[top:bottom, left:right], (x0 - left, y0 - top, x1 - left, y1 - top)


def _paste(frame: np.ndarray, person: tuple[np.ndarray, tuple], face_h: float, cx: float,
           top: float) -> None:  # fmt: skip
    """``person`` drawn into ``frame`` with their face ``face_h`` tall, its top at ``top``
    and its centre at ``cx``."""
    crop, (fx0, fy0, fx1, fy1) = person
    scale = face_h / (fy1 - fy0)
    scaled = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    x = round(cx - (fx0 + fx1) / 2 * scale)
    y = round(top - fy0 * scale)
    h, w = scaled.shape[:2]
    fx, fy = max(0, x), max(0, y)
    tx, ty = min(frame.shape[1], x + w), min(frame.shape[0], y + h)
    frame[fy:ty, fx:tx] = scaled[fy - y : ty - y, fx - x : tx - x]


def _hall() -> np.ndarray:
    hall = np.zeros((FRAME[1], FRAME[0], 3), np.uint8)
    hall[:] = (70, 80, 90)
    hall[760:] = (40, 55, 75)  # the floor
    for x in range(0, FRAME[0], 160):
        cv2.line(hall, (x, 0), (x, 760), (95, 105, 115), 3)
    return hall


def in_front(t: float) -> bool:
    return any(a <= t < b for a, b in IN_FRONT)


def _write_footage(target: Path, visitor: tuple, stranger: tuple, seconds: float) -> None:
    """A camera's 1080p shot: the visitor in the middle, the stranger far left or, during
    :data:`IN_FRONT`, in front of them."""
    command = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
               "-s", f"{FRAME[0]}x{FRAME[1]}", "-r", str(FPS), "-i", "-",
               "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-bf", "0",
               "-pix_fmt", "yuv420p", str(target)]  # fmt: skip
    hall = _hall()
    with subprocess.Popen(command, stdin=subprocess.PIPE) as ffmpeg:
        assert ffmpeg.stdin is not None
        for n in range(round(seconds * FPS)):
            t = n / FPS
            frame = hall.copy()
            sway = 12 * math.sin(2 * math.pi * t / 5)
            if not in_front(t):
                _paste(frame, stranger, STRANGER_AWAY_H, 260, 330)
            _paste(frame, visitor, VISITOR_FACE_H, VISITOR_X + sway, VISITOR_TOP)
            if in_front(t):
                chin = VISITOR_TOP + VISITOR_FACE_H
                _paste(frame, stranger, STRANGER_FRONT_H, VISITOR_X + 30 + sway, chin + 100)
            ffmpeg.stdin.write(frame.tobytes())
        ffmpeg.stdin.close()
    assert ffmpeg.returncode == 0


def _height(face: Face) -> float:
    return float(face.detection.box[3] - face.detection.box[1])


def _visitor_in(faces: list[Face], template: np.ndarray) -> Face | None:
    """The face most like the visitor's enrolled template, if it is surely them."""
    if not faces:
        return None
    best = max(faces, key=lambda face: float(face.embedding @ template))
    return best if float(best.embedding @ template) >= 0.35 else None


@pytest.fixture
def published(
    services: Services, catalog: Catalog, store: ObjectStore, engine: FaceEngine,
    footage: FaceEngine, photos: dict[str, SamplePhoto], tmp_path: Path,
) -> tuple[EditPlan, Path, Path, np.ndarray]:  # fmt: skip
    """The visitor (a photo of Obama; enrolled from another) and a stranger (Biden) on one
    camera, recognized, planned and rendered with the default template; the published
    plan, video, poster and the visitor's enrolled template."""
    visitor = _person(engine, photos["obama"].path)
    stranger = _person(engine, photos["biden"].path)
    footage_file = tmp_path / "hall.mp4"
    _write_footage(footage_file, visitor, stranger, SECONDS)
    enroll_visitor(
        services, engine, consent=CONSENT, event_id=EVENT, display_name="Barack",
        photos=[photos["obama2"].path.read_bytes()], visitor_id="barack",
    )  # fmt: skip
    bucket = services.settings.bucket_recordings
    store.ensure_bucket(bucket)
    key = keys.segment_key(EVENT, CAMERA, START)
    store.put_file(bucket, key, footage_file, content_type="video/mp4",
                   metadata={"camera": CAMERA, "start-time": START.isoformat(),
                             "duration": str(SECONDS)})  # fmt: skip
    recognize_segment(services, footage, key)
    template = load_template()
    assert plan_highlights(services, EVENT, template) == ["barack"]
    output = render_highlight(services, EVENT, "barack", template)
    assert output.status == "done" and output.object_key and output.poster_key
    highlights = services.settings.bucket_highlights
    video = store.download_file(highlights, output.object_key, tmp_path / "video.mp4")
    poster = store.download_file(highlights, output.poster_key, tmp_path / "poster.jpg")
    plan_json = store.get_bytes(highlights, keys.edit_plan_key(EVENT, "barack")).decode()
    gallery = Gallery.from_enrollments(
        engine.model_pack, catalog.visitors.enrollments(EVENT, engine.model_pack)
    )
    own = gallery.templates[gallery.visitor_ids.index("barack")]
    return EditPlan.from_json(plan_json), video, poster, own


def test_a_visitor_behind_a_stranger_is_trimmed_or_reframed_and_fills_the_shot(
    published: tuple[EditPlan, Path, Path, np.ndarray], engine: FaceEngine
) -> None:
    plan, video, _, own = published
    frames = decoded(video)
    transition = plan.limits.transition_s
    # Every fifth frame of footage, away from the crossfades (where two pictures mix).
    sampled = [
        n
        for item in timeline(plan)
        if item.kind == "clip"
        for n in range(round((item.out_start + transition) * FPS),
                       round((item.out_end - transition) * FPS), 5)
    ]  # fmt: skip
    assert len(sampled) >= 10
    largest, heights = 0, []
    for n in sampled:
        faces = engine.analyze(frames[n])
        visitor = _visitor_in(faces, own)
        if visitor is None:
            continue
        heights.append(_height(visitor) / frames[n].shape[0])
        if all(_height(face) < _height(visitor) for face in faces if face is not visitor):
            largest += 1
    # The visitor is the largest face in the picture in (almost) every frame of footage:
    # the stretches with the stranger in front of them are not in the video.
    assert largest / len(sampled) >= 0.95, (largest, len(sampled))
    # ... and fills the shot: their face at least 0.15 of the picture's height (a wide shot
    # showing them at 0.11 is punched in; 2x is allowed).
    assert float(np.median(heights)) >= 0.15, np.median(heights)


def test_the_poster_shows_the_visitor_largest(
    published: tuple[EditPlan, Path, Path, np.ndarray], engine: FaceEngine
) -> None:
    _, _, poster, own = published
    faces = engine.analyze(cv2.imread(str(poster)))
    visitor = _visitor_in(faces, own)
    assert visitor is not None, "the poster does not show the visitor"
    assert all(_height(face) < _height(visitor) for face in faces if face is not visitor)


def test_the_first_frame_is_a_picture_not_black(
    published: tuple[EditPlan, Path, Path, np.ndarray],
) -> None:
    _, video, _, _ = published
    first = cv2.cvtColor(decoded(video)[0], cv2.COLOR_BGR2GRAY)
    assert float(first.mean()) > 25, float(first.mean())
    assert float(first.std()) > 3, "a flat frame, not a picture"


def _audio(video: Path, rate: int = 22_050) -> np.ndarray:
    pcm = run_ffmpeg(
        ["-i", str(video), "-vn", "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"],
        "audio",
    ).stdout
    return np.frombuffer(pcm, np.float32)


def _beats_heard(video: Path) -> list[float]:
    """Where the soundtrack's low end (under 150 Hz: the kick and the bass, not the
    arpeggio between the beats) rises sharply, seconds from the video's start: its energy
    over a centred 23 ms window (a period of the lowest note), and the peaks of its rise."""
    from scipy.signal import butter, fftconvolve, find_peaks, sosfilt

    rate, window, hop = 22_050, 512, 32
    low = sosfilt(butter(4, 150, "lowpass", fs=rate, output="sos"), _audio(video, rate))
    energy = np.sqrt(fftconvolve(low**2, np.ones(window) / window, mode="same"))[::hop]
    rise = np.maximum(0.0, np.diff(energy, prepend=0.0))
    peaks, _ = find_peaks(rise, height=0.1 * rise.max(), distance=round(0.3 * rate / hop))
    return [float(p * hop / rate) for p in peaks]


def test_cuts_fall_on_the_soundtracks_beats(
    published: tuple[EditPlan, Path, Path, np.ndarray],
) -> None:
    plan, video, _, _ = published
    heard = _beats_heard(video)
    # What is heard is the beat: onsets every 0.6 s (100 bpm), give or take a few ms.
    intervals = np.diff(heard)
    assert len(heard) >= 10 and float(np.median(intervals)) == pytest.approx(0.6, abs=0.02)
    # Every cut of the published video (where a crossfade into the next card or clip
    # begins: the render draws the plan it publishes) is within a frame of a beat heard:
    # intro to the first clip, to the second, to the outro.
    cuts = [item.out_start for item in timeline(plan)[1:]]
    for cut in cuts:
        nearest = min(heard, key=lambda t: abs(t - cut))
        assert abs(nearest - cut) <= 1 / FPS, (cut, nearest, cuts)
    assert len(cuts) >= 3, cuts
