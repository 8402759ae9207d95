"""What each frame of a rendered video shows: the render's own record of it. Pure.

For every output frame: a card or footage and, for footage, the camera, the recording time
of the camera frame shown, the rectangle of the camera's picture shown (its window, in the
camera's pixels) and the rectangle of the output it fills (in output pixels). A face box of
the camera frame maps into the output through the two rectangles, so whoever knows where
the faces were (a generated event's ground truth) knows where they are in the video.

The rectangles are those :func:`~scas_lib.highlights.graph.normalise` draws: a window of
the clip's :class:`~scas_lib.highlights.punch_in.Framing` scaled to the whole output (a
fixed-size window, or another shape than the source's, as ``crop`` does; else as
``zoompan`` does), or, without a window, the whole picture fitted and padded. In a
transition the frame is counted as the item that covers most of it (the one fading out
until the transition's middle).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Literal

from scas_lib.highlights.assembly import SourceFile, TimelineItem, frame_at, timeline
from scas_lib.highlights.punch_in import Framing, Window, WindowPath
from scas_lib.highlights.records import EditPlan

#: x, y, width, height
Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class ShownFrame:
    """One output frame: a card, or the camera frame at ``time`` of ``camera_id`` whose
    ``source_rect`` fills ``output_rect`` of the output; ``clip`` is the clip's index in
    the plan."""

    index: int
    kind: Literal["intro", "clip", "outro"]
    clip: int | None = None
    camera_id: str | None = None
    time: datetime | None = None
    source_rect: Rect | None = None
    output_rect: Rect | None = None

    def to_output(self, box: tuple[float, float, float, float]) -> tuple[float, ...]:
        """A box ``x0, y0, x1, y1`` of the camera frame in output pixels (footage only)."""
        if self.source_rect is None or self.output_rect is None:
            raise ValueError(f"output frame {self.index} is a card: no camera picture")
        sx, sy, sw, sh = self.source_rect
        ox, oy, ow, oh = self.output_rect
        fx, fy = ow / sw, oh / sh
        return (
            ox + (box[0] - sx) * fx,
            oy + (box[1] - sy) * fy,
            ox + (box[2] - sx) * fx,
            oy + (box[3] - sy) * fy,
        )


@dataclass(frozen=True)
class FrameRecord:
    """Every frame of one rendered video, in order."""

    width: int
    height: int
    fps: int
    frames: tuple[ShownFrame, ...]

    def to_json(self) -> str:
        def frame(shown: ShownFrame) -> dict[str, object]:
            data = asdict(shown)
            data["time"] = shown.time.isoformat() if shown.time else None
            return {key: value for key, value in data.items() if value is not None}

        return json.dumps(
            {"width": self.width, "height": self.height, "fps": self.fps,
             "frames": [frame(shown) for shown in self.frames]},
            separators=(",", ":"),
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> FrameRecord:
        data = json.loads(text)

        def rect(value: list[float] | None) -> Rect | None:
            return None if value is None else (value[0], value[1], value[2], value[3])

        frames = tuple(
            ShownFrame(
                index=item["index"],
                kind=item["kind"],
                clip=item.get("clip"),
                camera_id=item.get("camera_id"),
                time=datetime.fromisoformat(item["time"]) if item.get("time") else None,
                source_rect=rect(item.get("source_rect")),
                output_rect=rect(item.get("output_rect")),
            )
            for item in data["frames"]
        )
        return cls(data["width"], data["height"], data["fps"], frames)


def shown_frames(
    plan: EditPlan,
    sources: Sequence[SourceFile],
    output: tuple[int, int],
    fps: int,
    framing: Framing | None = None,
) -> FrameRecord:
    """The record of the video the renderer makes of ``plan`` at ``output`` size and
    ``fps`` from ``sources``, its clips cropped as ``framing`` says."""
    items = timeline(plan)
    clips = [item for item in items if item.kind == "clip"]
    transition = plan.limits.transition_s
    frames = []
    for index in range(round(plan.duration_s * fps)):
        t = index / fps
        covering = [item for item in items if item.out_start <= t < item.out_end] or items[-1:]
        item = covering[0]
        if len(covering) > 1 and t - covering[1].out_start >= transition / 2:
            item = covering[1]
        if item.clip is None:
            frames.append(ShownFrame(index, item.kind))
            continue
        frames.append(
            _footage(index, t, item, clips.index(item), sources, output, (framing or Framing()))
        )
    return FrameRecord(output[0], output[1], fps, tuple(frames))


def _footage(
    index: int,
    t: float,
    item: TimelineItem,
    clip_index: int,
    sources: Sequence[SourceFile],
    output: tuple[int, int],
    framing: Framing,
) -> ShownFrame:
    clip = item.clip
    assert clip is not None
    part = frame_at(sources, clip.camera_id, item.source_time(t))
    source = part.source
    time = source.start + timedelta(seconds=part.offset_s)
    size = (source.width, source.height)
    path = framing.of(clip)
    if path is not None and all(size):
        source_rect = _window_shown(path, time, size)
        output_rect: Rect = (0.0, 0.0, float(output[0]), float(output[1]))
    else:
        width, height = size if all(size) else output
        scale = min(output[0] / width, output[1] / height)
        shown_w, shown_h = width * scale, height * scale
        source_rect = (0.0, 0.0, float(width), float(height))
        output_rect = ((output[0] - shown_w) / 2, (output[1] - shown_h) / 2, shown_w, shown_h)
    return ShownFrame(
        index, "clip", clip_index, clip.camera_id, time, source_rect, output_rect
    )  # fmt: skip


def _window_shown(path: WindowPath, at: datetime, size: tuple[int, int]) -> Rect:
    """The part of the camera picture :func:`~scas_lib.highlights.graph.crop_to` shows at
    ``at``: a window that zooms, of the source's shape, as zoompan shows it; any other as
    crop does, at the path's largest size (even pixels), moved inside the picture."""
    window: Window = path.at((at - path.start).total_seconds())
    same_shape = abs(window.width * size[1] / (window.height * size[0]) - 1) < 0.01
    if not path.fixed_size and same_shape:
        return (window.x, window.y, window.width, window.width * size[1] / size[0])
    width = min(int(max(w.width for w in path.windows)) // 2 * 2, size[0] // 2 * 2)
    height = min(int(max(w.height for w in path.windows)) // 2 * 2, size[1] // 2 * 2)
    x = min(max(window.x + (window.width - width) / 2, 0), size[0] - width)
    y = min(max(window.y + (window.height - height) / 2, 0), size[1] - height)
    return (x, y, float(width), float(height))
