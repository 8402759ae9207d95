"""The records of the highlights layer: a visitor's edit plan and what publishing did.

:func:`~scas_lib.highlights.selection.select_moments` makes an :class:`EditPlan` (its
:class:`PlannedClip` s, within a template's :class:`PlanLimits`); the renderer and the
assembly read it; :func:`~scas_lib.highlights.stage.publish_event` returns one
:class:`PublishedHighlight` per visitor.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from scas_lib.highlights.templates import Template


@dataclass(frozen=True)
class PlanLimits:
    """The template's numbers that selection needs (seconds). They have no defaults of
    their own: a plan's limits come from its template (:meth:`of`) or from the stored plan.

    >>> PlanLimits.of(Template(name="doc", intro_s=0)).intro_s
    0.0
    """

    target_length_s: float
    min_clip_s: float
    max_clip_s: float
    transition_s: float
    intro_s: float
    outro_s: float

    @classmethod
    def of(cls, template: Template) -> PlanLimits:
        """The limits of a template."""
        return cls(**{name: getattr(template, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class PlannedClip:
    """A stretch of one camera's footage, in UTC recording time."""

    camera_id: str
    start: datetime
    end: datetime
    score: float

    @property
    def length_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class EditPlan:
    """What a highlight video shows, in order. Cards and clips are the plan's *items*;
    consecutive items overlap by one transition."""

    event_id: str
    visitor_id: str
    clips: tuple[PlannedClip, ...]
    limits: PlanLimits

    @property
    def item_lengths(self) -> list[float]:
        lengths = [clip.length_s for clip in self.clips]
        if not lengths:
            return []
        cards_before = [self.limits.intro_s] if self.limits.intro_s > 0 else []
        cards_after = [self.limits.outro_s] if self.limits.outro_s > 0 else []
        return cards_before + lengths + cards_after

    @property
    def duration_s(self) -> float:
        """Length of the rendered video."""
        lengths = self.item_lengths
        return sum(lengths) - max(len(lengths) - 1, 0) * self.limits.transition_s

    def clip_output_starts(self) -> list[float]:
        """Where each clip begins in the rendered video (seconds from its start)."""
        starts, position = [], 0.0
        first_clip = 1 if self.limits.intro_s > 0 else 0
        for index, length in enumerate(self.item_lengths):
            if first_clip <= index < first_clip + len(self.clips):
                starts.append(position)
            position += length - self.limits.transition_s
        return starts

    def clip_middles_s(self) -> list[float]:
        """Where the middle of each clip is in the rendered video: the frame that stands for
        it (the poster, the moments' thumbnails on the visitor's page)."""
        return [
            start + clip.length_s / 2
            for start, clip in zip(self.clip_output_starts(), self.clips, strict=True)
        ]

    @property
    def poster_s(self) -> float:
        """Where the poster frame is in the rendered video: the middle of the best clip."""
        best = max(range(len(self.clips)), key=lambda index: self.clips[index].score)
        return self.clip_middles_s()[best]

    def to_json(self) -> str:
        data = {
            "event_id": self.event_id,
            "visitor_id": self.visitor_id,
            "limits": asdict(self.limits),
            "duration_s": round(self.duration_s, 3),
            "clips": [
                {
                    "camera_id": clip.camera_id,
                    "start": clip.start.isoformat(),
                    "end": clip.end.isoformat(),
                    "score": round(clip.score, 4),
                }
                for clip in self.clips
            ],
        }
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> EditPlan:
        data = json.loads(text)
        clips = tuple(
            PlannedClip(
                clip["camera_id"],
                datetime.fromisoformat(clip["start"]),
                datetime.fromisoformat(clip["end"]),
                float(clip["score"]),
            )
            for clip in data["clips"]
        )
        return cls(data["event_id"], data["visitor_id"], clips, PlanLimits(**data["limits"]))


@dataclass(frozen=True)
class ExpressionMoment:
    """How the visitor looked at one time of a moment: the dominant ``expression`` of one of
    their described faces there, and the probability that it smiles."""

    time: datetime
    expression: str
    smile: float


@dataclass(frozen=True)
class PublishedHighlight:
    visitor_id: str
    display_name: str
    status: str
    url: str | None
    duration_s: float | None

    def record(self) -> dict[str, Any]:
        """What may be kept elsewhere (Airflow's XCom, logs): ids and status, no name or
        link, so nothing of a visitor outlives a forget there."""
        return {"visitor_id": self.visitor_id, "status": self.status, "duration_s": self.duration_s}
