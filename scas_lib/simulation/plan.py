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
class EventPlan:
    config: SimulationConfig
    cameras: tuple[CameraPlan, ...]
    people: tuple[PersonSpec, ...]
    passes: tuple[Pass, ...] = field(default=())

    def camera(self, camera_id: str) -> CameraPlan:
        return next(camera for camera in self.cameras if camera.id == camera_id)

    def passes_at(self, camera_id: str, t: float) -> list[Pass]:
        return [p for p in self.passes if p.camera_id == camera_id and p.start_s <= t < p.end_s]

    def as_dict(self) -> dict:
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
    passes: list[Pass] = []
    for person in people:
        # Visitors cross one to three cameras, some twice; strangers keep the scene busy.
        if person.role == "visitor":
            count = int(rng.integers(1, min(config.cameras, 3) + 1)) + int(rng.random() < 0.3)
        else:
            count = int(rng.integers(2, 4))
        own: list[Pass] = []
        for _ in range(count):
            camera = cameras[int(rng.integers(len(cameras)))]
            # One person is in one place at a time: a pass may not overlap their others.
            for _attempt in range(20):
                candidate = _pass(person, camera, config, rng)
                if all(candidate.end_s <= p.start_s or candidate.start_s >= p.end_s for p in own):
                    own.append(candidate)
                    break
        passes += own
    passes.sort(key=lambda p: (p.camera_id, p.start_s))
    return EventPlan(config, cameras, tuple(people), tuple(passes))


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
    person: PersonSpec, camera: CameraPlan, config: SimulationConfig, rng: np.random.Generator
) -> Pass:
    photo = person.footage_photos[int(rng.integers(len(person.footage_photos)))]
    largest = min(config.max_face_px, photo.max_face_px)
    smallest = min(config.min_face_px * 1.1, largest)
    depth = float(rng.uniform(0, 1)) ** 1.5  # more people far away than close up
    face_px = smallest + depth * (largest - smallest)
    length = min(float(rng.uniform(5, 12)), config.duration_s)
    # Passes may begin before the footage does or end after it: people were already there.
    start = float(rng.uniform(-2, max(-1.99, config.duration_s - length + 2)))
    return Pass(
        person_id=person.id,
        camera_id=camera.id,
        photo=photo.name,
        start_s=max(0.0, start),
        end_s=min(config.duration_s, start + length),
        left_to_right=bool(rng.random() < 0.5),
        face_px=face_px,
        face_y=0.30 + 0.28 * depth,
        yaw_amplitude_deg=float(rng.uniform(0, 35)),
        yaw_period_s=float(rng.uniform(2.5, 6)),
        yaw_phase=float(rng.uniform(0, 2 * math.pi)),
        torso_colour=_TORSO_COLOURS[int(rng.integers(len(_TORSO_COLOURS)))],
    )
