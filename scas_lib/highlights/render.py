"""The renderer: an edit plan and its source files in, an MP4 and a poster out (ffmpeg).

No decisions here: which frames to copy and which to encode comes from
:mod:`~scas_lib.highlights.assembly`, what to show from the plan, how it looks from the
template. The filter graphs are built with ffmpeg-python.

How the file is made:

1. every :class:`~scas_lib.highlights.assembly.EncodePiece` is drawn by one ffmpeg run
   (normalised clips, crossfades, cards with text) and encoded to raw H.264 with x264,
   with parameter-set id 1 so that it never clashes with the cameras' (id 0);
2. every :class:`~scas_lib.highlights.assembly.CopyPiece` is cut from its source by stream
   copy, keyframe to keyframe;
3. the pieces are joined as one H.264 stream; the copied parameter sets are put first so
   that the MP4's decoder configuration lists both sets (a standard ``avc1`` file);
4. meanwhile the soundtrack is faded, brought to the template's loudness (EBU R128) and
   encoded as AAC; both streams are muxed into an MP4 with ``+faststart``, so a player
   starts before the download ends;
5. the poster is the middle frame of the best clip.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import wave
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import ffmpeg
import numpy as np

from scas_lib.highlights.assembly import (
    CopyPiece,
    EncodePiece,
    SourceFile,
    SourcePart,
    TimelineItem,
    assemble,
    source_parts,
    timeline,
)
from scas_lib.highlights.framing import FacePath, crop_x_expression
from scas_lib.highlights.music import SAMPLE_RATE, soundtrack
from scas_lib.highlights.selection import EditPlan
from scas_lib.highlights.templates import Template
from scas_lib.media import h264
from scas_lib.media.ffmpeg import MediaError, require, stream_fps

log = logging.getLogger(__name__)

#: Parameter-set id of everything SCAS encodes (cameras use 0).
OWN_PARAMETER_SET_ID = 1
#: Pieces made at the same time.
PARALLEL_PIECES = 2


@dataclass(frozen=True)
class CardText:
    title: str
    subtitle: str


@dataclass(frozen=True)
class RenderResult:
    video: Path
    poster: Path
    duration_s: float
    copied_frames: int
    encoded_frames: int


def probe_source(path: Path, camera_id: str, start: datetime) -> SourceFile:
    """Frames, keyframes and copy-compatibility of one recorded segment."""
    result = subprocess.run(
        [
            require("ffprobe"), "-v", "error", "-select_streams", "v:0",
            "-show_entries",
            "stream=codec_name,width,height,avg_frame_rate,r_frame_rate,has_b_frames,pix_fmt:"
            "stream_side_data=rotation:packet=flags",
            "-of", "json", str(path),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise MediaError(f"cannot read {path.name}: {result.stderr.strip()[-300:]}")
    data = json.loads(result.stdout or "{}")
    if not data.get("streams"):
        raise MediaError(f"{path.name} has no video stream")
    stream = data["streams"][0]
    packets = data.get("packets", [])
    keyframes = tuple(i for i, packet in enumerate(packets) if "K" in packet.get("flags", ""))
    fps = stream_fps(stream)
    if not packets or not keyframes or not fps:
        raise MediaError(f"{path.name} has no decodable video")
    return SourceFile(
        camera_id=camera_id,
        path=str(path),
        start=start,
        frames=len(packets),
        fps=fps,
        keyframes=keyframes,
        copyable=(
            stream.get("codec_name") == "h264"
            and stream.get("pix_fmt") == "yuv420p"
            and int(stream.get("has_b_frames", 1)) == 0
            and not stream.get("side_data_list")
        ),
        width=int(stream.get("width", 0)),
        height=int(stream.get("height", 0)),
    )


def render(
    plan: EditPlan,
    sources: Sequence[SourceFile],
    template: Template,
    intro: CardText,
    outro: CardText,
    workdir: Path,
    output: Path,
    poster: Path,
    *,
    faces: FacePath | None = None,
) -> RenderResult:
    """Render ``plan`` into ``output`` (MP4) and ``poster`` (JPEG); see the module doc.

    Footage of another shape than the template's is fitted and padded; with ``faces``, it
    is cropped instead, and the crop follows the visitor's face (the vertical version)."""
    if not plan.clips:
        raise ValueError(f"the plan of {plan.visitor_id!r} has no clip: nothing to render")
    _require_font(template.font)
    fps = template.fps
    # Only footage already at the output's size can be copied.
    sources = [
        source
        if (source.width, source.height) == (template.width, template.height)
        else replace(source, copyable=False)
        for source in sources
    ]
    pieces = assemble(plan, sources, fps, copy=template.copy_unchanged_footage)
    items = timeline(plan)
    workdir.mkdir(parents=True, exist_ok=True)
    piece_files = [workdir / f"piece-{index:03d}.h264" for index in range(len(pieces))]

    def make(index: int) -> None:
        piece, target = pieces[index], piece_files[index]
        if isinstance(piece, CopyPiece):
            _copy_piece(piece, target)
        else:
            inputs = _Inputs(template, faces)
            painter = _Painter(items, sources, template, intro, outro, workdir, inputs)
            _encode_piece(piece, painter, target)

    duration = sum(piece.frames for piece in pieces) / fps
    # Pieces and the soundtrack are independent. A short piece keeps ffmpeg's one-threaded
    # decoding and filtering busy more than x264, so two at a time use both cores of a
    # small machine.
    with ThreadPoolExecutor(max_workers=PARALLEL_PIECES) as pool:
        sound = pool.submit(_sound, template, duration, workdir)
        list(pool.map(make, range(len(pieces))))
        audio = sound.result()
    video = workdir / "video.h264"
    _join(piece_files, [isinstance(p, CopyPiece) for p in pieces], video)
    _mux(video, audio, template, duration, output)
    best = max(range(len(plan.clips)), key=lambda i: plan.clips[i].score)
    starts = plan.clip_output_starts()
    _poster(output, starts[best] + plan.clips[best].length_s / 2, poster)
    copied = sum(p.frames for p in pieces if isinstance(p, CopyPiece))
    return RenderResult(output, poster, duration, copied, round(duration * fps) - copied)


def _require_font(pattern: str) -> None:
    family = pattern.split(":")[0]
    listed = subprocess.run(
        ["fc-list", family], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not listed:
        raise MediaError(
            f"font {family!r} is not installed (Debian: apt-get install fonts-noto-cjk)"
        )


# --- pieces -----------------------------------------------------------------------------


def _copy_piece(piece: CopyPiece, target: Path) -> None:
    source = piece.source
    # A quarter frame past the keyframe: the seek lands on the keyframe itself.
    offset = (piece.source_frame + 0.25) / source.fps
    _run(
        ffmpeg.input(source.path, ss=f"{offset:.6f}").video.output(
            str(target),
            vcodec="copy",
            format="h264",
            **{"frames:v": piece.frames, "bsf:v": "h264_mp4toannexb"},
        ),
        f"copy from {Path(source.path).name}",
    )


def _encode_piece(piece: EncodePiece, painter: _Painter, target: Path) -> None:
    template = painter.template
    fps = template.fps
    window = (piece.first_frame / fps, (piece.first_frame + piece.frames) / fps)
    # ffmpeg-python merges identical inputs into one node, which then needs a split filter:
    # a first pass counts the inputs, the second builds the graph.
    painter.draw(*window)
    painter.inputs.freeze()
    chain = painter.draw(*window)
    # A last frame held a moment makes sure rounding never leaves the piece short.
    chain = chain.filter("tpad", stop_mode="clone", stop_duration=1)
    _run(
        chain.output(
            str(target),
            vcodec="libx264",
            preset="veryfast",
            crf=template.crf,
            pix_fmt="yuv420p",
            format="h264",
            bf=0,
            g=2 * fps,
            maxrate="16M",
            bufsize="32M",
            **{
                "frames:v": piece.frames,
                "profile:v": "high",
                "x264-params": f"sps-id={OWN_PARAMETER_SET_ID}",
            },
        ),
        f"encode frames {piece.first_frame}-{piece.first_frame + piece.frames}",
    )


class _Inputs:
    """Source inputs of one graph. Parts that start at the same place of the same file share
    one input (decoding from the keyframe before a cut is the costly part): it is opened
    for the longest of them and split."""

    def __init__(self, template: Template, faces: FacePath | None = None) -> None:
        self.template = template
        self.faces = faces
        self.longest: dict[tuple, float] = {}
        self.uses: Counter[tuple] = Counter()
        self.counting = True
        self.splits: dict[tuple, Any] = {}
        self.handed: Counter[tuple] = Counter()

    def freeze(self) -> None:
        self.counting = False

    def stream(self, part: SourcePart, *, shared: bool = True):
        if not shared:
            # Read just past the part (a shared input reads 0.2 s past): a read length of its
            # own also keeps ffmpeg-python from merging this input with a shared one.
            opened = self._open(part, part.length_s, margin_s=0.1)
            return _normalise(opened, self.template, part, self.faces)
        key = (part.source.path, round(part.offset_s, 4))
        if self.counting:
            self.uses[key] += 1
            self.longest[key] = max(self.longest.get(key, 0.0), part.length_s)
            return self._open(part, part.length_s)
        if key not in self.splits:
            opened = self._open(part, self.longest[key])
            self.splits[key] = opened.split() if self.uses[key] > 1 else opened
        if self.uses[key] == 1:
            return _normalise(self.splits[key], self.template, part, self.faces)
        index = self.handed[key]
        self.handed[key] += 1
        return _normalise(self.splits[key][index], self.template, part, self.faces)

    @staticmethod
    def _open(part: SourcePart, length_s: float, margin_s: float = 0.2):
        seconds = {"ss": f"{part.offset_s:.4f}", "t": f"{length_s + margin_s:.4f}"}
        return ffmpeg.input(part.source.path, **seconds).video.setpts("PTS-STARTPTS")


@dataclass
class _Painter:
    """Draws the output between two times: footage, crossfades and cards."""

    items: list[TimelineItem]
    sources: Sequence[SourceFile]
    template: Template
    intro: CardText
    outro: CardText
    workdir: Path
    inputs: _Inputs

    def draw(self, w0: float, w1: float):
        half_frame = 0.5 / self.template.fps
        chain = None
        for item in self.items:
            a, b = max(item.out_start, w0), min(item.out_end, w1)
            if b - a < half_frame:
                continue
            stream = self._item(item, a, b, w0)
            if chain is None:
                chain = stream
            else:
                chain = ffmpeg.filter(
                    [chain, stream], "xfade", transition="fade",
                    duration=f"{self.template.transition_s:.4f}", offset=f"{a - w0:.4f}",
                )  # fmt: skip
        if chain is None:
            raise ValueError(f"nothing to draw between {w0:.2f} s and {w1:.2f} s")
        return chain

    def _item(self, item: TimelineItem, a: float, b: float, w0: float):
        """The part of one timeline item between output times ``a`` and ``b`` of the
        window that starts at ``w0``."""
        if item.kind == "clip":
            return self._footage(item, a, b)
        # A card is a still of the footage it leads into (or out of), blurred and darkened,
        # under the text. The intro's still is the first frame of the first clip, so it
        # shares that clip's input and its decoding. The outro's is used seconds later in
        # the output: sharing would make ffmpeg hold the input back, so it opens its own.
        clips = [i for i in self.items if i.kind == "clip"]
        neighbour = clips[0] if item.kind == "intro" else clips[-1]
        at = max(neighbour.out_start, w0)
        still = self._still(neighbour, at, shared=item.kind == "intro")
        template = self.template
        length = b - a
        # Blur and darken the one frame (at a quarter size: cheap), then hold it.
        stream = (
            still.filter("scale", max(2, template.width // 8 * 2 // 2), -2)
            .filter("boxblur", 6, 2)
            .filter("eq", brightness=-0.12, saturation=0.8)
            .filter("scale", template.width, template.height)
            .filter("format", "yuv420p")
            .filter("tpad", stop_mode="clone", stop_duration=f"{length:.4f}")
            .trim(duration=f"{length:.4f}")
            .setpts("PTS-STARTPTS")
            .filter("settb", f"1/{template.fps}")
        )
        text = self.intro if item.kind == "intro" else self.outro
        stream = _draw_text(stream, text, template, self.workdir, item.kind)
        if template.logo:
            logo = ffmpeg.input(str(template.logo)).filter("scale", -1, template.height // 8)
            stream = ffmpeg.overlay(stream, logo, x="W-w-W/24", y="H/24")
        if item.kind == "intro":
            return stream.filter("fade", type="in", start_time=0, duration=0.5)
        return stream.filter("fade", type="out", start_time=max(0.0, length - 0.8), duration=0.8)

    def _still(self, item: TimelineItem, at: float, *, shared: bool):
        """The one frame a clip item shows at output time ``at``."""
        assert item.clip is not None
        part = _frame_at(self.sources, item.clip.camera_id, item.source_time(at))
        return self.inputs.stream(part, shared=shared).trim(end_frame=1)

    def _parts(self, item: TimelineItem, a: float, b: float, *, shared: bool = True) -> list:
        clip = item.clip
        assert clip is not None
        lo, hi = item.source_time(a), item.source_time(b)
        # A sliver under a frame (a cut a hair before a segment's end) gives ffmpeg an input
        # with no frame to show, which can stall its graph: the held frame covers it.
        shortest = 0.75 / self.template.fps
        parts = [
            part
            for part in source_parts(self.sources, clip.camera_id, lo, hi)
            if part.length_s >= shortest
        ] or [_frame_at(self.sources, clip.camera_id, lo)]
        return [self.inputs.stream(part, shared=shared) for part in parts]

    def _footage(self, item: TimelineItem, a: float, b: float):
        """Recording shown by a clip item between output times ``a`` and ``b``, at the
        output's size, rate and pixel format; missing recording is filled by the nearest
        frame."""
        streams = self._parts(item, a, b)
        joined = streams[0] if len(streams) == 1 else ffmpeg.concat(*streams, v=1, a=0)
        length = b - a
        return (
            joined.filter("tpad", stop_mode="clone", stop_duration=f"{length:.4f}")
            .trim(duration=f"{length:.4f}")
            .setpts("PTS-STARTPTS")
            .filter("settb", f"1/{self.template.fps}")
        )


def _frame_at(sources: Sequence[SourceFile], camera_id: str, at: datetime) -> SourcePart:
    """The recorded frame shown at ``at``: the segment's that holds it, else the nearest
    recorded one (before the first segment, its first frame; after the last, its last)."""
    own = [s for s in sources if s.camera_id == camera_id]
    if not own:
        raise MediaError(f"no recording of camera {camera_id!r} to render from")
    holding = [s for s in own if s.start <= at < s.end]
    if holding:
        source = holding[0]
        seconds = (at - source.start).total_seconds()
        index = min(int(seconds * source.fps + 1e-6), source.frames - 1)
    else:
        source = min(own, key=lambda s: min(abs(s.start - at), abs(s.end - at)))
        index = 0 if source.start >= at else source.frames - 1
    return SourcePart(source, index / source.fps, 1 / source.fps)


def _normalise(stream, template: Template, part: SourcePart, faces: FacePath | None = None):
    """A source part at the output's rate, size and pixel format (filters that would
    change nothing are left out: at 1080p each one costs a frame copy). Another shape is
    fitted and padded, or, given ``faces``, cropped around the face."""
    source = part.source
    if abs(source.fps - template.fps) > 1e-3:
        stream = stream.filter("fps", template.fps)
    stream = stream.trim(duration=f"{part.length_s:.4f}")
    size = (template.width, template.height)
    if (source.width, source.height) != size and faces is not None and source.width:
        crop_width, crop_height = _crop_size(source.width, source.height, *size)
        start = source.start + timedelta(seconds=part.offset_s)
        path = faces.crop_path(source.camera_id, start, part.length_s, source.width, crop_width)
        stream = stream.filter(
            "crop",
            w=crop_width,
            h=crop_height,
            x=crop_x_expression(path),
            y=(source.height - crop_height) // 2,
        ).filter("scale", *size)
    elif (source.width, source.height) != size:
        stream = stream.filter("scale", *size, force_original_aspect_ratio="decrease").filter(
            "pad", *size, "(ow-iw)/2", "(oh-ih)/2"
        )
    if (source.width, source.height) != size:
        stream = stream.filter("setsar", 1)
    return stream.filter("format", "yuv420p")


def _crop_size(width: int, height: int, out_width: int, out_height: int) -> tuple[int, int]:
    """The largest even-sized crop of a width x height frame with the output's shape."""
    if width * out_height > height * out_width:  # source wider: full height
        return (height * out_width // out_height) // 2 * 2, height // 2 * 2
    return width // 2 * 2, (width * out_height // out_width) // 2 * 2


def _draw_text(stream, text: CardText, template: Template, workdir: Path, name: str):
    height = template.height
    family, _, style = template.font.partition(":")
    width = template.width
    for line, size, y in ((text.title, height // 12, 0.40), (text.subtitle, height // 26, 0.56)):
        if not line:
            continue
        size = _fitting_size(line, size, 0.9 * width)
        textfile = workdir / f"{name}-{size}.txt"
        textfile.write_text(line, encoding="utf-8")
        # drawtext reads a fontfile it cannot open as a fontconfig pattern: the style.
        style_pattern = {"fontfile": f":{style}"} if style else {}
        stream = stream.drawtext(
            textfile=str(textfile),
            font=family,
            **style_pattern,
            fontsize=size,
            fontcolor=template.text_color,
            x="(w-text_w)/2",
            y=f"h*{y}-text_h/2",
            shadowcolor="black@0.6",
            shadowx=max(1, height // 360),
            shadowy=max(1, height // 360),
            alpha="min(1,max(0,(t-0.2)/0.6))",
        )
    return stream


def _fitting_size(line: str, size: int, max_width: float) -> int:
    """A font size at which ``line`` fits in ``max_width`` pixels: CJK glyphs are about one
    em wide, others about 0.6 em (a generous estimate, so names are never cut)."""
    ems = sum(1.0 if ord(char) >= 0x2E80 else 0.6 for char in line)
    return max(12, min(size, int(max_width / max(ems, 1.0))))


# --- join, sound, poster ------------------------------------------------------------------


def _join(piece_files: list[Path], copied_flags: list[bool], video: Path) -> None:
    """One raw H.264 stream; the copied parameter sets go first when they agree, so that
    the MP4's decoder configuration carries them next to SCAS's own."""
    parameter_sets: list[bytes] = []
    copied = [path for path, flag in zip(piece_files, copied_flags, strict=True) if flag]
    distinct: dict[int, set[bytes]] = {h264.SPS: set(), h264.PPS: set()}
    for path in copied:
        for kind, nal in h264.leading_parameter_sets(path.read_bytes()):
            distinct[kind].add(nal)
    # Two cameras' different sets would both claim id 0: then they stay in-band only.
    if copied and len(distinct[h264.SPS]) == 1 and len(distinct[h264.PPS]) == 1:
        parameter_sets = [next(iter(distinct[h264.SPS])), next(iter(distinct[h264.PPS]))]
    with video.open("wb") as out:
        for nal in parameter_sets:
            out.write(h264.START_CODE + nal)
        for path in piece_files:
            out.write(path.read_bytes())


def _music(template: Template, duration: float, workdir: Path) -> Path:
    if template.music != "generated":
        path = Path(template.music)
        if not path.is_file():
            raise MediaError(f"template {template.name!r}: music file {path} not found")
        return path
    samples = (soundtrack(duration + 0.5) * 32767).astype("<i2")
    path = workdir / "music.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.ascontiguousarray(samples).tobytes())
    return path


def _sound(template: Template, duration: float, workdir: Path) -> Path:
    """The soundtrack as AAC: faded, and brought to the template's loudness.

    The loudness is measured first (EBU R128, ffmpeg's ebur128) and corrected by one gain:
    on music that is already mastered this is what loudnorm's two-pass mode does, for a
    tenth of the time of its one-pass mode (which resamples to 192 kHz)."""
    music = _music(template, duration, workdir)
    gain_db = template.loudness_lufs - measure_loudness(music, duration)
    sound = (
        _soundtrack(music, duration)
        .filter("volume", f"{gain_db:.2f}dB")
        # Keeps peaks under -2 dBFS when the gain is positive.
        .filter("alimiter", limit=10 ** (-2.0 / 20), level="disabled")
        .filter("aformat", sample_rates=SAMPLE_RATE, channel_layouts="stereo")
    )
    target = workdir / "sound.m4a"
    # ffmpeg's default AAC coder (twoloop) costs 2.5x the "fast" one for no audible gain
    # on music at 192 kbit/s.
    _run(
        sound.output(
            str(target), acodec="aac", aac_coder="fast", audio_bitrate="192k", ar=SAMPLE_RATE
        ),
        "soundtrack",
    )
    return target


def _mux(video: Path, audio: Path, template: Template, duration: float, output: Path) -> None:
    """Both streams copied into an MP4 that starts playing before it is downloaded."""
    picture = ffmpeg.input(str(video), format="h264", framerate=template.fps, fflags="+genpts")
    _run(
        ffmpeg.output(
            picture.video, ffmpeg.input(str(audio)).audio, str(output),
            vcodec="copy", acodec="copy", movflags="+faststart", t=f"{duration:.4f}",
        ),
        "mux",
    )  # fmt: skip


def _soundtrack(music: Path, duration: float):
    return (
        ffmpeg.input(str(music), stream_loop=-1)
        .audio.filter("atrim", duration=f"{duration:.4f}")
        .filter("afade", type="in", duration=1)
        .filter("afade", type="out", start_time=max(0.0, duration - 2), duration=2)
    )


def measure_loudness(path: Path, duration: float | None = None) -> float:
    """Integrated loudness (EBU R128, LUFS) of a file's audio, or of the faded soundtrack
    that :func:`render` makes of ``path`` when ``duration`` is given."""
    audio = _soundtrack(path, duration) if duration else ffmpeg.input(str(path)).audio
    args = [
        require("ffmpeg"), "-hide_banner", "-nostdin", "-nostats",
        *audio.filter("ebur128").output("-", format="null").get_args(),
    ]  # fmt: skip
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", result.stderr.rpartition("Summary:")[2])
    if result.returncode != 0 or integrated is None:
        raise MediaError(f"cannot measure the loudness of {path.name}")
    return float(integrated.group(1))


def _poster(video: Path, at_s: float, poster: Path) -> None:
    _run(
        ffmpeg.input(str(video), ss=f"{at_s:.3f}").video.output(
            str(poster), vframes=1, **{"q:v": 3}
        ),
        "poster",
    )


#: No ffmpeg run of a highlight needs this long, even on a busy 2-core machine; one that
#: does has stalled, and a task that fails can be retried where one that hangs cannot.
FFMPEG_TIMEOUT_S = 600.0


def _run(stream, what: str) -> None:
    command = stream.global_args("-hide_banner", "-nostdin", "-v", "error").overwrite_output()
    args = [require("ffmpeg"), *command.get_args()]
    log.debug("ffmpeg %s: %s", what, " ".join(args))
    try:
        result = subprocess.run(
            args, capture_output=True, text=True, check=False, timeout=FFMPEG_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise MediaError(
            f"ffmpeg stalled ({what}): no result in {FFMPEG_TIMEOUT_S:.0f} s"
        ) from None
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-12:] if result.stderr.strip() else []
        raise MediaError(f"ffmpeg failed ({what}): {' | '.join(detail) or 'no message'}")
