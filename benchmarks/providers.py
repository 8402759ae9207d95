"""onnxruntime's execution providers on this CPU, side by side: the default pack's footage
models (SFace, 8 faces a run; YuNet, one 960x544 frame) on every CPU provider the installed
onnxruntime has (the default ``CPUExecutionProvider``; ``OpenVINOExecutionProvider`` with
the ``onnxruntime-openvino`` wheel, which replaces the ``onnxruntime`` one, so run it from an
environment of its own). One thread each; CPU milliseconds of the whole process a run (a
provider may run on threads of its own), best of 3 rounds of 5 runs, alternated over two
passes; the largest output difference from the default provider.

    python benchmarks/providers.py --pack ~/.scas/models/default [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

CANDIDATES = ("CPUExecutionProvider", "OpenVINOExecutionProvider")


def session(path: Path, provider: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    extra = [{"device_type": "CPU", "num_of_threads": "1"}] if "OpenVINO" in provider else None
    return ort.InferenceSession(str(path), options, providers=[provider], provider_options=extra)


def cpu_ms(model: ort.InferenceSession, feed: np.ndarray) -> float:
    name = model.get_inputs()[0].name
    model.run(None, {name: feed})
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(5):
            model.run(None, {name: feed})
        best = min(best, (time.process_time() - started) / 5 * 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, required=True, help="a built default pack")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    providers = [p for p in CANDIDATES if p in ort.get_available_providers()]
    rng = np.random.default_rng(0)
    feeds = {
        "sface.onnx": rng.uniform(0, 255, (8, 3, 112, 112)).astype(np.float32),
        "yunet.onnx": rng.uniform(0, 255, (1, 3, 544, 960)).astype(np.float32),
    }
    report: dict[str, object] = {"onnxruntime": ort.__version__, "providers": providers}
    for model, feed in feeds.items():
        reference = None
        timings: dict[str, list[float]] = {provider: [] for provider in providers}
        differences: dict[str, float] = {}
        for _ in range(2):
            for provider in providers:
                loaded = session(args.pack / model, provider)
                output = loaded.run(None, {loaded.get_inputs()[0].name: feed})[0]
                reference = output if reference is None else reference
                differences[provider] = float(np.abs(output - reference).max())
                timings[provider].append(round(cpu_ms(loaded, feed), 1))
        report[model] = {"cpu_ms": timings, "max_difference": differences}
    print(json.dumps(report, indent=None if not args.json else 2))


if __name__ == "__main__":
    main()
