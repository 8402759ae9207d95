"""ffmpeg and ffprobe, as the adapters the rest of SCAS calls. No decisions here."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from scas_lib.errors import ScasError


class MediaError(ScasError):
    """ffmpeg or ffprobe failed, or is missing."""


def require(tool: str = "ffmpeg") -> str:
    found = shutil.which(tool)
    if found is None:
        raise MediaError(f"{tool} is not installed (Debian: apt-get install ffmpeg)")
    return found


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    codec: str
    #: Timestamp of the first frame in the file's own time base (often non-zero).
    start_time: float
    duration: float
    rotation: int = 0


def stream_fps(stream: dict) -> float:
    """Frames per second of an ffprobe stream entry (its average rate, else its base rate);
    0 when ffprobe does not know.

    >>> stream_fps({"avg_frame_rate": "0/0", "r_frame_rate": "25/1"})
    25.0
    """
    for rate in (stream.get("avg_frame_rate"), stream.get("r_frame_rate")):
        if rate and not rate.startswith("0/") and not rate.endswith("/0"):
            return float(Fraction(rate))
    return 0.0


def probe(path: Path) -> VideoInfo:
    """The first video stream of ``path``; :class:`MediaError` if there is none or the file
    cannot be read."""
    result = subprocess.run(
        [
            require("ffprobe"),
            "-v", "error",
            "-select_streams", "v:0",
            "-show_entries",
            "stream=width,height,avg_frame_rate,r_frame_rate,codec_name,start_time,duration:"
            "stream_side_data=rotation:format=start_time,duration",
            "-of", "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "unknown"
        raise MediaError(f"cannot read {path.name}: {reason}")
    data = json.loads(result.stdout or "{}")
    streams = data.get("streams") or []
    if not streams:
        raise MediaError(f"{path.name} has no video stream")
    stream, container = streams[0], data.get("format", {})
    fps = stream_fps(stream)
    rotation = next(
        (int(side["rotation"]) for side in stream.get("side_data_list", []) if "rotation" in side),
        0,
    )
    return VideoInfo(
        width=int(stream["width"]),
        height=int(stream["height"]),
        fps=fps,
        codec=stream.get("codec_name", ""),
        start_time=float(stream.get("start_time") or container.get("start_time") or 0.0),
        duration=float(stream.get("duration") or container.get("duration") or 0.0),
        rotation=rotation,
    )
