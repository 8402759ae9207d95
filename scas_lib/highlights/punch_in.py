"""Punch-in: a window of the frame that follows the visitor through a clip. Pure.

A wide camera shows a visitor small; a window of the output's shape around them, scaled
up to the output, shows them as a closer camera would. The 9:16 vertical cut is the same
window with a fixed size (the tallest crop of that shape) that only moves.

What the window follows is the visitor's *subject box* per camera (:class:`SubjectPath`):
today the face track's boxes, each grown into an estimated upper body
(:func:`body_from_face`); a person detector's boxes can take their place as they are.

For one clip (:func:`follow_subject`), every :data:`POINTS_PER_S`-th of a second:

1. **target**: a window whose height the subject's box fills :attr:`FramingRules.subject_share`
   of (their box in the window's middle, head room above and below), never smaller than the
   output divided by :attr:`FramingRules.max_upscale` (no more than that many output pixels
   per source pixel), never larger than the frame; its centre on the box's, moved inside the
   frame;
2. **smoothed**: the targets of the subject's samples within :data:`SMOOTHING_S` around the
   point are averaged (detector boxes jitter by a few pixels from frame to frame);
3. **followed**: the window's centre and width move towards the smoothed target with the
   target's own velocity plus a correction, but the velocity never changes by more than
   :data:`MAX_ACCEL` (frame widths per second squared) times the step nor exceeds
   :data:`MAX_SPEED` (:func:`follow`); the width (the zoom) has its own, slower limits.
   A smooth target is followed exactly; a jump is caught up with as a camera operator
   would: speeding up and slowing down, never jerking;
4. **checked**: when the subject is within :data:`EDGE_MARGIN` of the frame's edge, or their
   box leaves the window at any point, the clip falls back to the full frame (None): a
   window there would cut them.

>>> from datetime import datetime, timedelta, UTC
>>> t0 = datetime(2026, 5, 1, tzinfo=UTC)
>>> walk = [(t0 + timedelta(seconds=s / 5), (200.0 + 40 * s, 500.0, 300.0 + 40 * s, 700.0))
...         for s in range(26)]
>>> subjects = SubjectPath({"hall": walk}, {"hall": (1920, 1080)})
>>> rules = FramingRules(output=(1920, 1080), subject_share=0.5, max_upscale=2.0)
>>> path = follow_subject(subjects, "hall", t0, 5.0, rules)
>>> first = path.at(0.0)
>>> (round(first.width), round(first.height)), first.contains(walk[0][1])
((960, 540), True)
>>> path.at(5.0).contains(walk[-1][1])
True
>>> follow_subject(subjects, "hall", t0, 5.0, FramingRules((1920, 1080), 0.5, 2.0),
...                frame_size=(1920, 600)) is None   # box past the frame's bottom: full frame
True
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scas_lib.highlights.records import EditPlan, PlannedClip
from scas_lib.highlights.templates import Template
from scas_lib.tracks import Box, FaceTrack

#: Points of the window's path, per second; ffmpeg moves the window linearly between them.
POINTS_PER_S = 5
#: Subject boxes are averaged over this window (seconds, centred on each point).
SMOOTHING_S = 1.0
#: The window's centre: at most this fast (frame widths per second; a visitor walks across
#: a wide camera's picture at about a tenth of it per second) ...
MAX_SPEED = 0.4
#: ... and its velocity changes by at most this (frame widths per second squared): 0.3 is
#: a walking start (0 to 0.13 frame widths/s in half a second) smoothed over a second,
#: with room to spare; at 25 fps and 1920 pixels, under a pixel per frame per frame.
MAX_ACCEL = 0.3
#: The window's width (the zoom) changes slower: a zoom that breathes draws the eye.
MAX_ZOOM_SPEED = 0.15
MAX_ZOOM_ACCEL = 0.15
#: A subject whose box comes within this share of the frame's size of an edge is entering
#: or leaving the picture: the clip is shown whole.
EDGE_MARGIN = 0.01
#: How far a box may stick out of the window before the window counts as losing them (a
#: share of the window's size): a detector's box jitters by a few pixels.
CONTAIN_TOLERANCE = 0.02
#: Faces of two tracks within this many seconds of each other are on the same frame.
SAME_FRAME_S = 0.12
#: An upper body from a face box (a shoulder span is about 2.5-3 face widths): this many
#: face widths wide, centred on the face, from this many face heights above its top (hair)
#: to this many below its bottom (to mid-chest).
BODY_WIDTH_FACES = 3.0
BODY_ABOVE_FACES = 0.4
BODY_BELOW_FACES = 2.0
#: A camera is wide when the visitor's median face is under this share of its frame's
#: height: the face should be 0.15 of the picture (a smaller one is a figure in a crowd),
#: and a zoom under 1.1x is not worth its re-encode.
WIDE_SHARE = 0.15 / 1.1
#: An upper body is this many face heights tall (:func:`body_from_face`).
BODY_HEIGHT_FACES = BODY_ABOVE_FACES + 1.0 + BODY_BELOW_FACES


def body_from_face(face: Box) -> Box:
    """The upper-body box estimated from a face box (see :data:`BODY_WIDTH_FACES`).

    >>> body_from_face((100.0, 100.0, 140.0, 150.0))
    (60.0, 80.0, 180.0, 250.0)
    """
    x0, y0, x1, y1 = face
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    half = BODY_WIDTH_FACES * w / 2
    return (cx - half, y0 - BODY_ABOVE_FACES * h, cx + half, y1 + BODY_BELOW_FACES * h)


@dataclass(frozen=True)
class SubjectPath:
    """The visitor's subject box (pixels, ``x0, y0, x1, y1``) over time, per camera, and
    each camera's frame size ``(width, height)``; ``others``: the faces of everyone else
    those cameras saw (face boxes, not bodies), to tell where the visitor is not the
    largest face in the picture."""

    boxes: Mapping[str, Sequence[tuple[datetime, Box]]] = field(default_factory=dict)
    frame_sizes: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    others: Mapping[str, Sequence[tuple[datetime, Box]]] = field(default_factory=dict)

    @classmethod
    def from_face_tracks(
        cls, tracks: Iterable[FaceTrack], visitor_id: str | None = None
    ) -> SubjectPath:
        """The path of the given tracks (one visitor's), each face grown into an upper body
        (:func:`body_from_face`). Tracks whose frame size is unknown are left out. With
        ``visitor_id``, only that visitor's tracks are the path, and the others' faces are
        :attr:`others`."""
        boxes: dict[str, list[tuple[datetime, Box]]] = defaultdict(list)
        others: dict[str, list[tuple[datetime, Box]]] = defaultdict(list)
        sizes: dict[str, tuple[int, int]] = {}
        for track in tracks:
            if visitor_id is not None and track.visitor_id != visitor_id:
                for sample in track.samples:
                    others[track.camera_id].append((track.time_of(sample), sample.box))
                continue
            if not all(track.frame_size):
                continue
            sizes[track.camera_id] = track.frame_size
            for sample in track.samples:
                boxes[track.camera_id].append((track.time_of(sample), body_from_face(sample.box)))
        return cls(
            {camera: sorted(own) for camera, own in boxes.items()},
            sizes,
            {camera: sorted(faces) for camera, faces in others.items()},
        )

    def outshone(self, camera_id: str, start: datetime, end: datetime) -> bool:
        """Whether, between ``start`` and ``end``, another face on ``camera_id`` is at
        least as tall as the visitor's on the same frame.

        >>> t = datetime(2026, 5, 1)
        >>> path = SubjectPath({"c": [(t, body_from_face((10, 10, 50, 60)))]}, {"c": (640, 360)},
        ...                    {"c": [(t, (300, 10, 360, 90))]})
        >>> path.outshone("c", t, t), path.outshone("c", t + timedelta(seconds=1), t)
        (True, False)
        """
        faces = self.others.get(camera_id, ())
        times = [t for t, _ in faces]
        reach = timedelta(seconds=SAME_FRAME_S)
        return any(
            box[3] - box[1] >= (body[3] - body[1]) / BODY_HEIGHT_FACES
            for at, body in self.samples(camera_id)
            if start - reach <= at <= end + reach
            for _, box in faces[bisect.bisect_left(times, at - reach) :
                                bisect.bisect_right(times, at + reach)]
        )  # fmt: skip

    def samples(self, camera_id: str) -> Sequence[tuple[datetime, Box]]:
        return self.boxes.get(camera_id, ())

    def resized(self, camera_id: str, size: tuple[int, int]) -> SubjectPath:
        """The path with ``camera_id``'s boxes in a frame of ``size`` (the recording the
        renderer has, when recognition saw another size).

        >>> t = datetime(2026, 5, 1)
        >>> SubjectPath({"c": [(t, (10, 10, 20, 20))]}, {"c": (100, 50)}).resized(
        ...     "c", (200, 100)).samples("c")
        [(datetime.datetime(2026, 5, 1, 0, 0), (20.0, 20.0, 40.0, 40.0))]
        """
        old = self.frame_sizes.get(camera_id)
        if old is None or old == size or not all(old):
            return SubjectPath(self.boxes, {**self.frame_sizes, camera_id: size}, self.others)
        sx, sy = size[0] / old[0], size[1] / old[1]

        def scaled(boxes: Sequence[tuple[datetime, Box]]) -> list[tuple[datetime, Box]]:
            return [(t, (b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy)) for t, b in boxes]

        return SubjectPath(
            {**self.boxes, camera_id: scaled(self.samples(camera_id))},
            {**self.frame_sizes, camera_id: size},
            {**self.others, camera_id: scaled(self.others.get(camera_id, ()))},
        )

    def is_wide(self, camera_id: str) -> bool:
        """Whether ``camera_id`` shows the visitor's face small (:data:`WIDE_SHARE`); False
        for a camera that never saw them."""
        samples, size = self.samples(camera_id), self.frame_sizes.get(camera_id)
        if not samples or not size:
            return False
        faces = statistics.median(b[3] - b[1] for _, b in samples) / BODY_HEIGHT_FACES
        return faces < WIDE_SHARE * size[1]


@dataclass(frozen=True)
class FramingRules:
    """How a window is sized: the output's ``(width, height)`` (the window's shape), the
    share of the window's height the subject's box fills, and the most output pixels per
    source pixel. ``fixed_size``: the window is always the largest of the output's shape
    and only moves (the vertical cut), and never falls back."""

    output: tuple[int, int]
    subject_share: float = 0.5
    max_upscale: float = 2.0
    fixed_size: bool = False


@dataclass(frozen=True)
class Window:
    """A rectangle of the frame, in pixels: left, top, width, height."""

    x: float
    y: float
    width: float
    height: float

    def contains(self, box: Box, tolerance: float = CONTAIN_TOLERANCE) -> bool:
        """Whether ``box`` is inside, to within ``tolerance`` of the window's size.

        >>> square = Window(0, 0, 100, 100)
        >>> square.contains((10, 10, 101, 90)), square.contains((10, 10, 110, 90))
        (True, False)
        """
        dx, dy = tolerance * self.width, tolerance * self.height
        return (
            box[0] >= self.x - dx
            and box[1] >= self.y - dy
            and box[2] <= self.x + self.width + dx
            and box[3] <= self.y + self.height + dy
        )


@dataclass(frozen=True)
class WindowPath:
    """The window at seconds from ``start`` (``times``, ascending), linear between them and
    held before the first and after the last."""

    start: datetime
    times: tuple[float, ...]
    windows: tuple[Window, ...]

    def at(self, offset_s: float) -> Window:
        """The window ``offset_s`` seconds after ``start``.

        >>> path = WindowPath(datetime(2026, 5, 1), (0.0, 1.0), (Window(0, 0, 100, 50),
        ...                                                    Window(100, 0, 200, 100)))
        >>> path.at(0.5), path.at(7.0).x
        (Window(x=50.0, y=0.0, width=150.0, height=75.0), 100)
        """
        times = self.times
        if offset_s <= times[0]:
            return self.windows[0]
        if offset_s >= times[-1]:
            return self.windows[-1]
        i = bisect.bisect_right(times, offset_s)
        t0, t1 = times[i - 1], times[i]
        a, b = self.windows[i - 1], self.windows[i]
        f = (offset_s - t0) / (t1 - t0)
        return Window(
            a.x + (b.x - a.x) * f,
            a.y + (b.y - a.y) * f,
            a.width + (b.width - a.width) * f,
            a.height + (b.height - a.height) * f,
        )

    def between(self, start: datetime, length_s: float) -> list[tuple[float, Window]]:
        """The path's points from ``start`` for ``length_s`` seconds, times from ``start``:
        both ends and every point in between."""
        lo = (start - self.start).total_seconds()
        inner = [t for t in self.times if lo < t < lo + length_s]
        return [(t - lo, self.at(t)) for t in [lo, *inner, lo + length_s]]

    @property
    def fixed_size(self) -> bool:
        first = self.windows[0]
        return all(
            abs(w.width - first.width) < 0.5 and abs(w.height - first.height) < 0.5
            for w in self.windows
        )


@dataclass(frozen=True)
class Framing:
    """Each framed clip's window path; a clip not named is shown whole (fitted)."""

    windows: Mapping[PlannedClip, WindowPath] = field(default_factory=dict)

    def of(self, clip: PlannedClip | None) -> WindowPath | None:
        return None if clip is None else self.windows.get(clip)


def _clamp(value: float, bound: float) -> float:
    return max(-bound, min(bound, value))


def follow(targets: Sequence[float], dt: float, max_speed: float, max_accel: float) -> list[float]:
    """Positions that follow ``targets`` (one per ``dt`` seconds) with the velocity changing
    by at most ``max_accel * dt`` a step and never over ``max_speed``. Each step moves at
    the target's own velocity plus a correction of the gap, no faster than one that can
    still brake in time: a smooth target is followed exactly, and a jump is closed with
    at most a step's worth of overshoot.

    >>> [round(p, 1) for p in follow([0, 0, 0, 10, 10, 10, 10, 10], 1.0, 100, max_accel=4)]
    [0, 0.0, 0.0, 4.0, 9.2, 10.4, 10.0, 10.0]
    """
    if len(targets) < 2:
        return list(targets)
    position = targets[0]
    velocity = _clamp((targets[1] - targets[0]) / dt, max_speed)
    path = [position]
    for k in range(len(targets) - 1):
        own = (targets[k + 1] - targets[k]) / dt
        gap = targets[k] - position
        # The fastest closing speed from which the gap can still be braked to nothing in
        # whole steps: moving n steps of ``max_accel * dt`` covers n(n+1)/2 of them.
        unit = max_accel * dt * dt
        steps = (math.sqrt(1 + 8 * abs(gap) / unit) - 1) / 2 if unit > 0 else 0.0
        correction = math.copysign(min(abs(gap) / dt, steps * max_accel * dt), gap)
        wanted = own + correction
        velocity = _clamp(_clamp(wanted - velocity, max_accel * dt) + velocity, max_speed)
        position += velocity * dt
        path.append(position)
    return path


def subject_target(box: Box, frame: tuple[int, int], rules: FramingRules) -> Window:
    """The target window of one subject box (step 1 of the module doc).

    >>> window = subject_target((900, 400, 1020, 740), (1920, 1080), FramingRules((1920, 1080)))
    >>> [round(v) for v in (window.x, window.y, window.width, window.height)]
    [356, 230, 1209, 680]
    """
    fw, fh = frame
    ow, oh = rules.output
    aspect = ow / oh
    full_w, full_h = (fh * aspect, fh) if fw / fh > aspect else (fw, fw / aspect)
    if rules.fixed_size:
        w, h = full_w, full_h
    else:
        h = (box[3] - box[1]) / rules.subject_share
        h = max(h, (box[2] - box[0]) / rules.subject_share / aspect, oh / rules.max_upscale)
        h = min(h, full_h)
        w = h * aspect
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return _inside(Window(cx - w / 2, cy - h / 2, w, h), frame)


def _inside(window: Window, frame: tuple[int, int]) -> Window:
    x = min(max(window.x, 0.0), frame[0] - window.width)
    y = min(max(window.y, 0.0), frame[1] - window.height)
    return Window(x, y, window.width, window.height)


def _interpolated(samples: Sequence[tuple[datetime, Box]], at: datetime) -> Box:
    """The subject's box at ``at``: linear between samples, the nearest outside them."""
    times = [t for t, _ in samples]
    i = bisect.bisect_left(times, at)
    if i == 0:
        return samples[0][1]
    if i == len(samples):
        return samples[-1][1]
    (t0, a), (t1, b) = samples[i - 1], samples[i]
    f = (at - t0) / (t1 - t0) if t1 > t0 else 0.0
    return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f,
            a[2] + (b[2] - a[2]) * f, a[3] + (b[3] - a[3]) * f)  # fmt: skip


def follow_subject(
    subjects: SubjectPath,
    camera_id: str,
    start: datetime,
    length_s: float,
    rules: FramingRules,
    *,
    frame_size: tuple[int, int] | None = None,
) -> WindowPath | None:
    """The window that follows the subject for ``length_s`` seconds from ``start`` (module
    doc), in a frame of ``frame_size`` (the camera's by default); None when it falls back to
    the full frame, or the camera never saw the subject (for ``fixed_size``, a window in the
    middle then)."""
    frame = frame_size or subjects.frame_sizes.get(camera_id)
    samples = subjects.samples(camera_id)
    if frame is None or not all(frame):
        return None
    steps = max(1, round(length_s * POINTS_PER_S))
    times = [length_s * step / steps for step in range(steps + 1)]
    if not samples:
        if not rules.fixed_size:
            return None
        centre = (frame[0] / 2, frame[1] / 2, frame[0] / 2, frame[1] / 2)
        middle = subject_target(centre, frame, rules)
        return WindowPath(start, tuple(times), (middle,) * len(times))
    # Targets of the samples themselves, then averaged around each point.
    sample_times = [t for t, _ in samples]
    targets = [subject_target(box, frame, rules) for _, box in samples]
    half = timedelta(seconds=SMOOTHING_S / 2)
    smoothed: list[Window] = []
    for offset in times:
        at = start + timedelta(seconds=offset)
        lo = bisect.bisect_left(sample_times, at - half)
        hi = bisect.bisect_right(sample_times, at + half)
        nearest = min(range(len(samples)), key=lambda i: abs(sample_times[i] - at))
        near = targets[lo:hi] or [targets[nearest]]
        smoothed.append(Window(*(statistics.fmean(getattr(w, name) for w in near)
                                 for name in ("x", "y", "width", "height"))))  # fmt: skip
    dt = length_s / steps
    fw, fh = frame
    aspect = rules.output[0] / rules.output[1]
    widths = follow([w.width for w in smoothed], dt, MAX_ZOOM_SPEED * fw, MAX_ZOOM_ACCEL * fw)
    xs = follow([w.x + w.width / 2 for w in smoothed], dt, MAX_SPEED * fw, MAX_ACCEL * fw)
    ys = follow([w.y + w.height / 2 for w in smoothed], dt, MAX_SPEED * fw, MAX_ACCEL * fw)
    windows = []
    for width, cx, cy in zip(widths, xs, ys, strict=True):
        width = min(width, fw, fh * aspect)
        height = width / aspect
        windows.append(_inside(Window(cx - width / 2, cy - height / 2, width, height), frame))
    path = WindowPath(start, tuple(times), tuple(windows))
    if rules.fixed_size:
        return path
    if all(w.width >= fw - 1 for w in windows):
        return None  # no zoom at all: the full frame, which can be copied
    for offset, window in zip(times, windows, strict=True):
        box = _interpolated(samples, start + timedelta(seconds=offset))
        mx, my = EDGE_MARGIN * fw, EDGE_MARGIN * fh
        if box[0] < mx or box[1] < my or box[2] > fw - mx or box[3] > fh - my:
            return None  # too close to the edge
        if not window.contains(box):
            return None  # the window would lose them
    return path


#: Output and source shapes that differ by more than this (a share of the aspect ratio)
#: are a change of shape (16:9 footage for a 9:16 video): the window is then the largest
#: of the output's shape and only moves.
RESHAPE_TOLERANCE = 0.05


def frame_clips(
    plan: EditPlan,
    frame_sizes: Mapping[str, tuple[int, int]],
    template: Template,
    subjects: SubjectPath,
) -> Framing:
    """The window of each of the plan's clips, on cameras whose recordings have
    ``frame_sizes``: a moving crop of the output's shape where the footage has another
    shape (the vertical cut), else a punch-in as the template's ``punch_in`` says, where it
    does not fall back: ``auto`` punches in where the camera shows the visitor's face small
    (:meth:`SubjectPath.is_wide`) and wherever another face in the clip is as large as
    theirs (:meth:`SubjectPath.outshone`): the window follows the visitor, never them.

    >>> from datetime import UTC
    >>> from scas_lib.highlights.records import PlanLimits
    >>> t0 = datetime(2026, 5, 1, tzinfo=UTC)
    >>> template = Template(name="doc", intro_s=0, outro_s=0)
    >>> clip = PlannedClip("hall", t0, t0 + timedelta(seconds=4), 1.0)
    >>> plan = EditPlan("expo", "ana", (clip,), PlanLimits.of(template))
    >>> small = SubjectPath({"hall": [(t0, (900.0, 400.0, 1000.0, 600.0))]}, {"hall": (1920, 1080)})
    >>> framing = frame_clips(plan, {"hall": (1920, 1080)}, template, small)
    >>> window = framing.of(clip).at(2.0)
    >>> round(window.width), round(window.height)   # zoomed in 2x, the most allowed
    (960, 540)
    >>> off = template.model_copy(update={"punch_in": "off"})
    >>> frame_clips(plan, {"hall": (1920, 1080)}, off, small).of(clip) is None
    True
    """
    output = (template.width, template.height)
    windows: dict[PlannedClip, WindowPath] = {}
    for clip in plan.clips:
        size = frame_sizes.get(clip.camera_id)
        if size is None or not all(size):
            continue
        own = subjects.resized(clip.camera_id, size)
        reshaped = abs(size[0] / size[1] / (output[0] / output[1]) - 1) > RESHAPE_TOLERANCE
        if reshaped:
            rules = FramingRules(output, fixed_size=True)
        elif template.punch_in == "off" or (
            template.punch_in == "auto"
            and not own.is_wide(clip.camera_id)
            and not own.outshone(clip.camera_id, clip.start, clip.end)
        ):
            continue
        else:
            rules = FramingRules(
                output, template.punch_in_subject_share, template.punch_in_max_upscale
            )
        path = follow_subject(own, clip.camera_id, clip.start, clip.length_s, rules)
        if path is not None:
            windows[clip] = path
    return Framing(windows)
