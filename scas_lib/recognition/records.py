"""The records of the recognition layer: what one segment's recognition did and cost.

:func:`~scas_lib.recognition.stage.recognize_segment` returns a :class:`SegmentOutcome`;
``scas_lib.run.recognition`` gathers them per batch and ``scas_lib.run.timing`` reads their
:class:`WorkTiming`. The tracks themselves are :class:`~scas_lib.tracks.FaceTrack` s.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkTiming:
    """When one segment's decode and analysis ran in this process, and what it cost: the
    part of a recognize task that is work, against what was paid before its first frame
    (:class:`~scas_lib.run.timing.SegmentTiming`)."""

    #: Seconds of set-up in this call before the decode: the catalog rows, the gallery, the
    #: download.
    setup_s: float
    #: Unix time and process CPU seconds (every thread) when the decode started.
    started_at: float
    started_cpu_s: float
    #: Wall and process CPU seconds of the decode and analysis (:func:`recognize_video`).
    work_s: float
    work_cpu_s: float


@dataclass(frozen=True)
class SegmentOutcome:
    key: str
    segment_id: int
    status: str
    tracks: int
    identified: dict[str, int]
    error: str | None = None
    #: None for a segment rejected before any work (its camera id is invalid).
    timing: WorkTiming | None = None
