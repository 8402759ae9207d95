"""The plan of a synthetic event: who walks past which camera when, and how. Pure: no I/O.

Every random choice is drawn here from one seeded generator, so the same seed and inputs
give the same plan, and the renderer and the ground truth read everything they need from
it. Times are seconds since the event's start on the event clock, which is also the
segments' clock: a segment that starts ``k * segment_s`` seconds into the event carries the
UTC start time ``event start + k * segment_s``.

What makes the footage hard, on purpose: faces from ``min_face_px`` to ``max_face_px``
high, walking in and out of frame, head turns (a perspective warp of the photo), motion
blur, pillars that hide people as they pass, nearer people hiding farther ones, lighting
that drifts and dips, several people at once, strangers who are not enrolled, and one
720p camera among 1080p ones.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

Role = Literal["visitor", "stranger"]


@dataclass(frozen=True)
class PhotoSpec:
    """A photo the footage may use: its name and the largest face height it can show
    without visible upscaling (1.5x its own face)."""

    name: str
    max_face_px: float
    #: The expression it shows, where the photo set labels it ("happy", "neutral"...).
    expression: str | None = None


@dataclass(frozen=True)
class PersonSpec:
    id: str
    role: Role
    identity: str
    footage_photos: tuple[PhotoSpec, ...]
    enrollment_photos: tuple[str, ...] = ()


@dataclass(frozen=True)
class SimulationConfig:
    event_id: str = "demo"
    cameras: int = 3
    duration_s: float = 60.0
    segment_s: float = 10.0
    fps: int = 25
    gop_s: float = 2.0
    #: A face counts as visible in the ground truth only from this height on (frame pixels).
    min_face_px: float = 40.0
    max_face_px: float = 300.0
    strangers: int = 12
    #: Truncate one segment, as a recorder that lost power would.
    corrupt_segment: bool = False
    seed: int = 0
    #: Visitors who leave before the end (in the first half of the event), and visitors who
    #: are away for a while in the middle and come back (:class:`PresenceWindow`).
    early_leavers: int = 0
    returners: int = 0

    def __post_init__(self) -> None:
        if self.cameras < 1:
            raise ValueError("at least one camera")
        if self.segment_s <= 0 or self.duration_s < self.segment_s:
            raise ValueError("the duration must hold at least one segment")
        if round(self.segment_s / self.gop_s) * self.gop_s != self.segment_s:
            raise ValueError("segments must be a whole number of GOPs long")


@dataclass(frozen=True)
class Pillar:
    """A pillar in front of the scene: people pass behind it."""

    x: float  # left edge, frame pixels
    width: float


@dataclass(frozen=True)
class CameraPlan:
    id: str
    width: int
    height: int
    #: The stream's first timestamp inside each segment file starts here (non-zero, as real
    #: recorders write); it does not move the event clock.
    stream_start_s: float
    background_offset_s: float
    background_zoom: float
    background_mirror: bool
    pillars: tuple[Pillar, ...]
    light_period_s: float
    light_phase: float
    #: (start, end) of a lighting dip (lights dimmed, a cloud), seconds.
    light_dip: tuple[float, float]

    @property
    def scale(self) -> float:
        """Pixel sizes are planned for 1080p; a 720p camera sees everything smaller."""
        return self.height / 1080

    def light_gain(self, t: float) -> float:
        gain = 1.0 + 0.15 * math.sin(2 * math.pi * t / self.light_period_s + self.light_phase)
        if self.light_dip[0] <= t < self.light_dip[1]:
            gain *= 0.55
        return gain


@dataclass(frozen=True)
class Pass:
    """One person crossing one camera's view at a constant depth."""

    person_id: str
    camera_id: str
    photo: str
    start_s: float
    end_s: float
    left_to_right: bool
    #: Face height in 1080p pixels; the nearer, the bigger and the lower in the frame.
    face_px: float
    face_y: float  # fraction of the frame height where the face centre walks
    yaw_amplitude_deg: float
    yaw_period_s: float
    yaw_phase: float
    torso_colour: tuple[int, int, int]

    def progress(self, t: float) -> float:
        return (t - self.start_s) / (self.end_s - self.start_s)

    def yaw_deg(self, t: float) -> float:
        return self.yaw_amplitude_deg * math.sin(
            2 * math.pi * (t - self.start_s) / self.yaw_period_s + self.yaw_phase
        )


@dataclass(frozen=True)
class PresenceWindow:
    """A time a person is at the event, seconds on the event clock: all their passes are
    inside their windows. A person with no window is there all along."""

    person_id: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class EventPlan:
    config: SimulationConfig
    cameras: tuple[CameraPlan, ...]
    people: tuple[PersonSpec, ...]
    passes: tuple[Pass, ...] = field(default=())
    presence: tuple[PresenceWindow, ...] = field(default=())

    def windows(self, person_id: str) -> list[tuple[float, float]]:
        """When ``person_id`` is at the event (the whole event, unless planned otherwise)."""
        own = [(w.start_s, w.end_s) for w in self.presence if w.person_id == person_id]
        return own or [(0.0, self.config.duration_s)]

    def camera(self, camera_id: str) -> CameraPlan:
        return next(camera for camera in self.cameras if camera.id == camera_id)

    def passes_at(self, camera_id: str, t: float) -> list[Pass]:
        return [p for p in self.passes if p.camera_id == camera_id and p.start_s <= t < p.end_s]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_TORSO_COLOURS = (
    (40, 40, 40), (120, 40, 30), (30, 60, 120), (160, 160, 160), (40, 100, 60),
    (20, 20, 90), (200, 200, 210), (90, 60, 40), (150, 90, 30), (60, 30, 90),
)  # fmt: skip


def plan_event(config: SimulationConfig, people: list[PersonSpec]) -> EventPlan:
    """Cameras and passes for ``people``: every visitor crosses at least one camera, some
    cross several; strangers cross one or two."""
    rng = np.random.default_rng(config.seed)
    cameras = tuple(_camera(index, config, rng) for index in range(config.cameras))
    presence = _presence(config, people, rng)
    passes: list[Pass] = []
    for person in people:
        # Visitors cross one to three cameras, some twice; strangers keep the scene busy.
        if person.role == "visitor":
            count = int(rng.integers(1, min(config.cameras, 3) + 1)) + int(rng.random() < 0.3)
        else:
            count = int(rng.integers(2, 4))
        windows = [(w.start_s, w.end_s) for w in presence if w.person_id == person.id]
        # Someone who comes back crosses a camera in each of their windows at least.
        count = max(count, len(windows))
        own: list[Pass] = []
        for index in range(count):
            camera = cameras[int(rng.integers(len(cameras)))]
            window = windows[index % len(windows)] if windows else None
            # One person is in one place at a time: a pass may not overlap their others.
            for _attempt in range(20):
                candidate = _pass(person, camera, config, rng, window, turn=index)
                if all(candidate.end_s <= p.start_s or candidate.start_s >= p.end_s for p in own):
                    own.append(candidate)
                    break
        passes += own
    passes.sort(key=lambda p: (p.camera_id, p.start_s))
    return EventPlan(config, cameras, tuple(people), tuple(passes), presence)


def _presence(
    config: SimulationConfig, people: list[PersonSpec], rng: np.random.Generator
) -> tuple[PresenceWindow, ...]:
    """The windows of the first ``early_leavers`` visitors (there from the start, gone
    after 25-50 % of the event) and of the next ``returners`` (away from 25-40 % to
    60-75 %). No draw at all without them, so that other plans stay as they were."""
    visitors = [person.id for person in people if person.role == "visitor"]
    wanted = config.early_leavers + config.returners
    if wanted > len(visitors):
        raise ValueError(f"{wanted} visitors leave or come back, but there are {len(visitors)}")
    windows = []
    length = config.duration_s
    for person_id in visitors[: config.early_leavers]:
        windows.append(PresenceWindow(person_id, 0.0, float(rng.uniform(0.25, 0.5)) * length))
    for person_id in visitors[config.early_leavers : wanted]:
        away = float(rng.uniform(0.25, 0.4)) * length
        back = float(rng.uniform(0.6, 0.75)) * length
        windows += [PresenceWindow(person_id, 0.0, away), PresenceWindow(person_id, back, length)]
    return tuple(windows)


def _camera(index: int, config: SimulationConfig, rng: np.random.Generator) -> CameraPlan:
    # The last of three or more cameras is a 720p one, as venues mix old and new cameras.
    width, height = (
        (1280, 720) if config.cameras >= 3 and index == config.cameras - 1 else (1920, 1080)
    )
    pillars = tuple(
        Pillar(
            x=float(rng.uniform(0.15, 0.8) * width),
            width=float(rng.uniform(50, 110) * height / 1080),
        )
        for _ in range(int(rng.integers(1, 3)))
    )
    dip_start = float(rng.uniform(0, max(1.0, config.duration_s - 4)))
    return CameraPlan(
        id=f"cam{index + 1}",
        width=width,
        height=height,
        stream_start_s=round(float(rng.uniform(0.3, 1.5)), 2),
        background_offset_s=float(rng.uniform(0, 60)),
        background_zoom=float(rng.uniform(1.0, 1.6)),
        background_mirror=bool(rng.random() < 0.5),
        pillars=pillars,
        light_period_s=float(rng.uniform(12, 30)),
        light_phase=float(rng.uniform(0, 2 * math.pi)),
        light_dip=(dip_start, dip_start + float(rng.uniform(1.5, 3.5))),
    )


def _pass(
    person: PersonSpec,
    camera: CameraPlan,
    config: SimulationConfig,
    rng: np.random.Generator,
    window: tuple[float, float] | None = None,
    turn: int = 0,
) -> Pass:
    """One pass, anywhere in the event or inside ``window`` (a :class:`PresenceWindow`);
    the person's ``turn``-th (:func:`_photos_for_turn`)."""
    photos = _photos_for_turn(person.footage_photos, turn)
    photo = photos[int(rng.integers(len(photos)))]
    largest = min(config.max_face_px, photo.max_face_px)
    smallest = min(config.min_face_px * 1.1, largest)
    depth = float(rng.uniform(0, 1)) ** 1.5  # more people far away than close up
    face_px = smallest + depth * (largest - smallest)
    first, last = window or (0.0, config.duration_s)
    length = min(float(rng.uniform(5, 12)), last - first)
    # Passes may begin before the footage does or end after it: people were already there.
    # Inside a window they begin and end inside it.
    margin = 0.0 if window else 2.0
    start = float(rng.uniform(first - margin, max(first - margin + 0.01, last - length + margin)))
    return Pass(
        person_id=person.id,
        camera_id=camera.id,
        photo=photo.name,
        start_s=max(first, start),
        end_s=min(last, start + length),
        left_to_right=bool(rng.random() < 0.5),
        face_px=face_px,
        face_y=0.30 + 0.28 * depth,
        yaw_amplitude_deg=float(rng.uniform(0, 35)),
        yaw_period_s=float(rng.uniform(2.5, 6)),
        yaw_phase=float(rng.uniform(0, 2 * math.pi)),
        torso_colour=_TORSO_COLOURS[int(rng.integers(len(_TORSO_COLOURS)))],
    )


def _photos_for_turn(photos: tuple[PhotoSpec, ...], turn: int) -> tuple[PhotoSpec, ...]:
    """The photos a person's ``turn``-th pass may show. Someone whose photos show several
    labelled expressions changes expression from pass to pass (one expression a pass, in
    turn: smiling some of the time); anyone else may show any of their photos.

    >>> smiles = (PhotoSpec("a", 90, "happy"), PhotoSpec("b", 90, "neutral"),
    ...           PhotoSpec("c", 90, "happy"))
    >>> [[p.name for p in _photos_for_turn(smiles, turn)] for turn in range(3)]
    [['a', 'c'], ['b'], ['a', 'c']]
    """
    expressions = sorted({photo.expression for photo in photos if photo.expression})
    if len(expressions) < 2:
        return photos
    wanted = expressions[turn % len(expressions)]
    return tuple(photo for photo in photos if photo.expression == wanted)
