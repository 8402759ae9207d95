"""Ingest cost and delay: N loopback RTSP cameras at 1080p25, 4 Mbit/s, recorded for a
fixed time by ``scas ingest`` (stream copy, 2 s segments, upload to SeaweedFS, health in
PostgreSQL), side by side with the bare ffmpeg recorders it supervises (the same command
lines, Frigate-style, writing segments to disk and nothing else).

The cameras are GStreamer's RTSP server (scripts/rtsp-camera.py, Debian's python3) serving
a camera-like H.264 clip (vtest.avi's street footage scaled to 1920x1080, 25 fps, main
profile, no B-frames, a keyframe every 2 s, 4 Mbit/s). Reported, per variant:

- CPU-seconds per camera-minute (user + system, of ffmpeg and, for SCAS, of the Python
  process that supervises and uploads), and so cameras per core (60 / that figure);
- for SCAS, seconds from a segment's end (its start time + duration, wall clock) to its
  object being in the bucket (the catalog's ``pushed_at``, written once the PUT returned).

    .venv/bin/python benchmarks/ingest.py [--json] [--cameras 4] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VTEST = Path("/usr/local/share/scas/vtest.avi")
SEGMENT_S = 2.0


def cpu_seconds() -> float:
    """User + system CPU of this process and of its children that have been waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def own_cpu_seconds() -> float:
    """User + system CPU of this process alone (for SCAS: the supervisor and uploader)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def make_clip(path: Path, seconds: float) -> Path:
    from scas_lib.media.ffmpeg import run_ffmpeg

    if not path.exists():
        run_ffmpeg(
            ["-stream_loop", "-1", "-i", str(VTEST), "-t", f"{seconds:g}",
             "-vf", "fps=25,scale=1920:1080", "-c:v", "libx264", "-preset", "ultrafast",
             "-profile:v", "main", "-bf", "0", "-g", "50", "-b:v", "4M", "-maxrate", "4M",
             "-bufsize", "8M", "-pix_fmt", "yuv420p", str(path)],
            "1080p camera clip",
        )  # fmt: skip
    return path


class Cameras:
    """N RTSP servers, one per camera, each serving the clip from its start."""

    def __init__(self, clip: Path, count: int) -> None:
        from scas_lib.services.embedded import free_ports
        from scas_lib.simulation.rtsp_camera import CameraServerError, LoopbackCamera

        self.cameras = [LoopbackCamera(clip, port) for port in free_ports(count)]
        try:
            for camera in self.cameras:
                camera.start()
        except CameraServerError as error:
            self.stop()
            sys.exit(str(error))

    def urls(self) -> list[str]:
        return [camera.url for camera in self.cameras]

    def stop(self) -> None:
        for camera in self.cameras:
            camera.stop()


def bare_ffmpeg(urls: list[str], seconds: float, work: Path) -> dict:
    """The recorders alone: ffmpeg per camera, segments to disk, ended after ``seconds``."""
    from scas_lib.ingest.sources import recorder_args, resolve_source
    from scas_lib.media.ffmpeg import start_recorder, stop_recorder

    before = cpu_seconds()
    processes = []
    for index, url in enumerate(urls):
        directory = work / f"bare{index}"
        directory.mkdir()
        args = recorder_args(resolve_source(f"cam{index}", url, {}), SEGMENT_S, str(directory),
                             copy=True)  # fmt: skip
        process = start_recorder(args)
        for pipe in (process.stdout, process.stderr):
            threading.Thread(target=pipe.read, daemon=True).start()
        processes.append(process)
    time.sleep(seconds)
    for process in processes:
        stop_recorder(process)
    used = cpu_seconds() - before
    segments = sum(len(list((work / f"bare{i}").glob("seg*.mp4"))) for i in range(len(urls)))
    return {"cpu_s": used, "segments": segments}


def scas_ingest(urls: list[str], seconds: float, work: Path) -> dict:
    """``ingest_event`` on the embedded PostgreSQL and SeaweedFS, ended after ``seconds``."""
    from scas_lib.catalog import Catalog, upgrade
    from scas_lib.events import EventConfig
    from scas_lib.ingest.runner import IngestOptions, ingest_event
    from scas_lib.services import EmbeddedPostgres, EmbeddedSeaweedFS, Services
    from scas_lib.settings import Settings
    from scas_lib.storage import ObjectStore

    postgres, seaweed = EmbeddedPostgres(work / "servers"), EmbeddedSeaweedFS(work / "servers")
    with postgres.running(), seaweed.running():
        s3 = seaweed.s3_config()
        ObjectStore(s3).ensure_bucket("recordings")
        with Catalog.connect(postgres.url()) as catalog:
            upgrade(catalog.connection)
        settings = Settings(data_dir=work / "data")
        services = Services(settings=settings, database_url=postgres.url(), s3=s3)
        config = EventConfig.model_validate(
            {"id": "bench", "segment_s": SEGMENT_S,
             "cameras": [{"id": f"cam{i}", "url": url} for i, url in enumerate(urls)]}
        )  # fmt: skip
        stop = threading.Event()
        options = IngestOptions(spool_dir=settings.spool_path, poll_s=1.0)
        before, own_before = cpu_seconds(), own_cpu_seconds()
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        report = ingest_event(services, "bench", options, lambda: config, environ={}, stop=stop)
        used, own = cpu_seconds() - before, own_cpu_seconds() - own_before
        with Catalog.connect(postgres.url()) as catalog, catalog.connection.cursor() as cur:
            cur.execute(
                """SELECT extract(epoch FROM pushed_at - (start_time
                          + duration_s * interval '1 second')), duration_s
                   FROM pushed_segments ORDER BY start_time"""
            )
            rows = cur.fetchall()
    # The last segment of each camera was closed by the stop, not by its length.
    delays = sorted(float(delay) for delay, duration in rows if duration >= SEGMENT_S - 0.2)
    return {
        "cpu_s": used,
        # Of which the Python process (supervision, spool, upload, health rows); the rest
        # is the recorders' ffmpeg.
        "python_cpu_s": own,
        "segments": report.pushed,
        "visible_after_s": {
            "median": statistics.median(delays) if delays else None,
            "p95": delays[int(0.95 * (len(delays) - 1))] if delays else None,
            "max": delays[-1] if delays else None,
            "segments": len(delays),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    cache = Path(os.environ.get("SCAS_BENCH_CACHE", Path.home() / ".cache" / "scas-bench"))
    cache.mkdir(parents=True, exist_ok=True)
    length = args.seconds + 15
    clip = make_clip(cache / f"camera-1080p25-4M-{length:g}s.mp4", length)
    results = {}
    with tempfile.TemporaryDirectory(prefix="scas-ingest-bench-") as folder:
        work = Path(folder)
        for name, run in (("bare ffmpeg", bare_ffmpeg), ("scas ingest", scas_ingest)):
            cameras = Cameras(clip, args.cameras)
            try:
                (work / name.replace(" ", "-")).mkdir()
                result = run(cameras.urls(), args.seconds, work / name.replace(" ", "-"))
            finally:
                cameras.stop()
            camera_minutes = args.cameras * args.seconds / 60
            result["cpu_s_per_camera_minute"] = result["cpu_s"] / camera_minutes
            result["cameras_per_core"] = 60 / result["cpu_s_per_camera_minute"]
            results[name] = result
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cameras": args.cameras,
        "seconds": args.seconds,
        "segment_s": SEGMENT_S,
        "stream": "1080p25 H.264 main, no B-frames, GOP 2 s, 4 Mbit/s, RTSP over TCP",
        "results": results,
        "scas_cpu_ratio_to_bare": results["scas ingest"]["cpu_s"] / results["bare ffmpeg"]["cpu_s"],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.cameras} cameras x {args.seconds:g} s, {report['stream']}")
    print(f"{'variant':<12} {'segments':>8} {'CPU-s/cam-min':>14} {'cameras/core':>13}")
    for name, result in results.items():
        print(f"{name:<12} {result['segments']:>8} {result['cpu_s_per_camera_minute']:>14.2f} "
              f"{result['cameras_per_core']:>13.0f}")  # fmt: skip
    visible = results["scas ingest"]["visible_after_s"]
    print(f"scas / bare CPU: {report['scas_cpu_ratio_to_bare']:.2f}x")
    print(f"visible after segment end: median {visible['median']:.2f} s, p95 {visible['p95']:.2f}"
          f" s, max {visible['max']:.2f} s over {visible['segments']} segments")  # fmt: skip


if __name__ == "__main__":
    main()
