"""The one ffprobe reader: what a video file holds, as one record. No decisions here.

>>> stream_fps({"avg_frame_rate": "0/0", "r_frame_rate": "25/1"})
25.0
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from scas_lib.media.ffmpeg import MediaError, run_program

_STREAM_ENTRIES = (
    "stream=width,height,avg_frame_rate,r_frame_rate,codec_name,pix_fmt,has_b_frames,"
    "start_time,duration:stream_side_data=rotation:format=start_time,duration"
)


@dataclass(frozen=True)
class VideoInfo:
    """The first video stream of a file."""

    width: int
    height: int
    fps: float
    codec: str
    #: Timestamp of the first frame in the file's own time base (often non-zero).
    start_time: float
    duration: float
    rotation: int = 0
    pix_fmt: str = ""
    #: Frames the decoder may hold back for reordering: 0 for a stream without B-frames.
    has_b_frames: int = 0
    #: With ``packets=True``: how many frames the stream holds, and which are keyframes
    #: (indices from its first frame, ascending).
    frames: int | None = None
    keyframes: tuple[int, ...] | None = None


def stream_fps(stream: dict[str, Any]) -> float:
    """Frames per second of an ffprobe stream entry (its average rate, else its base rate);
    0 when ffprobe does not know."""
    for rate in (stream.get("avg_frame_rate"), stream.get("r_frame_rate")):
        if rate and not rate.startswith("0/") and not rate.endswith("/0"):
            return float(Fraction(rate))
    return 0.0


def probe(path: Path, *, packets: bool = False) -> VideoInfo:
    """The first video stream of ``path``; with ``packets``, also its frames and keyframes
    (ffprobe then reads every packet: slower). :class:`MediaError` if there is no video
    stream, or, with ``packets``, no decodable frame."""
    entries = _STREAM_ENTRIES + (":packet=flags" if packets else "")
    args = ["-v", "error", "-select_streams", "v:0", "-show_entries", entries, "-of", "json"]
    finished = run_program("ffprobe", [*args, str(path)], f"cannot read {path.name}")
    data = json.loads(finished.stdout or b"{}")
    streams = data.get("streams") or []
    if not streams:
        raise MediaError(f"{path.name} has no video stream")
    stream, container = streams[0], data.get("format", {})
    fps = stream_fps(stream)
    rotation = next(
        (int(side["rotation"]) for side in stream.get("side_data_list", []) if "rotation" in side),
        0,
    )
    frames = keyframes = None
    if packets:
        flags = [packet.get("flags", "") for packet in data.get("packets", [])]
        frames = len(flags)
        keyframes = tuple(index for index, flag in enumerate(flags) if "K" in flag)
        if not frames or not keyframes or not fps:
            raise MediaError(f"{path.name} has no decodable video")
    return VideoInfo(
        width=int(stream.get("width", 0)),
        height=int(stream.get("height", 0)),
        fps=fps,
        codec=stream.get("codec_name", ""),
        start_time=float(stream.get("start_time") or container.get("start_time") or 0.0),
        duration=float(stream.get("duration") or container.get("duration") or 0.0),
        rotation=rotation,
        pix_fmt=stream.get("pix_fmt", ""),
        # Unknown counts as having them: such a stream is not copied.
        has_b_frames=int(stream.get("has_b_frames", 1)),
        frames=frames,
        keyframes=keyframes,
    )


def video_packet_after(path: Path, at_s: float) -> float | None:
    """The time (seconds) of the video packet ffprobe finds on seeking ``path`` to
    ``at_s`` (the keyframe at or before it); None when the file holds no video there: a
    file cut short whose header still promises the rest."""
    args = ["-v", "error", "-select_streams", "v:0", "-read_intervals", f"{at_s:.3f}%+#1"]
    entries = ["-show_entries", "packet=pts_time", "-of", "json", str(path)]
    finished = run_program("ffprobe", [*args, *entries], f"cannot read {path.name}")
    packets = json.loads(finished.stdout or b"{}").get("packets") or []
    times = [float(packet["pts_time"]) for packet in packets if "pts_time" in packet]
    return times[0] if times else None


_RECORDING_ENTRIES = "stream=codec_name:format=duration:format_tags=creation_time"


@dataclass(frozen=True)
class RecordingInfo:
    """What a recorded file says of itself: the codec of its first video stream (None: it
    has none), the container's duration (0 when unknown) and its ``creation_time`` tag as
    written (None when absent or empty)."""

    codec: str | None
    duration: float
    creation_time: str | None


def probe_recording(path: Path) -> RecordingInfo:
    """The codec, container duration and ``creation_time`` tag of ``path`` in one ffprobe
    run; :class:`MediaError` if ffprobe cannot read it. A file without a video stream is no
    error here (``codec`` None): what to make of that is the caller's decision."""
    args = ["-v", "error", "-select_streams", "v:0", "-show_entries", _RECORDING_ENTRIES]
    finished = run_program("ffprobe", [*args, "-of", "json", str(path)], path.name)
    data = json.loads(finished.stdout or b"{}")
    streams = data.get("streams") or []
    container = data.get("format") or {}
    tag = (container.get("tags") or {}).get("creation_time")
    return RecordingInfo(
        codec=streams[0].get("codec_name", "") if streams else None,
        duration=float(container.get("duration") or 0.0),
        creation_time=tag or None,
    )
