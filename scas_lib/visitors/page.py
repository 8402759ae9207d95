"""What a visitor's page says about their video. Pure: the caller reads the catalog.

>>> video_state("running", None), video_state("ended", None), video_state("done", None)
('waiting', 'making', 'not_seen')
>>> video_state("done", "done"), video_state("ended", "rendering"), video_state("done", "failed")
('ready', 'making', 'making')
"""

from __future__ import annotations

from typing import Literal

from scas_lib.catalog.records import EventStatus, OutputStatus

#: ``waiting``: the event is still on (videos are made after its end); ``making``: the
#: event ended and the video is being made (or re-made after a failed render: the team
#: sees failures in Airflow); ``ready``: it can be watched; ``not_seen``: the cameras did
#: not find the visitor, so there is no video.
VideoState = Literal["waiting", "making", "ready", "not_seen"]


def video_state(event_status: EventStatus | None, output_status: OutputStatus | None) -> VideoState:
    """The state of a visitor's video from their event's status and their output's."""
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
    return "waiting"
