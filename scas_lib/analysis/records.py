"""The records of a video's analysis: what is on each analysed frame, second by second.

:func:`~scas_lib.analysis.labels.analysed_frames` makes :class:`AnalysedFrame` s from a
video's face tracks; :func:`~scas_lib.analysis.labels.by_second` gathers them into
:class:`AnalysisSecond` s, which :class:`Analysis` holds and writes as JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

from scas_lib.tracks import Box

AnalysisPhase = Literal["queued", "recognizing", "annotating", "done", "failed"]


@dataclass(frozen=True)
class AnalysedFace:
    """One face on one analysed frame: its box (original pixels), who it is (``label``: a
    visitor's name, or ``unknown #n`` for the n-th unknown person of the video) and how
    it looks (from the face's track: the expression of its nearest described face, the
    track's median age and its gender; None where the pack has no such model)."""

    box: Box
    label: str
    visitor_id: str | None
    track: int
    expression: str | None
    age: float | None
    gender: str | None


@dataclass(frozen=True)
class AnalysedFrame:
    offset_s: float
    faces: tuple[AnalysedFace, ...]


@dataclass(frozen=True)
class AnalysisSecond:
    """The analysed frames of one second of the video (``second`` counts from 0)."""

    second: int
    frames: tuple[AnalysedFrame, ...]


@dataclass(frozen=True)
class AnalysisProgress:
    """How far an analysis is: its phase, ``percent`` done (recognising is the first 60,
    annotating the rest), frames done (decoded, then written), faces found so far, and the
    seconds it should still take (None until it can tell)."""

    phase: AnalysisPhase
    percent: float
    frames_done: int
    faces_found: int
    eta_s: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Analysis:
    """A video's analysis: its seconds, and the people in it (labels, first seen first)."""

    source: str
    duration_s: float
    people: tuple[str, ...]
    seconds: tuple[AnalysisSecond, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)
