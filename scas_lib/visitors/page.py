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
"""

from __future__ import annotations

from typing import Literal

from scas_lib.catalog.records import EventStatus, Output, OutputStatus

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
