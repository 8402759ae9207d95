"""The synthetic event generator: determinism, ground truth against the real footage,
live replay to the real object store, and the scoring function."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from scas_lib.errors import ScasError
from scas_lib.faces import FaceEngine
from scas_lib.faces.detection import input_size_for
from scas_lib.media.probe import probe
from scas_lib.recognition.tracking import iou
from scas_lib.simulation.background import find_background_video
from scas_lib.simulation.generate import GeneratedEvent, generate_event
from scas_lib.simulation.people import SourcePhoto, cast, cut_sprites
from scas_lib.simulation.plan import SimulationConfig, plan_event
from scas_lib.simulation.replay import replay_event
from scas_lib.simulation.scene import face_states, render_frame
from scas_lib.simulation.truth import ground_truth, score_appearances
from scas_lib.storage import ObjectStore

from .conftest import EVENT_CONFIG as CONFIG
from .conftest import EVENT_START as START

# determinism ------------------------------------------------------------------------------


def test_the_same_seed_makes_the_same_event(
    engine: FaceEngine, source_photos: list[SourcePhoto]
) -> None:
    sprites = cut_sprites(engine, source_photos)
    geometry = {name: sprite.geometry for name, sprite in sprites.items()}

    def make(seed: int):
        config = SimulationConfig(duration_s=8, segment_s=4, seed=seed)
        people = cast(source_photos, sprites, strangers=6, rng=np.random.default_rng(seed))
        return plan_event(config, people)

    first, again, other = make(3), make(3), make(4)
    assert first == again
    assert ground_truth(first, geometry) == ground_truth(again, geometry)
    background = np.full((1080, 1920, 3), 90, np.uint8)
    camera = first.cameras[0].id
    np.testing.assert_array_equal(
        render_frame(first, camera, 4.0, background, sprites),
        render_frame(again, camera, 4.0, background, sprites),
    )
    assert first != other


# the written event ------------------------------------------------------------------------


def test_segments_look_like_a_recorders(event: GeneratedEvent) -> None:
    record = json.loads((event.directory / "event.json").read_text())
    assert len(record["segments"]) == 3 * 2
    sizes = set()
    for segment in record["segments"]:
        if segment["corrupt"]:
            continue
        info = probe(event.directory / segment["path"])
        sizes.add((info.width, info.height))
        assert info.codec == "h264" and info.fps == 25
        assert info.start_time > 0  # a recorder's stream clock, not zero
        assert abs(info.duration - CONFIG.segment_s) < 0.1
    assert sizes == {(1920, 1080), (1280, 720)}
    assert (event.directory / "preview.jpg").exists()


def test_enrollment_photos_never_appear_in_the_footage(event: GeneratedEvent) -> None:
    footage = {photo.name for person in event.plan.people for photo in person.footage_photos}
    enrolled = {name for person in event.plan.people for name in person.enrollment_photos}
    assert enrolled and not enrolled & footage
    for person in event.plan.people:
        if person.role == "visitor":
            assert (event.directory / "enrollments" / person.id / "0.jpg").exists()


def test_every_visitor_and_several_strangers_are_seen(event: GeneratedEvent) -> None:
    truth = json.loads((event.directory / "ground_truth.json").read_text())
    assert truth["visitors"] and truth["strangers"]
    seen = set(truth["appearances"])
    assert len(seen & set(truth["strangers"])) >= 2
    assert truth["start_time"] == START.isoformat()


def _frame_at(event: GeneratedEvent, camera: str, t: float) -> np.ndarray | None:
    segment_index = int(t // CONFIG.segment_s)
    segment = [s for s in event.segments if s.camera_id == camera][segment_index]
    capture = cv2.VideoCapture(str(event.directory / segment.path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, round((t - segment_index * CONFIG.segment_s) * CONFIG.fps))
    ok, frame = capture.read()
    capture.release()
    return frame if ok else None


def test_the_ground_truth_agrees_with_the_footage(
    event: GeneratedEvent, engine: FaceEngine
) -> None:
    """In the middle of every visible interval, the detector finds a face in the stated box
    (allowing for the few faces SCRFD misses: small, blurred, partly hidden)."""
    checked = found = 0
    for person, cameras in event.truth.items():
        for camera, intervals in cameras.items():
            for start, end in intervals:
                first, last = round(start * CONFIG.fps), round(end * CONFIG.fps) - 1
                t = (first + last) // 2 / CONFIG.fps
                frame = _frame_at(event, camera, t)
                if frame is None:  # inside the segment that was cut short
                    continue
                states = face_states(event.plan, camera, t, event.sprite_geometry)
                (state,) = [s for s in states if s.person_id == person]
                assert state.visible
                # Full resolution: this checks the truth, not the detector at speed.
                height, width = frame.shape[:2]
                full_size = input_size_for(width, height, long_side=width)
                detections = engine.detector.detect(frame, input_size=full_size)
                checked += 1
                found += any(iou(d.box, state.box) > 0.3 for d in detections)
    assert checked >= 10
    assert found / checked >= 0.9, f"{found} of {checked} stated faces found"


def test_people_are_not_seen_outside_their_intervals(
    event: GeneratedEvent, engine: FaceEngine
) -> None:
    """At moments when the truth says a visitor is not visible on a camera, no face in
    that camera's frame matches the visitor's enrollment photo."""
    threshold = engine.pack.manifest.thresholds.match
    checked = 0
    for person in [p for p in event.plan.people if p.role == "visitor"]:
        enrolled = cv2.imread(str(event.directory / "enrollments" / person.id / "0.jpg"))
        (template,) = [f.embedding for f in engine.analyze(enrolled)]
        for camera in event.plan.cameras:
            visible = event.truth.get(person.id, {}).get(camera.id, [])
            for t in np.arange(0.5, CONFIG.duration_s, 1.0):
                if any(start - 0.5 <= t <= end + 0.5 for start, end in visible):
                    continue
                frame = _frame_at(event, camera.id, float(t))
                if frame is None:
                    continue
                checked += 1
                for face in engine.analyze(frame):
                    assert float(face.embedding @ template) < threshold, (person.id, camera.id, t)
    # A run that read no frame would have checked nothing.
    assert checked >= 10, f"only {checked} frames outside the visitors' intervals were read"


def test_a_corrupt_segment_is_cut_short(
    tmp_path: Path, engine: FaceEngine, source_photos: list[SourcePhoto]
) -> None:
    config = SimulationConfig(cameras=1, duration_s=4, segment_s=2, corrupt_segment=True, seed=1)
    made = generate_event(
        tmp_path / "e", config, START, engine, source_photos, background_video=None
    )
    (corrupt,) = [s for s in made.segments if s.corrupt]
    truth = json.loads((tmp_path / "e" / "ground_truth.json").read_text())
    assert truth["corrupt_segments"] == [corrupt.key]
    whole = next(s for s in made.segments if not s.corrupt)
    assert (tmp_path / "e" / corrupt.path).stat().st_size < (
        tmp_path / "e" / whole.path
    ).stat().st_size * 0.6

    # The folder holds a generated event, even one whose generation was cut short before
    # its event.json: generating again replaces it.
    (tmp_path / "e" / "event.json").unlink()
    again = generate_event(
        tmp_path / "e", config, START, engine, source_photos, background_video=None
    )
    assert [s.key for s in again.segments] == [s.key for s in made.segments]


def test_a_folder_with_other_files_is_never_replaced_by_an_event(
    tmp_path: Path, engine: FaceEngine, source_photos: list[SourcePhoto]
) -> None:
    precious = tmp_path / "thesis" / "chapter1.tex"
    precious.parent.mkdir()
    precious.write_text("months of work")
    config = SimulationConfig(cameras=1, duration_s=2, segment_s=2, seed=1)
    with pytest.raises(ScasError, match="not a generated event: give an empty or new folder"):
        generate_event(precious.parent, config, START, engine, source_photos)
    assert precious.read_text() == "months of work"


def test_the_background_is_real_footage_when_available(event: GeneratedEvent) -> None:
    record = json.loads((event.directory / "event.json").read_text())
    assert record["background"] == (
        str(find_background_video()) if find_background_video() else "drawn"
    )


# live replay ------------------------------------------------------------------------------


def test_replay_uploads_every_segment_with_metadata_and_the_end_marker_last(
    event: GeneratedEvent, store: ObjectStore, bucket: str
) -> None:
    uploads = replay_event(event.directory, store, bucket, speed=0)

    keys = [upload.key for upload in uploads]
    assert keys[0] == "expo/_control/start" and keys[-1] == "expo/_control/end"
    assert sorted(keys[1:-1]) == sorted(segment.key for segment in event.segments)
    for segment in event.segments:
        stored = store.stat(bucket, segment.key)
        assert stored.metadata["camera"] == segment.camera_id
        assert stored.metadata["start-time"] == segment.start_time
        assert stored.size == (event.directory / segment.path).stat().st_size


def test_replay_paces_segments_as_cameras_finish_them(
    event: GeneratedEvent, store: ObjectStore, bucket: str
) -> None:
    """A simulated clock (sleeping advances it) shows the schedule without waiting it out."""
    now = [0.0]
    uploads = replay_event(
        event.directory,
        store,
        bucket,
        speed=2.0,
        clock=lambda: now[0],
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
    )
    due = {upload.key: upload.at_s for upload in uploads}
    for segment in event.segments:
        offset = (datetime.fromisoformat(segment.start_time) - START).total_seconds()
        assert due[segment.key] == pytest.approx((offset + CONFIG.segment_s) / 2)
    assert due["expo/_control/end"] == pytest.approx(CONFIG.duration_s / 2)
    assert uploads[-1].key == "expo/_control/end"


# scoring ----------------------------------------------------------------------------------

TRUTH = {
    "ana": {"cam1": [(0.0, 10.0)], "cam2": [(20.0, 30.0)]},
    "bo": {"cam1": [(40.0, 50.0)]},
    "stranger": {"cam2": [(60.0, 70.0)]},
}


def test_a_perfect_prediction_scores_one() -> None:
    score = score_appearances(TRUTH, {"ana": TRUTH["ana"], "bo": TRUTH["bo"]}, ["ana", "bo"])
    assert score.recall == 1 and score.precision == 1
    assert score.false_identities == 0 and score.missed_visitors == []


def test_recall_counts_the_share_of_visible_time_found() -> None:
    score = score_appearances(TRUTH, {"ana": {"cam1": [(0.0, 10.0)]}}, ["ana"], tolerance_s=0)
    assert score.visitors["ana"].recall == pytest.approx(0.5)
    assert score.visitors["ana"].precision == 1


def test_a_stranger_labelled_as_a_visitor_is_a_false_identity() -> None:
    predicted = {"ana": {"cam1": [(0.0, 10.0)], "cam2": [(20.0, 30.0), (61.0, 69.0)]}}
    score = score_appearances(TRUTH, predicted, ["ana"])
    assert score.false_identities == 1
    assert score.visitors["ana"].precision == pytest.approx(20 / 28)


def test_another_visitor_labelled_as_this_one_is_a_false_identity() -> None:
    predicted = {"ana": {"cam1": [(0.0, 10.0), (40.0, 50.0)]}}
    assert score_appearances(TRUTH, predicted, ["ana"]).false_identities == 1


def test_a_visitor_hidden_behind_a_pillar_is_not_a_false_identity() -> None:
    """Between two visible stretches the visitor walked behind a pillar while a stranger
    was visible: predicting the visitor there is right, not a false identity."""
    truth = {"ana": {"cam1": [(0.0, 4.0), (6.0, 10.0)]}, "stranger": {"cam1": [(3.0, 8.0)]}}
    present = {"ana": {"cam1": [(0.0, 10.0)]}}
    predicted = {"ana": {"cam1": [(0.0, 10.0)]}}
    assert score_appearances(truth, predicted, ["ana"]).false_identities == 1
    score = score_appearances(truth, predicted, ["ana"], present=present)
    assert score.false_identities == 0 and score.precision == 1 and score.recall == 1


def test_a_visitor_with_nothing_found_is_missed() -> None:
    score = score_appearances(TRUTH, {"ana": TRUTH["ana"]}, ["ana", "bo"])
    assert score.missed_visitors == ["bo"]
    assert score.recall == pytest.approx(20 / 30)


def test_boundaries_within_the_tolerance_do_not_count() -> None:
    predicted = {"ana": {"cam1": [(0.3, 10.4)], "cam2": [(19.8, 29.7)]}}
    score = score_appearances(TRUTH, predicted, ["ana"], tolerance_s=0.5)
    assert score.recall == 1 and score.precision == 1
