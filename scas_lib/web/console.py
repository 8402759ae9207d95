"""The operator's live side of an event (issue 16): the console's API and the big screen's
playlist and feed, behind the operator dependency.

Starting and ending an event writes its control markers with
:func:`scas_lib.orchestration.mark_event` (as `scas event` does; the replay writes them
with the same :func:`~scas_lib.storage.control.put_control_marker`); re-rendering and
deleting a visitor call the stage functions of the ``scas`` command
(:func:`scas_lib.orchestration.render`, :func:`~scas_lib.visitors.stage.forget_visitor`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from scas_lib import orchestration
from scas_lib.catalog.console import visitor_sightings
from scas_lib.catalog.records import Appearance, Output
from scas_lib.highlights.appearances import MomentCorrection
from scas_lib.storage import keys
from scas_lib.visitors.page import VideoState, shown_status, video_state
from scas_lib.web.api import _ERRORS, Deleted, app_base_url
from scas_lib.web.auth import Context
from scas_lib.web.context import WebContext
from scas_lib.web.errors import ApiError
from scas_lib.web.screen import ScreenVideo, playlist_feed, screen_playlist

#: Said when the console writes a marker: `scas serve` has no Airflow to trigger.
NO_AIRFLOW = (
    "Airflow is not reachable from `scas serve`: the marker is written; the event's DAG "
    "acts on it at its next run (trigger it in Airflow)"
)


@dataclass(frozen=True)
class ConsoleVisitor:
    """A visitor as the console lists them."""

    id: str
    display_name: str
    state: VideoState
    output_status: str | None
    tracks: int
    cameras: list[str]
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True)
class Counts:
    visitors_enrolled: int
    visitors_seen: int
    videos_ready: int


@dataclass(frozen=True)
class ConsoleState:
    """The event as the console shows it."""

    event_id: str
    name: str
    status: str
    #: When the start and end markers were written (None: not there).
    started_at: datetime | None
    ended_at: datetime | None
    #: Whether the current run has ended (an end marker newer than the start marker).
    ended: bool
    counts: Counts
    visitors: list[ConsoleVisitor]


@dataclass(frozen=True)
class MarkerWritten:
    event_id: str
    marker: Literal["start", "end"]
    key: str
    written_at: datetime | None
    #: Whether a DAG run was triggered, and what happened otherwise.
    dag_run_triggered: bool
    note: str


def console_state(context: WebContext, event_id: str) -> ConsoleState:
    """The event's state, counts and visitors."""
    keys.validate_id(event_id, "event id")
    services = context.services
    with services.catalog() as catalog:
        event = catalog.get_event(event_id)
        if event is None:
            raise ApiError(404, "not_found", f"no event {event_id!r}")
        visitors = catalog.list_visitors(event_id)
        outputs = {o.visitor_id: o for o in catalog.list_outputs(event_id)}
        seen = visitor_sightings(catalog, event_id)
    markers = orchestration.marker_times(services, event_id)
    listed = []
    for visitor in visitors:
        output = outputs.get(visitor.id)
        sighting = seen.get(visitor.id)
        listed.append(
            ConsoleVisitor(
                id=visitor.id,
                display_name=visitor.display_name,
                state=video_state(event.status, shown_status(output)),
                output_status=output.status if output else None,
                tracks=sighting.tracks if sighting else 0,
                cameras=sighting.cameras if sighting else [],
                first_seen=sighting.first_seen if sighting else None,
                last_seen=sighting.last_seen if sighting else None,
            )
        )
    ready = sum(1 for o in outputs.values() if o.status == "done")
    return ConsoleState(
        event_id=event_id,
        name=event.name,
        status=event.status,
        started_at=markers["start"],
        ended_at=markers["end"],
        ended=orchestration.run_state(markers["start"], markers["end"], None)[0],
        counts=Counts(len(visitors), len(seen), ready),
        visitors=listed,
    )


def write_marker(
    context: WebContext, event_id: str, marker: Literal["start", "end"]
) -> MarkerWritten:
    """Start or end the event: write its marker (the event is made in the catalog if new)."""
    written = orchestration.mark_event(context.services, event_id, marker)
    key = keys.control_marker_key(event_id, marker)
    return MarkerWritten(event_id, marker, key, written, False, NO_AIRFLOW)


@dataclass(frozen=True)
class Moment:
    """One of a visitor's moments, as the console names it: a camera and a time span."""

    camera_id: str
    start: datetime
    end: datetime


def _visitor_run(
    context: WebContext, event_id: str, visitor_id: str, template: str
) -> orchestration.RunRequest:
    """The run that renders one visitor again (with ``template``, else the event's); 404
    for an unknown visitor."""
    keys.validate_id(visitor_id, "visitor id")
    run = orchestration.resolve_run(event_id, {"template": template} if template else None)
    with context.services.catalog() as catalog:
        if catalog.get_visitor(event_id, visitor_id) is None:
            raise ApiError(404, "not_found", f"no visitor {visitor_id!r} in {event_id!r}")
    return dataclasses.replace(run.request, visitor=visitor_id)


_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "Server-sent events. `event: playlist` carries the whole playlist (a JSON list of "
            "ScreenVideo, newest first) at the start and each time it changes; lines starting "
            "with `:` are keep-alives; `retry:` says how long to wait before reconnecting. "
            "Reconnect on any error (EventSource does)."
        ),
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def console_router(operator: Callable[..., Any]) -> APIRouter:
    """The console's and the screen's routes, each behind the ``operator`` dependency."""
    router = APIRouter(
        prefix="/api/events/{event_id}",
        tags=["console"],
        dependencies=[Depends(operator)],
        responses=_ERRORS,
    )

    @router.get("/console")
    def state(event_id: str, context: Context) -> ConsoleState:
        """The event's state, its markers, counts and visitors (with their video's state
        and where they were seen)."""
        return console_state(context, event_id)

    @router.post("/start")
    def start(event_id: str, context: Context) -> MarkerWritten:
        """Start the event: write its start marker."""
        return write_marker(context, event_id, "start")

    @router.post("/end")
    def end(event_id: str, context: Context) -> MarkerWritten:
        """End the event: write its end marker."""
        return write_marker(context, event_id, "end")

    @router.post("/visitors/{visitor_id}/render")
    def rerender(event_id: str, visitor_id: str, context: Context, template: str = "") -> Output:
        """Render the visitor's video again (with ``template``, else the event's), as
        ``scas highlights --visitor`` does; waits for the render."""
        request = _visitor_run(context, event_id, visitor_id, template)
        return orchestration.render(context.services, request, visitor_id)

    @router.get("/visitors/{visitor_id}/moments")
    def moments(event_id: str, visitor_id: str, context: Context) -> list[Appearance]:
        """The visitor's moments (appearances): what their video is made from."""
        keys.validate_id(event_id, "event id")
        with context.services.catalog() as catalog:
            return catalog.list_appearances(event_id, visitor_id)

    @router.post("/visitors/{visitor_id}/not-this-person")
    def not_this_person(
        event_id: str, visitor_id: str, moment: Moment, context: Context, template: str = ""
    ) -> Output:
        """ "Not this person": the visitor's tracks on the moment's camera and time are
        someone else's. The correction is kept (a re-recognition does not undo it) and the
        visitor's video is rendered again without them (waits for the render)."""
        from scas_lib.highlights.stage import not_this_person

        request = _visitor_run(context, event_id, visitor_id, template)
        correction = MomentCorrection(visitor_id, moment.camera_id, moment.start, moment.end)
        if correction.end_time < correction.start_time:
            raise ApiError(422, "invalid_moment", "the moment ends before it starts")
        return not_this_person(
            context.services, event_id, correction, orchestration.request_template(request)
        )

    @router.delete("/visitors/{visitor_id}")
    def delete(event_id: str, visitor_id: str, context: Context) -> Deleted:
        """Delete the visitor everywhere (as ``scas forget``)."""
        from scas_lib.visitors.stage import forget_visitor

        keys.validate_id(event_id, "event id")
        keys.validate_id(visitor_id, "visitor id")
        result = forget_visitor(context.services, event_id, visitor_id)
        return Deleted(result.catalog_rows, result.objects_deleted)

    @router.get("/screen")
    def screen(event_id: str, request: Request, context: Context) -> list[ScreenVideo]:
        """The big screen's playlist: the event's finished videos, newest first."""
        return screen_playlist(context, event_id, app_base_url(request))

    @router.get("/screen/stream", response_class=StreamingResponse, responses=_STREAM_DOC)
    def screen_stream(event_id: str, request: Request, context: Context) -> StreamingResponse:
        """The big screen's live feed (server-sent events): the playlist whenever it
        changes."""
        base = app_base_url(request)
        screen_playlist(context, event_id, base)  # a 404 now, not inside the stream
        feed = playlist_feed(
            lambda: screen_playlist(context, event_id, base), request.is_disconnected
        )
        return StreamingResponse(
            feed,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router
