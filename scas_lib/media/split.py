"""Cutting a long video into pieces of about ``piece_s`` seconds, by ffmpeg's segment muxer
with the video stream copied (no re-encoding: a cut falls on the first keyframe at or after
each multiple of ``piece_s``, so pieces start where a decoder can). Each piece is a
MPEG-TS file that keeps the source's timestamps; ``start_s`` says where its first frame
lies from the source's first frame (read from the pieces, not from the muxer's list, which
is off by the decoder's delay when the stream has B-frames).

>>> import tempfile
>>> from scas_lib.media.ffmpeg import run_ffmpeg
>>> folder = Path(tempfile.mkdtemp())
>>> _ = run_ffmpeg(["-f", "lavfi", "-i", "testsrc=duration=5:rate=10", "-c:v", "libx264",
...                 "-g", "10", str(folder / "clip.mp4")], "a test clip")
>>> [(p.path.name, p.start_s) for p in split_video(folder / "clip.mp4", folder / "p", 2)]
[('000.ts', 0.0), ('001.ts', 2.0), ('002.ts', 4.0)]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scas_lib.media.ffmpeg import MediaError, run_ffmpeg
from scas_lib.media.probe import probe


@dataclass(frozen=True)
class VideoPiece:
    """One piece of a split video: its file, and its start and length in the source."""

    path: Path
    start_s: float
    duration_s: float


def split_video(path: Path, out_dir: Path, piece_s: float) -> list[VideoPiece]:
    """Split the video stream of ``path`` into ``out_dir/NNN.ts`` (first piece 000), in
    order; audio and other streams are left out (nothing of them is analysed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run_ffmpeg(
        ["-y", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "segment",
         "-segment_time", f"{piece_s:g}", str(out_dir / "%03d.ts")],
        f"splitting {path.name} into pieces of {piece_s:g} s",
    )  # fmt: skip
    files = sorted(out_dir.glob("[0-9][0-9][0-9].ts"))
    if not files:
        raise MediaError(f"ffmpeg made no piece of {path.name}")
    infos = [probe(file) for file in files]
    first = infos[0].start_time
    return [
        VideoPiece(file, round(info.start_time - first, 6), info.duration)
        for file, info in zip(files, infos, strict=True)
    ]
