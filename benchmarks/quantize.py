"""int8 where it pays? Static quantization of the default pack's footage models (YuNet, the
fast detector, and SFace, the recognizer) with onnxruntime's own tools, against fp32.

Each model is quantized by ``onnxruntime.quantization.quantize_static`` (per-channel int8
weights, uint8 or int8 activations, QDQ and QOperator formats), calibrated (MinMax) on the
registry sample photos the tests fetch: their faces aligned to 112x112 (and mirrored) for
SFace, the photos letterboxed into the footage detector's 960x544 input at three scales
for YuNet. Reported for each variant, on one thread:

- CPU milliseconds a run (SFace: 8 faces a run; YuNet: one 960x544 frame), best of rounds;
- fidelity to fp32: SFace, the lowest and mean cosine similarity of a face's int8 and fp32
  embeddings, on faces the calibration never saw (``--faces DIR``: one sub-folder of photos
  per person, e.g. the held-out half of ../shared/faces; else the registry photos
  themselves); YuNet, the faces it finds in the registry photos at the footage's input and
  threshold, fp32 and int8, and how many of fp32's int8 finds too.

    .venv/bin/python benchmarks/quantize.py [--json] [--faces DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scas_lib.faces.detection import YuNet, letterbox  # noqa: E402
from scas_lib.faces.engine import FaceEngine  # noqa: E402
from scas_lib.faces.pack import DetectorSpec  # noqa: E402
from scas_lib.provisioning.install import install_default_pack  # noqa: E402
from scas_lib.provisioning.samples import fetch_sample_photos  # noqa: E402
from scas_lib.recognition.config import RecognitionConfig  # noqa: E402
from scas_lib.settings import Settings  # noqa: E402

DETECTOR_INPUT = (960, 544)
VARIANTS = (
    ("QDQ", QuantType.QUInt8),
    ("QDQ", QuantType.QInt8),
    ("QOperator", QuantType.QUInt8),
)


class Feed(CalibrationDataReader):
    def __init__(self, name: str, batches: list[np.ndarray]) -> None:
        self.name, self.batches = name, iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {self.name: batch}


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def cpu_ms(model: ort.InferenceSession, feed: np.ndarray, runs: int = 5, rounds: int = 3) -> float:
    name = model.get_inputs()[0].name
    model.run(None, {name: feed})
    best = float("inf")
    for _ in range(rounds):
        started = time.thread_time()
        for _ in range(runs):
            model.run(None, {name: feed})
        best = min(best, (time.thread_time() - started) / runs * 1000)
    return best


def faces_of(engine: FaceEngine, paths: list[Path]) -> list[np.ndarray]:
    crops = []
    for path in paths:
        image = cv2.imread(str(path))
        if image is not None:
            crops += [face.aligned for face in engine.analyze(image, embed=False)]
    return crops


def sface_batch(crops: list[np.ndarray]) -> np.ndarray:
    """SFace's input: RGB 0-255, NCHW (it normalises inside its graph)."""
    return np.ascontiguousarray(np.asarray(crops, np.float32)[..., ::-1].transpose(0, 3, 1, 2))


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def same_faces(
    fp32: ort.InferenceSession, int8: ort.InferenceSession, photos: list[Path], spec: DetectorSpec
) -> dict[str, int]:
    """Faces YuNet finds in the photos at the footage's input and threshold, with fp32 and
    int8, and how many of fp32's the int8 model finds too (box IoU >= 0.5)."""
    threshold = RecognitionConfig().detector_threshold
    detectors = [
        YuNet(model, input_size=spec.input_size, dynamic_input=True, score_threshold=threshold,
              nms_threshold=spec.nms_threshold)
        for model in (fp32, int8)
    ]  # fmt: skip
    counts = {"fp32": 0, "int8": 0, "both": 0}
    for path in photos:
        image = cv2.imread(str(path))
        ours, theirs = (d.detect(image, input_size=DETECTOR_INPUT) for d in detectors)
        counts["fp32"] += len(ours)
        counts["int8"] += len(theirs)
        counts["both"] += sum(any(iou(a.box, b.box) >= 0.5 for b in theirs) for a in ours)
    return counts


def iou(a: np.ndarray, b: np.ndarray) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--faces", type=Path, help="faces to judge fidelity on (not calibrated)")
    args = parser.parse_args()
    settings = Settings()
    pack = install_default_pack(settings.models_path, download_dir=settings.downloads_path)
    engine = FaceEngine.load(pack.directory, provider="cpu", threads=1)
    registry = [photo.path for photo in fetch_sample_photos(settings.data_dir / "samples")]
    calibration_faces = faces_of(engine, registry)
    calibration_faces += [face[:, ::-1] for face in calibration_faces]
    judged = faces_of(engine, sorted(args.faces.glob("*/*"))) if args.faces else calibration_faces
    frames = []
    for path in registry:
        image = cv2.imread(str(path))
        for scale in (1.0, 0.5, 0.25):
            scaled = cv2.resize(image, None, fx=scale, fy=scale) if scale != 1 else image
            frames.append(letterbox(scaled, DETECTOR_INPUT)[0].transpose(2, 0, 1)[None])
    frame_batches = [frame.astype(np.float32) for frame in frames]
    report: dict[str, object] = {
        "calibration": f"{len(registry)} registry photos: {len(calibration_faces)} faces, "
        f"{len(frames)} detector frames",
        "judged_faces": len(judged),
    }
    with tempfile.TemporaryDirectory(prefix="scas-quantize-") as folder:
        work = Path(folder)
        for model_name, batches, probe in (
            ("sface", [sface_batch([face]) for face in calibration_faces], sface_batch(judged[:8])),
            ("yunet", frame_batches, frame_batches[0]),
        ):
            spec = pack.manifest.fast_detector or pack.manifest.detector
            source = pack.path(pack.manifest.recognizer if model_name == "sface" else spec)
            prepared = work / f"{model_name}-prepared.onnx"
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
            fp32 = session(prepared)
            name = fp32.get_inputs()[0].name
            results: dict[str, dict[str, object]] = {"fp32": {"cpu_ms": cpu_ms(fp32, probe)}}
            for fmt, activations in VARIANTS:
                target = work / f"{model_name}-{fmt}-{activations.name}.onnx"
                quantize_static(
                    str(prepared), str(target), Feed(name, batches),
                    quant_format=getattr(QuantFormat, fmt), per_channel=True,
                    activation_type=activations, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                )  # fmt: skip
                int8 = session(target)
                entry: dict[str, object] = {"cpu_ms": cpu_ms(int8, probe)}
                if model_name == "sface":
                    every = sface_batch(judged)
                    ours = unit(int8.run(None, {name: every})[0])
                    theirs = unit(fp32.run(None, {name: every})[0])
                    cosine = (ours * theirs).sum(axis=1)
                    entry |= {
                        "cosine_min": float(cosine.min()),
                        "cosine_mean": float(cosine.mean()),
                    }
                else:
                    entry |= same_faces(fp32, int8, registry, spec)
                entry["speedup"] = results["fp32"]["cpu_ms"] / entry["cpu_ms"]  # type: ignore[operator]
                results[f"{fmt} {activations.name}"] = entry
            report[model_name] = results
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
