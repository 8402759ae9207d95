"""Assembly: an edit plan as pieces of output, each copied from a source or encoded. Pure.

Re-encoding a whole highlight costs more than the venue can wait for, and every encode
loses a little quality. Most of a highlight is footage played unchanged, so only what a
filter touches is encoded: the cards, each transition, and the frames between a cut and
the next keyframe. The rest is copied from the camera's stream, keyframe to keyframe.

A source can be copied only when its stream is what the output needs (H.264, 4:2:0, no
B-frames, not rotated: :func:`copyable_stream`; the output's size: :func:`for_output`; the
output's frame rate); otherwise its clips are encoded whole.

Times: a plan's clips are in UTC recording time; the output's in frames from its first
frame; a source's keyframes in frames from its own first frame.

>>> from datetime import datetime, timedelta, UTC
>>> from scas_lib.highlights.records import EditPlan, PlannedClip, PlanLimits
>>> from scas_lib.highlights.templates import Template
>>> t0 = datetime(2026, 5, 1, 10, tzinfo=UTC)
>>> limits = PlanLimits.of(Template(name="doc", transition_s=0.6, intro_s=3.0, outro_s=3.0))
>>> plan = EditPlan("expo", "ana", (PlannedClip("gate", t0 + timedelta(seconds=1),
...                                             t0 + timedelta(seconds=9), 1.0),), limits)
>>> gate = SourceFile("gate", "gate.mp4", t0, frames=250, fps=25.0,
...                   keyframes=(0, 50, 100, 150, 200), copyable=True)
>>> [(type(p).__name__, p.first_frame, p.frames) for p in assemble(plan, [gate], fps=25)]
[('EncodePiece', 0, 85), ('CopyPiece', 85, 150), ('EncodePiece', 235, 85)]
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from scas_lib.highlights.records import EditPlan, PlannedClip
from scas_lib.media.ffmpeg import MediaError
from scas_lib.media.probe import VideoInfo


@dataclass(frozen=True)
class SourceFile:
    """One recorded segment, as the renderer found it."""

    camera_id: str
    path: str
    #: UTC time of its first frame.
    start: datetime
    frames: int
    fps: float
    #: Frame indices of its keyframes (IDR), ascending.
    keyframes: tuple[int, ...]
    #: Its stream can be copied into the output as it is.
    copyable: bool
    width: int = 0
    height: int = 0

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.frames / self.fps)


def footage_spans(
    sources: Sequence[SourceFile],
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each camera's stretches of footage in ``sources``, segments that follow each other
    (within a frame) joined into one stretch.

    >>> t0 = datetime(2026, 1, 1)
    >>> a = SourceFile("cam1", "a.mp4", t0, 50, 25.0, (0,), True)
    >>> b = replace(a, path="b.mp4", start=t0 + timedelta(seconds=2))
    >>> c = replace(a, path="c.mp4", start=t0 + timedelta(seconds=10))
    >>> [(s.second, e.second) for s, e in footage_spans([c, b, a])["cam1"]]
    [(0, 4), (10, 12)]
    """
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for source in sorted(sources, key=lambda s: (s.camera_id, s.start)):
        runs = spans.setdefault(source.camera_id, [])
        if runs and source.start <= runs[-1][1] + timedelta(seconds=1 / source.fps):
            runs[-1] = (runs[-1][0], max(runs[-1][1], source.end))
        else:
            runs.append((source.start, source.end))
    return spans


def copyable_stream(info: VideoInfo) -> bool:
    """Whether a stream can be copied into the output as it is: H.264 in 4:2:0 with no
    B-frames (the output's own encoding) and no rotation to apply.

    >>> camera = VideoInfo(1920, 1080, 25.0, "h264", 0.0, 10.0, pix_fmt="yuv420p")
    >>> copyable_stream(camera), copyable_stream(replace(camera, has_b_frames=2))
    (True, False)
    >>> hevc, turned = replace(camera, codec="hevc"), replace(camera, rotation=90)
    >>> copyable_stream(hevc), copyable_stream(turned)
    (False, False)
    """
    return (
        info.codec == "h264"
        and info.pix_fmt == "yuv420p"
        and info.has_b_frames == 0
        and info.rotation == 0
    )


def source_file(camera_id: str, path: str, start: datetime, info: VideoInfo) -> SourceFile:
    """A recorded segment as the renderer uses it, from its probe (with packets)."""
    if info.frames is None or info.keyframes is None:
        raise ValueError(f"{path}: probed without its packets")
    return SourceFile(
        camera_id=camera_id,
        path=path,
        start=start,
        frames=info.frames,
        fps=info.fps,
        keyframes=info.keyframes,
        copyable=copyable_stream(info),
        width=info.width,
        height=info.height,
    )


def for_output(sources: Sequence[SourceFile], width: int, height: int) -> list[SourceFile]:
    """The sources, of which only those already at the output's size stay copyable.

    >>> t0 = datetime(2026, 5, 1, 10)
    >>> hd = SourceFile("gate", "g.mp4", t0, 250, 25.0, (0,), True, 1920, 1080)
    >>> [s.copyable for s in for_output([hd, replace(hd, width=1280, height=720)], 1920, 1080)]
    [True, False]
    """
    return [
        source
        if (source.width, source.height) == (width, height)
        else replace(source, copyable=False)
        for source in sources
    ]


@dataclass(frozen=True)
class TimelineItem:
    """A card or a clip, placed on the output's clock (seconds)."""

    kind: Literal["intro", "clip", "outro"]
    out_start: float
    out_end: float
    clip: PlannedClip | None = None

    def source_time(self, out_t: float) -> datetime:
        """The recording time shown at output time ``out_t`` (clips only)."""
        if self.clip is None:
            raise ValueError(f"an {self.kind} card has no source time")
        return self.clip.start + timedelta(seconds=out_t - self.out_start)


@dataclass(frozen=True)
class SourcePart:
    """A stretch of one source file: ``length_s`` seconds from ``offset_s``."""

    source: SourceFile
    offset_s: float
    length_s: float


@dataclass(frozen=True)
class CopyPiece:
    """Output frames copied from a source, starting at one of its keyframes."""

    first_frame: int
    frames: int
    source: SourceFile
    source_frame: int


@dataclass(frozen=True)
class EncodePiece:
    """Output frames the renderer draws and encodes (cards, transitions, cut edges)."""

    first_frame: int
    frames: int


@dataclass(frozen=True)
class HoldPiece:
    """Output frames that repeat the frame before them (a card once its text is in): not
    encoded, written as skipped frames after the encoded piece they follow."""

    first_frame: int
    frames: int


Piece = CopyPiece | EncodePiece | HoldPiece


def timeline(plan: EditPlan) -> list[TimelineItem]:
    """The plan's items on the output clock; neighbours overlap by one transition."""
    kinds: list[tuple[Literal["intro", "clip", "outro"], PlannedClip | None]] = []
    if plan.clips and plan.limits.intro_s > 0:
        kinds.append(("intro", None))
    kinds += [("clip", clip) for clip in plan.clips]
    if plan.clips and plan.limits.outro_s > 0:
        kinds.append(("outro", None))
    items, position = [], 0.0
    for (kind, clip), length in zip(kinds, plan.item_lengths, strict=True):
        items.append(TimelineItem(kind, position, position + length, clip))
        position += length - plan.limits.transition_s
    return items


def frame_at(sources: Sequence[SourceFile], camera_id: str, at: datetime) -> SourcePart:
    """The recorded frame shown at ``at``: the segment's that holds it, else the nearest
    recorded one (before the first segment, its first frame; after the last, its last).

    >>> t0 = datetime(2026, 5, 1, 10)
    >>> gate = SourceFile("gate", "g.mp4", t0, 250, 25.0, (0,), True)
    >>> frame_at([gate], "gate", t0 + timedelta(seconds=2)).offset_s
    2.0
    >>> frame_at([gate], "gate", t0 + timedelta(seconds=30)).offset_s   # past its end
    9.96
    """
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


def source_parts(
    sources: Sequence[SourceFile], camera_id: str, start: datetime, end: datetime
) -> list[SourcePart]:
    """Where the recording of ``camera_id`` between ``start`` and ``end`` is stored; gaps
    in the recording are simply missing from the answer."""
    parts = []
    for source in sorted(sources, key=lambda s: s.start):
        if source.camera_id != camera_id or source.end <= start or source.start >= end:
            continue
        lo, hi = max(start, source.start), min(end, source.end)
        parts.append(
            SourcePart(
                source,
                (lo - source.start).total_seconds(),
                (hi - lo).total_seconds(),
            )
        )
    return parts


def assemble(
    plan: EditPlan,
    sources: Sequence[SourceFile],
    fps: float,
    *,
    copy: bool = True,
    min_copy_s: float = 1.0,
    stills: Sequence[tuple[float, float]] = (),
    min_hold: int = 2,
    framed: Collection[PlannedClip] = (),
) -> list[Piece]:
    """The output as consecutive pieces, copied wherever a clip plays untouched for at
    least ``min_copy_s`` between two keyframes of a copyable source; the ``framed`` clips
    (cropped to a window: a punch-in) are encoded whole. ``stills`` are spans
    of output time (seconds) that show one unchanging picture: inside each, the first frame
    is encoded and the next ones, at least ``min_hold`` of them, hold it."""
    total = round(plan.duration_s * fps)
    copies = _copy_pieces(plan, sources, fps, min_copy_s, framed) if copy else []
    pieces: list[Piece] = []
    cursor = 0
    for piece in copies:
        if piece.first_frame < cursor or piece.first_frame + piece.frames > total:
            continue  # overlapping sources: the encoder covers it
        if piece.first_frame > cursor:
            pieces.append(EncodePiece(cursor, piece.first_frame - cursor))
        pieces.append(piece)
        cursor = piece.first_frame + piece.frames
    if cursor < total:
        pieces.append(EncodePiece(cursor, total - cursor))
    for start_s, end_s in stills:
        # The frame at (or just after) the span's start is the picture; the frame at its
        # end is encoded again (what follows may change from it).
        shown, end = math.ceil(start_s * fps - 1e-6), math.floor(end_s * fps + 1e-6)
        pieces = [split for piece in pieces for split in _hold_inside(piece, shown, end, min_hold)]
    return pieces


def _hold_inside(piece: Piece, shown: int, end: int, min_hold: int) -> list[Piece]:
    """``piece``, split around a hold from after frame ``shown`` to before frame ``end``
    if it is an encoded piece that holds both."""
    last = piece.first_frame + piece.frames
    if (
        not isinstance(piece, EncodePiece)
        or end - shown - 1 < min_hold
        or not piece.first_frame <= shown < end <= last
    ):
        return [piece]
    split: list[Piece] = [
        EncodePiece(piece.first_frame, shown + 1 - piece.first_frame),
        HoldPiece(shown + 1, end - shown - 1),
    ]
    if end < last:
        split.append(EncodePiece(end, last - end))
    return split


def _copy_pieces(
    plan: EditPlan,
    sources: Sequence[SourceFile],
    fps: float,
    min_copy_s: float,
    framed: Collection[PlannedClip] = (),
) -> list[CopyPiece]:
    items = timeline(plan)
    transition = plan.limits.transition_s
    copies = []
    for index, item in enumerate(items):
        if item.clip is None or item.clip in framed:
            continue
        # The stretch no transition touches.
        plain_from = item.out_start + (transition if index > 0 else 0.0)
        plain_to = item.out_end - (transition if index < len(items) - 1 else 0.0)
        if plain_to <= plain_from:
            continue
        lo, hi = item.source_time(plain_from), item.source_time(plain_to)
        for part in source_parts(sources, item.clip.camera_id, lo, hi):
            source = part.source
            if not source.copyable or abs(source.fps - fps) > 1e-3:
                continue
            first_wanted = part.offset_s * fps
            last_wanted = (part.offset_s + part.length_s) * fps
            start_at = bisect.bisect_left(source.keyframes, first_wanted - 1e-6)
            if start_at >= len(source.keyframes):
                continue
            begin = source.keyframes[start_at]
            if last_wanted >= source.frames - 1e-6:
                finish = source.frames  # to the end of the file: the next piece starts anew
            else:
                finish_at = bisect.bisect_right(source.keyframes, last_wanted + 1e-6) - 1
                finish = source.keyframes[finish_at]
            if (finish - begin) < min_copy_s * fps:
                continue
            begin_time = source.start + timedelta(seconds=begin / source.fps)
            out_t = item.out_start + (begin_time - item.clip.start).total_seconds()
            copies.append(CopyPiece(round(out_t * fps), finish - begin, source, begin))
    return sorted(copies, key=lambda piece: piece.first_frame)


def snap_to_keyframes(
    plan: EditPlan,
    sources: Sequence[SourceFile],
    *,
    max_shift_s: float = 1.0,
    allowed: Mapping[str, Sequence[tuple[datetime, datetime]]] | None = None,
) -> EditPlan:
    """The plan with each clip's untouched stretch moved onto keyframes of its source, so
    that the stretch can be copied rather than encoded.

    A clip moves (its start) and stretches (its end) by at most ``max_shift_s``, never into
    its neighbour nor past the camera's recording; clips of sources that cannot be copied
    stay as they are. The cuts stay frame-accurate: only *where* they fall changes, by a
    second at most. Lengthening
    and shortening are balanced across the clips, so the video keeps its planned length to
    within a fraction of a GOP. With ``allowed`` (per camera, the stretches it may show:
    where the visitor is seen and not upstaged), a clip inside one of them stays inside it.
    """
    transition = timedelta(seconds=plan.limits.transition_s)
    shift = timedelta(seconds=max_shift_s)
    items = timeline(plan)
    clip_items = [item for item in items if item.kind == "clip"]
    snapped: list[PlannedClip] = []
    drift = timedelta(0)  # how much longer the snapped clips are so far
    for index, item in enumerate(clip_items):
        clip = item.clip
        assert clip is not None
        position = items.index(item)
        lead_in = transition if position > 0 else timedelta(0)
        lead_out = transition if position < len(items) - 1 else timedelta(0)
        recorded = [s for s in sources if s.camera_id == clip.camera_id]
        if not recorded:
            snapped.append(clip)
            continue
        lowest, highest = min(s.start for s in recorded), max(s.end for s in recorded)
        room = next(
            (span for span in (allowed or {}).get(clip.camera_id, ())
             if span[0] <= clip.start and clip.end <= span[1]),
            None,
        )  # fmt: skip
        if room is not None:
            lowest, highest = max(lowest, room[0]), min(highest, room[1])
        boundaries = [
            t
            for t in _copy_boundaries(sources, clip.camera_id)
            # A snapped clip never reaches past what the camera recorded (nor past the
            # stretch it may show).
            if t - lead_in >= lowest and t + lead_out <= highest
        ]
        if not boundaries:
            snapped.append(clip)
            continue
        earliest = snapped[-1].end if snapped else None
        following = clip_items[index + 1].clip if index + 1 < len(clip_items) else None
        latest = following.start if following is not None else None
        start = _nearest(boundaries, clip.start + lead_in, shift)
        new_start = clip.start if start is None else start - lead_in
        if earliest is not None and new_start < earliest:
            new_start = clip.start
        end_target = new_start + (clip.end - clip.start) - lead_out - drift
        end = _nearest(boundaries, end_target, shift, after=new_start + lead_in)
        new_end = new_start + (clip.end - clip.start) if end is None else end + lead_out
        if latest is not None and new_end > latest:
            new_end = min(latest, new_start + (clip.end - clip.start))
        outside = room is not None and not (room[0] <= new_start and new_end <= room[1])
        if (new_end - new_start).total_seconds() < plan.limits.min_clip_s or outside:
            snapped.append(clip)
            continue
        drift += (new_end - new_start) - (clip.end - clip.start)
        snapped.append(PlannedClip(clip.camera_id, new_start, new_end, clip.score))
    return EditPlan(plan.event_id, plan.visitor_id, tuple(snapped), plan.limits)


def _copy_boundaries(sources: Sequence[SourceFile], camera_id: str) -> list[datetime]:
    """Times where a copied stretch may begin or end: keyframes and file ends."""
    times: set[datetime] = set()
    for source in sources:
        if source.camera_id != camera_id or not source.copyable:
            continue
        times.update(source.start + timedelta(seconds=k / source.fps) for k in source.keyframes)
        times.add(source.end)
    return sorted(times)


def _nearest(
    times: list[datetime], wanted: datetime, within: timedelta, after: datetime | None = None
) -> datetime | None:
    candidates = [t for t in times if abs(t - wanted) <= within and (after is None or t > after)]
    return min(candidates, key=lambda t: abs(t - wanted)) if candidates else None
