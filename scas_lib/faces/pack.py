"""Model packs: a directory of ONNX models and a ``manifest.json`` describing them.

The manifest names each model's file and sha256, how to feed it (input size, normalisation,
channel order), its embedding size, its licence and the pack's calibrated matching
thresholds; a pack may also declare face-attribute models (expression, age, gender), each
with its crop, input and classes, and person models (a person detector and a body
embedder), each with its input and normalisation. Two kinds of directory load as packs:

- a SCAS pack with ``manifest.json`` (``scas models install`` builds the default one);
- an insightface pack such as ``buffalo_l`` or ``buffalo_s`` (``det_*.onnx`` and
  ``w600k_*.onnx``, no manifest), described from insightface's own conventions.

Embeddings of different packs live in different spaces: every template records its pack's
name, and SCAS never compares templates across packs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from scas_lib.errors import ScasError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


class ModelPackError(ScasError):
    """A model pack is missing, incomplete or corrupt."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelFile(_Frozen):
    file: str
    sha256: str | None = Field(default=None, description="None: not verified (user packs)")


class DetectorSpec(ModelFile):
    kind: Literal["scrfd", "yunet"] = "scrfd"
    input_size: tuple[int, int] = Field(default=(640, 640), description="(width, height)")
    dynamic_input: bool = Field(default=True, description="accepts sizes other than input_size")
    score_threshold: float = 0.5
    nms_threshold: float = 0.4


class RecognizerSpec(ModelFile):
    kind: Literal["arcface"] = "arcface"
    embedding_size: int
    input_mean: float = Field(description="subtracted from 0-255 pixels before the model")
    input_std: float = Field(description="pixels are divided by it after the mean")
    channel_order: Literal["rgb", "bgr"] = "rgb"


class Thresholds(_Frozen):
    """Open-set matching: accept the best visitor only if similarity >= ``match`` and it
    beats the second best by at least ``margin``.

    A face track brings more evidence than one photo: the mean of ``track_min_faces`` or
    more of its faces is steadier than any one of them, so it may be accepted from the
    lower ``track_match``; and a labelled track's faces less similar to the visitor than
    ``track_support`` do not support the label (their time is not the visitor's). Both are
    calibrated on footage (benchmarks/calibrate_tracks.py); None: a track needs ``match``
    like a single face, and every face supports its label."""

    match: float
    margin: float
    calibrated: bool = Field(description="False: a conservative guess, not calibrated here")
    source: str = ""
    track_match: float | None = None
    track_min_faces: int = 3
    track_support: float | None = None
    track_source: str = ""

    def for_faces(self, count: int) -> float:
        """The similarity a mean of ``count`` faces of one track must reach.

        >>> Thresholds(match=0.5, margin=0.05, calibrated=True, track_match=0.4).for_faces(3)
        0.4
        """
        if self.track_match is None or count < self.track_min_faces:
            return self.match
        return min(self.match, self.track_match)


class AttributeModelSpec(ModelFile):
    """One face-attribute model: a face crop in, one probability per class out.

    The model takes float32 NCHW crops (batch dynamic) of ``input_size``, made as
    ``crop_scale`` says, in ``color``, as ``(pixel - input_mean) / input_std`` per channel
    from 0-255 pixels; it returns probabilities (its softmax is inside the graph) of shape
    [N, len(classes)], in the order of ``classes``.
    """

    kind: Literal["expression", "age", "gender"]
    input_size: tuple[int, int] = Field(description="(width, height)")
    color: Literal["gray", "rgb", "bgr"] = Field(
        description="gray: one channel, as cv2.cvtColor(BGR2GRAY) makes it"
    )
    input_mean: tuple[float, ...] = Field(
        description="subtracted from 0-255 pixels, per channel (1 value for gray)"
    )
    input_std: tuple[float, ...] = Field(description="then divided by, per channel")
    crop_scale: float = Field(
        gt=0,
        description="the crop: the face aligned by its 5 landmarks to the ArcFace 112 "
        "template, a square this many times the template's side (1.0 = the ArcFace crop "
        "itself) around crop_centre, then resized to input_size",
    )
    crop_centre: tuple[float, float] = Field(
        default=(56.0, 56.0),
        description="(x, y) of the crop's centre in the ArcFace 112 template's pixels",
    )
    classes: tuple[str, ...] = Field(description="the output order")
    class_values: tuple[float, ...] | None = Field(
        default=None, description="age: the age of each output class (expectation = sum p*v)"
    )
    licence: str
    published: str = Field(
        default="", description="the published accuracy figure and its set, as the source states it"
    )

    @property
    def channels(self) -> int:
        """The channels of the model's input: 1 for gray, else 3."""
        return 1 if self.color == "gray" else 3

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(self.input_mean) != self.channels or len(self.input_std) != self.channels:
            raise ValueError(
                f"{self.kind} model: input_mean and input_std need {self.channels} values "
                f"for {self.color} input"
            )
        if not self.classes:
            raise ValueError(f"{self.kind} model: no classes")
        if self.class_values is not None and len(self.class_values) != len(self.classes):
            raise ValueError(f"{self.kind} model: class_values and classes differ in length")
        return self


class AttributeModels(_Frozen):
    """The pack's face-attribute models, each optional (None: the pack has none)."""

    expression: AttributeModelSpec | None = None
    age: AttributeModelSpec | None = None
    gender: AttributeModelSpec | None = None

    def declared(self) -> list[AttributeModelSpec]:
        """The models the pack has, in the order expression, age, gender."""
        return [spec for spec in (self.expression, self.age, self.gender) if spec is not None]

    @model_validator(mode="after")
    def _in_their_places(self) -> Self:
        for place in ("expression", "age", "gender"):
            spec: AttributeModelSpec | None = getattr(self, place)
            if spec is not None and spec.kind != place:
                raise ValueError(f"the {place} attribute model is declared as {spec.kind}")
        return self


class PersonDetectorSpec(ModelFile):
    """A person detector: a whole frame in, one box and score per anchor out.

    The model takes float32 NCHW frames (batch dynamic) resized to ``input_size`` (the
    aspect ratio not kept), in ``color``, as ``(pixel - input_mean) / input_std`` from 0-255
    pixels; it returns ``boxes`` [N, anchors, 4] (x1, y1, x2, y2 as fractions of the
    frame, decoded in the graph) and ``scores`` [N, anchors] (the person class's
    probability). Thresholding and NMS are the caller's, with the thresholds here.
    """

    kind: Literal["ssd"] = "ssd"
    input_size: tuple[int, int] = Field(description="(width, height)")
    color: Literal["rgb", "bgr"]
    input_mean: tuple[float, float, float]
    input_std: tuple[float, float, float]
    score_threshold: float = 0.5
    nms_threshold: float = 0.45
    licence: str
    source: str = Field(description="the registry package, version and member it comes from")


class BodyEmbedderSpec(ModelFile):
    """A body appearance embedder: person crops in, L2-normalised embeddings out.

    The model takes float32 NCHW crops (batch dynamic) of a person's box resized to
    ``input_size``, in ``color``, as ``(pixel - input_mean) / input_std`` from 0-255 pixels;
    it returns [N, embedding_size] unit vectors (cosine similarity = dot product).
    """

    kind: Literal["mobilenet_v2"] = "mobilenet_v2"
    input_size: tuple[int, int] = Field(description="(width, height)")
    color: Literal["rgb", "bgr"]
    input_mean: tuple[float, float, float]
    input_std: tuple[float, float, float]
    embedding_size: int
    reid_trained: bool = Field(
        description="False: generic image features (e.g. ImageNet), not trained to tell "
        "people apart; weaker across cameras and changes of pose"
    )
    licence: str
    source: str = Field(description="the registry package, version and member it comes from")


class PersonModels(_Frozen):
    """The pack's person models, each optional (None: the pack has none, and person
    tracking is off)."""

    detector: PersonDetectorSpec | None = None
    embedder: BodyEmbedderSpec | None = None

    def declared(self) -> list[PersonDetectorSpec | BodyEmbedderSpec]:
        """The models the pack has, detector first."""
        return [spec for spec in (self.detector, self.embedder) if spec is not None]


class PackManifest(_Frozen):
    name: str
    format: Literal[1] = 1
    licence: str
    description: str = ""
    detector: DetectorSpec
    fast_detector: DetectorSpec | None = Field(
        default=None, description="a cheaper detector for footage, if the pack has one"
    )
    recognizer: RecognizerSpec
    thresholds: Thresholds
    attributes: AttributeModels = Field(
        default_factory=AttributeModels,
        description="face-attribute models; a manifest without them declares none",
    )
    persons: PersonModels = Field(
        default_factory=PersonModels,
        description="person detector and body embedder; a manifest without them declares none",
    )
    sources: list[str] = Field(default_factory=list)


# ArcFace packs whose thresholds were not calibrated on this project's photos start here:
# a similarity the insightface community treats as "same person" with room to spare.
_UNCALIBRATED_ARCFACE = Thresholds(
    match=0.45, margin=0.08, calibrated=False, source="uncalibrated default for ArcFace packs"
)


class ModelPack:
    """A loaded (and verified) pack: its directory and manifest."""

    def __init__(self, directory: Path, manifest: PackManifest) -> None:
        self.directory = directory
        self.manifest = manifest

    @property
    def name(self) -> str:
        return self.manifest.name

    def path(self, model: ModelFile) -> Path:
        return self.directory / model.file

    @classmethod
    def load(cls, directory: Path, *, verify: bool = True) -> ModelPack:
        """Load the pack in ``directory``; with ``verify``, check every file's sha256."""
        directory = Path(directory)
        if not directory.is_dir():
            raise ModelPackError(
                f"no model pack at {directory} (run `scas models install` for the default pack)"
            )
        manifest_path = directory / MANIFEST
        if manifest_path.exists():
            try:
                manifest = PackManifest.model_validate_json(manifest_path.read_text())
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in first["loc"]) or "manifest"
                raise ModelPackError(
                    f"{manifest_path} is not a valid manifest ({where}: {first['msg']}): "
                    "reinstall the pack"
                ) from None
        else:
            manifest = insightface_manifest(directory)
        pack = cls(directory, manifest)
        models: list[ModelFile] = [manifest.detector, manifest.recognizer]
        if manifest.fast_detector:
            models.append(manifest.fast_detector)
        models.extend(manifest.attributes.declared())
        models.extend(manifest.persons.declared())
        for model in models:
            path = pack.path(model)
            if not path.exists():
                raise ModelPackError(f"model pack {manifest.name!r} lacks {model.file}")
            if verify and model.sha256 and sha256_file(path) != model.sha256:
                raise ModelPackError(
                    f"{path} does not match its checksum: the pack is corrupt, reinstall it"
                )
        if not manifest.thresholds.calibrated:
            log.warning(
                "model pack %r has no calibrated thresholds; using match >= %.2f. Calibrate "
                "with benchmarks/calibrate_thresholds.py --pack %s",
                manifest.name,
                manifest.thresholds.match,
                directory,
            )
        return pack

    def write_manifest(self) -> None:
        (self.directory / MANIFEST).write_text(self.manifest.model_dump_json(indent=2) + "\n")


def insightface_manifest(directory: Path) -> PackManifest:
    """Describe an insightface pack directory (``buffalo_l``: det_10g.onnx, w600k_r50.onnx)."""
    detectors = sorted(directory.glob("det_*.onnx"))
    recognizers = sorted(directory.glob("w600k_*.onnx"))
    if not detectors or not recognizers:
        raise ModelPackError(
            f"{directory} has neither a {MANIFEST} nor an insightface detector (det_*.onnx) "
            "and recognizer (w600k_*.onnx)"
        )
    return PackManifest(
        name=directory.name,
        licence="insightface model pack: non-commercial research use only",
        description="insightface pack, described by SCAS from insightface's conventions",
        detector=DetectorSpec(file=detectors[0].name),
        recognizer=RecognizerSpec(
            file=recognizers[0].name, embedding_size=512, input_mean=127.5, input_std=127.5
        ),
        thresholds=thresholds_for(directory.name),
    )


def calibration_file(pack_name: str) -> Path:
    """Where the repository keeps a pack's calibrated thresholds."""
    return Path(__file__).parent / "calibration" / f"{pack_name}.json"


def _calibration_for(pack_name: str) -> Thresholds | None:
    path = calibration_file(pack_name)
    if not path.exists():
        return None
    return Thresholds.model_validate(json.loads(path.read_text())["thresholds"])


def thresholds_for(pack_name: str) -> Thresholds:
    """The thresholds the repository keeps for ``pack_name``, else an uncalibrated guess."""
    return _calibration_for(pack_name) or _UNCALIBRATED_ARCFACE


def list_packs(models_dir: Path) -> list[ModelPack]:
    """Every pack under ``models_dir`` that loads (checksums not re-verified)."""
    packs = []
    for directory in sorted(path for path in Path(models_dir).glob("*") if path.is_dir()):
        try:
            packs.append(ModelPack.load(directory, verify=False))
        except ModelPackError as error:
            log.info("skipping %s: %s", directory, error)
    return packs


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
