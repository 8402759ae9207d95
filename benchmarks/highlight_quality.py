"""Highlight quality judged on the published videos, output frame by output frame.

For each seed, generates an event from a faces folder (the layout of ../shared/faces; one
half of its people, ``--half``, split as the other benchmarks split it; ``--visitors`` of
them with two or more photos are visitors), and runs it end to end through the stage
functions the ``scas`` command and the DAG call, on embedded PostgreSQL and SeaweedFS in a
scratch folder: enroll (kiosk photo), replay the segments into the recordings bucket,
recognize every segment, plan, render and publish (the 16:9 video, its 9:16 cut, the
poster). Then every published video is scored against the generator's ground truth, frame
by frame: the render's record (``<visitor>.frames.json``) says which camera frame each output
frame shows and through which window; the plan says where every face is in it
(:mod:`scas_lib.simulation.judge`).

As a check on the record and the render, the face detector runs on the decoded output
frames (2 per second of footage), around the box where the truth puts the visitor (three
times its size, so that a small face is not shrunk away): ``engine_agreement`` is the
share of the frames in which the truth shows the visitor visible where a detected face
is at that box (IoU >= 0.3): a wrong offset, crop or a black frame pulls it down.

Keys (mean over videos unless said), each also with a ``vertical_`` prefix for the 9:16
cut (which has no poster of its own):

- ``subject_visible_share``: footage frames in which the visitor's face is visible in the
  picture; ``subject_visible_share_min``: of the worst video;
- ``subject_largest_share``: footage frames in which it is the largest visible face;
- ``subject_face_height_median``: its height over the output's (each video's median);
  ``max_upscale``: the most output pixels per camera pixel (the template's limit beside);
- ``clips_without_subject``, ``black_first_frames``: counts over all videos;
- ``footage_share_min``: footage frames over all frames, of the worst video;
- ``poster_subject_share``: posters (found among the video's frames) that show the visitor
  visible and largest;
- ``smile_lift``: the smiling share of a video's footage over the smiling share of the
  visitor's visible time at the event, for visitors who smile in 20-80 % of it (casts
  whose photos are labelled: ``benchmarks/expression_cast.py``); null when none does;
- ``beat_aligned_cuts``: cuts (a transition's start or end) within one frame of a beat of
  the generated soundtrack (its bpm grid from the video's start); null for other music.

    .venv/bin/python benchmarks/highlight_quality.py --faces ../shared/faces
        [--half held-out] [--seeds 0,1,2] [--visitors 3] [--cameras 2] [--duration 30]
        [--work DIR] [--json]

``--work`` keeps the generated events (reused by a later run with the same settings) and
the downloaded videos.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from footage import kept_event
from generated import START

from scas_lib.events import ConsentText, EventConfig
from scas_lib.faces.engine import FaceEngine
from scas_lib.highlights.assembly import timeline
from scas_lib.highlights.music import BPM
from scas_lib.highlights.records import EditPlan
from scas_lib.highlights.shown import FrameRecord
from scas_lib.highlights.templates import load_template
from scas_lib.provisioning.install import install_default_pack
from scas_lib.run import planning, publishing, recognition, waves
from scas_lib.run.parameters import run_request, start_run
from scas_lib.run.records import EventRun
from scas_lib.services import runtime
from scas_lib.settings import Settings
from scas_lib.simulation.generate import GeneratedEvent
from scas_lib.simulation.judge import faces_in_frame, is_largest, judge_video, subject_in
from scas_lib.simulation.people import folder_photos, with_visitors
from scas_lib.simulation.plan import SimulationConfig
from scas_lib.simulation.truth import total
from scas_lib.storage import keys
from scas_lib.tracks import iou
from scas_lib.visitors.stage import enroll_visitor

#: key -> (comparison, goal)
GOALS: dict[str, tuple[str, float]] = {
    "subject_visible_share": (">=", 0.95),
    "subject_visible_share_min": (">=", 0.85),
    "subject_largest_share": (">=", 0.8),
    "subject_face_height_median": (">=", 0.15),
    "clips_without_subject": ("<=", 0),
    "black_first_frames": ("<=", 0),
    "footage_share_min": (">=", 0.6),
    "poster_subject_share": (">=", 1.0),
    "smile_lift": (">=", 1.5),
    "beat_aligned_cuts": (">=", 0.9),
    "engine_agreement": (">=", 0.9),
}
SAMPLES_PER_S = 2
SMILE_BAND = (0.2, 0.8)
OVERRIDES = {"vertical": True}


@dataclass
class Judged:
    """One published video (16:9 or 9:16) of one visitor, scored."""

    #: ``<event>/<visitor>``
    visitor: str
    visible_share: float
    largest_share: float
    face_height_median: float
    clips_without_subject: int
    footage_share: float
    max_upscale: float
    black_first_frame: bool
    smiling_share: float
    #: Sampled footage frames where the truth shows the visitor, and of them those in which
    #: the detector finds a face at their box.
    truth_visible_samples: int = 0
    engine_found: int = 0
    cuts: int = 0
    cuts_on_beat: int = 0
    poster_ok: bool | None = None
    smile_lift: float | None = None
    extra: dict[str, float] = field(default_factory=dict)


def run_event(services: runtime.Services, engine: FaceEngine, event: GeneratedEvent) -> list[str]:
    """Enroll, replay, recognize, plan and render the event as ``scas`` does; the visitors
    whose video was published."""
    event_id = event.plan.config.event_id
    consent = ConsentText().agreed("en", START)
    for person in event.plan.people:
        if person.role != "visitor":
            continue
        photo = (event.directory / "enrollments" / person.id / "0.jpg").read_bytes()
        try:
            enroll_visitor(
                services, engine, consent=consent, event_id=event_id,
                display_name=person.identity, photos=[photo], visitor_id=person.id,
            )  # fmt: skip
        except Exception as error:  # one bad kiosk photo never stops the others
            print(f"  {person.id}: not enrolled ({error})", file=sys.stderr)
    from scas_lib.simulation.replay import replay_event

    replay_event(event.directory, services.object_store(), services.settings.bucket_recordings,
                 speed=0)  # fmt: skip
    config = EventConfig.model_validate(
        {"id": event_id, "name": "Highlight quality",
         "cameras": [{"id": camera.id} for camera in event.plan.cameras],
         "template_overrides": OVERRIDES}
    )  # fmt: skip
    run = EventRun(config, run_request(config, {}), from_file=True)
    start_run(services, run)
    for key in waves.segments_to_recognize(services, run.request, None):
        try:
            recognition.recognize(services, key, config)
        except recognition.SegmentFailed as failed:
            print(f"  {key}: {failed.outcome.error}", file=sys.stderr)
    published = []
    for visitor in planning.highlights(services, run.request, every=True):
        output = publishing.render(services, run.request, visitor)
        if output.status == "done":
            published.append(visitor)
    return published


def judge_visitor(
    services: runtime.Services,
    event: GeneratedEvent,
    visitor: str,
    folder: Path,
    engine: FaceEngine,
) -> list[tuple[str, Judged]]:
    """The visitor's published videos, scored: ("", 16:9) and ("vertical_", 9:16)."""
    store, bucket = services.object_store(), services.settings.bucket_highlights
    event_id = event.plan.config.event_id
    folder.mkdir(parents=True, exist_ok=True)
    plan = EditPlan.from_json(
        store.get_bytes(bucket, keys.edit_plan_key(event_id, visitor)).decode()
    )
    records = json.loads(store.get_bytes(bucket, keys.frames_key(event_id, visitor)))
    poster = store.download_file(
        bucket, keys.poster_key(event_id, visitor), folder / f"{visitor}.jpg"
    )
    judged = []
    for prefix, name, key in (
        ("", "video", keys.highlight_key(event_id, visitor)),
        ("vertical_", "vertical", keys.vertical_key(event_id, visitor)),
    ):
        if name not in records or not store.exists(bucket, key):
            continue
        video = store.download_file(bucket, key, folder / Path(key).name)
        record = FrameRecord.from_json(json.dumps(records[name]))
        own_poster = None if prefix else poster  # the 9:16 cut has no poster of its own
        judged.append((prefix, judge_one(event, visitor, plan, record, video, own_poster, engine)))
    return judged


def judge_one(
    event: GeneratedEvent,
    visitor: str,
    plan: EditPlan,
    record: FrameRecord,
    video: Path,
    poster: Path | None,
    engine: FaceEngine,
) -> Judged:
    score = judge_video(event.plan, event.sprite_geometry, START, record, visitor, len(plan.clips))
    output = (record.width, record.height)
    step = round(record.fps / SAMPLES_PER_S)
    judged = Judged(
        f"{event.plan.config.event_id}/{visitor}", score.visible_share, score.largest_share,
        score.face_height_median, score.clips_without_subject, score.footage_share,
        score.max_upscale, False, score.smiling_share,
    )  # fmt: skip
    thumbs: list[np.ndarray] = []
    capture = cv2.VideoCapture(str(video))
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index == 0:
            judged.black_first_frame = float(frame.mean()) < 16
        thumbs.append(cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (96, 96)))
        shown = record.frames[index] if index < len(record.frames) else None
        if shown is not None and shown.kind == "clip" and index % step == 0:
            faces = faces_in_frame(event.plan, event.sprite_geometry, START, shown, output)
            subject = subject_in(faces, visitor)
            if subject is not None:
                judged.truth_visible_samples += 1
                judged.engine_found += face_found_at(engine, frame, subject.box)
        index += 1
    capture.release()
    judged.extra["decoded_frames"] = index
    judged.extra["recorded_frames"] = len(record.frames)
    if poster is not None:
        judged.poster_ok = poster_shows_visitor(event, visitor, record, poster, thumbs)
    judged.cuts, judged.cuts_on_beat = cuts_on_beat(plan, record.fps)
    seen = sum(total(v) for v in event.truth.get(visitor, {}).values())
    # (an event kept by code before the smiles has none: no smile_lift)
    smiles = getattr(event, "smiles", {})
    smiled = sum(total(v) for v in smiles.get(visitor, {}).values())
    if seen and SMILE_BAND[0] <= smiled / seen <= SMILE_BAND[1]:
        judged.smile_lift = score.smiling_share / (smiled / seen)
    return judged


def face_found_at(engine: FaceEngine, frame: np.ndarray, box: tuple[float, ...]) -> bool:
    """Whether the detector finds a face at ``box`` (IoU >= 0.3), looking at the part of
    the frame around it (three times its size): a whole 1080p frame is shrunk to the
    detector's input, where a small face is lost, while a wrong offset or window still
    leaves no face at the box."""
    x0, y0, x1, y1 = box
    reach = 1.5 * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = max(0, int(cx - reach)), max(0, int(cy - reach))
    right = min(frame.shape[1], int(cx + reach))
    bottom = min(frame.shape[0], int(cy + reach))
    if right - left < 8 or bottom - top < 8:
        return False
    region = np.ascontiguousarray(frame[top:bottom, left:right])
    for found in engine.detector.detect(region) or engine.detector.detect(region, pad=0.5):
        placed = (float(found.box[0]) + left, float(found.box[1]) + top,
                  float(found.box[2]) + left, float(found.box[3]) + top)  # fmt: skip
        if iou(placed, (x0, y0, x1, y1)) >= 0.3:
            return True
    return False


def poster_shows_visitor(
    event: GeneratedEvent, visitor: str, record: FrameRecord, poster: Path,
    thumbs: list[np.ndarray],
) -> bool:  # fmt: skip
    """Whether the poster, found as the video frame nearest to it, shows the visitor
    visible and largest."""
    image = cv2.imread(str(poster), cv2.IMREAD_GRAYSCALE)
    small = cv2.resize(image, (96, 96)).astype(np.float32)
    distances = [float(np.abs(thumb.astype(np.float32) - small).mean()) for thumb in thumbs]
    best = int(np.argmin(distances))
    if best >= len(record.frames):
        return False
    faces = faces_in_frame(event.plan, event.sprite_geometry, START, record.frames[best],
                           (record.width, record.height))  # fmt: skip
    subject = subject_in(faces, visitor)
    return subject is not None and is_largest(faces, subject)


def cuts_on_beat(plan: EditPlan, fps: int) -> tuple[int, int]:
    """The plan's cuts, and those whose transition starts or ends within a frame of a beat
    of the generated music (its grid from the video's start)."""
    items = timeline(plan)
    beat = 60.0 / BPM
    cuts = on_beat = 0
    for item in items[1:]:
        cuts += 1
        ends = (item.out_start, item.out_start + plan.limits.transition_s)
        on_beat += any(abs(t - round(t / beat) * beat) <= 1.0 / fps + 1e-6 for t in ends)
    return cuts, on_beat


def summary(judged: list[tuple[str, Judged]], music_generated: bool) -> dict[str, object]:
    report: dict[str, object] = {}
    for prefix in ("", "vertical_"):
        own = [j for p, j in judged if p == prefix]
        if not own:
            continue

        def mean(values: list[float]) -> float | None:
            return round(statistics.fmean(values), 3) if values else None

        lifts = [j.smile_lift for j in own if j.smile_lift is not None]
        posters = [j.poster_ok for j in own if j.poster_ok is not None]
        samples = sum(j.truth_visible_samples for j in own)
        cuts = sum(j.cuts for j in own)
        report |= {
            f"{prefix}subject_visible_share": mean([j.visible_share for j in own]),
            f"{prefix}subject_visible_share_min": round(min(j.visible_share for j in own), 3),
            f"{prefix}subject_largest_share": mean([j.largest_share for j in own]),
            f"{prefix}subject_face_height_median": mean([j.face_height_median for j in own]),
            f"{prefix}max_upscale": round(max(j.max_upscale for j in own), 2),
            f"{prefix}clips_without_subject": sum(j.clips_without_subject for j in own),
            f"{prefix}black_first_frames": sum(j.black_first_frame for j in own),
            f"{prefix}footage_share_min": round(min(j.footage_share for j in own), 3),
            f"{prefix}poster_subject_share": mean([float(p) for p in posters]),
            f"{prefix}smile_lift": mean(lifts),
            f"{prefix}smile_lift_visitors": len(lifts),
            f"{prefix}beat_aligned_cuts": (
                round(sum(j.cuts_on_beat for j in own) / cuts, 3)
                if cuts and music_generated
                else None
            ),
            f"{prefix}engine_agreement": round(sum(j.engine_found for j in own) / samples, 3)
            if samples
            else None,
            f"{prefix}engine_samples": samples,
            f"{prefix}videos": len(own),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, required=True)
    parser.add_argument("--half", choices=["held-out", "tuning", "all"], default="held-out")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--visitors", type=int, default=3)
    parser.add_argument("--strangers", type=int, default=6)
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--work", type=Path, help="keep the events and videos here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    base = Settings()
    pack = install_default_pack(base.models_path, download_dir=base.downloads_path)
    engine = FaceEngine.load(pack.directory, provider=base.onnx_provider)
    work = args.work or Path(tempfile.mkdtemp(prefix="scas-highlight-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    photos = with_visitors(folder_photos(args.faces, args.half), args.visitors)
    template = load_template("default", OVERRIDES)
    judged: list[tuple[str, Judged]] = []
    goals = GOALS | {"max_upscale": ("<=", template.punch_in_max_upscale)}
    visitors = published = 0
    started = time.monotonic()
    data = Path(tempfile.mkdtemp(prefix="data-", dir=work))
    settings = Settings(data_dir=data, models_dir=base.models_path)
    with runtime.open_services(settings) as services:
        runtime.prepare(services)
        for seed in [int(s) for s in args.seeds.split(",")]:
            config = SimulationConfig(
                event_id=f"quality-{seed}", cameras=args.cameras, duration_s=args.duration,
                strangers=args.strangers, seed=seed,
            )  # fmt: skip
            event = kept_event(work / f"event-{seed}", config, engine, photos)
            visitors += sum(person.role == "visitor" for person in event.plan.people)
            videos = run_event(services, engine, event)
            published += len(videos)
            for visitor in videos:
                judged += judge_visitor(services, event, visitor, work / f"videos-{seed}", engine)
    report = summary(judged, template.music == "generated")
    report |= {
        "goals": {key: f"{op} {goal}" for key, (op, goal) in goals.items()},
        "visitors": visitors,
        "videos_published": published,
        "photos": f"{args.faces} ({args.half})",
        "seeds": args.seeds,
        "visitors_per_event": args.visitors,
        "cameras": args.cameras,
        "duration_s": args.duration,
        "wall_s": round(time.monotonic() - started, 1),
        "work": str(work),
        "per_video": [
            {"video": f"{prefix or 'horizontal_'}{j.visitor}",
             "visible": round(j.visible_share, 3), "largest": round(j.largest_share, 3),
             "face_height": round(j.face_height_median, 3),
             "footage_share": round(j.footage_share, 3), "poster_ok": j.poster_ok,
             "smile_lift": None if j.smile_lift is None else round(j.smile_lift, 2),
             "engine": f"{j.engine_found}/{j.truth_visible_samples}", **j.extra}
            for prefix, j in judged
        ],
    }  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{'measure':34} {'value':>8}  goal")
    for key, value in report.items():
        if key in ("per_video", "goals"):
            continue
        goal = goals.get(key.removeprefix("vertical_"))
        mark = ""
        if goal and isinstance(value, int | float):
            met = value >= goal[1] if goal[0] == ">=" else value <= goal[1]
            mark = f"{goal[0]} {goal[1]}  {'ok' if met else 'MISSED'}"
        print(f"{key:34} {value!s:>8}  {mark}")
    for row in report["per_video"]:  # type: ignore[attr-defined]
        print("  " + "  ".join(f"{k} {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
