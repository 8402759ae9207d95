"""Judging a highlight by its frames: the render's record of what each frame shows, scored
against a generated event's ground truth; and generated visitors who smile some of the time.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from scas_lib.faces.engine import FaceEngine
from scas_lib.highlights.assembly import SourceFile
from scas_lib.highlights.punch_in import Framing, Window, WindowPath
from scas_lib.highlights.records import EditPlan, PlanLimits, PlannedClip
from scas_lib.highlights.render import CardText, probe_source, render
from scas_lib.highlights.shown import FrameRecord, shown_frames
from scas_lib.highlights.templates import Template
from scas_lib.provisioning.samples import fetch_expression_photos
from scas_lib.simulation.generate import GeneratedEvent
from scas_lib.simulation.judge import faces_in_frame, judge_video, subject_in
from scas_lib.simulation.people import cast, cut_sprites, folder_photos
from scas_lib.simulation.plan import SimulationConfig, plan_event
from scas_lib.simulation.truth import SMILING, ground_truth, intersect, merge, subtract, total
from scas_lib.tracks import iou
from tests.conftest import EVENT_START

OUTPUT = (1920, 1080)
LIMITS = PlanLimits(
    target_length_s=30, min_clip_s=1, max_clip_s=6, transition_s=0, intro_s=0, outro_s=0
)


def _sources(event: GeneratedEvent) -> list[SourceFile]:
    return [
        probe_source(event.directory / s.path, s.camera_id, datetime.fromisoformat(s.start_time))
        for s in event.segments
    ]


def _stretch(
    event: GeneratedEvent, person: str, others: bool = False
) -> tuple[str, float, float] | None:
    """A camera and at least 1.5 s in which ``person`` is visible throughout (``others``:
    in which they are not visible at all but someone else is, throughout)."""
    for camera in event.plan.cameras:
        mine = merge(event.truth.get(person, {}).get(camera.id, []))
        if not others:
            wanted = mine
        else:
            anyone = [
                interval
                for who, cameras in event.truth.items()
                if who != person
                for interval in cameras.get(camera.id, [])
            ]
            present = merge(event.presence.get(person, {}).get(camera.id, []))
            wanted = subtract(merge(anyone), present)
        for start, end in wanted:
            if end - start >= 1.5:
                return camera.id, start, start + 1.5
    return None


def _plan(event: GeneratedEvent, camera: str, start: float, end: float) -> EditPlan:
    clip = PlannedClip(
        camera, EVENT_START + timedelta(seconds=start), EVENT_START + timedelta(seconds=end), 1.0
    )
    return EditPlan(event.plan.config.event_id, "v", (clip,), LIMITS)


def test_a_video_that_shows_the_visitor_scores_one_and_a_stranger_less(
    event: GeneratedEvent,
) -> None:
    visitors = [p.id for p in event.plan.people if p.role == "visitor"]
    sources = _sources(event)
    found = [(v, _stretch(event, v), _stretch(event, v, others=True)) for v in visitors]
    visitor, theirs, strangers = next((v, a, b) for v, a, b in found if a and b)
    assert theirs is not None and strangers is not None

    record = shown_frames(_plan(event, *theirs), sources, OUTPUT, 25)
    assert len(record.frames) == round(1.5 * 25)
    assert record.frames[0].time == EVENT_START + timedelta(seconds=theirs[1])
    score = judge_video(event.plan, event.sprite_geometry, EVENT_START, record, visitor, 1)
    assert score.visible_share == 1.0
    assert score.footage_share == 1.0 and score.clips_without_subject == 0
    assert 0 < score.face_height_median < 1

    # The same visitor's video, but the footage shows someone else: the score says so.
    other = shown_frames(_plan(event, *strangers), sources, OUTPUT, 25)
    wrong = judge_video(event.plan, event.sprite_geometry, EVENT_START, other, visitor, 1)
    assert wrong.visible_share < 1
    assert wrong.visible_share == 0 and wrong.clips_without_subject == 1

    # A window that crops the visitor out of their own stretch: not visible either.
    plan = _plan(event, *theirs)
    shown = record.frames[0]
    assert shown.time is not None and shown.camera_id is not None
    faces = faces_in_frame(event.plan, event.sprite_geometry, EVENT_START, shown, OUTPUT)
    subject = subject_in(faces, visitor)
    assert subject is not None
    width, height = next((s.width, s.height) for s in sources if s.camera_id == theirs[0])
    centre_x = (subject.box[0] + subject.box[2]) / 2 * width / OUTPUT[0]
    away_x = 0.0 if centre_x > width / 2 else width / 2
    away = Window(away_x, 0.0, width / 2, height / 2)
    framing = Framing({plan.clips[0]: WindowPath(plan.clips[0].start, (0.0,), (away,))})
    cropped = shown_frames(plan, sources, OUTPUT, 25, framing)
    assert cropped.frames[0].source_rect == (away_x, 0.0, width / 2, height / 2)
    cropped_score = judge_video(event.plan, event.sprite_geometry, EVENT_START, cropped, visitor, 1)
    assert cropped_score.visible_share < 1
    assert cropped_score.max_upscale == pytest.approx(OUTPUT[0] / (int(width / 2) // 2 * 2))

    # The record survives its JSON.
    assert FrameRecord.from_json(record.to_json()) == record


def test_the_render_writes_its_record_and_the_frames_agree_with_it(
    event: GeneratedEvent, engine: FaceEngine, tmp_path: Path
) -> None:
    """A real render of one clip: the record has a frame per decoded frame, and the face
    detector finds the visitor in the decoded frames where the record and the truth put
    them (a wrong offset or window would move them)."""
    visitors = [p.id for p in event.plan.people if p.role == "visitor"]
    visitor, theirs = next((v, s) for v in visitors if (s := _stretch(event, v)))
    plan = _plan(event, *theirs)
    template = Template(name="t", intro_s=0, outro_s=0, transition_s=0, min_clip_s=1)
    result = render(
        plan, _sources(event), template, CardText("a", ""), CardText("b", ""), tmp_path / "work",
        tmp_path / "v.mp4", tmp_path / "v.jpg", with_moments=False,
    )  # fmt: skip
    assert result.frames == tmp_path / "v.frames.json"
    record = FrameRecord.from_json(result.frames.read_text())
    capture = cv2.VideoCapture(str(result.video))
    decoded = []
    while (frame := capture.read())[0]:
        decoded.append(frame[1])
    capture.release()
    assert len(decoded) == len(record.frames)
    found = 0
    checked = [0, len(decoded) // 2, len(decoded) - 1]
    for index in checked:
        faces = faces_in_frame(
            event.plan, event.sprite_geometry, EVENT_START, record.frames[index], OUTPUT
        )
        subject = subject_in(faces, visitor)
        assert subject is not None
        boxes = [tuple(float(v) for v in d.box) for d in engine.detector.detect(decoded[index])]
        found += any(iou(box, subject.box) >= 0.3 for box in boxes)  # type: ignore[arg-type]
    assert found == len(checked)


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory: pytest.TempPathFactory, asset_cache: Path) -> Path:
    """A faces folder with a manifest that labels expressions: three people with neutral
    and smiling photos (CK+ frames of the registry's EmoPy wheel), three with one photo."""
    folder = tmp_path_factory.mktemp("labelled")
    photos = fetch_expression_photos(asset_cache)
    labels: dict[str, str] = {}
    for subject in ("S052", "S055", "S074"):
        own = [p for p in photos if p.subject == subject]
        chosen = [p for p in own if p.expression == "neutral"][:3]
        chosen += [p for p in own if p.expression == SMILING][:2]
        for number, photo in enumerate(chosen):
            relative = f"{subject.lower()}/{number:02d}.png"
            (folder / subject.lower()).mkdir(exist_ok=True)
            shutil.copy(photo.path, folder / relative)
            labels[relative] = photo.expression
    for subject in ("S106", "S111", "S130"):
        photo = next(p for p in photos if p.subject == subject)
        (folder / subject.lower()).mkdir()
        shutil.copy(photo.path, folder / subject.lower() / "00.png")
    (folder / "manifest.json").write_text(json.dumps({"expressions": labels}))
    return folder


def test_labelled_visitors_smile_some_of_the_time_and_the_truth_says_when(
    labelled_folder: Path, engine: FaceEngine
) -> None:
    photos = folder_photos(labelled_folder)
    assert {p.expression for p in photos if p.identity == "s052"} == {"neutral", SMILING}
    assert all(p.expression is None for p in photos if p.identity == "s106")
    sprites = cut_sprites(engine, photos)
    people = cast(photos, sprites, strangers=3, rng=np.random.default_rng(0))
    config = SimulationConfig(event_id="smiles", cameras=2, duration_s=60.0, seed=3)
    plan = plan_event(config, people)
    geometry = {name: sprite.geometry for name, sprite in sprites.items()}
    visible = ground_truth(plan, geometry)
    smiling = ground_truth(plan, geometry, smiling=True)
    labels = {photo.name: photo.expression for person in people for photo in person.footage_photos}
    visitors = [p.id for p in people if p.role == "visitor"]
    assert len(visitors) == 3
    changed = 0
    for visitor in visitors:
        passes = sorted((p for p in plan.passes if p.person_id == visitor), key=lambda p: p.start_s)
        shown = [labels[p.photo] for p in passes]
        if len(passes) >= 2:  # one expression a pass, in turn
            assert set(shown) == {"neutral", SMILING}
            changed += 1
        for camera, intervals in smiling.get(visitor, {}).items():
            inside = intersect(intervals, visible[visitor][camera])
            assert total(inside) == pytest.approx(total(intervals))
    assert changed >= 1
    assert any(smiling.get(v) for v in visitors)
    assert any(
        0
        < sum(total(i) for i in smiling.get(v, {}).values())
        < sum(total(i) for i in visible.get(v, {}).values())
        for v in visitors
    )
    # Strangers without labels never smile in the truth; their visibility is as before.
    assert not any(smiling.get(p.id) for p in people if p.role == "stranger")
