"""Punch-in: the window that follows the visitor (pure), and a render of generated wide
footage that punches in on a photo of a person walking across it."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from scas_lib.highlights.assembly import CopyPiece, SourceFile, assemble
from scas_lib.highlights.punch_in import (
    MAX_ACCEL,
    MAX_ZOOM_ACCEL,
    POINTS_PER_S,
    FramingRules,
    SubjectPath,
    Window,
    WindowPath,
    body_from_face,
    follow,
    follow_subject,
    frame_clips,
)
from scas_lib.highlights.records import EditPlan, PlanLimits, PlannedClip
from scas_lib.highlights.templates import Template, load_template
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.tracks import Box, FaceSample, FaceTrack

T0 = datetime(2026, 5, 1, 10, tzinfo=UTC)
FRAME = (1920, 1080)
RULES = FramingRules(output=FRAME, subject_share=0.5, max_upscale=2.0)


def walk(
    x0: float, x1: float, seconds: float, *, jitter: float = 0.0,
    size: tuple[float, float] = (80, 180), y: float = 600.0, rate: int = 5, seed: int = 1,
) -> list[tuple[datetime, Box]]:  # fmt: skip
    """A subject walking from ``x0`` to ``x1`` (box centres, eased: starting and stopping),
    sampled ``rate`` times a second, each box off by up to ``jitter`` pixels."""
    rng = np.random.default_rng(seed)
    samples = []
    for k in range(round(seconds * rate) + 1):
        t = k / rate
        cx = x0 + (x1 - x0) * (1 - math.cos(math.pi * t / seconds)) / 2
        dx, dy = rng.uniform(-jitter, jitter, 2) if jitter else (0.0, 0.0)
        w, h = size
        box = (cx - w / 2 + dx, y - h / 2 + dy, cx + w / 2 + dx, y + h / 2 + dy)
        samples.append((T0 + timedelta(seconds=t), box))
    return samples


def frames_of(path: WindowPath, seconds: float, fps: int = 25) -> list[Window]:
    return [path.at(n / fps) for n in range(round(seconds * fps) + 1)]


def second_differences(values: list[float], step: int) -> list[float]:
    return [values[n + step] - 2 * values[n] + values[n - step]
            for n in range(step, len(values) - step)]  # fmt: skip


# the follower ---------------------------------------------------------------------------


def test_the_window_keeps_a_walking_visitor_inside_and_moves_with_bounded_acceleration() -> None:
    samples = walk(300, 1500, 6.0, jitter=25)
    path = follow_subject(SubjectPath({"hall": samples}, {"hall": FRAME}), "hall", T0, 6.0, RULES)
    assert path is not None
    for (at, box), window in zip(samples, path.windows, strict=True):
        assert window.contains(box, tolerance=0.0), (at, box, window)
        assert window.x >= 0 and window.x + window.width <= FRAME[0] + 1e-6
    # Velocity changes by at most MAX_ACCEL frame widths/s^2 between points (the path is
    # linear between them), though the boxes jitter by 25 px five times a second.
    dt = 1 / POINTS_PER_S
    centres = [w.x + w.width / 2 for w in path.windows]
    assert max(map(abs, second_differences(centres, 1))) <= MAX_ACCEL * FRAME[0] * dt**2 + 1e-6
    widths = [w.width for w in path.windows]
    assert max(map(abs, second_differences(widths, 1))) <= MAX_ZOOM_ACCEL * FRAME[0] * dt**2 + 1e-6
    # The boxes themselves jerk far more: the follower is what makes it smooth.
    raw = [(b[0] + b[2]) / 2 for _, b in samples]
    assert max(map(abs, second_differences(raw, 1))) > 2 * MAX_ACCEL * FRAME[0] * dt**2


def test_the_follower_catches_up_with_a_jump_without_jerking() -> None:
    targets = [0.0] * 5 + [600.0] * 25
    path = follow(targets, 0.2, max_speed=768, max_accel=576)
    velocities = [(b - a) / 0.2 for a, b in itertools.pairwise(path)]
    assert max(abs(b - a) for a, b in itertools.pairwise(velocities)) <= 576 * 0.2 + 1e-6
    assert max(map(abs, velocities)) <= 768 + 1e-6
    assert path[-1] == pytest.approx(600.0) and max(path) < 600 * 1.02


def test_the_zoom_never_upscales_past_the_limit_nor_the_window_leaves_the_frame() -> None:
    tiny = walk(900, 1000, 3.0, size=(20, 40))  # a far visitor: a box of 40 px
    path = follow_subject(SubjectPath({"hall": tiny}, {"hall": FRAME}), "hall", T0, 3.0, RULES)
    assert path is not None
    assert min(w.width for w in path.windows) == pytest.approx(FRAME[0] / 2)  # 2x, no more
    three = FramingRules(FRAME, 0.5, max_upscale=3.0)
    closer = follow_subject(SubjectPath({"hall": tiny}, {"hall": FRAME}), "hall", T0, 3.0, three)
    assert closer is not None and min(w.width for w in closer.windows) == pytest.approx(640)
    # A box as tall as the window allows: no zoom, so nothing to crop.
    big = walk(900, 1000, 3.0, size=(300, 540))
    assert (
        follow_subject(SubjectPath({"hall": big}, {"hall": FRAME}), "hall", T0, 3.0, RULES) is None
    )


def test_a_visitor_at_the_edge_of_the_frame_gets_the_full_frame() -> None:
    leaving = walk(1200, 1900, 4.0)  # walks out of the picture on the right
    assert (
        follow_subject(SubjectPath({"hall": leaving}, {"hall": FRAME}), "hall", T0, 4.0, RULES)
        is None
    )
    inside = walk(1200, 1700, 4.0)
    assert follow_subject(SubjectPath({"hall": inside}, {"hall": FRAME}), "hall", T0, 4.0, RULES)
    # The vertical cut never falls back: its window is clamped at the edge.
    vertical = FramingRules((1080, 1920), fixed_size=True)
    path = follow_subject(
        SubjectPath({"hall": leaving}, {"hall": FRAME}), "hall", T0, 4.0, vertical
    )
    assert path is not None and path.windows[-1].x + path.windows[-1].width == pytest.approx(1920)
    assert {round(w.width) for w in path.windows} == {608}


def test_a_face_track_gives_an_upper_body_and_punches_in_only_on_wide_cameras() -> None:
    def track(camera: str, face_h: float) -> FaceTrack:
        faces = tuple(FaceSample(t / 5, (900, 300, 900 + face_h * 0.8, 300 + face_h), 0.9, 0.5)
                      for t in range(30))  # fmt: skip
        return FaceTrack(camera, T0, 0, faces, FRAME, "default")

    subjects = SubjectPath.from_face_tracks([track("wide", 50), track("close", 150)])
    (_, body), *_ = subjects.samples("wide")
    assert body == body_from_face((900, 300, 940, 350))
    assert body[3] - body[1] == pytest.approx(50 * 3.4)
    assert subjects.is_wide("wide") and not subjects.is_wide("close")
    template = Template(name="t", intro_s=0, outro_s=0)
    clips = tuple(PlannedClip(c, T0, T0 + timedelta(seconds=5), 1.0) for c in ("wide", "close"))
    plan = EditPlan("expo", "ana", clips, PlanLimits.of(template))
    sizes = {"wide": FRAME, "close": FRAME}
    assert set(frame_clips(plan, sizes, template, subjects).windows) == {clips[0]}
    on = template.model_copy(update={"punch_in": "on"})
    assert set(frame_clips(plan, sizes, on, subjects).windows) == set(clips)
    off = template.model_copy(update={"punch_in": "off"})
    assert not frame_clips(plan, sizes, off, subjects).windows
    # A punched-in clip is encoded; the other is still copied.
    sources = [SourceFile(c, f"{c}.mp4", T0, 125, 25.0, (0, 50, 100), True, *FRAME)
               for c in ("wide", "close")]  # fmt: skip
    framed = frame_clips(plan, sizes, template, subjects).windows
    copied = {p.source.camera_id for p in assemble(plan, sources, 25, framed=set(framed))
              if isinstance(p, CopyPiece)}  # fmt: skip
    assert copied == {"close"}


# a render of generated footage ------------------------------------------------------------

FPS = 25
SECONDS = 6.0
PERSON = (110, 150)  # the photo's size in the wide shot, pixels
BORDER = 5  # a magenta frame around it, to find it in the output
MAGENTA = (255, 0, 255)  # BGR


def grown(t: float) -> float:
    """How much larger than at the start the person looks at ``t``: they walk closer."""
    return 1 + t / SECONDS


def person_box(t: float) -> Box:
    """Where the person is at ``t``: walking right with an easy start and stop, bobbing,
    coming closer."""
    cx = 350 + 1200 * (1 - math.cos(math.pi * t / SECONDS)) / 2
    cy = 640 + 12 * math.sin(2 * math.pi * t * 0.8)
    w, h = person_size(t)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def person_size(t: float) -> tuple[int, int]:
    """The photo's size with its border, at ``t`` (even pixels)."""
    w, h = (round(grown(t) * side / 2) * 2 + 2 * BORDER for side in PERSON)
    return w, h


def wide_shot(photo: SamplePhoto, target: Path) -> None:
    """A 1080p camera's wide shot: a hall's floor and walls, a photo of a person walking."""
    face = cv2.imread(str(photo.path))
    hall = np.zeros((FRAME[1], FRAME[0], 3), np.uint8)
    hall[:] = (70, 80, 90)
    hall[700:] = (40, 55, 75)  # the floor
    for x in range(0, FRAME[0], 160):
        cv2.line(hall, (x, 0), (x, 700), (95, 105, 115), 3)
    for x in range(-2000, 4000, 200):  # the floor's boards, towards a vanishing point
        cv2.line(hall, (960, 300), (x, 1080), (55, 70, 90), 2)
    command = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
               "-s", f"{FRAME[0]}x{FRAME[1]}", "-r", str(FPS), "-i", "-",
               "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-bf", "0",
               "-pix_fmt", "yuv420p", str(target)]  # fmt: skip
    with subprocess.Popen(command, stdin=subprocess.PIPE) as ffmpeg:
        assert ffmpeg.stdin is not None
        for n in range(round(SECONDS * FPS)):
            t = n / FPS
            w, h = person_size(t)
            inner = cv2.resize(face, (w - 2 * BORDER, h - 2 * BORDER), interpolation=cv2.INTER_AREA)
            person = cv2.copyMakeBorder(inner, *(BORDER,) * 4, cv2.BORDER_CONSTANT, value=MAGENTA)
            frame = hall.copy()
            x0, y0, *_ = (round(v) for v in person_box(t))
            frame[y0 : y0 + h, x0 : x0 + w] = person
            ffmpeg.stdin.write(frame.tobytes())
        ffmpeg.stdin.close()
    assert ffmpeg.returncode == 0


def magenta_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    b, g, r = (frame[:, :, i].astype(int) for i in range(3))
    ys, xs = np.nonzero((r > 180) & (b > 180) & (g < 90))
    assert len(xs) > 50, "the person is not in the picture"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def decoded(video: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def test_a_render_punches_in_on_a_wide_shot_and_follows_the_visitor_smoothly(
    photos: dict[str, SamplePhoto], tmp_path: Path
) -> None:
    from scas_lib.highlights.render import CardText, framing_of, probe_source, render

    footage = tmp_path / "wide.mp4"
    wide_shot(photos["obama"], footage)
    source = probe_source(footage, "hall", T0)
    # The subject's boxes as a detector gives them: five a second, a few pixels off.
    rng = np.random.default_rng(3)
    boxes = [(T0 + timedelta(seconds=k / 5),
              tuple(v + rng.uniform(-6, 6) for v in person_box(k / 5)))
             for k in range(round(SECONDS * 5) + 1)]  # fmt: skip
    subjects = SubjectPath({"hall": boxes}, {"hall": FRAME})  # type: ignore[dict-item]
    template = load_template("default", {"intro_s": 0, "outro_s": 0, "transition_s": 0})
    clip = PlannedClip("hall", T0 + timedelta(seconds=0.2), T0 + timedelta(seconds=5.8), 1.0)
    plan = EditPlan("expo", "ana", (clip,), PlanLimits.of(template))
    renders = {}
    for name, subjects_given in (("off", None), ("on", subjects)):
        renders[name] = render(
            plan, [source], template, CardText("", ""), CardText("", ""), tmp_path / name,
            tmp_path / f"{name}.mp4", tmp_path / f"{name}.jpg", subjects=subjects_given,
        )  # fmt: skip
    window_path = framing_of(plan, [source], template, subjects).of(clip)
    assert window_path is not None, "a wide shot (the person a quarter of its height) punches in"
    assert not window_path.fixed_size, "the person comes closer: the window widens"
    assert renders["off"].copied_frames > 0 and renders["on"].copied_frames == 0

    frames = decoded(renders["on"].video)
    assert len(frames) == round(clip.length_s * FPS)
    windows = []
    for n, frame in enumerate(frames):
        t = n / FPS
        x0, y0, x1, y1 = magenta_box(frame)
        # The whole person is in the picture, larger than the camera shows them ...
        assert x0 > 2 and y0 > 2 and x1 < FRAME[0] - 2 and y1 < FRAME[1] - 2, n
        src = person_box(0.2 + t)
        scale = (x1 - x0) / (src[2] - src[0])
        assert 1.5 < scale <= 2.0 + 0.05, n
        # ... where the planned window puts them (to a few output pixels).
        window = window_path.at(t)  # (seconds from the clip's start)
        expected = FRAME[0] / window.width
        # (zoompan's window is whole pixels, at 2x two output pixels each; the person is
        # drawn at whole pixels and their magenta edge goes through 4:2:0 and H.264)
        assert (src[0] - window.x) * expected == pytest.approx(x0, abs=8), n
        assert (src[1] - window.y) * expected == pytest.approx(y0, abs=8), n
        windows.append(window)
    # The window moves smoothly: frame to frame, its velocity changes by at most what
    # MAX_ACCEL allows at a point of the path (and far less in between).
    step = 1 / POINTS_PER_S
    for values in ([w.x for w in windows], [w.y for w in windows], [w.width for w in windows]):
        per_point = second_differences(values, FPS // POINTS_PER_S)
        assert max(map(abs, per_point)) <= MAX_ACCEL * FRAME[0] * step**2 + 1e-6
    # The person as the video shows them glides too: their centre's acceleration, from the
    # decoded frames, is bounded (the raw boxes, 6 px off five times a second, are not).
    centres = [(magenta_box(f)[0] + magenta_box(f)[2]) / 2 for f in frames[:: FPS // POINTS_PER_S]]
    assert max(map(abs, second_differences(centres, 1))) < 40

    # The docs' pictures: the same moment without and with the punch-in.
    folder = Path(os.environ.get("SCAS_SCREENSHOTS_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    at = round(2.4 * FPS)
    for name in ("off", "on"):
        picture = cv2.resize(
            decoded(renders[name].video)[at], (960, 540), interpolation=cv2.INTER_AREA
        )
        cv2.imwrite(str(folder / f"punch-in-{name}.jpg"), picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert (folder / f"punch-in-{name}.jpg").stat().st_size < 300_000
