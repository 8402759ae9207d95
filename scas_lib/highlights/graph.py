"""The filter graphs: what ffmpeg is told to do for each step of a render, built with
ffmpeg-python. Nothing runs here (:mod:`~scas_lib.highlights.render` runs the graphs) and
nothing is decided: what to show comes from the edit plan and
:mod:`~scas_lib.highlights.assembly`, how it looks from the template and
:mod:`~scas_lib.highlights.cards`.

- footage is normalised to the output's rate, size and pixel format (fitted and padded, or
  cropped to the window that follows the visitor: the vertical version's crop, a
  punch-in);
- neighbouring items are crossfaded;
- a card is a blurred, darkened still of the footage next to it, under its text;
- a piece is encoded as raw H.264 with SCAS's own parameter-set id, or copied;
- the pictures and the soundtrack are muxed into an MP4 that plays before it is downloaded.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeAlias

import ffmpeg

from scas_lib.highlights.assembly import (
    CopyPiece,
    EncodePiece,
    HoldPiece,
    SourceFile,
    SourcePart,
    TimelineItem,
    frame_at,
    source_parts,
)
from scas_lib.highlights.cards import (
    LOGO_HEIGHT_DIVISOR,
    SHADOW_COLOR,
    TextLine,
    shadow_offset,
    still_width,
    text_alpha,
)
from scas_lib.highlights.punch_in import Framing, Window, WindowPath
from scas_lib.highlights.templates import Template

#: Parameter-set id of everything SCAS encodes (cameras use 0).
OWN_PARAMETER_SET_ID = 1
#: x264's preset and settings when only the edges are encoded (cards, crossfades, cut
#: edges: a few seconds of a video): ``ultrafast`` with its deblocking filter back on is as
#: close to the pictures drawn (SSIM) as ``veryfast`` for less than half of its CPU time, at
#: about twice the bits for those seconds (docs/benchmarks-history.md, render). A video encoded
#: whole (nothing copied) keeps ``veryfast``: there, bits count more. One video uses one
#: setting throughout, so that its pieces share one set of parameter sets.
EDGES_ENCODER = ("ultrafast", "deblock=0,0")
WHOLE_ENCODER = ("veryfast", "")
#: The edges are encoded at a constant quantiser this far under the template's CRF, not at
#: the CRF itself: to rate each frame, CRF has x264 make a half-size copy of it and search
#: that, 15-20% of ``ultrafast``'s time. At two under, the edges are closer to the
#: pictures drawn than at the CRF (SSIM, docs/benchmarks-history.md), at about 13% more of the
#: video's bytes. (A constant quantiser has no bitrate cap: the whole video's encode keeps
#: the CRF and its cap.)
EDGES_QP_UNDER_CRF = 2
#: Picture parameter-set id of the frames that hold a card still (CAVLC, skipped blocks).
HOLD_PPS_ID = 2

#: ffmpeg-python's graph nodes: a stream to filter further, and an output to run. The
#: library has no type hints, so to the type checker these are Any.
Stream: TypeAlias = ffmpeg.nodes.FilterableStream
Output: TypeAlias = ffmpeg.nodes.OutputStream
#: A source input of a graph: the file, where in it the read starts, whether it is shared.
InputKey: TypeAlias = tuple[str, float, bool]


@dataclass(frozen=True)
class WrittenLine:
    """A line of a card, and the file drawtext reads its text from (any script, no
    escaping)."""

    line: TextLine
    textfile: Path


def copy_pieces(pieces: Sequence[CopyPiece], targets: Sequence[Path]) -> Output:
    """Each of ``pieces`` cut from its source by stream copy into raw H.264, in one run."""
    outputs = []
    for piece, target in zip(pieces, targets, strict=True):
        source = piece.source
        # A quarter frame past the keyframe: the seek lands on the keyframe itself.
        offset = (piece.source_frame + 0.25) / source.fps
        outputs.append(
            ffmpeg.input(source.path, ss=f"{offset:.6f}").video.output(
                str(target),
                vcodec="copy",
                format="h264",
                **{"frames:v": piece.frames, "bsf:v": "h264_mp4toannexb"},
            )
        )
    return ffmpeg.merge_outputs(*outputs)


def encode_pieces(
    pieces: Sequence[EncodePiece | HoldPiece], painter: Painter, target: Path
) -> Output:
    """``pieces`` drawn by ``painter`` one after another and encoded into one raw H.264
    stream (one x264 run), each starting with an IDR frame, so that the stream can be cut
    into the pieces (:func:`scas_lib.media.h264.split_frames`)."""
    template = painter.template
    fps = template.fps
    windows = [(p.first_frame / fps, (p.first_frame + p.frames) / fps) for p in pieces]
    # ffmpeg-python merges identical inputs into one node, which then needs a split filter:
    # a first pass counts the inputs, the second builds the graph.
    for window in windows:
        painter.draw(*window)
    painter.inputs.freeze()
    chains = []
    for piece, window in zip(pieces, windows, strict=True):
        # A last frame held a moment makes sure rounding never leaves the piece short.
        chains.append(
            painter.draw(*window)
            .filter("tpad", stop_mode="clone", stop_duration=1)
            .trim(end_frame=piece.frames)
            .setpts("PTS-STARTPTS")
            .filter("setsar", 1)
        )
    chain = chains[0] if len(chains) == 1 else ffmpeg.concat(*chains, v=1, a=0)
    # One frame every 1/fps, declared as such: a camera's jittery timestamps (a recorded
    # RTSP stream at 24.998 fps) would otherwise set x264's timing to a rate like
    # 1,000,000 fps, and the MP4 built on it would last a millisecond.
    chain = chain.filter("settb", f"1/{fps}").setpts("N").filter("fps", fps)
    starts, position = [], 0
    for piece in pieces:
        starts.append(position)
        position += piece.frames
    rate: dict[str, int | str]
    if template.copy_unchanged_footage:
        (preset, params), rate = EDGES_ENCODER, {"qp": max(0, template.crf - EDGES_QP_UNDER_CRF)}
    else:
        (preset, params), rate = WHOLE_ENCODER, {"crf": template.crf, "maxrate": "16M",
                                                  "bufsize": "32M"}  # fmt: skip
    return chain.output(
        str(target),
        vcodec="libx264",
        preset=preset,
        pix_fmt="yuv420p",
        format="h264",
        bf=0,
        g=2 * fps,
        **rate,
        force_key_frames="expr:" + "+".join(f"eq(n,{n})" for n in starts),
        forced_idr=1,
        **{
            "frames:v": position,
            "profile:v": "high",
            "x264-params": ":".join(filter(None, [f"sps-id={OWN_PARAMETER_SET_ID}", params])),
        },
    )


def mux(video: Path, audio: Path, template: Template, duration: float, output: Path) -> Output:
    """Both streams copied into an MP4 that starts playing before it is downloaded."""
    picture = ffmpeg.input(str(video), format="h264", framerate=template.fps, fflags="+genpts")
    return ffmpeg.output(
        picture.video, ffmpeg.input(str(audio)).audio, str(output),
        vcodec="copy", acodec="copy", movflags="+faststart", t=f"{duration:.4f}",
    )  # fmt: skip


def poster(video: Path, at_s: float, target: Path) -> Output:
    """The frame of ``video`` at ``at_s`` as a JPEG."""
    return ffmpeg.input(str(video), ss=f"{at_s:.3f}").video.output(
        str(target), vframes=1, **{"q:v": 3}
    )


def thumbnails(video: Path, at_s: Sequence[float], targets: Sequence[Path], width: int) -> Any:
    """The frames of ``video`` at each of ``at_s`` as small JPEGs ``width`` pixels wide, in
    one ffmpeg run (each input seeks to its own frame: no decoding of what lies between)."""
    outputs = [
        ffmpeg.input(str(video), ss=f"{at:.3f}")
        .video.filter("scale", width, -2)
        .output(str(target), vframes=1, **{"q:v": 4})
        for at, target in zip(at_s, targets, strict=True)
    ]
    return ffmpeg.merge_outputs(*outputs)


class Inputs:
    """Source inputs of one graph. Parts that start at the same place of the same file share
    one input (decoding from the keyframe before a cut is the costly part): it is opened
    for the longest of them and split."""

    def __init__(self, template: Template, framing: Framing | None = None) -> None:
        self.template = template
        self.framing = framing or Framing()
        self.longest: dict[InputKey, float] = {}
        self.uses: Counter[InputKey] = Counter()
        self.counting = True
        #: The input opened for a key: split (a node of streams) when it has several uses.
        self.splits: dict[InputKey, Stream | ffmpeg.nodes.FilterNode] = {}
        self.handed: Counter[InputKey] = Counter()

    def freeze(self) -> None:
        self.counting = False

    def stream(
        self, part: SourcePart, *, shared: bool = True, window: WindowPath | None = None
    ) -> Stream:
        """``part`` normalised, cropped to ``window`` if given; ``shared=False`` keeps it
        apart from the other uses of the same frames by other items (they still share it
        among themselves: a card drawn in several windows)."""
        # An input of its own reads just past the part (a shared one a little further): a
        # read length of its own also keeps ffmpeg-python from merging it with a shared one.
        margin = 0.12 if shared else 0.06
        key: InputKey = (part.source.path, round(part.offset_s, 4), shared)
        if self.counting:
            self.uses[key] += 1
            self.longest[key] = max(self.longest.get(key, 0.0), part.length_s)
            return self._open(part, part.length_s, margin)
        if key not in self.splits:
            opened = self._open(part, self.longest[key], margin)
            self.splits[key] = opened.split() if self.uses[key] > 1 else opened
        if self.uses[key] == 1:
            return normalise(self.splits[key], self.template, part, window)
        index = self.handed[key]
        self.handed[key] += 1
        return normalise(self.splits[key][index], self.template, part, window)

    @staticmethod
    def _open(part: SourcePart, length_s: float, margin_s: float) -> Stream:
        seconds = {"ss": f"{part.offset_s:.4f}", "t": f"{length_s + margin_s:.4f}"}
        # One decoding thread: the pieces are encoded by a run per core already, and a
        # short read gains nothing from frame threads but their start-up and hand-over.
        return ffmpeg.input(part.source.path, threads=1, **seconds).video.setpts("PTS-STARTPTS")


@dataclass
class Painter:
    """Draws the output between two times: footage, crossfades and cards."""

    items: list[TimelineItem]
    sources: Sequence[SourceFile]
    template: Template
    intro: Sequence[WrittenLine]
    outro: Sequence[WrittenLine]
    inputs: Inputs

    def draw(self, w0: float, w1: float) -> Stream:
        half_frame = 0.5 / self.template.fps
        chain: Stream | None = None
        for item in self.items:
            a, b = max(item.out_start, w0), min(item.out_end, w1)
            if b - a < half_frame:
                continue
            stream = self._item(item, a, b, w0)
            if chain is None:
                chain = stream
            else:
                fps = self.template.fps
                chain = crossfade(
                    chain, stream, round((a - w0) * fps), round(self.template.transition_s * fps)
                )
        if chain is None:
            raise ValueError(f"nothing to draw between {w0:.2f} s and {w1:.2f} s")
        return chain

    def _item(self, item: TimelineItem, a: float, b: float, w0: float) -> Stream:
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
        # The same frame whichever window of the card is drawn: a card may be drawn in
        # pieces (around the stretch where it holds still).
        at = neighbour.out_start if item.kind == "intro" else item.out_start
        still = self._still(neighbour, at, shared=item.kind == "intro")
        template = self.template
        length = b - a
        lead = a - item.out_start  # how far into the card the window starts
        # Blur and darken the one frame (small: cheap), then hold it.
        stream = (
            still.filter("scale", still_width(template), -2)
            .filter("boxblur", template.card_blur_radius, template.card_blur_passes)
            .filter("eq", brightness=template.card_brightness, saturation=template.card_saturation)
            .filter("scale", template.width, template.height)
            .filter("format", "yuv420p")
            .filter("tpad", stop_mode="clone", stop_duration=f"{length:.4f}")
            .trim(duration=f"{length:.4f}")
            .setpts("PTS-STARTPTS")
            .filter("settb", f"1/{template.fps}")
        )
        lines = self.intro if item.kind == "intro" else self.outro
        stream = draw_text(stream, lines, template, lead)
        if template.logo:
            logo = ffmpeg.input(str(template.logo)).filter(
                "scale", -1, template.height // LOGO_HEIGHT_DIVISOR
            )
            stream = ffmpeg.overlay(stream, logo, x="W-w-W/24", y="H/24")
        tolerance = 0.5 / template.fps
        if item.kind == "intro":
            fade_in = template.intro_fade_in_s
            if lead >= fade_in - tolerance:
                return stream  # faded in already
            if lead > tolerance:
                raise ValueError(f"a window {lead:.3f} s into the intro's fade-in")
            return stream.filter("fade", type="in", start_time=0, duration=fade_in)
        fade = template.outro_fade_out_s
        fade_from = item.out_end - fade - a
        if fade_from < -tolerance and fade > 0:
            raise ValueError(f"a window {-fade_from:.3f} s into the outro's fade-out")
        return stream.filter(
            "fade", type="out", start_time=f"{max(0.0, fade_from):.4f}", duration=fade
        )

    def _still(self, item: TimelineItem, at: float, *, shared: bool) -> Stream:
        """The one frame a clip item shows at output time ``at``."""
        assert item.clip is not None
        part = frame_at(self.sources, item.clip.camera_id, item.source_time(at))
        window = self.inputs.framing.of(item.clip)
        return self.inputs.stream(part, shared=shared, window=window).trim(end_frame=1)

    def _parts(
        self, item: TimelineItem, a: float, b: float, *, shared: bool = True
    ) -> list[Stream]:
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
        ] or [frame_at(self.sources, clip.camera_id, lo)]
        window = self.inputs.framing.of(clip)
        return [self.inputs.stream(part, shared=shared, window=window) for part in parts]

    def _footage(self, item: TimelineItem, a: float, b: float) -> Stream:
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


def crossfade(first: Stream, second: Stream, at: int, frames: int) -> Stream:
    """``first`` until its frame ``at``, then ``frames`` frames of it fading out over
    ``second``, then the rest of ``second``: what xfade's ``fade`` does, for a fifth of its
    cost (xfade mixes every pixel in floating point; here the fade is drawn on an alpha
    plane and overlaid in integers). Frames outside the overlap pass unchanged."""
    if frames <= 0:
        return ffmpeg.concat(first, second, v=1, a=0)
    one, two = first.split(), second.split()
    parts = []
    if at > 0:
        parts.append(one[0].trim(end_frame=at).setpts("PTS-STARTPTS"))
    fading = (
        one[1]
        .trim(start_frame=at, end_frame=at + frames)
        .setpts("PTS-STARTPTS")
        .filter("format", "yuva420p")
        .filter("fade", type="out", start_frame=0, nb_frames=frames, alpha=1)
    )
    coming = two[0].trim(end_frame=frames).setpts("PTS-STARTPTS")
    parts.append(ffmpeg.overlay(coming, fading, format="yuv420").filter("format", "yuv420p"))
    parts.append(two[1].trim(start_frame=frames).setpts("PTS-STARTPTS"))
    return ffmpeg.concat(*parts, v=1, a=0)


def normalise(
    stream: Stream, template: Template, part: SourcePart, window: WindowPath | None = None
) -> Stream:
    """A source part at the output's rate, size and pixel format (filters that would
    change nothing are left out: at 1080p each one costs a frame copy). Another shape is
    fitted and padded; given ``window`` (its clip's), the part is cropped to it and scaled
    to the output instead."""
    source = part.source
    if abs(source.fps - template.fps) > 1e-3:
        stream = stream.filter("fps", template.fps)
    stream = stream.trim(duration=f"{part.length_s:.4f}")
    size = (template.width, template.height)
    if window is not None and source.width and source.height:
        start = source.start + timedelta(seconds=part.offset_s)
        stream = crop_to(stream, window.between(start, part.length_s), source, size, template.fps)
    elif (source.width, source.height) != size:
        stream = stream.filter("scale", *size, force_original_aspect_ratio="decrease").filter(
            "pad", *size, "(ow-iw)/2", "(oh-ih)/2"
        )
    if window is not None or (source.width, source.height) != size:
        stream = stream.filter("setsar", 1)
    return stream.filter("format", "yuv420p")


def crop_to(
    stream: Stream,
    points: Sequence[tuple[float, Window]],
    source: SourceFile,
    size: tuple[int, int],
    fps: int,
) -> Stream:
    """``stream`` cropped to the window moving through ``points`` (seconds from the
    stream's start), scaled to ``size``.

    A window of one size moves with ``crop`` (its size is set once, its position is an
    expression of the time); a window that also zooms goes through ``zoompan``, whose
    window has the source's shape: a zooming window of another shape keeps the largest
    size it has here and only moves."""
    widths = [w.width for _, w in points]
    heights = [w.height for _, w in points]
    same_shape = abs(widths[0] * source.height / (heights[0] * source.width) - 1) < 0.01
    if max(widths) - min(widths) >= 1 and same_shape:
        return stream.filter(
            "zoompan",
            z=linear_expression([(t, source.width / w.width) for t, w in points], "it", 5),
            x=linear_expression([(t, w.x) for t, w in points], "it"),
            y=linear_expression([(t, w.y) for t, w in points], "it"),
            d=1,
            s=f"{size[0]}x{size[1]}",
            fps=fps,
        )
    width = min(int(max(widths)) // 2 * 2, source.width // 2 * 2)
    height = min(int(max(heights)) // 2 * 2, source.height // 2 * 2)
    # The window's centre is kept where the size was held.
    xs = [(t, min(max(w.x + (w.width - width) / 2, 0), source.width - width)) for t, w in points]
    ys = [
        (t, min(max(w.y + (w.height - height) / 2, 0), source.height - height)) for t, w in points
    ]
    return stream.filter(
        "crop", w=width, h=height, x=linear_expression(xs), y=linear_expression(ys)
    ).filter("scale", *size)


def linear_expression(
    path: Sequence[tuple[float, float]], variable: str = "t", digits: int = 1
) -> str:
    """An ffmpeg expression of ``variable`` (seconds) that moves linearly between the
    points ``(time, value)`` of ``path``, values written with ``digits`` decimals, and
    holds the last one.

    >>> linear_expression([(0.0, 1.0), (1.0, 1.5)], "it", digits=4)
    'if(lt(it,1.000),1.0000+(it-0.000)*0.5000000,1.5000)'
    """
    if not path:
        return "0"
    expression = f"{path[-1][1]:.{digits}f}"
    for (t0, x0), (t1, x1) in reversed(list(itertools.pairwise(path))):
        slope = (x1 - x0) / (t1 - t0) if t1 > t0 else 0.0
        segment = f"{x0:.{digits}f}+({variable}-{t0:.3f})*{slope:.{digits + 3}f}"
        expression = f"if(lt({variable},{t1:.3f}),{segment},{expression})"
    return expression


def draw_text(
    stream: Stream, lines: Sequence[WrittenLine], template: Template, lead_s: float = 0.0
) -> Stream:
    """The card's lines drawn centred on ``stream``, fading in, with a shadow; the stream
    starts ``lead_s`` seconds into the card."""
    offset = shadow_offset(template)
    for written in lines:
        family, _, style = (written.line.font or template.font).partition(":")
        # drawtext reads a fontfile it cannot open as a fontconfig pattern: the style.
        style_pattern = {"fontfile": f":{style}"} if style else {}
        stream = stream.drawtext(
            textfile=str(written.textfile),
            # The text as typed: no %{...} expansion, no \ escapes ("100% Fan", "A\B").
            expansion="none",
            font=family,
            **style_pattern,
            fontsize=written.line.size,
            fontcolor=template.text_color,
            x="(w-text_w)/2",
            y=f"h*{written.line.y}-text_h/2",
            shadowcolor=SHADOW_COLOR,
            shadowx=offset,
            shadowy=offset,
            alpha=text_alpha(template, lead_s),
        )
    return stream
