"""Cameras per GPU: the GPU path (NVDEC decoding, onnxruntime's CUDA provider), measured.

Not run yet: no machine with an NVIDIA GPU was available (README: the GPU path is
untested). Without onnxruntime's CUDA provider (``pip install -e '.[gpu]'`` and the CUDA
libraries) or without an ffmpeg that decodes with NVDEC (``-hwaccel cuda``), it stops at
once with one line saying which is missing.

On the throughput benchmark's clip (60 s of 1080p25 H.264 with faces, generated once), in
one run:

- ``nvdec_realtime_x``: camera-seconds decoded per wall-second by ``ffmpeg -hwaccel cuda``
  (frames stay on the GPU), for 1, 2, 4... clips decoded at once; the baseline
  ``cpu_decode_realtime_x`` is the same clip decoded on the CPU (``-threads 2``);
- ``gpu_path_realtime_x``: camera-seconds per wall-second of the GPU path with 1, 2, 4...
  processes at once (each a camera): ffmpeg decodes with NVDEC and samples
  ``analysis_fps`` frames a second (the recognition default), the footage engine
  (detection, alignment, embedding) runs on them with the CUDA provider; each process
  loads its models first, then all start together;
- ``cpu_path_realtime_x``: the same loop, one process, decoded and analysed on the CPU
  (the baseline, same run);
- ``cameras_per_gpu``: the most camera-seconds per wall-second the GPU path reached with
  any number of processes, rounded down: that many cameras recorded live keep up.

    .venv/bin/python benchmarks/gpu.py [--json] [--clip DIR] [--streams 1,2,4,8]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from throughput import make_clip


def gpu_problem() -> str | None:
    """Why the GPU path cannot run here (one line), or None."""
    import onnxruntime as ort

    from scas_lib.faces.session import CUDA
    from scas_lib.media.ffmpeg import MediaError, run_ffmpeg

    available = ort.get_available_providers()
    if CUDA not in available:
        return (
            f"no GPU path here: onnxruntime has no {CUDA} (available: {', '.join(available)}); "
            "on a machine with an NVIDIA GPU: pip install -e '.[gpu]' and the CUDA libraries"
        )
    try:
        listed = run_ffmpeg(["-hwaccels"], "list hardware decoders").stdout.decode()
    except MediaError as error:
        return f"no GPU path here: {error}"
    if "cuda" not in listed.split():
        return "no GPU path here: this ffmpeg has no cuda hwaccel (NVDEC); use one built with it"
    return None


def _clip(directory: Path) -> Path:
    record = json.loads((make_clip(directory) / "event.json").read_text())
    return directory / record["segments"][0]["path"]


def _decode_args(clip: Path, gpu: bool) -> list[str]:
    if gpu:  # frames stay in GPU memory: NVDEC alone
        return ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda", "-i", str(clip),
                "-f", "null", "-"]  # fmt: skip
    return ["-threads", "2", "-i", str(clip), "-f", "null", "-"]


def clip_seconds(clip: Path) -> float:
    from scas_lib.media.probe import probe

    return probe(clip).duration


def decode_x(clip: Path, streams: int, gpu: bool) -> float:
    """Camera-seconds decoded per wall-second with ``streams`` decodes of ``clip`` at once."""
    from scas_lib.media.ffmpeg import finish, start_ffmpeg

    started = time.monotonic()
    running = [start_ffmpeg(_decode_args(clip, gpu)) for _ in range(streams)]
    for process in running:
        finish(process, f"decode {clip.name}")
    return streams * clip_seconds(clip) / (time.monotonic() - started)


def analyse(clip: Path, gpu: bool, start_at: float) -> dict:
    """One camera of the GPU (or CPU) path: decode ``clip`` sampling ``analysis_fps``
    frames a second, find and embed the faces on them; from ``start_at`` (epoch seconds)."""
    from scas_lib.media.ffmpeg import finish, start_ffmpeg_reader
    from scas_lib.media.probe import probe
    from scas_lib.recognition.config import RecognitionConfig
    from scas_lib.recognition.pipeline import footage_engine
    from scas_lib.settings import Settings

    config = RecognitionConfig()
    engine = footage_engine(Settings().model_pack_dir, config, provider="cuda" if gpu else "cpu")
    info = probe(clip)
    width, height = info.width, info.height
    decode = ["-hwaccel", "cuda"] if gpu else ["-threads", "2"]
    args = [*decode, "-i", str(clip), "-vf", f"fps={config.analysis_fps}",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-"]  # fmt: skip
    late = time.time() > start_at
    time.sleep(max(0.0, start_at - time.time()))
    started = time.monotonic()
    process = start_ffmpeg_reader(args)
    assert process.stdout is not None
    frames = faces = 0
    size = width * height * 3
    while chunk := process.stdout.read(size):
        if len(chunk) < size:
            break
        image = np.frombuffer(chunk, np.uint8).reshape(height, width, 3)
        faces += len(engine.analyze(image))
        frames += 1
    finish(process, f"decode {clip.name}")
    wall = time.monotonic() - started
    return {"wall_s": round(wall, 2), "frames": frames, "faces": faces, "late": late}


def path_x(clip: Path, processes: int, gpu: bool) -> dict:
    """Camera-seconds per wall-second of ``processes`` cameras analysed at once."""
    start_at = time.time() + 30.0 + 10.0 * processes  # time for every process to load
    command = [sys.executable, __file__, "--child", str(clip), "--start-at", str(start_at)]
    running = [
        subprocess.Popen([*command, *(["--gpu"] if gpu else [])], stdout=subprocess.PIPE)
        for _ in range(processes)
    ]
    results = []
    for child in running:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise SystemExit(f"an analysing process failed (exit {child.returncode})")
        results.append(json.loads(out.decode().strip().splitlines()[-1]))
    slowest = max(result["wall_s"] for result in results)
    return {
        "realtime_x": round(processes * clip_seconds(clip) / slowest, 2),
        "any_late": any(result["late"] for result in results),
        "processes": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--clip", type=Path, help="directory for the generated clip (reused)")
    parser.add_argument("--streams", default="1,2,4,8", help="cameras at once, comma-separated")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--gpu", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(analyse(args.child, args.gpu, args.start_at)))
        return
    if problem := gpu_problem():
        print(problem, file=sys.stderr)
        raise SystemExit(2)
    clip = _clip(args.clip or Path(tempfile.gettempdir()) / "scas-throughput-clip")
    streams = [int(n) for n in args.streams.split(",")]
    nvdec = {n: round(decode_x(clip, n, gpu=True), 2) for n in streams}
    gpu_path = {n: path_x(clip, n, gpu=True) for n in streams}
    cpu_path = path_x(clip, 1, gpu=False)
    best = max(result["realtime_x"] for result in gpu_path.values())
    cpu_x = cpu_path["realtime_x"]
    report = {
        "cameras_per_gpu": math.floor(best),
        "gpu_path_realtime_x": {n: r["realtime_x"] for n, r in gpu_path.items()},
        "cpu_path_realtime_x": cpu_x,
        "gpu_path_to_cpu_path": round(gpu_path[streams[0]]["realtime_x"] / cpu_x, 2),
        "nvdec_realtime_x": nvdec,
        "cpu_decode_realtime_x": round(decode_x(clip, 1, gpu=False), 2),
        "details": {"gpu_path": gpu_path, "cpu_path": cpu_path},
        "cpus": len(os.sched_getaffinity(0)),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        if key != "details":
            print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
