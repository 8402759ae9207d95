"""A rendered highlight judged frame by frame against a generated event's ground truth. Pure.

The render's record (:class:`~scas_lib.highlights.shown.FrameRecord`) says which camera
frame each output frame shows and through which window; the plan says where every face of
that camera frame is (:func:`~scas_lib.simulation.scene.face_states`). Together they say
where every face is in the output picture, and whether it can be seen there: mostly inside
the picture (:data:`~scas_lib.simulation.scene.MIN_INSIDE`), mostly unhidden
(:data:`~scas_lib.simulation.scene.MAX_OCCLUDED`) and at least the generator's smallest
face (``min_face_px`` of a 1080-pixel picture, scaled to the output's shorter side).

A frame is *footage* when it shows a camera frame (not a card; a transition counts as the
item that covers most of it).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from scas_lib.highlights.shown import FrameRecord, ShownFrame
from scas_lib.simulation.plan import EventPlan
from scas_lib.simulation.scene import MAX_OCCLUDED, MIN_INSIDE, SpriteGeometry, face_states
from scas_lib.simulation.truth import SMILING, photo_specs

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class FaceInPicture:
    """One planned face in an output frame: its box in output pixels, whether it can be
    seen there, and whether it smiles."""

    person_id: str
    box: Box
    visible: bool
    smiling: bool

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def faces_in_frame(
    plan: EventPlan,
    sprites: dict[str, SpriteGeometry],
    event_start: datetime,
    shown: ShownFrame,
    output: tuple[int, int],
) -> list[FaceInPicture]:
    """Every planned face of the camera frame ``shown`` shows, placed in the output (none
    for a card)."""
    if shown.kind != "clip" or shown.camera_id is None or shown.time is None:
        return []
    assert shown.output_rect is not None
    t = (shown.time - event_start).total_seconds()
    ox, oy, ow, oh = shown.output_rect
    picture = (max(0.0, ox), max(0.0, oy), min(float(output[0]), ox + ow),
               min(float(output[1]), oy + oh))  # fmt: skip
    smallest = plan.config.min_face_px * min(output) / 1080
    smiles = {photo.name for photo in photo_specs(plan) if photo.expression == SMILING}
    faces = []
    for state in face_states(plan, shown.camera_id, t, sprites):
        x0, y0, x1, y1 = shown.to_output(state.box)
        box = (x0, y0, x1, y1)
        area = (x1 - x0) * (y1 - y0)
        inside = _area(_intersection(box, picture)) / area if area > 0 else 0.0
        visible = inside >= MIN_INSIDE and state.occluded <= MAX_OCCLUDED and y1 - y0 >= smallest
        faces.append(
            FaceInPicture(state.person_id, box, visible, visible and state.pass_.photo in smiles)
        )
    return faces


@dataclass(frozen=True)
class VideoScore:
    """One video of one visitor, counted in output frames."""

    frames: int
    footage: int
    #: Footage frames in which the visitor is visible; ... and the largest visible face;
    #: ... and smiles.
    visible: int
    largest: int
    smiling: int
    #: The visitor's face height over the output's height, in each frame they are visible.
    face_heights: tuple[float, ...]
    #: Per clip of the plan (in order): its footage frames in which the visitor is visible.
    clip_visible: tuple[int, ...]
    #: The most output pixels per camera pixel in any footage frame.
    max_upscale: float

    @property
    def visible_share(self) -> float:
        return self.visible / self.footage if self.footage else 0.0

    @property
    def largest_share(self) -> float:
        return self.largest / self.footage if self.footage else 0.0

    @property
    def smiling_share(self) -> float:
        return self.smiling / self.footage if self.footage else 0.0

    @property
    def footage_share(self) -> float:
        return self.footage / self.frames if self.frames else 0.0

    @property
    def face_height_median(self) -> float:
        return statistics.median(self.face_heights) if self.face_heights else 0.0

    @property
    def clips_without_subject(self) -> int:
        return sum(count == 0 for count in self.clip_visible)


def judge_video(
    plan: EventPlan,
    sprites: dict[str, SpriteGeometry],
    event_start: datetime,
    record: FrameRecord,
    visitor_id: str,
    clips: int,
) -> VideoScore:
    """Score every frame of ``record`` (a video of ``visitor_id`` with ``clips`` clips)."""
    output = (record.width, record.height)
    footage = visible = largest = smiling = 0
    heights: list[float] = []
    clip_visible = [0] * clips
    upscale = 0.0
    for shown in record.frames:
        if shown.kind != "clip":
            continue
        footage += 1
        assert shown.source_rect is not None and shown.output_rect is not None
        upscale = max(upscale, shown.output_rect[2] / shown.source_rect[2])
        faces = faces_in_frame(plan, sprites, event_start, shown, output)
        subject = subject_in(faces, visitor_id)
        if subject is None:
            continue
        visible += 1
        smiling += subject.smiling
        heights.append(subject.height / record.height)
        if shown.clip is not None and shown.clip < clips:
            clip_visible[shown.clip] += 1
        if is_largest(faces, subject):
            largest += 1
    return VideoScore(
        len(record.frames), footage, visible, largest, smiling, tuple(heights),
        tuple(clip_visible), upscale,
    )  # fmt: skip


def subject_in(faces: Sequence[FaceInPicture], visitor_id: str) -> FaceInPicture | None:
    """The visitor's face, if visible in the picture."""
    return next((f for f in faces if f.person_id == visitor_id and f.visible), None)


def is_largest(faces: Sequence[FaceInPicture], subject: FaceInPicture) -> bool:
    """Whether no other visible face in the picture is taller than ``subject``."""
    return all(f.height <= subject.height for f in faces if f.visible and f is not subject)


def _intersection(a: Box, b: Box) -> Box:
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))


def _area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])
