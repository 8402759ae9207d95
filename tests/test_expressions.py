"""Expression, age and gender: real models on real photos (CK+ frames of the EmoPy wheel),
through the engine, the recognition pipeline, the catalog and the moment picker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from scas_lib.catalog import Camera, Catalog, Consent, Event, Visitor
from scas_lib.faces import FaceEngine, Gallery
from scas_lib.highlights.appearances import AppearanceRules, build_appearances
from scas_lib.highlights.records import PlanLimits
from scas_lib.highlights.selection import select_moments
from scas_lib.highlights.templates import Template
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.provisioning.samples import ExpressionPhoto, SamplePhoto, fetch_expression_photos
from scas_lib.recognition.pipeline import recognize_video
from scas_lib.tracks import EXPRESSIONS, FaceAttributes, FaceSample, FaceTrack, TrackIdentity

START = datetime(2026, 11, 22, 10, tzinfo=UTC)
#: The CK+ subjects of the EmoPy wheel with a smiling peak frame and a neutral first frame.
SMILING_SUBJECTS = ("S052", "S055", "S074")


@pytest.fixture(scope="module")
def expression_photos(asset_cache: Path) -> list[ExpressionPhoto]:
    return fetch_expression_photos(asset_cache)


def _pair(photos: list[ExpressionPhoto], subject: str) -> tuple[Path, Path]:
    """A subject's smiling peak frame and the neutral first frame of the same sequence."""
    smiling = next(p for p in photos if p.subject == subject and p.expression == "happy")
    sequence = smiling.name.rsplit("_", 1)[0]
    neutral = next(p for p in photos if p.name == f"{sequence}_00000001")
    return smiling.path, neutral.path


def _look(engine: FaceEngine, path: Path) -> FaceAttributes:
    image = cv2.imread(str(path))
    faces = engine.analyze(image, embed=False)
    assert len(faces) == 1, f"{path.name}: {len(faces)} faces"
    return engine.describe(faces)[0]


def test_the_default_pack_describes_faces(engine: FaceEngine) -> None:
    assert engine.describer is not None
    assert engine.describer.models == ["expression", "age", "gender"]


def test_a_smiling_and_a_neutral_photo_of_the_same_person_are_told_apart(
    engine: FaceEngine, expression_photos: list[ExpressionPhoto]
) -> None:
    for subject in SMILING_SUBJECTS:
        smiling_path, neutral_path = _pair(expression_photos, subject)
        smiling, neutral = _look(engine, smiling_path), _look(engine, neutral_path)
        assert smiling.dominant == "happy" and smiling.smiling, (subject, smiling)
        assert neutral.dominant != "happy" and not neutral.smiling, (subject, neutral)
        assert smiling.smile > neutral.smile + 0.4
        assert len(smiling.expression) == len(EXPRESSIONS)
        assert sum(smiling.expression) == pytest.approx(1.0, abs=1e-3)
        # The same person: the same gender in both photos. (Not the same age: a broad smile
        # reads as years older to the age model, up to 25 on these grayscale frames.)
        assert smiling.age is not None and neutral.age is not None
        assert smiling.male is not None and neutral.male is not None
        assert (smiling.male >= 0.5) == (neutral.male >= 0.5)


def test_a_known_man_and_woman_are_told_apart(
    engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    looks = {name: _look(engine, photos[name].path) for name in ("obama", "biden", "ardern1")}
    assert looks["obama"].male is not None and looks["obama"].male > 0.5
    assert looks["biden"].male is not None and looks["biden"].male > 0.5
    assert looks["ardern1"].male is not None and looks["ardern1"].male < 0.5
    # Biden (born 1942) was photographed far older than Ardern (born 1980).
    assert looks["biden"].age is not None and looks["ardern1"].age is not None
    assert looks["biden"].age > looks["ardern1"].age + 10


def _still_video(image: Path, target: Path, seconds: float = 3.0) -> Path:
    run_ffmpeg(
        ["-loop", "1", "-i", str(image), "-t", str(seconds), "-r", "25",
         "-vf", "scale=640:490,format=yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
         str(target)],
        "a still as a video",
    )  # fmt: skip
    return target


def _tracks(footage: FaceEngine, video: Path) -> list[FaceTrack]:
    gallery = Gallery(footage.model_pack, (), np.zeros((0, 128), np.float32))
    result = recognize_video(
        video, "cam1", START, footage, gallery, footage.pack.manifest.thresholds
    )
    return list(result.tracks)


def test_a_smiling_visitors_track_has_a_higher_smile_share_than_their_neutral_track(
    footage: FaceEngine, expression_photos: list[ExpressionPhoto], tmp_path: Path
) -> None:
    smiling_path, neutral_path = _pair(expression_photos, "S052")
    [smiling] = _tracks(footage, _still_video(smiling_path, tmp_path / "smiling.mp4"))
    [neutral] = _tracks(footage, _still_video(neutral_path, tmp_path / "neutral.mp4"))
    smiling_looks, neutral_looks = smiling.attributes(), neutral.attributes()
    # Only embedded faces are described, each with every attribute.
    described = [s for s in smiling.samples if s.attributes is not None]
    assert 0 < len(described) < len(smiling.samples)
    assert smiling_looks.faces == len(described)
    assert smiling_looks.expression == "happy" and neutral_looks.expression != "happy"
    assert smiling_looks.smile_share is not None and neutral_looks.smile_share is not None
    assert smiling_looks.smile_share > neutral_looks.smile_share
    assert smiling_looks.gender == neutral_looks.gender


def _track(camera: str, start_s: float, attributes: FaceAttributes) -> FaceTrack:
    samples = tuple(
        FaceSample(t, (100, 100, 200, 220), 0.9, 0.7, attributes=attributes)
        for t in (start_s, start_s + 1, start_s + 2, start_s + 3)
    )
    return FaceTrack(
        camera, START, 0, samples, (1920, 1080), "default", TrackIdentity("v-1", 0.6, votes=4)
    )


def test_of_two_otherwise_equal_appearances_the_smiling_one_is_chosen(
    engine: FaceEngine, expression_photos: list[ExpressionPhoto]
) -> None:
    smiling_path, neutral_path = _pair(expression_photos, "S055")
    smiling, neutral = _look(engine, smiling_path), _look(engine, neutral_path)
    # The same face quality and similarity; the smile is the only difference. Room for one.
    tracks = [_track("gate", 0.0, neutral), _track("stage", 20.0, smiling)]
    template = Template(name="one-clip", target_length_s=4, intro_s=0, outro_s=0,
                        min_clip_s=2, max_clip_s=4, transition_s=0)  # fmt: skip
    rules = AppearanceRules(smile_weight=template.smile_weight)
    plan = select_moments("expo", "v-1", build_appearances(tracks, rules), PlanLimits.of(template))
    assert [clip.camera_id for clip in plan.clips] == ["stage"]
    # Without the weight both are the same moment, and the earlier one is taken.
    plain = select_moments("expo", "v-1", build_appearances(tracks), PlanLimits.of(template))
    assert [clip.camera_id for clip in plain.clips] == ["gate"]


@pytest.fixture
def stored(catalog: Catalog) -> Iterator[Catalog]:
    catalog.events.upsert(Event(id="expo", name="Expo"))
    catalog.events.upsert_camera(Camera("expo", "cam1", "Entrance"))
    catalog.visitors.upsert(Visitor("expo", "v-1", "Ana", Consent("scas-2026-11", "en", START)))
    yield catalog


def test_attributes_survive_the_catalog_and_a_bystanders_are_forgotten_with_the_embedding(
    stored: Catalog,
) -> None:
    happy = FaceAttributes((0.05, 0.9, 0.05, 0, 0, 0, 0), age=30.5, male=0.2)
    visitor = _track("cam1", 0.0, happy)
    bystander = FaceTrack(
        "cam1", START, 1, visitor.samples, (1920, 1080), "default",
        TrackIdentity(None, 0.2, np.ones(128, np.float32)),
    )  # fmt: skip
    segment = stored.segments.register("expo", "cam1", "expo/cam1/a.mp4", START, 10.0)
    stored.segments.save_tracks(segment.id, [visitor, bystander], duration_s=10.0)
    read = {track.index: track for track in stored.tracks.of_segment(segment.id)}
    assert read[0].samples == visitor.samples
    assert read[0].attributes() == visitor.attributes()
    summary = stored.execute(
        "SELECT expression, smile_share, age, gender FROM tracks ORDER BY track_index"
    )
    assert summary[0] == ("happy", 1.0, 30.5, "female")

    stored.tracks.forget_embeddings("expo", bystanders_only=True)
    read = {track.index: track for track in stored.tracks.of_segment(segment.id)}
    assert read[0].attributes() == visitor.attributes()
    assert all(sample.attributes is None for sample in read[1].samples)
    assert [s.similarity for s in read[1].samples] == [s.similarity for s in bystander.samples]
    assert stored.execute("SELECT expression, age FROM tracks WHERE track_index = 1") == [
        (None, None)
    ]
