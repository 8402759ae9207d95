"""``scas analyze``: a recorded video of real people's photos, through real recognition and
real ffmpeg, to an annotated MP4 and its per-second JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from scas_lib.analysis.records import AnalysisProgress
from scas_lib.analysis.stage import AnalysisOutcome, AnalysisRefused, analyze_file
from scas_lib.catalog import Enrollment
from scas_lib.cli import app
from scas_lib.faces import FaceEngine, Gallery
from scas_lib.media.decode import sample_frames
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.media.probe import probe
from scas_lib.media.split import split_video
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.tracks import EXPRESSIONS

#: Two seconds each: a stranger, an enrolled visitor, the same stranger in another photo.
SCENES = ("obama", "ardern1", "obama2")
SCENE_S = 2.0


def _scenes_video(photos: dict[str, SamplePhoto], target: Path) -> Path:
    inputs, chains = [], []
    for index, name in enumerate(SCENES):
        inputs += ["-loop", "1", "-t", str(SCENE_S), "-i", str(photos[name].path)]
        chains.append(
            f"[{index}:v]scale=640:480:force_original_aspect_ratio=decrease,"
            f"pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25[s{index}]"
        )
    joined = "".join(f"[s{index}]" for index in range(len(SCENES)))
    run_ffmpeg(
        ["-y", *inputs, "-filter_complex",
         ";".join(chains) + f";{joined}concat=n={len(SCENES)}:v=1[v]",
         "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         str(target)],
        "the scenes video",
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def scenes(photos: dict[str, SamplePhoto], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _scenes_video(photos, tmp_path_factory.mktemp("analysis") / "scenes.mp4")


def _gallery_of_ardern(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> Gallery:
    (face,) = engine.analyze(cv2.imread(str(photos["ardern2"].path)))
    assert face.embedding is not None
    embedding = tuple(float(value) for value in face.embedding)
    enrollment = Enrollment("expo", "v-ardern", "ardern2.jpg", engine.model_pack, embedding, 1.0)
    return Gallery.from_enrollments(engine.model_pack, [enrollment])


def test_a_video_is_annotated_with_names_unknown_numbers_and_looks(
    footage: FaceEngine, engine: FaceEngine, photos: dict[str, SamplePhoto], scenes: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    gallery = _gallery_of_ardern(engine, photos)
    outcome = analyze_file(scenes, tmp_path, footage, gallery, {"v-ardern": "阿德恩 Jacinda"})
    analysis = outcome.analysis
    # The visitor by her name; the stranger of the first and third scenes is one person.
    assert analysis.people == ("unknown #1", "阿德恩 Jacinda")
    by_scene: dict[int, set[str]] = {}
    for second in analysis.seconds:
        for frame in second.frames:
            scene = int(frame.offset_s // SCENE_S)
            by_scene.setdefault(scene, set()).update(face.label for face in frame.faces)
    assert by_scene == {0: {"unknown #1"}, 1: {"阿德恩 Jacinda"}, 2: {"unknown #1"}}
    faces = [f for s in analysis.seconds for frame in s.frames for f in frame.faces]
    assert all(face.expression in EXPRESSIONS for face in faces)
    assert {face.gender for face in faces if face.label == "unknown #1"} == {"male"}
    assert {face.gender for face in faces if face.visitor_id == "v-ardern"} == {"female"}

    # The JSON holds every second, each with its frames' faces, as the records say.
    record = json.loads(outcome.json.read_text())
    duration = probe(scenes).duration
    assert len(record["seconds"]) == math.ceil(duration) == len(analysis.seconds)
    assert [s["second"] for s in record["seconds"]] == list(range(len(record["seconds"])))
    assert record["seconds"][3]["frames"][0]["faces"][0]["label"] == "阿德恩 Jacinda"

    # The annotated video: every frame of the source, boxes drawn where the faces are.
    source, annotated = probe(scenes, packets=True), probe(outcome.annotated, packets=True)
    assert annotated.frames == source.frames == outcome.frames_written
    original = {round(f.offset_s, 1): f.image for f in sample_frames(scenes, fps=1)}
    drawn = {round(f.offset_s, 1): f.image for f in sample_frames(outcome.annotated, fps=1)}
    face = record["seconds"][1]["frames"][0]["faces"][0]
    x1, y1, x2, y2 = (round(v) for v in face["box"])
    edge = (slice(y1 - 1, y1 + 3), slice(x1, x2))  # the box's top side
    change = np.abs(drawn[1.0][edge].astype(int) - original[1.0][edge].astype(int)).mean()
    assert change > 40
    middle = (slice(y1 + 10, y2 - 10), slice(x1 + 10, x2 - 10))  # the face itself, untouched
    assert np.abs(drawn[1.0][middle].astype(int) - original[1.0][middle].astype(int)).mean() < 8


def test_a_file_that_is_no_video_is_one_clear_line_and_writes_nothing(
    footage: FaceEngine, tmp_path: Path
) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    gallery = Gallery(footage.model_pack, (), np.zeros((0, 128), np.float32))
    out = tmp_path / "out"
    with pytest.raises(AnalysisRefused, match=r"notes\.mp4: not a video file") as refused:
        analyze_file(text, out, footage, gallery, {})
    assert "\n" not in str(refused.value)
    assert not out.exists()


def test_scas_analyze_writes_both_files_and_names_nobody_without_an_event(
    model_pack_dir: Path, scenes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCAS_MODELS_DIR", str(model_pack_dir.parent))
    monkeypatch.setenv("SCAS_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["analyze", str(scenes), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "unknown #1, unknown #2" in result.output
    assert (tmp_path / "out" / "scenes.annotated.mp4").stat().st_size > 0
    assert json.loads((tmp_path / "out" / "scenes.analysis.json").read_text())["people"] == [
        "unknown #1",
        "unknown #2",
    ]
    missing = CliRunner().invoke(app, ["analyze", str(tmp_path / "nothing.mp4")])
    assert missing.exit_code == 1 and "nothing.mp4: no such file" in missing.output


@pytest.fixture(scope="module")
def long_scenes(scenes: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scenes twice over (12 s), with a keyframe every second: a file cut into pieces."""
    target = tmp_path_factory.mktemp("analysis") / "long.mp4"
    run_ffmpeg(
        ["-y", "-stream_loop", "1", "-i", str(scenes), "-c:v", "libx264", "-preset", "ultrafast",
         "-g", "25", "-pix_fmt", "yuv420p", str(target)],
        "the long scenes video",
    )  # fmt: skip
    return target


def _labels_by_frame(outcome: AnalysisOutcome) -> dict[float, list[str]]:
    return {
        round(frame.offset_s, 3): sorted(face.label for face in frame.faces)
        for second in outcome.analysis.seconds
        for frame in second.frames
    }


def test_a_long_video_analysed_in_pieces_says_what_the_whole_says(
    footage: FaceEngine, engine: FaceEngine, photos: dict[str, SamplePhoto], long_scenes: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Cut at keyframes into pieces of about 4 s, recognised one by one and put on the
    video's clock: the same people, on the same frames, as the video read whole, and a
    progress that only goes forward to 100."""
    gallery = _gallery_of_ardern(engine, photos)
    names = {"v-ardern": "Jacinda"}
    pieces = split_video(long_scenes, tmp_path / "pieces", 4)
    assert [piece.start_s for piece in pieces] == [0.0, 4.0, 8.0]
    assert (
        sum(probe(p.path, packets=True).frames or 0 for p in pieces)
        == probe(long_scenes, packets=True).frames
    )

    whole = analyze_file(long_scenes, tmp_path / "whole", footage, gallery, names, piece_s=60)
    told: list[AnalysisProgress] = []
    in_pieces = analyze_file(
        long_scenes, tmp_path / "pieces-out", footage, gallery, names, piece_s=4,
        progress=told.append,
    )  # fmt: skip
    assert whole.analysis.people == in_pieces.analysis.people == ("unknown #1", "Jacinda")
    assert _labels_by_frame(in_pieces) == _labels_by_frame(whole)
    assert max(_labels_by_frame(in_pieces)) > 10  # the last piece's faces are on the clock
    percents = [progress.percent for progress in told]
    assert percents == sorted(percents) and percents[-1] == 100.0
    frames = [p.frames_done for p in told if p.phase == "recognizing"]
    assert frames == sorted(frames)  # counted on across pieces, not from 0 for each
    assert not list((tmp_path / "pieces-out").glob("pieces-*"))  # the pieces are gone
