"""Where the visitor is the subject: the times a camera shows them unhidden and not
upstaged, and the frame that makes their poster. Pure.

A clip of a visitor's video must show *them*: not a stranger standing in front of them,
not an empty picture after they walked out of it, not the shot before a cut. What the
tracks say about each sampled frame of a camera (:class:`Sighting`) decides it:

- the visitor is **seen** on a sampled frame where their face was detected; a stretch
  without their face (hidden, turned away, out of the picture, another shot) is not seen;
- they are **upstaged** where another face at least as tall as theirs is in the window the
  video would show around them (:func:`subject_window`: the punch-in's window, or the whole
  frame where the template never punches in): a stranger in front of them, or next to them
  and larger;
- :func:`clear_spans` are the stretches of a camera where they are seen and not upstaged;
  selection keeps clips inside them (a stretch where they are hidden is trimmed, and no
  clip's lead-in or lead-out reaches past their face into a shot cut);
- :func:`poster_time` picks the poster: a frame where they are seen, not upstaged and the
  largest face, smiling where such a frame exists, the largest face of those.

>>> from datetime import UTC, datetime
>>> from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity
>>> t0 = datetime(2026, 5, 1, 10, tzinfo=UTC)
>>> def track(who, boxes):
...     samples = tuple(FaceSample(n / 5, box, 0.9) for n, box in boxes)
...     return FaceTrack("hall", t0, 0, samples, (1920, 1080), "p", TrackIdentity(who))
>>> ana = track("ana", [(n, (900, 400, 960, 480)) for n in range(10)])
>>> stranger = track(None, [(n, (880, 500, 980, 630)) for n in range(5, 10)])  # in front
>>> views = camera_views("ana", [ana, stranger])
>>> rules = FramingRules((1920, 1080), 0.55, 2.0)
>>> [(round((a - t0).total_seconds(), 2), round((b - t0).total_seconds(), 2))
...  for a, b in clear_spans(views["hall"], rules)]
[(0.0, 0.8)]
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scas_lib.highlights.assembly import timeline
from scas_lib.highlights.punch_in import FramingRules, Window, body_from_face, subject_target
from scas_lib.highlights.records import EditPlan
from scas_lib.tracks import SMILE_PROBABILITY, Box, FaceTrack, iou

Span = tuple[datetime, datetime]

#: Clear samples this close are one stretch (recognition samples 5 frames a second: a face
#: the detector missed on a frame or two). A stretch ends on its last clear sample, not
#: past it: what happens between that sample and the next (a stranger stepping in, a shot
#: cut) is not known, so it is not shown.
BRIDGE_S = 0.45
#: Faces of two tracks within this of each other are on the same frame.
SAME_FRAME_S = 0.12
#: Another face upstages the visitor when it is at least this tall as a share of theirs ...
RIVAL_HEIGHT = 1.0
#: ... and at least this share of it is in the window the video shows around them.
RIVAL_INSIDE = 0.5
#: A face overlapping the visitor's this much is theirs (a second detection of it).
SAME_FACE_IOU = 0.5


@dataclass(frozen=True)
class Sighting:
    """One sampled frame on which the visitor's face was found: their face, the other
    faces on that frame and how much they smile (0 where it is unknown)."""

    time: datetime
    face: Box
    others: tuple[Box, ...]
    smile: float = 0.0


@dataclass(frozen=True)
class CameraView:
    """What one camera's tracks say about the visitor, frame by sampled frame."""

    camera_id: str
    frame_size: tuple[int, int]
    sightings: tuple[Sighting, ...]


def camera_views(visitor_id: str, tracks: Iterable[FaceTrack]) -> dict[str, CameraView]:
    """Per camera, the visitor's sightings with the faces around them, from ``tracks``: the
    visitor's own (``visitor_id``'s) and anyone else's on the same cameras and times."""
    own: dict[str, list[tuple[datetime, Box, float]]] = defaultdict(list)
    others: dict[str, list[tuple[datetime, Box]]] = defaultdict(list)
    sizes: dict[str, tuple[int, int]] = {}
    for track in tracks:
        if track.visitor_id == visitor_id:
            if all(track.frame_size):
                sizes[track.camera_id] = track.frame_size
            for sample in track.samples:
                smile = sample.attributes.smile if sample.attributes else 0.0
                own[track.camera_id].append((track.time_of(sample), sample.box, smile))
        else:
            for sample in track.samples:
                others[track.camera_id].append((track.time_of(sample), sample.box))
    views = {}
    reach = timedelta(seconds=SAME_FRAME_S)
    for camera, mine in own.items():
        if camera not in sizes:
            continue
        around = sorted(others.get(camera, []), key=lambda item: item[0])
        times = [t for t, _ in around]
        sightings = []
        for time, face, smile in sorted(mine, key=lambda item: item[0]):
            lo = bisect.bisect_left(times, time - reach)
            hi = bisect.bisect_right(times, time + reach)
            near = tuple(box for _, box in around[lo:hi] if iou(box, face) < SAME_FACE_IOU)
            sightings.append(Sighting(time, face, near, smile))
        views[camera] = CameraView(camera, sizes[camera], tuple(sightings))
    return views


def subject_window(face: Box, frame: tuple[int, int], rules: FramingRules | None) -> Window:
    """The window the video shows around the visitor's ``face``: the punch-in's target
    (``rules``), or the whole frame where the template never punches in (None)."""
    if rules is None:
        return Window(0.0, 0.0, float(frame[0]), float(frame[1]))
    return subject_target(body_from_face(face), frame, rules)


def upstaged(sighting: Sighting, frame: tuple[int, int], rules: FramingRules | None) -> bool:
    """Whether another face at least as tall as the visitor's is in their window (module
    doc): a stranger in front of them or beside them, larger.

    >>> t = datetime(2026, 5, 1)
    >>> rules = FramingRules((1920, 1080), 0.55, 2.0)
    >>> far = Sighting(t, (100, 100, 140, 150), ((1500, 300, 1600, 420),))
    >>> near = Sighting(t, (100, 100, 140, 150), ((160, 120, 220, 200),))
    >>> upstaged(far, (1920, 1080), rules), upstaged(near, (1920, 1080), rules)
    (False, True)
    >>> upstaged(far, (1920, 1080), None)   # the whole frame: the stranger is in it
    True
    """
    window = subject_window(sighting.face, frame, rules)
    height = sighting.face[3] - sighting.face[1]
    return any(
        other[3] - other[1] >= RIVAL_HEIGHT * height
        and _inside_share(other, window) >= RIVAL_INSIDE
        for other in sighting.others
    )


def largest(sighting: Sighting) -> bool:
    """Whether the visitor's face is the tallest on the frame."""
    height = sighting.face[3] - sighting.face[1]
    return all(other[3] - other[1] < height for other in sighting.others)


def clear_spans(view: CameraView, rules: FramingRules | None) -> list[Span]:
    """The stretches of ``view``'s camera where the visitor is seen and not upstaged."""
    bridge = timedelta(seconds=BRIDGE_S)
    spans: list[Span] = []
    previous_clear = False
    for sighting in view.sightings:
        if upstaged(sighting, view.frame_size, rules):
            previous_clear = False
            continue
        at = sighting.time
        if spans and previous_clear and at - spans[-1][1] <= bridge:
            spans[-1] = (spans[-1][0], max(spans[-1][1], at))
        else:
            spans.append((at, at))
        previous_clear = True
    return [span for span in spans if span[1] > span[0]]


def clear_spans_of(
    views: Mapping[str, CameraView], rules: FramingRules | None
) -> dict[str, list[Span]]:
    """:func:`clear_spans` of every camera."""
    return {camera: clear_spans(view, rules) for camera, view in views.items()}


def poster_time(
    plan: EditPlan, views: Mapping[str, CameraView], rules: FramingRules | None
) -> float | None:
    """Where in the rendered ``plan`` the poster is (seconds): a sampled frame, away from
    the crossfades, where the visitor is seen, not upstaged and the largest face; of
    those a smiling one where there is one, then the largest face. None when no frame of
    the plan's clips is one (the plan's own poster frame then)."""
    transition = plan.limits.transition_s
    best: tuple[tuple[bool, float], float] | None = None
    for item in timeline(plan):
        clip = item.clip
        if clip is None or (view := views.get(clip.camera_id)) is None:
            continue
        lo = clip.start + timedelta(seconds=transition)
        hi = clip.end - timedelta(seconds=transition)
        for sighting in view.sightings:
            if not lo <= sighting.time <= hi or not largest(sighting):
                continue
            if upstaged(sighting, view.frame_size, rules):
                continue
            rank = (sighting.smile >= SMILE_PROBABILITY, sighting.face[3] - sighting.face[1])
            at = item.out_start + (sighting.time - clip.start).total_seconds()
            if best is None or rank > best[0]:
                best = (rank, at)
    return None if best is None else best[1]


def _inside_share(box: Box, window: Window) -> float:
    """The share of ``box``'s area inside ``window``."""
    width = min(box[2], window.x + window.width) - max(box[0], window.x)
    height = min(box[3], window.y + window.height) - max(box[1], window.y)
    area = (box[2] - box[0]) * (box[3] - box[1])
    return max(0.0, width) * max(0.0, height) / area if area > 0 else 0.0


def within(spans: Sequence[Span], start: datetime, end: datetime) -> Span | None:
    """The span of ``spans`` that holds ``start`` to ``end``, if one does."""
    return next((span for span in spans if span[0] <= start and end <= span[1]), None)
