"""The annotated video: every frame of the source with its faces boxed and labelled.

:func:`draw_faces` draws one frame (a box per face, and a caption of who it is and how
they look, in any script: the label font is Noto Sans CJK, as the cards'); the frames go
from one ffmpeg that decodes the source to another that encodes H.264, the source's sound
copied along (:func:`write_annotated`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from scas_lib.analysis.labels import faces_at
from scas_lib.analysis.records import AnalysedFace, AnalysedFrame
from scas_lib.media.ffmpeg import (
    MediaError,
    finish,
    run_ffmpeg,
    run_program,
    start_ffmpeg,
    start_ffmpeg_reader,
)
from scas_lib.media.probe import VideoInfo

#: The label font, found by fontconfig (fonts-noto-cjk: Latin, Chinese, Japanese, Korean).
LABEL_FONT = "Noto Sans CJK SC:style=Bold"
KNOWN_COLOUR = (46, 204, 113)
UNKNOWN_COLOUR = (241, 196, 15)


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    found = run_program("fc-match", ["-f", "%{file}", LABEL_FONT], "the label font")
    path = found.stdout.decode().strip()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default()


def caption(face: AnalysedFace) -> str:
    """What a face's label says: who, then how they look.

    >>> caption(AnalysedFace((0, 0, 9, 9), "Ana", "v-1", 0, "happy", 31.4, "female"))
    'Ana · happy · 31 F'
    """
    parts = [face.label]
    if face.expression:
        parts.append(face.expression)
    looks = " ".join(
        part
        for part in (
            f"{face.age:.0f}" if face.age is not None else "",
            face.gender[0].upper() if face.gender else "",
        )
        if part
    )
    if looks:
        parts.append(looks)
    return " · ".join(parts)


def draw_faces(image: NDArray[np.uint8], faces: Sequence[AnalysedFace]) -> NDArray[np.uint8]:
    """A copy of a BGR frame with each face boxed, its caption above the box."""
    if not faces:
        return image
    height = image.shape[0]
    picture = Image.fromarray(image[:, :, ::-1])
    pen = ImageDraw.Draw(picture)
    font = _font(max(12, height // 40))
    for face in faces:
        x1, y1, x2, y2 = face.box
        colour = KNOWN_COLOUR if face.visitor_id else UNKNOWN_COLOUR
        pen.rectangle((x1, y1, x2, y2), outline=colour, width=max(2, height // 360))
        text = caption(face)
        left, top, right, bottom = pen.textbbox((x1, y1), text, font=font)
        lift = bottom - top + 6
        pen.rectangle((x1, y1 - lift, x1 + right - left + 8, y1), fill=colour)
        pen.text((x1 + 4, y1 - lift + 2 - (top - y1)), text, font=font, fill=(0, 0, 0))
    return np.asarray(picture)[:, :, ::-1].copy()


def write_annotated(
    source: Path,
    target: Path,
    info: VideoInfo,
    frames: Sequence[AnalysedFrame],
    hold_s: float,
    *,
    thumbnail: Path | None = None,
    written_so_far: Callable[[int], None] | None = None,
) -> int:
    """Every frame of ``source`` with its faces (:func:`~scas_lib.analysis.labels.faces_at`)
    drawn, as H.264 in ``target`` with the source's sound; the frames written. The first
    frame with the most faces goes to ``thumbnail`` (JPEG, 320 px wide);
    ``written_so_far`` is told the count every second of video."""
    width, height = (info.height, info.width) if info.rotation % 180 else (info.width, info.height)
    size = width * height * 3
    reader = start_ffmpeg_reader(
        ["-i", str(source), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "bgr24", "-"]
    )
    writer = start_ffmpeg([
        "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
        "-r", f"{info.fps:.6f}", "-i", "-", "-i", str(source),
        # A keyframe every 2 s: the HLS copy (write_hls) cuts its segments there.
        "-map", "0:v", "-map", "1:a?", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
        "-g", f"{max(1, round(2 * info.fps))}",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", "-shortest", str(target),
    ])  # fmt: skip
    assert reader.stdout is not None and writer.stdin is not None
    written, most_faces = 0, -1
    every = max(1, round(info.fps))
    try:
        while len(raw := reader.stdout.read(size)) == size:
            image = np.frombuffer(raw, np.uint8).reshape(height, width, 3)
            faces = faces_at(frames, written / info.fps, hold_s=hold_s)
            drawn = draw_faces(image, faces)
            writer.stdin.write(drawn.tobytes())
            if thumbnail is not None and len(faces) > most_faces:
                most_faces = len(faces)
                _write_thumbnail(drawn, thumbnail)
            written += 1
            if written_so_far is not None and written % every == 0:
                written_so_far(written)
    except BrokenPipeError:
        reader.kill()
        raise MediaError(f"ffmpeg stopped taking the annotated frames of {source.name}") from None
    finally:
        reader.stdout.close()
        reader.wait()
    finish(writer, f"annotate {source.name}")
    return written


def _write_thumbnail(image: NDArray[np.uint8], target: Path) -> None:
    height, width = image.shape[:2]
    small = cv2.resize(
        image, (320, max(2, round(height * 320 / width))), interpolation=cv2.INTER_AREA
    )
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if ok:
        target.write_bytes(encoded.tobytes())


#: The HLS copy's playlist, beside its segments (``segment000.ts`` ...).
HLS_PLAYLIST = "index.m3u8"


def write_hls(annotated: Path, folder: Path) -> Path:
    """The annotated MP4 as an HLS video on demand in ``folder`` (its streams copied, cut
    at its keyframes into about 2 s segments); the playlist's path."""
    folder.mkdir(parents=True, exist_ok=True)
    playlist = folder / HLS_PLAYLIST
    run_ffmpeg(
        ["-y", "-i", str(annotated), "-c", "copy", "-f", "hls", "-hls_time", "2",
         "-hls_playlist_type", "vod", "-hls_segment_filename", str(folder / "segment%03d.ts"),
         str(playlist)],
        f"HLS of {annotated.name}",
    )  # fmt: skip
    return playlist
