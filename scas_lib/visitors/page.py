"""What a visitor's page says about their video. Pure: the caller reads the catalog.

>>> video_state("running", None), video_state("ended", None), video_state("done", None)
('waiting', 'making', 'not_seen')
>>> video_state("done", "done"), video_state("ended", "rendering"), video_state("done", "failed")
('ready', 'making', 'making')

A video being made again (the visitor was seen again) keeps its published video, which the
pages show until the new one replaces it (:func:`shown_status`):

>>> from scas_lib.catalog.records import Output
>>> again = Output("expo", "ada", "rendering", object_key="expo/ada.mp4")
>>> video_state("running", shown_status(again)), shown_status(Output("expo", "bo", "rendering"))
('ready', 'rendering')

The catalog says ``ended`` only once the last segment is recognized; the end marker says
it first, so a page that knows of the marker says *being made* from then on:

>>> video_state("running", None), video_state("running", None, run_ended=True)
('waiting', 'making')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from scas_lib.catalog.records import EventStatus, Output, OutputStatus, RecognitionProgress
from scas_lib.highlights.records import EditPlan

#: ``waiting``: the event is still on (videos are made after its end); ``making``: the
#: event ended and the video is being made (or re-made after a failed render: the team
#: sees failures in Airflow); ``ready``: it can be watched; ``not_seen``: the cameras did
#: not find the visitor, so there is no video.
VideoState = Literal["waiting", "making", "ready", "not_seen"]


def shown_status(output: Output | None) -> OutputStatus | None:
    """The output status the pages go by: ``done`` while a published video is there, also
    while it is made again or after that render failed (the row keeps its key until the
    new video replaces it, or the visitor turns out not to be seen)."""
    if output is None:
        return None
    if output.object_key and output.status in ("rendering", "failed"):
        return "done"
    return output.status


def video_state(
    event_status: EventStatus | None,
    output_status: OutputStatus | None,
    *,
    run_ended: bool = False,
) -> VideoState:
    """The state of a visitor's video from their event's status and their output's;
    ``run_ended``: the event's end marker is there (:func:`scas_lib.run.waves.run_state`),
    while the catalog may still say ``running`` (segments are being recognized)."""
    if output_status == "done":
        return "ready"
    if output_status == "not_seen":
        return "not_seen"
    if output_status in ("rendering", "failed"):
        return "making"
    if event_status == "ended":
        return "making"
    if event_status == "done":
        return "not_seen"
    if run_ended:
        return "making"
    return "waiting"


#: What a video being made waits for: ``recognizing`` the event's footage (the segments
#: that arrived are not all recognized yet), then ``rendering`` the video itself.
MakingStep = Literal["recognizing", "rendering"]


def making_step(progress: RecognitionProgress) -> MakingStep:
    """What a video being made waits for now.

    >>> making_step(RecognitionProgress(40, 12)), making_step(RecognitionProgress(40, 40))
    ('recognizing', 'rendering')
    """
    return "rendering" if progress.finished else "recognizing"


@dataclass(frozen=True)
class Moment:
    """One clip of a visitor's highlight, as their page lists it."""

    #: Its place in the plan (from 0): the number of its thumbnail.
    index: int
    camera_id: str
    #: When it was filmed (UTC).
    filmed_at: datetime
    #: Where it starts in the video and how long it lasts (seconds).
    video_start_s: float
    length_s: float


def plan_moments(plan: EditPlan) -> tuple[Moment, ...]:
    """The moments of a highlight's edit plan, in the video's order.

    >>> from datetime import UTC, timedelta
    >>> from scas_lib.highlights.records import PlanLimits, PlannedClip
    >>> t0 = datetime(2026, 5, 1, 10, tzinfo=UTC)
    >>> clips = (PlannedClip("gate", t0, t0 + timedelta(seconds=4), 0.4),
    ...          PlannedClip("stage", t0 + timedelta(seconds=60), t0 + timedelta(seconds=66), 0.9))
    >>> plan = EditPlan("expo", "ana", clips, PlanLimits(60, 2, 8, 0.5, 2, 2))
    >>> [(m.index, m.camera_id, m.video_start_s, m.length_s) for m in plan_moments(plan)]
    [(0, 'gate', 1.5, 4.0), (1, 'stage', 5.0, 6.0)]
    """
    return tuple(
        Moment(index, clip.camera_id, clip.start, round(start, 3), round(clip.length_s, 3))
        for index, (clip, start) in enumerate(
            zip(plan.clips, plan.clip_output_starts(), strict=True)
        )
    )


def clock_times(filmed: list[datetime]) -> list[str]:
    """When each moment was filmed as its page says it: ``HH:MM``, with the seconds where
    two moments share a minute, so that no two read the same (aware times, already in the
    event's zone).

    >>> from datetime import datetime as t
    >>> clock_times([t(2026, 1, 1, 10, 4, 5), t(2026, 1, 1, 10, 4, 50), t(2026, 1, 1, 11, 0)])
    ['10:04:05', '10:04:50', '11:00']
    """
    minutes = [moment.strftime("%H:%M") for moment in filmed]
    return [
        moment.strftime("%H:%M:%S") if minutes.count(minute) > 1 else minute
        for moment, minute in zip(filmed, minutes, strict=True)
    ]
