"""Where every face is at a moment, whether it can be seen, and the frame that shows it.

Pure functions of the plan, the time and the sprites (no I/O). The ground truth and the
renderer both call :func:`face_states`, so what the truth says is visible is exactly what
was drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from scas_lib.simulation.plan import CameraPlan, EventPlan, Pass

#: A face is visible when at least this much of its box is inside the frame...
MIN_INSIDE = 0.7
#: ...and at most this much of it is hidden behind a pillar or a nearer person.
MAX_OCCLUDED = 0.3


@dataclass(frozen=True)
class SpriteGeometry:
    width: int
    height: int
    face_box: tuple[float, float, float, float]  # x1, y1, x2, y2 inside the sprite

    @property
    def face_height(self) -> float:
        return self.face_box[3] - self.face_box[1]

    @property
    def face_center(self) -> tuple[float, float]:
        x1, y1, x2, y2 = self.face_box
        return (x1 + x2) / 2, (y1 + y2) / 2


@dataclass(frozen=True, eq=False)
class Sprite:
    """A head cut out of a photo: pixels, a soft alpha mask and where the face is."""

    image: NDArray[np.uint8] = field(repr=False)
    alpha: NDArray[np.float32] = field(repr=False)
    geometry: SpriteGeometry


@dataclass(frozen=True)
class FaceState:
    person_id: str
    box: tuple[float, float, float, float]  # in frame pixels
    yaw_deg: float
    inside: float
    occluded: float
    visible: bool
    pass_: Pass = field(repr=False)
    #: Perspective warp from the scaled sprite to the frame (3x3).
    warp: NDArray[np.float64] = field(repr=False)
    scale: float = 1.0

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def _rect_area(box: tuple[float, float, float, float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _torso_rect(
    state_box: tuple[float, float, float, float], face_w: float, face_h: float
) -> tuple[float, float, float, float]:
    cx = (state_box[0] + state_box[2]) / 2
    top = state_box[3] + 0.15 * face_h
    return (cx - 1.2 * face_w, top, cx + 1.2 * face_w, top + 3.5 * face_h)


def _geometry(
    plan: EventPlan, camera: CameraPlan, p: Pass, t: float, sprite: SpriteGeometry
) -> tuple[tuple[float, float, float, float], NDArray[np.float64], float, float]:
    """The face box in the frame, the sprite's warp, its scale and the head's yaw."""
    scale = p.face_px * camera.scale / sprite.face_height
    width, height = sprite.width * scale, sprite.height * scale
    face_cx, face_cy = (c * scale for c in sprite.face_center)
    start_x, end_x = -width, camera.width + width
    if not p.left_to_right:
        start_x, end_x = end_x, start_x
    progress = min(1.0, max(0.0, p.progress(t)))
    center_x = start_x + (end_x - start_x) * progress
    bob = 0.04 * p.face_px * camera.scale * math.sin(2 * math.pi * 1.8 * (t - p.start_s))
    center_y = p.face_y * camera.height + bob
    yaw = p.yaw_deg(t)
    squeeze = math.cos(math.radians(yaw))
    # The side turning away gets narrower and a little shorter: a cheap head turn.
    shrink = 0.2 * abs(math.sin(math.radians(yaw)))
    left_h, right_h = (1 - shrink, 1.0) if yaw > 0 else (1.0, 1 - shrink)
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)

    def placed(x: float, y: float, side_height: float) -> list[float]:
        return [
            center_x + (x - face_cx) * squeeze,
            center_y + (y - face_cy) * side_height,
        ]

    target = np.array(
        [
            placed(0, 0, left_h),
            placed(width, 0, right_h),
            placed(width, height, right_h),
            placed(0, height, left_h),
        ],
        np.float32,
    )
    warp = cast(NDArray[np.float64], cv2.getPerspectiveTransform(source, target))
    x1, y1, x2, y2 = (c * scale for c in sprite.face_box)
    corners = cv2.perspectiveTransform(
        np.array([[[x1, y1], [x2, y1], [x2, y2], [x1, y2]]], np.float32), warp
    )[0]
    box = (
        float(corners[:, 0].min()),
        float(corners[:, 1].min()),
        float(corners[:, 0].max()),
        float(corners[:, 1].max()),
    )
    return box, warp, scale, yaw


def face_states(
    plan: EventPlan, camera_id: str, t: float, sprites: dict[str, SpriteGeometry]
) -> list[FaceState]:
    """Every face in front of ``camera_id`` at ``t``, nearest last (the drawing order)."""
    camera = plan.camera(camera_id)
    passes = sorted(plan.passes_at(camera_id, t), key=lambda p: p.face_px)
    placed = [(p, *_geometry(plan, camera, p, t, sprites[p.photo])) for p in passes]
    frame = (0.0, 0.0, float(camera.width), float(camera.height))
    states = []
    for index, (p, box, warp, scale, yaw) in enumerate(placed):
        area = _rect_area(box)
        inside = _rect_area(_intersection(box, frame)) / area if area else 0.0
        occluders = [
            (pillar.x, 0.0, pillar.x + pillar.width, float(camera.height))
            for pillar in camera.pillars
        ]
        for _nearer, near_box, *_ in placed[index + 1 :]:
            face_w = near_box[2] - near_box[0]
            face_h = near_box[3] - near_box[1]
            occluders.append(near_box)
            occluders.append(_torso_rect(near_box, face_w, face_h))
        occluded = _covered_fraction(box, occluders)
        visible = (
            inside >= MIN_INSIDE
            and occluded <= MAX_OCCLUDED
            and (box[3] - box[1]) >= plan.config.min_face_px
        )
        states.append(FaceState(p.person_id, box, yaw, inside, occluded, visible, p, warp, scale))
    return states


def _intersection(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))


def _covered_fraction(
    box: tuple[float, float, float, float], rects: list[tuple[float, float, float, float]]
) -> float:
    """Share of ``box`` under any of ``rects``, sampled on a 10x10 grid."""
    if not rects:
        return 0.0
    xs = np.linspace(box[0], box[2], 10)
    ys = np.linspace(box[1], box[3], 10)
    grid_x, grid_y = np.meshgrid(xs, ys)
    covered = np.zeros_like(grid_x, dtype=bool)
    for x1, y1, x2, y2 in rects:
        covered |= (grid_x >= x1) & (grid_x <= x2) & (grid_y >= y1) & (grid_y <= y2)
    return float(covered.mean())


# Rendering ------------------------------------------------------------------------------------


#: Resized heads and drawn torsos, kept between frames (a person keeps one size while crossing).
#: Keyed by ("torso", width, height, *colour) or by (photo, width, height).
ScaledSprites = dict[
    tuple[str, int, int, int, int, int] | tuple[str, int, int],
    tuple[NDArray[np.uint8], NDArray[np.float32]],
]


def render_frame(
    plan: EventPlan,
    camera_id: str,
    t: float,
    background: NDArray[np.uint8],
    sprites: dict[str, Sprite],
    scaled: ScaledSprites | None = None,
) -> NDArray[np.uint8]:
    """The camera's frame at ``t``: background, people far to near, pillars, lighting.

    ``scaled`` keeps sprites resized to a pass's size between frames (a person keeps one
    size while crossing); pass the same dict for every frame of a camera.
    """
    camera = plan.camera(camera_id)
    frame = background.copy()
    geometries = {name: sprite.geometry for name, sprite in sprites.items()}
    cache: ScaledSprites = {} if scaled is None else scaled
    for state in face_states(plan, camera_id, t, geometries):
        name = state.pass_.photo
        _draw_person(frame, state, sprites[name], name, cache, camera, plan.config.fps)
    for pillar in camera.pillars:
        _draw_pillar(frame, pillar.x, pillar.width)
    gain = camera.light_gain(t)
    return cast(NDArray[np.uint8], cv2.convertScaleAbs(frame, alpha=gain, beta=(gain - 1) * 10))


def _draw_person(
    frame: NDArray[np.uint8],
    state: FaceState,
    sprite: Sprite,
    name: str,
    cache: ScaledSprites,
    camera: CameraPlan,
    fps: int,
) -> None:
    box = state.box
    face_w, face_h = box[2] - box[0], box[3] - box[1]
    x1, y1, x2, y2 = (round(v) for v in _torso_rect(box, face_w, face_h))
    torso_key = ("torso", x2 - x1, y2 - y1, *state.pass_.torso_colour)
    if torso_key not in cache:
        cache[torso_key] = _torso(x2 - x1, y2 - y1, state.pass_.torso_colour)
    _blend(frame, *cache[torso_key], x1, y1)
    scaled_w = max(1, round(sprite.geometry.width * state.scale))
    scaled_h = max(1, round(sprite.geometry.height * state.scale))
    key = (name, scaled_w, scaled_h)
    if key not in cache:
        interpolation = cv2.INTER_AREA if state.scale < 1 else cv2.INTER_LINEAR
        image = cv2.resize(sprite.image, (scaled_w, scaled_h), interpolation=interpolation)
        alpha = cv2.resize(sprite.alpha, (scaled_w, scaled_h), interpolation=interpolation)
        cache[key] = (cast(NDArray[np.uint8], image), cast(NDArray[np.float32], alpha))
    _paste_head(frame, state, *cache[key], camera, fps)


def _paste_head(
    frame: NDArray[np.uint8],
    state: FaceState,
    image: NDArray[np.uint8],
    alpha: NDArray[np.float32],
    camera: CameraPlan,
    fps: int,
) -> None:
    height, width = frame.shape[:2]
    scaled_h, scaled_w = image.shape[:2]
    corners = cv2.perspectiveTransform(
        np.array([[[0, 0], [scaled_w, 0], [scaled_w, scaled_h], [0, scaled_h]]], np.float32),
        state.warp,
    )[0]
    left = max(0, math.floor(corners[:, 0].min()))
    top = max(0, math.floor(corners[:, 1].min()))
    right = min(width, math.ceil(corners[:, 0].max()))
    bottom = min(height, math.ceil(corners[:, 1].max()))
    if right <= left or bottom <= top:
        return
    shift = np.array([[1, 0, -left], [0, 1, -top], [0, 0, 1]], np.float64)
    warp = shift @ state.warp
    size = (right - left, bottom - top)
    patch = cast(NDArray[np.uint8], cv2.warpPerspective(image, warp, size, flags=cv2.INTER_LINEAR))
    mask = cast(NDArray[np.float32], cv2.warpPerspective(alpha, warp, size, flags=cv2.INTER_LINEAR))
    # Motion blur along the walk, as a camera's exposure smears a moving head.
    speed = (camera.width + 2 * scaled_w) / max(0.1, state.pass_.end_s - state.pass_.start_s) / fps
    length = int(min(11, speed * 0.5))
    if length >= 2:
        kernel = np.full((1, length), 1.0 / length, np.float32)
        patch = cast(NDArray[np.uint8], cv2.filter2D(patch, -1, kernel))
        mask = cast(NDArray[np.float32], cv2.filter2D(mask, -1, kernel))
    _blend(frame, patch, mask, left, top)


def _torso(
    width: int, height: int, colour: tuple[int, int, int]
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """Shoulders and body: a shaded, soft-edged shape in the clothes' colour."""
    width, height = max(2, width), max(2, height)
    mask = np.zeros((height, width), np.float32)
    shoulder = max(1, width // 4)
    cv2.ellipse(mask, (width // 2, shoulder), (width // 2 - 1, shoulder), 0, 180, 360, 1.0, -1)
    cv2.rectangle(mask, (0, shoulder), (width - 1, height - 1), 1.0, -1)
    mask = cast(NDArray[np.float32], cv2.GaussianBlur(mask, (0, 0), max(1.0, width / 40)))
    # Light from above and the front: brighter in the middle, darker at the sides and below.
    across = 1 - 0.45 * np.abs(np.linspace(-1, 1, width, dtype=np.float32)) ** 2
    down = np.linspace(1.05, 0.75, height, dtype=np.float32)
    shade = down[:, None] * across[None, :]
    rng = np.random.default_rng(width * 7919 + height)
    texture = 1 + rng.normal(0, 0.04, (height, width)).astype(np.float32)
    image = np.array(colour, np.float32)[None, None, :] * (shade * texture)[..., None]
    return np.clip(image, 0, 255).astype(np.uint8), mask


def _blend(
    frame: NDArray[np.uint8],
    image: NDArray[np.uint8],
    alpha: NDArray[np.float32],
    left: int,
    top: int,
) -> None:
    """Alpha-blend ``image`` onto ``frame`` with its top-left corner at (left, top)."""
    height, width = frame.shape[:2]
    x1, y1 = max(0, left), max(0, top)
    x2, y2 = min(width, left + image.shape[1]), min(height, top + image.shape[0])
    if x2 <= x1 or y2 <= y1:
        return
    patch = image[y1 - top : y2 - top, x1 - left : x2 - left].astype(np.float32)
    weight = alpha[y1 - top : y2 - top, x1 - left : x2 - left, None]
    region = frame[y1:y2, x1:x2]
    region[:] = (patch * weight + region.astype(np.float32) * (1 - weight)).astype(np.uint8)


def _draw_pillar(frame: NDArray[np.uint8], x: float, pillar_width: float) -> None:
    _height, width = frame.shape[:2]
    left, right = max(0, int(x)), min(width, int(x + pillar_width))
    if right <= left:
        return
    shade = np.linspace(150, 95, right - left, dtype=np.float32)
    frame[:, left:right] = shade[None, :, None].astype(np.uint8)
