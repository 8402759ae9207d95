"""The operator's live side of an event (issue 16): the console's API and the big screen's
playlist and feed, behind the operator dependency.

Starting and ending an event call the stage functions of `scas event start|end`
(:func:`~scas_lib.ingest.stage.start_event`, :func:`~scas_lib.ingest.stage.end_event`,
which lets `scas ingest` finish its last segments before the end marker), then give the
event's DAG a run through Airflow's REST API (:mod:`scas_lib.web.airflow`). The cameras are
:func:`scas_lib.ingest.stage.cameras`. Re-rendering and deleting a visitor call the stage
functions of the ``scas`` command (:func:`scas_lib.run.publishing.render`,
:func:`~scas_lib.visitors.stage.forget_visitor`). The console's live feed is the screen's
kind of server-sent events (:func:`scas_lib.web.screen.live_feed`). The camera grid's
thumbnails are :mod:`scas_lib.web.thumbnails`; a visitor's card shows their video's poster.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from scas_lib.catalog.records import MomentCorrection, Output, RecognitionProgress
from scas_lib.highlights.appearances import expression_timeline
from scas_lib.highlights.records import ExpressionMoment
from scas_lib.highlights.stage import corrected_tracks
from scas_lib.ingest import stage as ingest
from scas_lib.ingest.health import CameraHealth
from scas_lib.ingest.policy import ACTIVE_STATES
from scas_lib.run import parameters, planning, publishing, records, waves
from scas_lib.storage import keys
from scas_lib.visitors.page import VideoState, shown_status, video_state
from scas_lib.web.airflow import AirflowLink, configured_airflow, trigger_event_dag
from scas_lib.web.api import ERROR_RESPONSES, Deleted, app_base_url
from scas_lib.web.auth import Context
from scas_lib.web.context import WebContext
from scas_lib.web.errors import ApiError
from scas_lib.web.media import object_response
from scas_lib.web.playback import Playback, camera_playback
from scas_lib.web.screen import ScreenVideo, feed_response, live_feed, screen_playlist
from scas_lib.web.thumbnails import CameraThumbnails
from scas_lib.web.visits import event_zone

#: Recognition is behind real time when more footage than this many segments waits for
#: it: the newest segment is always being recognized, and one more may wait its turn.
BEHIND_SEGMENTS = 2.0
#: How long the console's End waits for `scas ingest` to finish (as `scas event end`).
END_WAIT_S = 60.0
#: How long a browser may keep a camera thumbnail under its segment's address (a segment's
#: first frame does not change).
THUMBNAIL_CACHE_S = 3600

#: How a camera's tile is coloured: ok (green: recording, recognition keeping up), warn
#: (amber: starting, reconnecting, behind), bad (red: offline), idle (grey: no footage,
#: stopped, or footage uploaded rather than recorded live).
HealthLevel = Literal["ok", "warn", "bad", "idle"]


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
    #: The poster of their finished video (app-relative, behind the operator), or None.
    poster_path: str | None = None


@dataclass(frozen=True)
class ConsoleCamera:
    """A camera as the console shows it: its health from `scas ingest` (migration 0008)."""

    camera_id: str
    #: starting / recording / reconnecting / offline / stopped; "offline" also when ingest
    #: stopped reporting on an active camera; None: never ingested.
    state: str | None
    #: Recognition is behind real time on this camera (see :data:`BEHIND_SEGMENTS`).
    behind: bool
    health: CameraHealth
    level: HealthLevel = "idle"
    watchable: bool = False  # its event file gives it a url: "Watch live" is offered


def health_level(state: str | None, behind: bool) -> HealthLevel:
    """The colour of a camera's tile.

    >>> health_level("recording", False), health_level("recording", True)
    ('ok', 'warn')
    >>> health_level("offline", False), health_level(None, False)
    ('bad', 'idle')
    """
    if state == "recording":
        return "warn" if behind else "ok"
    if state in ("starting", "reconnecting"):
        return "warn"
    if state == "offline":
        return "bad"
    return "idle"  # stopped, never ingested: nothing is wrong with what is not running


def console_camera(health: CameraHealth, now: datetime, segment_s: float) -> ConsoleCamera:
    """How the console shows a camera.

    >>> from datetime import timedelta
    >>> now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    >>> h = CameraHealth("e", "cam1", "recording", "rtsp://…", "", 0, 0, now, 3, "k",
    ...                  now, 0, 0.0, 4, 240.0)
    >>> console_camera(h, now, 60.0).state, console_camera(h, now, 60.0).behind
    ('recording', True)
    >>> console_camera(h, now + timedelta(minutes=5), 60.0).state  # ingest went silent
    'offline'
    """
    state = health.state
    if state in ACTIVE_STATES and not health.ingesting(now):
        state = "offline"
    behind = health.lag_s > BEHIND_SEGMENTS * segment_s
    level = health_level(state, behind)
    return ConsoleCamera(health.camera_id, state, behind, health, level)


@dataclass(frozen=True)
class Counts:
    visitors_enrolled: int
    visitors_seen: int
    videos_ready: int
    #: Different people the cameras saw, enrolled or not (faces grouped by likeness).
    people_seen: int


@dataclass(frozen=True)
class VideoProgress:
    """How far the visitors' videos are: those planned (each visitor the cameras saw, or
    whose video was started, unless planning found no footage of them), those ready and
    those whose last render failed."""

    planned: int
    done: int
    failed: int


def video_progress(seen: set[str], outputs: dict[str, Output]) -> VideoProgress:
    """The videos planned, ready and failed.

    >>> out = {"a": Output("e", "a", "done"), "b": Output("e", "b", "not_seen"),
    ...        "c": Output("e", "c", "failed")}
    >>> video_progress({"a", "b", "d"}, out)
    VideoProgress(planned=3, done=1, failed=1)
    """
    not_seen = {v for v, output in outputs.items() if output.status == "not_seen"}
    planned = (seen | set(outputs)) - not_seen
    statuses = [outputs[v].status for v in planned if v in outputs]
    return VideoProgress(len(planned), statuses.count("done"), statuses.count("failed"))


@dataclass(frozen=True)
class ConsoleState:
    """The event as the console shows it."""

    event_id: str
    name: str
    status: str
    #: The event's time zone (IANA name): the console shows its times in it.
    timezone: str
    #: When the start and end markers were written (None: not there).
    started_at: datetime | None
    ended_at: datetime | None
    #: Whether the current run has ended (an end marker newer than the start marker).
    ended: bool
    counts: Counts
    #: The segments recognized of those that arrived (as the visitors' pages count them).
    recognition: RecognitionProgress
    videos: VideoProgress
    cameras: list[ConsoleCamera]
    visitors: list[ConsoleVisitor]


def poster_path(event_id: str, visitor_id: str, output: Output | None) -> str | None:
    """The console's address of a finished video's poster; the plan's digest in it makes a
    re-rendered video's poster a new address (the browser keeps none: no-store).

    >>> poster_path("expo", "ana", Output("expo", "ana", "done", "k", "p", plan_digest="d1"))
    '/api/events/expo/visitors/ana/poster?v=d1'
    >>> poster_path("expo", "ana", Output("expo", "ana", "rendering", "k", "p")) is None
    True
    """
    if output is None or output.status != "done" or not output.poster_key:
        return None
    return f"/api/events/{event_id}/visitors/{visitor_id}/poster?v={output.plan_digest or ''}"


@dataclass(frozen=True)
class MarkerWritten:
    event_id: str
    marker: Literal["start", "end"]
    key: str
    #: When the marker of the current run was written (start: the open run's, if the
    #: event was running already).
    written_at: datetime | None
    #: Whether a DAG run was triggered, and what happened otherwise.
    dag_run_triggered: bool
    dag_run_id: str | None
    note: str
    #: End: cameras `scas ingest` had not finished when the wait was over.
    still_ingesting: list[str] = dataclasses.field(default_factory=list)


def console_state(context: WebContext, event_id: str) -> ConsoleState:
    """The event's state, counts and visitors."""
    keys.validate_id(event_id, "event id")
    services = context.services
    with services.catalog() as catalog:
        event = catalog.events.get(event_id)
        if event is None:
            raise ApiError(404, "not_found", f"no event {event_id!r}")
        visitors = catalog.visitors.for_event(event_id)
        outputs = {o.visitor_id: o for o in catalog.outputs.for_event(event_id)}
        seen = catalog.tracks.sightings(event_id)
        recognition = catalog.segments.recognition_progress(event_id)
    markers = waves.marker_times(services, event_id)
    ended = waves.run_state(markers["start"], markers["end"], None)[0]
    config = parameters.resolve_run(event_id).config
    watchable = {camera.id for camera in config.cameras if camera.url}
    now = datetime.now(UTC)
    cameras = [
        dataclasses.replace(
            console_camera(h, now, config.segment_s), watchable=h.camera_id in watchable
        )
        for h in ingest.cameras(services, event_id)
    ]
    listed = []
    for visitor in visitors:
        output = outputs.get(visitor.id)
        sighting = seen.get(visitor.id)
        listed.append(
            ConsoleVisitor(
                id=visitor.id,
                display_name=visitor.display_name,
                state=video_state(event.status, shown_status(output), run_ended=ended),
                output_status=output.status if output else None,
                tracks=sighting.tracks if sighting else 0,
                cameras=sighting.cameras if sighting else [],
                first_seen=sighting.first_seen if sighting else None,
                last_seen=sighting.last_seen if sighting else None,
                poster_path=poster_path(event_id, visitor.id, output),
            )
        )
    ready = sum(1 for o in outputs.values() if o.status == "done")
    return ConsoleState(
        event_id=event_id,
        name=event.name,
        status=event.status,
        timezone=event_zone(event).key,
        started_at=markers["start"],
        ended_at=markers["end"],
        ended=ended,
        counts=Counts(
            len(visitors), len(seen), ready, context.people_seen(services, event_id).people
        ),
        recognition=recognition,
        videos=video_progress(set(seen), outputs),
        cameras=cameras,
        visitors=listed,
    )


def start_run(context: WebContext, event_id: str, connect: Callable[[], Any]) -> MarkerWritten:
    """Start the event as `scas event start` does (the event is made in the catalog if
    new; a run already open stays open), then give its DAG a run."""
    keys.validate_id(event_id, "event id")
    with context.services.catalog() as catalog:
        catalog.events.ensure(event_id)
    open_since = ingest.start_event(context.services, event_id)
    written = open_since or waves.marker_times(context.services, event_id)["start"]
    dag = trigger_event_dag(connect, event_id)
    note = f"running since {open_since:%H:%M:%S} UTC; {dag.note}" if open_since else dag.note
    key = keys.control_marker_key(event_id, "start")
    return MarkerWritten(event_id, "start", key, written, dag.triggered, dag.run_id, note)


def end_run(
    context: WebContext, event_id: str, connect: Callable[[], Any], wait_s: float
) -> MarkerWritten:
    """End the event as `scas event end` does: let `scas ingest` finish its last segments
    (at most ``wait_s``), write the end marker (400 if the run has ended already), then make
    sure its DAG has a run that finishes the event."""
    keys.validate_id(event_id, "event id")
    result = ingest.end_event(context.services, event_id, wait_s=wait_s)
    written = waves.marker_times(context.services, event_id)["end"]
    dag = trigger_event_dag(connect, event_id)
    busy = [h.camera_id for h in result.still_ingesting]
    note = f"still ingesting: {', '.join(busy)}; {dag.note}" if busy else dag.note
    key = keys.control_marker_key(event_id, "end")
    return MarkerWritten(event_id, "end", key, written, dag.triggered, dag.run_id, note, busy)


@dataclass(frozen=True)
class ConsoleMoment:
    """One of a visitor's moments as the console shows it: the appearance (camera, span,
    score) and the expressions of the visitor's described faces through it."""

    visitor_id: str
    camera_id: str
    start_time: datetime
    end_time: datetime
    score: float
    expressions: list[ExpressionMoment]


@dataclass(frozen=True)
class Moment:
    """One of a visitor's moments, as the console names it: a camera and a time span."""

    camera_id: str
    start: datetime
    end: datetime


def _visitor_run(
    context: WebContext, event_id: str, visitor_id: str, template: str
) -> records.RunRequest:
    """The run that renders one visitor again (with ``template``, else the event's); 404
    for an unknown visitor."""
    keys.validate_id(visitor_id, "visitor id")
    run = parameters.resolve_run(event_id, {"template": template} if template else None)
    with context.services.catalog() as catalog:
        if catalog.visitors.get(event_id, visitor_id) is None:
            raise ApiError(404, "not_found", f"no visitor {visitor_id!r} in {event_id!r}")
    return dataclasses.replace(run.request, visitor=visitor_id)


def _stream_doc(event: str, carries: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answer of a live feed (server-sent events)."""
    described = (
        f"Server-sent events. `event: {event}` carries {carries} at the start and each time "
        "it changes; lines starting with `:` are keep-alives; `retry:` says how long to wait "
        "before reconnecting. Reconnect on any error (EventSource does)."
    )
    return {
        200: {
            "description": described,
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    }


def console_router(operator: Callable[..., Any], airflow: AirflowLink | None = None) -> APIRouter:
    """The console's and the screen's routes, each behind the ``operator`` dependency;
    ``airflow``: how start and end reach Airflow (default: the configured one, if any)."""
    link = airflow or configured_airflow
    thumbnails = CameraThumbnails()
    router = APIRouter(
        prefix="/api/events/{event_id}",
        tags=["console"],
        dependencies=[Depends(operator)],
        responses=ERROR_RESPONSES,
    )

    @router.get("/console")
    def state(event_id: str, context: Context) -> ConsoleState:
        """The event's state, its markers, counts and visitors (with their video's state
        and where they were seen)."""
        return console_state(context, event_id)

    @router.get(
        "/console/stream",
        response_class=StreamingResponse,
        responses=_stream_doc(
            "console", "the whole ConsoleState (JSON, the cameras' health and lag included)"
        ),
    )
    def console_stream(event_id: str, request: Request, context: Context) -> StreamingResponse:
        """The console's live feed (server-sent events): its state whenever it changes."""
        console_state(context, event_id)  # a 404 now, not inside the stream
        return feed_response(
            live_feed("console", lambda: console_state(context, event_id), request.is_disconnected)
        )

    @router.post("/start")
    def start(event_id: str, request: Request, context: Context) -> MarkerWritten:
        """Start the event as `scas event start` does (its start marker), and trigger its
        DAG run through Airflow's REST API (or say that Airflow is not there)."""
        return start_run(context, event_id, lambda: link(request, context))

    @router.post("/end")
    def end(
        event_id: str, request: Request, context: Context, wait_s: float = END_WAIT_S
    ) -> MarkerWritten:
        """End the event as `scas event end` does: wait (at most ``wait_s``) for `scas
        ingest` to finish its last segments, write the end marker, and make sure the DAG
        has a run that finishes the event."""
        if not 0 <= wait_s <= 600:
            raise ApiError(422, "invalid_request", "wait_s: between 0 and 600 seconds")
        return end_run(context, event_id, lambda: link(request, context), wait_s)

    @router.get("/cameras/{camera_id}/playback")
    def playback(
        event_id: str, camera_id: str, start: datetime, end: datetime, context: Context
    ) -> Playback:
        """The camera's segments between ``start`` and ``end`` (ISO 8601 with a time zone,
        at most two hours apart): presigned links to play one after the other as stored (no
        re-encoding), each with the face paths of its tracks and their visitors' names."""
        return camera_playback(context, event_id, camera_id, start, end)

    @router.get(
        "/cameras/{camera_id}/thumbnail",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}, "description": "A JPEG."}},
    )
    def thumbnail(event_id: str, camera_id: str, context: Context, segment: str = "") -> Response:
        """The first frame of the camera's newest segment, 320 px wide (made once per
        segment); 404 when the camera sent no footage. ``segment``: the key the console
        saw as the newest: the answer may be kept under it while it is the one given."""
        picture = thumbnails.newest(context, event_id, camera_id)
        kept = picture.segment_key == segment
        headers = {
            "Cache-Control": f"private, max-age={THUMBNAIL_CACHE_S}" if kept else "no-store",
            "X-Segment-Key": picture.segment_key,
        }
        return Response(picture.jpeg, media_type="image/jpeg", headers=headers)

    @router.post("/visitors/{visitor_id}/render")
    def rerender(event_id: str, visitor_id: str, context: Context, template: str = "") -> Output:
        """Render the visitor's video again (with ``template``, else the event's), as
        ``scas highlights --visitor`` does; waits for the render."""
        request = _visitor_run(context, event_id, visitor_id, template)
        return publishing.render(context.services, request, visitor_id)

    @router.get(
        "/visitors/{visitor_id}/poster",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}, "description": "A JPEG."}},
    )
    def poster(event_id: str, visitor_id: str, request: Request, context: Context) -> Response:
        """The poster of the visitor's finished video (404 while there is none)."""
        keys.validate_id(event_id, "event id")
        keys.validate_id(visitor_id, "visitor id")
        with context.services.catalog() as catalog:
            output = catalog.outputs.get(event_id, visitor_id)
        if (
            output is None
            or output.poster_key is None
            or not poster_path(event_id, visitor_id, output)
        ):
            raise ApiError(404, "not_found", f"no poster for {visitor_id!r} yet")
        return object_response(
            context.services.object_store(), context.settings.bucket_highlights,
            output.poster_key, range_header=request.headers.get("range"),
        )  # fmt: skip

    @router.get("/visitors/{visitor_id}/moments")
    def moments(event_id: str, visitor_id: str, context: Context) -> list[ConsoleMoment]:
        """The visitor's moments (appearances): what their video is made from, each with
        how they looked through it (the expressions of their described faces)."""
        keys.validate_id(event_id, "event id")
        with context.services.catalog() as catalog:
            appearances = catalog.outputs.appearances(event_id, visitor_id)
            tracks = corrected_tracks(catalog, event_id, visitor_id) if appearances else []
        return [
            ConsoleMoment(
                a.visitor_id, a.camera_id, a.start_time, a.end_time, a.score,
                expression_timeline(a, tracks),
            )
            for a in appearances
        ]  # fmt: skip

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
            context.services, event_id, correction, planning.request_template(request)
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

    @router.get(
        "/screen/stream",
        response_class=StreamingResponse,
        responses=_stream_doc(
            "playlist", "the whole playlist (a JSON list of ScreenVideo, newest first)"
        ),
    )
    def screen_stream(event_id: str, request: Request, context: Context) -> StreamingResponse:
        """The big screen's live feed (server-sent events): the playlist whenever it
        changes."""
        base = app_base_url(request)
        screen_playlist(context, event_id, base)  # a 404 now, not inside the stream
        return feed_response(
            live_feed(
                "playlist",
                lambda: screen_playlist(context, event_id, base),
                request.is_disconnected,
            )
        )

    return router
