"""How close a rendered video is to the pictures it was meant to show: SSIM, frame by
frame, against what the painter draws for the whole timeline, never encoded. For the
renderer's benchmark and tests: what is copied, held or encoded fast must still look like
the drawing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import ffmpeg

from scas_lib.highlights import graph
from scas_lib.highlights.assembly import SourceFile, for_output, timeline
from scas_lib.highlights.cards import CardText
from scas_lib.highlights.punch_in import SubjectPath
from scas_lib.highlights.records import EditPlan
from scas_lib.highlights.render import framing_of, write_card
from scas_lib.highlights.templates import Template
from scas_lib.media.ffmpeg import MediaError, run_graph

_ALL = re.compile(r"All:([\d.]+|inf)")


def ssim_vs_drawn(
    plan: EditPlan,
    sources: Sequence[SourceFile],
    template: Template,
    intro: CardText,
    outro: CardText,
    video: Path,
    workdir: Path,
    *,
    subjects: SubjectPath | None = None,
) -> list[float]:
    """The SSIM (all planes) of each frame of ``video``, the render of ``plan``, against
    the same frame drawn from the sources without encoding."""
    workdir.mkdir(parents=True, exist_ok=True)
    fps = template.fps
    frames = round(plan.duration_s * fps)
    fitting = for_output(sources, template.width, template.height)
    painter = graph.Painter(
        timeline(plan),
        fitting,
        template,
        write_card(intro, template, workdir, "drawn-intro"),
        write_card(outro, template, workdir, "drawn-outro"),
        graph.Inputs(template, framing_of(plan, fitting, template, subjects)),
    )
    painter.draw(0.0, frames / fps)
    painter.inputs.freeze()
    drawn = (
        painter.draw(0.0, frames / fps)
        .filter("tpad", stop_mode="clone", stop_duration=1)
        .trim(end_frame=frames)
        .setpts("PTS-STARTPTS")
    )
    return ssim_frames(ffmpeg.input(str(video)).video, drawn, frames, workdir / "ssim.log")


def ssim_frames(
    video: graph.Stream, reference: graph.Stream, frames: int, stats: Path
) -> list[float]:
    """Per-frame SSIM of the first ``frames`` frames of two ffmpeg-python streams."""
    first = video.trim(end_frame=frames).setpts("PTS-STARTPTS").filter("format", "yuv420p")
    second = reference.filter("format", "yuv420p")
    run_graph(
        ffmpeg.filter([first, second], "ssim", stats_file=str(stats)).output("-", format="null"),
        "SSIM against the drawn pictures",
    )
    scores = [float(match.group(1)) for match in map(_ALL.search, stats.read_text().splitlines())
              if match]  # fmt: skip
    if len(scores) != frames:
        raise MediaError(f"SSIM of {len(scores)} frames where {frames} were expected")
    return scores
