"""``scas simulate``: write a synthetic event to a directory.

::

    <event dir>/
      event.json                          cameras, segments (key, UTC start, duration), cast
      ground_truth.json                   when each person is visible on each camera
      plan.json                           every choice the generator made
      preview.jpg                         a frame grid: cameras x moments
      recordings/<camera>/<UTC start>.mp4 the segments, as a recorder writes them
      enrollments/<visitor>/<n>.jpg       kiosk photos (never used in the footage)

Segments are encoded as IP cameras send: H.264 main profile (CABAC, deblocking, no
B-frames) at 4 Mbit/s, 25 fps, a 2 s GOP; in MP4 with the index at the front (a file cut
short still plays up to the cut), with a non-zero first timestamp: the camera's stream
offset plus the segment's place in the stream, as a recorder cutting a live stream writes.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import subprocess
import typing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from scas_lib.errors import ScasError
from scas_lib.faces.engine import FaceEngine
from scas_lib.media.ffmpeg import finish, require, start_ffmpeg
from scas_lib.simulation.background import background_for, find_background_video
from scas_lib.simulation.people import SourcePhoto, cast, cut_sprites
from scas_lib.simulation.plan import EventPlan, SimulationConfig, plan_event
from scas_lib.simulation.scene import ScaledSprites, Sprite, SpriteGeometry, render_frame
from scas_lib.simulation.truth import ground_truth
from scas_lib.storage import keys

log = logging.getLogger(__name__)

#: The file that marks a folder as the generator's own, from the start of a generation.
GENERATOR_MARK = ".scas-generated"

CLOCK = (
    "Times are seconds since event.start_time (UTC). A segment starting k * segment_s "
    "seconds into the event has start_time = event start + k * segment_s; a frame's time is "
    "its segment's start_time plus the frame's offset from the segment's first frame."
)


@dataclass(frozen=True)
class SegmentRecord:
    camera_id: str
    path: str  # relative to the event directory
    key: str  # inside the recordings bucket
    start_time: str  # UTC ISO 8601
    duration_s: float
    corrupt: bool = False


@dataclass(frozen=True)
class GeneratedEvent:
    directory: Path
    plan: EventPlan
    segments: tuple[SegmentRecord, ...]
    truth: dict[str, dict[str, list[tuple[float, float]]]]
    #: Where the face is in each sprite: with the plan, the box of any face at any time.
    sprite_geometry: dict[str, SpriteGeometry]
    #: When any of each person's face is in frame (visible or not).
    presence: dict[str, dict[str, list[tuple[float, float]]]]
    #: When each person is visible smiling (people whose photos are labelled smile in some).
    smiles: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)


def generate_event(
    directory: Path,
    config: SimulationConfig,
    start: datetime,
    engine: FaceEngine,
    photos: list[SourcePhoto],
    *,
    background_video: Path | bool | None = True,
) -> GeneratedEvent:
    """Plan, render, encode and describe an event in ``directory`` (replaced if present).

    ``background_video`` True looks for ``vtest.avi``; a path uses that video; None or
    False draws a venue instead. The cameras are recorded in spawned processes: a script
    that calls this runs it under ``if __name__ == "__main__":``, as multiprocessing asks.
    """
    if start.tzinfo is None:
        raise ValueError("the event start must be timezone-aware")
    require("ffmpeg")
    _check_folder_for_a_new_event(directory)
    rng = np.random.default_rng(config.seed)
    sprites = cut_sprites(engine, photos)
    people = cast(photos, sprites, strangers=config.strangers, rng=rng)
    if not any(person.role == "visitor" for person in people):
        raise ValueError("no person has two usable photos: nobody can be a visitor")
    plan = plan_event(config, people)
    video = find_background_video() if background_video is True else (background_video or None)

    if directory.exists():
        shutil.rmtree(directory)  # empty, or an earlier generated event
    (directory / "recordings").mkdir(parents=True)
    (directory / GENERATOR_MARK).touch()  # so that an interrupted generation can be replaced
    _write_enrollments(directory, plan, photos)
    segments: list[SegmentRecord] = []
    preview: list[NDArray[np.uint8]] = []
    # Rendering is one Python thread per camera and leaves a core idle while ffmpeg
    # encodes: cameras recorded in parallel processes keep both busy. The workers are
    # spawned, not forked: a fork copies whatever lock another thread of the caller holds
    # (a logging handler's, onnxruntime's), and a child that then logs waits forever.
    with ProcessPoolExecutor(
        max_workers=min(len(plan.cameras), os.cpu_count() or 1),
        mp_context=multiprocessing.get_context("spawn"),
    ) as pool:
        recorded = pool.map(
            _record_camera,
            *zip(
                *[(directory, plan, c.id, start, sprites, video) for c in plan.cameras], strict=True
            ),
        )
        for camera_segments, camera_preview in recorded:
            segments += camera_segments
            preview += camera_preview
    if config.corrupt_segment:
        segments = _corrupt_one(directory, segments, rng)
    geometry = {name: sprite.geometry for name, sprite in sprites.items()}
    truth = ground_truth(plan, geometry)
    presence = ground_truth(plan, geometry, present=True)
    smiles = ground_truth(plan, geometry, smiling=True)
    _write_json(directory / "plan.json", plan.as_dict())
    _write_json(directory / "event.json", _event_record(plan, start, segments, video))
    _write_json(
        directory / "ground_truth.json",
        {
            "event_id": config.event_id,
            "start_time": start.isoformat(),
            "clock": CLOCK,
            "min_face_px": config.min_face_px,
            "visitors": [p.id for p in people if p.role == "visitor"],
            "strangers": [p.id for p in people if p.role == "stranger"],
            "corrupt_segments": [s.key for s in segments if s.corrupt],
            "appearances": truth,
            "present": presence,
            # When each person is visible smiling (photos labelled "happy" by the photo set).
            "smiling": smiles,
        },
    )
    cv2.imwrite(str(directory / "preview.jpg"), _grid(preview, columns=3))
    return GeneratedEvent(directory, plan, tuple(segments), truth, geometry, presence, smiles)


def _record_camera(
    directory: Path,
    plan: EventPlan,
    camera_id: str,
    start: datetime,
    sprites: dict[str, Sprite],
    video: Path | None,
) -> tuple[list[SegmentRecord], list[NDArray[np.uint8]]]:
    """Render and encode one camera's segments; return them and its preview frames."""
    config = plan.config
    camera = plan.camera(camera_id)
    background = background_for(camera, video, config.seed)
    scaled: ScaledSprites = {}
    frames_per_segment = round(config.segment_s * config.fps)
    segment_count = int(config.duration_s // config.segment_s)
    preview_frames = {int(segment_count * frames_per_segment * f) for f in (0.2, 0.5, 0.8)}
    records = []
    preview: list[NDArray[np.uint8]] = []
    for index in range(segment_count):
        segment_start = start + timedelta(seconds=index * config.segment_s)
        key = keys.segment_key(config.event_id, camera_id, segment_start)
        path = directory / "recordings" / camera_id / Path(key).name
        path.parent.mkdir(parents=True, exist_ok=True)
        offset = camera.stream_start_s + index * config.segment_s
        encoder = _encoder(path, camera.width, camera.height, config.fps, config.gop_s, offset)
        assert encoder.stdin is not None
        for frame_number in range(frames_per_segment):
            number = index * frames_per_segment + frame_number
            t = number / config.fps
            frame = render_frame(plan, camera_id, t, background.frame(t), sprites, scaled)
            if number in preview_frames:
                preview.append(_label(frame, f"{camera_id}  t={t:.1f}s"))
            encoder.stdin.write(np.ascontiguousarray(frame).data)
        finish(encoder, f"writing {path.name}")
        records.append(
            SegmentRecord(
                camera_id,
                str(path.relative_to(directory)),
                key,
                segment_start.isoformat(),
                config.segment_s,
            )
        )
        log.info("wrote %s", path.relative_to(directory))
    return records, preview


def _encoder(
    path: Path, width: int, height: int, fps: int, gop_s: float, offset: float
) -> subprocess.Popen[bytes]:
    gop = round(gop_s * fps)
    return start_ffmpeg(
        [
            "-y",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", str(fps),
            "-i", "-",
            # Like an IP camera: main profile, CABAC and deblocking, no B-frames, 4 Mbit/s.
            # (x264's ultrafast would write a stream that decodes 3-4x cheaper than a
            # camera's, and flatter every speed measured on it.)
            "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-bf", "0",
            "-b:v", "4M", "-maxrate", "4M", "-bufsize", "4M", "-pix_fmt", "yuv420p",
            "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
            "-output_ts_offset", f"{offset:.3f}",
            "-movflags", "+faststart",
            str(path),
        ],
    )  # fmt: skip


def _corrupt_one(
    directory: Path, segments: list[SegmentRecord], rng: np.random.Generator
) -> list[SegmentRecord]:
    """Cut one segment short, as a recorder that lost power mid-segment leaves it."""
    later = [s for s in segments if s.start_time != segments[0].start_time] or segments
    victim = later[int(rng.integers(len(later)))]
    path = directory / victim.path
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.45)])
    return [SegmentRecord(**{**asdict(s), "corrupt": True}) if s is victim else s for s in segments]


def _check_folder_for_a_new_event(directory: Path) -> None:
    """Only an empty folder or an event written there before (its ``event.json``, or the
    generator's mark when the generation was interrupted) may be replaced by a new event;
    anything else is refused before any work, so a mistyped path never deletes someone's
    files."""
    if not directory.exists():
        return
    if not directory.is_dir():
        raise ScasError(f"{directory} is a file, not a folder for a generated event")
    ours = (directory / GENERATOR_MARK).is_file() or (directory / "event.json").is_file()
    if any(directory.iterdir()) and not ours:
        raise ScasError(
            f"{directory} holds files that are not a generated event: give an empty or new "
            "folder (nothing was deleted)"
        )


def _write_enrollments(directory: Path, plan: EventPlan, photos: list[SourcePhoto]) -> None:
    by_name = {photo.name: photo for photo in photos}
    for person in plan.people:
        for index, name in enumerate(person.enrollment_photos):
            target = directory / "enrollments" / person.id / f"{index}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            image = cv2.imread(str(by_name[name].path))
            if image is None:  # read before, when its sprite was cut
                raise ScasError(f"cannot read the photo {by_name[name].path}")
            cv2.imwrite(str(target), image, [cv2.IMWRITE_JPEG_QUALITY, 95])


def _event_record(
    plan: EventPlan, start: datetime, segments: list[SegmentRecord], video: Path | None
) -> dict[str, object]:
    config = plan.config
    return {
        "event_id": config.event_id,
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(seconds=config.duration_s)).isoformat(),
        "config": asdict(config),
        "background": str(video) if video else "drawn",
        "cameras": [
            {"id": c.id, "width": c.width, "height": c.height, "stream_start_s": c.stream_start_s}
            for c in plan.cameras
        ],
        "segments": [asdict(segment) for segment in segments],
        "people": [
            {
                "id": person.id,
                "role": person.role,
                "identity": person.identity,
                "enrollment_photos": [
                    f"enrollments/{person.id}/{index}.jpg"
                    for index in range(len(person.enrollment_photos))
                ],
                # When they are at the event (seconds since its start): early leavers and
                # visitors who come back have planned windows.
                "presence": [list(window) for window in plan.windows(person.id)],
            }
            for person in plan.people
        ],
    }


def _write_json(path: Path, data: dict[str, object]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _label(frame: NDArray[np.uint8], text: str) -> NDArray[np.uint8]:
    size = (640, int(640 * frame.shape[0] / frame.shape[1]))
    small = typing.cast(NDArray[np.uint8], cv2.resize(frame, size))
    cv2.putText(small, text, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(
        small, text, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA
    )
    return small


def _grid(images: list[NDArray[np.uint8]], columns: int) -> NDArray[np.uint8]:
    """Tiles of equal width, row by row (shorter tiles padded black)."""
    height = max(image.shape[0] for image in images)
    tiles = [
        cv2.copyMakeBorder(i, 0, height - i.shape[0], 0, 0, cv2.BORDER_CONSTANT) for i in images
    ]
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [cv2.hconcat(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return typing.cast(NDArray[np.uint8], cv2.vconcat(rows))
