"""The renderer: an edit plan and its source files in, an MP4 and a poster out.

An adapter: it runs what it is told and decides nothing. Which frames to copy and which
to encode comes from :mod:`~scas_lib.highlights.assembly`, what to show from the plan,
how it looks from the template and :mod:`~scas_lib.highlights.cards`; the ffmpeg graphs
are built by :mod:`~scas_lib.highlights.graph` and the soundtrack by
:mod:`~scas_lib.highlights.sound`; ffmpeg runs through :mod:`scas_lib.media.ffmpeg`.

How the file is made:

1. the :class:`~scas_lib.highlights.assembly.EncodePiece` s (normalised clips, crossfades,
   cards with text) are drawn one after another and encoded to raw H.264 by one x264 run
   per core (:func:`encode_groups`), an IDR frame at each piece's start, and the stream is
   cut there; parameter-set id 1, so that it never clashes with the cameras' (id 0);
2. the :class:`~scas_lib.highlights.assembly.CopyPiece` s are cut from their sources by
   stream copy, keyframe to keyframe, in one ffmpeg run;
   every :class:`~scas_lib.highlights.assembly.HoldPiece` (a card standing still) is
   written as skipped P frames that repeat the last frame of the piece before it
   (:func:`scas_lib.media.h264.repeat_last_frame`): nothing to draw or encode;
3. the pieces are joined as one H.264 stream; the copied parameter sets are put first, and
   the held frames' picture set after SCAS's own, so that the MP4's decoder configuration
   lists every set (a standard ``avc1`` file);
4. meanwhile the soundtrack is made (or taken from the cache of soundtracks); both streams
   are muxed into an MP4 with ``+faststart``, so a player starts before the download ends;
5. the poster is the frame it is told (the stage picks one where the visitor is the
   largest face: :func:`~scas_lib.highlights.visibility.poster_time`), else the plan's
   poster frame (:attr:`EditPlan.poster_s`), and each clip's middle frame becomes a small
   thumbnail of that moment (the visitor's page shows them);
6. beside the video, ``<name>.frames.json``: what each of its frames shows (which camera
   frame, through which window: :mod:`~scas_lib.highlights.shown`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scas_lib.highlights import graph
from scas_lib.highlights.assembly import (
    CopyPiece,
    EncodePiece,
    HoldPiece,
    Piece,
    SourceFile,
    assemble,
    for_output,
    source_file,
    timeline,
)
from scas_lib.highlights.cards import CardText, card_lines, missing_glyphs, still_span
from scas_lib.highlights.punch_in import Framing, SubjectPath, frame_clips
from scas_lib.highlights.records import EditPlan
from scas_lib.highlights.shown import shown_frames
from scas_lib.highlights.sound import make_soundtrack
from scas_lib.highlights.templates import Template
from scas_lib.media import h264
from scas_lib.media.ffmpeg import font_charset, require_font, run_graph
from scas_lib.media.probe import probe

__all__ = ["CardText", "RenderResult", "probe_source", "render"]

log = logging.getLogger(__name__)

#: x264 runs at the same time, each encoding a share of the pieces. A piece keeps ffmpeg's
#: one-threaded decoding and filtering busy more than x264, so two use both cores of a
#: small machine.
PARALLEL_PIECES = 2
#: Width of a moment's thumbnail: a third of a phone's width at twice its pixel density.
MOMENT_WIDTH = 320


@dataclass(frozen=True)
class RenderResult:
    video: Path
    poster: Path
    duration_s: float
    copied_frames: int
    encoded_frames: int
    #: Frames that repeat the one before them (a card standing still): not encoded.
    held_frames: int = 0
    #: One small JPEG per clip of the plan, in its order: the middle frame of that moment.
    moments: tuple[Path, ...] = ()
    #: What each frame shows (:class:`~scas_lib.highlights.shown.FrameRecord`, as JSON).
    frames: Path | None = None


def probe_source(path: Path, camera_id: str, start: datetime) -> SourceFile:
    """Frames, keyframes and copy-compatibility of one recorded segment."""
    return source_file(camera_id, str(path), start, probe(path, packets=True))


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
    subjects: SubjectPath | None = None,
    sound_cache: Path | None = None,
    with_moments: bool = True,
    poster_s: float | None = None,
) -> RenderResult:
    """Render ``plan`` into ``output`` (MP4) and ``poster`` (JPEG); see the module doc.

    Footage of another shape than the template's is fitted and padded. With ``subjects``
    (the visitor's boxes), it is cropped instead to a window that follows the visitor (the
    vertical version), and footage of the template's shape punches in as the template
    says (:func:`~scas_lib.highlights.punch_in.frame_clips`).
    Soundtracks are kept in ``sound_cache`` and taken from there for a video of the same
    length (:func:`~scas_lib.highlights.sound.make_soundtrack`). ``with_moments``: also the
    moments' thumbnails (the vertical twin of a video needs none of its own). ``poster_s``:
    where in the video the poster is (the plan's :attr:`~EditPlan.poster_s` by default)."""
    if not plan.clips:
        raise ValueError(f"the plan of {plan.visitor_id!r} has no clip: nothing to render")
    require_font(template.font)
    fps = template.fps
    sources = for_output(sources, template.width, template.height)
    framing = framing_of(plan, sources, template, subjects)
    items = timeline(plan)
    workdir.mkdir(parents=True, exist_ok=True)
    intro_lines = write_card(intro, template, workdir, "intro")
    outro_lines = write_card(outro, template, workdir, "outro")
    pieces = pieces_of(plan, sources, template, intro, outro, framing)
    piece_files = [workdir / f"piece-{index:03d}.h264" for index in range(len(pieces))]

    def encode(group: Sequence[tuple[int, EncodePiece | HoldPiece]], name: str) -> None:
        inputs = graph.Inputs(template, framing)
        painter = graph.Painter(items, sources, template, intro_lines, outro_lines, inputs)
        stream = workdir / f"{name}.h264"
        chosen = [piece for _, piece in group]
        run_graph(
            graph.encode_pieces(chosen, painter, stream),
            "encode frames "
            + ", ".join(f"{p.first_frame}-{p.first_frame + p.frames}" for p in chosen),
        )
        parts = h264.split_frames(stream.read_bytes(), [piece.frames for piece in chosen])
        for (index, _), part in zip(group, parts, strict=True):
            piece_files[index].write_bytes(part)

    def copy(group: Sequence[tuple[int, CopyPiece]]) -> None:
        run_graph(
            graph.copy_pieces([piece for _, piece in group], [piece_files[i] for i, _ in group]),
            "copy footage",
        )

    duration = sum(piece.frames for piece in pieces) / fps
    copies = [(index, piece) for index, piece in enumerate(pieces) if isinstance(piece, CopyPiece)]
    groups = encode_groups(pieces, PARALLEL_PIECES)
    # The encoded groups, the copies and the soundtrack are independent; the copies and the
    # soundtrack cost little, and take a core only for a moment.
    with ThreadPoolExecutor(max_workers=len(groups) + 2) as pool:
        done = [pool.submit(encode, group, f"encoded-{n}") for n, group in enumerate(groups)]
        sound = pool.submit(make_soundtrack, template, duration, workdir, sound_cache)
        if copies:
            done.append(pool.submit(copy, copies))
        for future in done:
            future.result()
        audio = sound.result()
    held = 0
    for index, piece in enumerate(pieces):
        if isinstance(piece, HoldPiece):
            # A hold follows the encoded piece whose last frame it repeats.
            try:
                piece_files[index].write_bytes(
                    h264.repeat_last_frame(
                        piece_files[index - 1].read_bytes(), piece.frames, graph.HOLD_PPS_ID
                    )
                )
                held += piece.frames
            except h264.UnsupportedStream:
                encode([(index, piece)], f"held-{index}")
    video = workdir / "video.h264"
    _join(piece_files, [isinstance(p, CopyPiece) for p in pieces], video, held=held > 0)
    run_graph(graph.mux(video, audio, template, duration, output), "mux")
    poster_at = plan.poster_s if poster_s is None else poster_s
    run_graph(graph.poster(output, poster_at, poster), "poster")
    moments: tuple[Path, ...] = ()
    if with_moments:
        moments = tuple(
            poster.with_name(f"{poster.stem}.moment-{index:02d}.jpg")
            for index in range(len(plan.clips))
        )
        run_graph(graph.thumbnails(output, plan.clip_middles_s(), moments, MOMENT_WIDTH), "moments")
    copied = sum(p.frames for p in pieces if isinstance(p, CopyPiece))
    encoded = round(duration * fps) - copied - held
    frames = output.with_name(f"{output.stem}.frames.json")
    record = shown_frames(plan, sources, (template.width, template.height), fps, framing)
    frames.write_text(record.to_json())
    return RenderResult(output, poster, duration, copied, encoded, held, moments, frames)


def pieces_of(
    plan: EditPlan,
    sources: Sequence[SourceFile],
    template: Template,
    intro: CardText,
    outro: CardText,
    framing: Framing | None = None,
) -> list[Piece]:
    """How the render of ``plan`` is made: the pieces copied, encoded and held (the cards'
    still stretches); the clips ``framing`` crops are encoded."""
    texts = {"intro": intro, "outro": outro}
    stills = [
        (item.out_start + lo, item.out_start + hi)
        for item in timeline(plan)
        if item.kind != "clip"
        for lo, hi in [
            still_span(
                item.kind,
                item.out_end - item.out_start,
                template,
                text=bool(card_lines(texts[item.kind], template)),
            )
        ]
    ]
    fitting = for_output(sources, template.width, template.height)
    framed = set(framing.windows) if framing else set()
    return assemble(
        plan, fitting, template.fps, copy=template.copy_unchanged_footage, stills=stills,
        framed=framed,
    )  # fmt: skip


def framing_of(
    plan: EditPlan, sources: Sequence[SourceFile], template: Template,
    subjects: SubjectPath | None,
) -> Framing:  # fmt: skip
    """The windows of the plan's clips (none without ``subjects``)."""
    if subjects is None:
        return Framing()
    sizes = {s.camera_id: (s.width, s.height) for s in sources if s.width and s.height}
    return frame_clips(plan, sizes, template, subjects)


def encode_groups(pieces: Sequence[Piece], count: int) -> list[list[tuple[int, EncodePiece]]]:
    """The encoded pieces (with their indices) in at most ``count`` groups of about equal
    frames, each encoded by one x264 run. Pieces separated only by a hold (a card around
    its still stretch) stay in one group: they draw from the same inputs.

    >>> pieces = [EncodePiece(0, 21), HoldPiece(21, 39), EncodePiece(60, 15),
    ...           EncodePiece(75, 100), EncodePiece(175, 15)]
    >>> [[index for index, _ in group] for group in encode_groups(pieces, 2)]
    [[3], [0, 2, 4]]
    """
    units: list[list[tuple[int, EncodePiece]]] = []
    joined = False
    for index, piece in enumerate(pieces):
        if isinstance(piece, EncodePiece):
            if joined and units:
                units[-1].append((index, piece))
            else:
                units.append([(index, piece)])
        joined = isinstance(piece, HoldPiece)
    groups: list[list[tuple[int, EncodePiece]]] = [[] for _ in range(min(count, len(units)))]
    for unit in sorted(units, key=lambda u: -sum(p.frames for _, p in u)):
        lightest = min(groups, key=lambda g: sum(p.frames for _, p in g))
        lightest.extend(unit)
    return [sorted(group, key=lambda item: item[0]) for group in groups]


def write_card(
    text: CardText, template: Template, workdir: Path, name: str
) -> list[graph.WrittenLine]:
    """The card's lines, each written to a file for drawtext."""
    charsets = {font: font_charset(font) for font in (template.font, *template.fallback_fonts)}
    written = []
    for index, line in enumerate(card_lines(text, template, charsets)):
        if missing := missing_glyphs(line.text, charsets[line.font]):
            # (never the text itself: it is a visitor's name)
            log.warning("a card line has %d characters no installed font draws: install "
                        "Debian's fonts-noto-core, or add a font to the template's "
                        "fallback_fonts", missing)  # fmt: skip
        textfile = workdir / f"{name}-{index}.txt"
        textfile.write_text(line.text, encoding="utf-8")
        written.append(graph.WrittenLine(line, textfile))
    return written


def _join(piece_files: list[Path], copied_flags: list[bool], video: Path, *, held: bool) -> None:
    """One raw H.264 stream, led by the parameter sets the copied pieces share and, when
    frames are held, by the held frames' picture set too (the holds carry it in-band
    only): the MP4's decoder configuration then lists every set, as a strict ``avc1``
    player wants."""
    copied = [path for path, flag in zip(piece_files, copied_flags, strict=True) if flag]
    leading = h264.shared_parameter_sets([path.read_bytes() for path in copied])
    first = piece_files[0].read_bytes()
    if held:
        encoded = [path for path, flag in zip(piece_files, copied_flags, strict=True) if not flag]
        own = h264.leading_parameter_sets(encoded[0].read_bytes())
        sps = [nal for kind, nal in own if kind == h264.SPS]
        hold_sets = [h264.skip_pps(h264.parse_sps(sps[0]).sps_id, graph.HOLD_PPS_ID)]
        if copied_flags[0]:  # SCAS's sets follow the camera's, then the hold's
            leading += [*sps, *(nal for kind, nal in own if kind == h264.PPS), *hold_sets]
        else:  # the first piece is SCAS's: the hold's set right after its own
            nals = list(h264.nal_units(first))
            nals[len(own) : len(own)] = hold_sets
            first = b"".join(h264.START_CODE + nal for nal in nals)
    with video.open("wb") as out:
        for nal in leading:
            out.write(h264.START_CODE + nal)
        out.write(first)
        for path in piece_files[1:]:
            out.write(path.read_bytes())
