"""Render speed: a 30 s 1080p highlight, side by side with a plain re-encode of its clips.

On a generated 2-camera 1080p25 event (camera-like H.264, 10 s segments, 2 s GOP), for a
visitor seen by both cameras in turn, one run renders:

- ``render``: SCAS's renderer (``scas_lib.highlights.render``) from the edit plan of the
  default template as the render stage times it (keyframe-snapped, cuts on the beats):
  cards, crossfades, music, copy where untouched; with a soundtrack cache as the render
  stage has, empty at the start of each run of this script (so the first round makes the
  soundtrack, later ones find it: ``render_sound_cached``);
- ``plain``: one ffmpeg run that cuts the same clips and re-encodes them with libx264
  ``veryfast`` (CRF 20), no cards, no transitions, no music.

Each figure is wall time divided by the length of what was made; both are run ``--rounds``
times, alternating, and the medians reported, with their ratio (``render_to_plain``, the
goal of issue 17 is <= 0.25) and that of the CPU seconds (``render_to_plain_cpu``: less
dependent on what else the machine runs). Quality, frame by frame (SSIM, all planes):

- ``ssim_render_vs_drawn``: the render against the same timeline drawn and never encoded
  (:func:`scas_lib.highlights.quality.ssim_vs_drawn`), over all frames and over those not
  copied (cards, crossfades, cut edges, held stills);
- ``ssim_plain_vs_camera``: the plain re-encode against the clips it re-encodes;
- ``ssim_vs_camera``: both against the camera's own frames over the clips' untouched
  stretches.

    .venv/bin/python benchmarks/render.py [--json] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from generated import generated_event


def make_event(directory: Path) -> Path:
    from scas_lib.simulation.plan import SimulationConfig

    config = SimulationConfig(
        event_id="renderbench", cameras=2, duration_s=60, segment_s=10, strangers=8, seed=3
    )
    return generated_event(directory, config)


def highlight_plan(event_dir: Path):
    """The default template's keyframe-snapped plan for a visitor seen by the two cameras
    in turn, 7 s at a time with a second's overlap: rendering is what is timed here, so the
    sightings are set rather than recognised (a generated visitor walks through a scene in
    a few seconds, too little for 30 s)."""
    from datetime import timedelta

    from scas_lib.catalog import Appearance
    from scas_lib.highlights.records import PlanLimits
    from scas_lib.highlights.render import probe_source
    from scas_lib.highlights.selection import select_moments
    from scas_lib.highlights.stage import timed_plan
    from scas_lib.highlights.templates import load_template

    meta = json.loads((event_dir / "event.json").read_text())
    start = datetime.fromisoformat(meta["start_time"])
    length = float(meta["config"]["duration_s"])
    cameras = [camera["id"] for camera in meta["cameras"]]
    appearances = []
    for index in range(int(length // 6)):
        begin, end = index * 6.0, min(length, index * 6.0 + 7.0)
        score = 0.5 + 0.4 * ((index * 7) % 5) / 5  # varied, so the best come first
        appearances.append(
            Appearance("visitor", cameras[index % len(cameras)],
                       start + timedelta(seconds=begin), start + timedelta(seconds=end), score)
        )  # fmt: skip
    template = load_template()
    sources = [
        probe_source(event_dir / s["path"], s["camera_id"], datetime.fromisoformat(s["start_time"]))
        for s in meta["segments"]
    ]
    plan = select_moments("renderbench", "visitor", appearances, PlanLimits.of(template))
    # As the render stage times it: keyframes, then the cuts on the soundtrack's beats.
    return timed_plan(plan, sources, template, None), sources, template


def cards():
    from scas_lib.highlights.render import CardText

    return CardText("Visitor 访客", "Render benchmark · 2026-11-22"), CardText("谢谢光临", "SCAS")


def run_render(event_dir: Path, out: Path) -> dict:
    from scas_lib.highlights.render import render

    plan, sources, template = highlight_plan(event_dir)
    # As the render stage does: soundtracks are kept for the next video of the same length.
    # The cache starts empty with each run of the benchmark, so its first round makes the
    # soundtrack and the later rounds find it (reported as ``render_sound_cached``).
    sounds = out.parent / "sound-cache"
    cached = any(sounds.glob("*.m4a"))
    cpu_before, started = _cpu_seconds(), time.perf_counter()
    result = render(
        plan, sources, template, *cards(), out.parent / "render-work", out,
        out.with_suffix(".jpg"), sound_cache=sounds,
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_before
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "video_s": result.duration_s,
        "x_duration": seconds / result.duration_s,
        "copied_frames": result.copied_frames,
        "encoded_frames": result.encoded_frames,
        "held_frames": result.held_frames,
        "mb": out.stat().st_size / 1e6,
        "sound_cached": cached,
    }


def plain_clips(event_dir: Path):
    """The plan's clips cut from the camera's files and joined, as ffmpeg-python stream."""
    import ffmpeg

    from scas_lib.highlights.assembly import source_parts

    plan, sources, template = highlight_plan(event_dir)
    pieces = []
    for clip in plan.clips:
        for part in source_parts(sources, clip.camera_id, clip.start, clip.end):
            pieces.append(
                ffmpeg.input(
                    part.source.path, ss=f"{part.offset_s:.4f}", t=f"{part.length_s:.4f}"
                ).video.filter("setpts", "PTS-STARTPTS")
            )
    return ffmpeg.concat(*pieces, v=1, a=0), sum(clip.length_s for clip in plan.clips), template


def run_plain(event_dir: Path, out: Path) -> dict:
    from scas_lib.media.ffmpeg import run_graph

    joined, length, template = plain_clips(event_dir)
    command = joined.output(
        str(out), vcodec="libx264", preset="veryfast", crf=template.crf, pix_fmt="yuv420p",
        movflags="+faststart",
    )  # fmt: skip
    cpu_before, started = _cpu_seconds(), time.perf_counter()
    run_graph(command, "plain re-encode")
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_before
    return {
        "seconds": seconds, "cpu_seconds": cpu, "video_s": length, "x_duration": seconds / length,
        "mb": out.stat().st_size / 1e6,
    }  # fmt: skip


def drawn_quality(event_dir: Path, rendered: Path, plain: Path, scratch: Path) -> dict:
    """Frame-by-frame SSIM: the render against the timeline drawn without encoding (all
    frames, and the frames not copied), the plain re-encode against the clips it
    re-encodes."""
    import ffmpeg

    from scas_lib.highlights.assembly import CopyPiece, assemble, for_output
    from scas_lib.highlights.quality import ssim_frames, ssim_vs_drawn

    plan, sources, template = highlight_plan(event_dir)
    render_scores = ssim_vs_drawn(plan, sources, template, *cards(), rendered, scratch / "q-r")
    pieces = assemble(plan, for_output(sources, template.width, template.height), template.fps)
    copied = {
        frame
        for piece in pieces
        if isinstance(piece, CopyPiece)
        for frame in range(piece.first_frame, piece.first_frame + piece.frames)
    }
    touched = [score for frame, score in enumerate(render_scores) if frame not in copied]
    joined, length, _ = plain_clips(event_dir)
    frames = round(length * template.fps)
    (scratch / "q-p").mkdir()
    plain_scores = ssim_frames(
        ffmpeg.input(str(plain)).video, joined, frames, scratch / "q-p" / "ssim.log"
    )

    def summary(scores: list[float]) -> dict:
        return {"mean": round(statistics.fmean(scores), 4), "min": round(min(scores), 4)}

    return {
        "ssim_render_vs_drawn": {"all": summary(render_scores), "not_copied": summary(touched)},
        "ssim_plain_vs_camera": summary(plain_scores),
    }


def quality(event_dir: Path, rendered: Path, plain: Path) -> dict:
    """Mean SSIM against the camera's frames over each clip's untouched stretch."""
    from scas_lib.highlights.assembly import source_parts, timeline

    plan, sources, _ = highlight_plan(event_dir)
    transition = plan.limits.transition_s
    scores = {"render": [], "plain": []}
    plain_position = 0.0
    from datetime import timedelta

    for item in timeline(plan):
        if item.clip is None:
            continue
        clip = item.clip
        inner_from, inner_to = transition, clip.length_s - transition
        parts = source_parts(
            sources, clip.camera_id, clip.start + timedelta(seconds=inner_from),
            clip.start + timedelta(seconds=inner_to),
        )  # fmt: skip
        if len(parts) == 1 and parts[0].length_s > 0.5:
            part = parts[0]
            for name, video, offset in (
                ("render", rendered, item.out_start + inner_from),
                ("plain", plain, plain_position + inner_from),
            ):
                scores[name].append(
                    _ssim(video, offset, Path(part.source.path), part.offset_s, part.length_s)
                )
        plain_position += clip.length_s
    return {name: round(statistics.fmean(values), 4) for name, values in scores.items() if values}


def _ssim(video: Path, at: float, source: Path, source_at: float, length: float) -> float:
    from scas_lib.media.ffmpeg import run_ffmpeg

    # The ssim filter prints its result at the info level.
    result = run_ffmpeg(
        ["-v", "info", "-ss", f"{at:.3f}", "-t", f"{length:.3f}",
         "-i", str(video), "-ss", f"{source_at:.3f}", "-t", f"{length:.3f}", "-i", str(source),
         "-lavfi", "[0:v]setpts=PTS-STARTPTS[a];[1:v]setpts=PTS-STARTPTS[b];[a][b]ssim",
         "-f", "null", "-"],
        f"SSIM of {video.name}",
    )  # fmt: skip
    return float(re.search(r"All:([\d.]+)", result.stderr).group(1))


def child(variant: str, event_dir: Path, out: Path) -> None:
    runner = {"render": run_render, "plain": run_plain}[variant]
    print(json.dumps(runner(event_dir, out)))


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg runs). Measured over
    the same span as the wall time: the render or the re-encode, not the probing of the
    sources that both need first."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--event", type=Path, help="a generated event (default: cached)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    from scas_lib.settings import Settings

    event_dir = args.event or make_event(Settings().data_dir / "benchmarks" / "render-event")
    runs: dict[str, list[dict]] = {"render": [], "plain": []}
    with tempfile.TemporaryDirectory(prefix="scas-render-bench-") as scratch:
        outputs = {name: Path(scratch) / name / f"{name}.mp4" for name in runs}
        for path in outputs.values():
            path.parent.mkdir()
        for round_index in range(args.rounds):
            order = ("render", "plain") if round_index % 2 == 0 else ("plain", "render")
            for variant in order:
                done = subprocess.run(
                    [sys.executable, __file__, "--child", variant, str(event_dir),
                     str(outputs[variant])],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                runs[variant].append(json.loads(done.stdout.strip().splitlines()[-1]))
        ssim = quality(event_dir, outputs["render"], outputs["plain"])
        drawn = drawn_quality(event_dir, outputs["render"], outputs["plain"], Path(scratch))
    render_runs, plain_runs = runs["render"], runs["plain"]
    render_x = statistics.median(r["x_duration"] for r in render_runs)
    plain_x = statistics.median(r["x_duration"] for r in plain_runs)
    render_cpu = statistics.median(r["cpu_seconds"] / r["video_s"] for r in render_runs)
    plain_cpu = statistics.median(r["cpu_seconds"] / r["video_s"] for r in plain_runs)
    report = {
        "render_x_duration": round(render_x, 3),
        "plain_reencode_x_duration": round(plain_x, 3),
        "render_to_plain": round(render_x / plain_x, 3),
        # CPU seconds per second of video, both ways.
        "render_to_plain_cpu": round(render_cpu / plain_cpu, 3),
        "highlight_s": round(render_runs[0]["video_s"], 2),
        "clips_s": round(plain_runs[0]["video_s"], 2),
        "copied_frames": render_runs[0]["copied_frames"],
        "encoded_frames": render_runs[0]["encoded_frames"],
        "held_frames": render_runs[0]["held_frames"],
        "render_mb": round(render_runs[0]["mb"], 2),
        "plain_mb": round(plain_runs[0]["mb"], 2),
        **drawn,
        "ssim_vs_camera": ssim,
        "rounds": args.rounds,
        "render_seconds": [round(r["seconds"], 2) for r in render_runs],
        "plain_seconds": [round(r["seconds"], 2) for r in plain_runs],
        # CPU time depends less on what else the machine runs than wall time does.
        "render_cpu_seconds": [round(r["cpu_seconds"], 2) for r in render_runs],
        "render_sound_cached": [r["sound_cached"] for r in render_runs],
        "plain_cpu_seconds": [round(r["cpu_seconds"], 2) for r in plain_runs],
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"highlight {report['highlight_s']} s ({report['copied_frames']} frames copied, "
          f"{report['encoded_frames']} encoded, {report['held_frames']} held); "
          f"clips {report['clips_s']} s")  # fmt: skip
    print(f"{'variant':<10}{'x duration (median)':>22}{'seconds per round':>40}")
    print(f"{'render':<10}{report['render_x_duration']:>22}{report['render_seconds']!s:>40}")
    print(f"{'plain':<10}{report['plain_reencode_x_duration']:>22}{report['plain_seconds']!s:>40}")
    print(
        f"CPU seconds: render {report['render_cpu_seconds']}, plain {report['plain_cpu_seconds']}"
        f" (soundtrack cached: {report['render_sound_cached']})"
    )
    print(f"render / plain: {report['render_to_plain']} (wall), "
          f"{report['render_to_plain_cpu']} (CPU per second of video)")  # fmt: skip
    print(f"SSIM render vs drawn: {report['ssim_render_vs_drawn']}; "
          f"plain vs camera: {report['ssim_plain_vs_camera']}")  # fmt: skip
    print(f"SSIM vs the camera's frames over untouched stretches: {ssim}")


if __name__ == "__main__":
    main()
