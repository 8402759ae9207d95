"""What the kiosk and the visitor's page do, shared by the JSON API and the HTML pages.

Each function checks who may do it (the caller passes the kiosk or page the auth
dependencies found), then calls the same stage functions as the ``scas`` command:
:func:`~scas_lib.visitors.stage.enroll_visitor` and
:func:`~scas_lib.visitors.stage.forget_visitor`. Nothing here re-implements a stage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import segno

from scas_lib.catalog.records import Event, Kiosk, RecognitionProgress, VisitorPage
from scas_lib.catalog.tokens import format_code
from scas_lib.errors import ObjectNotFound, ScasError
from scas_lib.event_files import find_event
from scas_lib.events import ConsentText
from scas_lib.highlights.records import EditPlan
from scas_lib.run import waves
from scas_lib.storage import keys
from scas_lib.visitors.names import InvalidName
from scas_lib.visitors.page import (
    MakingStep,
    Moment,
    VideoState,
    clock_times,
    making_step,
    plan_moments,
    shown_status,
    video_state,
)
from scas_lib.web.context import WebContext
from scas_lib.web.errors import ApiError
from scas_lib.web.known import event_is_over
from scas_lib.web.texts import Language, visitor_error

if TYPE_CHECKING:
    from scas_lib.visitors.stage import ForgetResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KioskEnrollment:
    """A visitor just enrolled at a kiosk, with their page's credentials (shown once)."""

    visitor_id: str
    display_name: str
    page_url: str
    short_code: str
    short_url: str
    #: The QR code of ``page_url`` as an SVG ``data:`` URI, for an ``<img>``.
    qr_svg: str


def event_consent(event_id: str) -> ConsentText:
    """The consent text of the event's file (the default text for an event without one),
    read once per change of the file (:func:`~scas_lib.event_files.find_event`)."""
    return find_event(event_id).config.consent


def event_name(context: WebContext, event_id: str) -> str:
    """The event's name as its file gives it, else as the catalog has it, else its id."""
    found = find_event(event_id)
    if found.from_file:
        return found.config.display_name
    with context.services.catalog() as catalog:
        event = catalog.events.get(event_id)
    return event.name if event else event_id


def _refusal(status: int, code: str, language: Language, detail: str = "") -> ApiError:
    return ApiError(status, code, visitor_error(code, language) or detail or code)


def enroll_at_kiosk(
    context: WebContext,
    kiosk: Kiosk,
    *,
    name: str,
    language: Language,
    consent_given: bool,
    consent_version: str,
    photo: bytes,
    base_url: str,
    remember: bool = False,
) -> KioskEnrollment:
    """Enroll a visitor from a kiosk photo: rate limit, consent, the enrollment gates (each
    refusal in the visitor's language), then their page. ``base_url`` is the app's address
    as the kiosk reached it (``SCAS_PUBLIC_URL`` wins); ``remember`` is the second, separate
    consent: to be known again at future events. An event that is over takes nobody: its
    cameras no longer film (409 ``event_ended``)."""
    if event_is_over(context, kiosk.event_id):
        raise _refusal(409, "event_ended", language)
    consent = event_consent(kiosk.event_id)
    if not consent_given:
        raise _refusal(422, "consent_missing", language)
    if consent_version != consent.version:
        raise _refusal(409, "consent_changed", language)
    if not name.strip():
        raise _refusal(422, "name_missing", language)
    if not photo:
        raise _refusal(422, "photo_missing", language)
    # The limit protects the face models: a form the kiosk sent half-filled costs nothing.
    with context.services.catalog() as catalog:
        wait_s = catalog.kiosks.take_enrollment(kiosk.id)
    if wait_s > 0:
        error = _refusal(429, "rate_limited", language)
        error.message += f" ({wait_s:.0f} s)"
        error.retry_after_s = wait_s
        raise error
    from scas_lib.faces.enrollment import EnrollmentError
    from scas_lib.visitors.stage import enroll_visitor

    # The text the visitor read: their language when the event offers it, else the one the
    # kiosk showed (the first the event file gives).
    read_in = language if language in consent.texts else next(iter(consent.texts))
    try:
        result = enroll_visitor(
            context.services,
            context.engine,
            event_id=kiosk.event_id,
            display_name=name,
            photos=[photo],
            consent=consent.agreed(read_in, datetime.now(UTC)),
            remember=remember,
        )
    except InvalidName as error:
        raise _refusal(422, "invalid_name", language, str(error)) from None
    except EnrollmentError as error:
        raise _refusal(422, error.code, language, str(error)) from None
    with context.services.catalog() as catalog:
        issued = catalog.visitor_pages.issue(kiosk.event_id, result.visitor.id, kiosk.id)
    base = (context.settings.public_url or base_url).rstrip("/")
    page_url = f"{base}/v/{issued.token}"
    return KioskEnrollment(
        visitor_id=result.visitor.id,
        display_name=result.visitor.display_name,
        page_url=page_url,
        short_code=format_code(issued.code),
        short_url=f"{base}/v/",
        qr_svg=segno.make(page_url, error="m").svg_data_uri(scale=8, border=4),
    )


@dataclass(frozen=True)
class VideoFiles:
    """A visit's video state and where its files are (app-relative; None: no such file)."""

    state: VideoState
    video_path: str | None
    poster_path: str | None
    vertical_path: str | None


def video_files(context: WebContext, event_id: str, visitor_id: str, prefix: str) -> VideoFiles:
    """The state of a visitor's video in one event, with its files under ``prefix``."""
    with context.services.catalog() as catalog:
        event = catalog.events.get(event_id)
        output = catalog.outputs.get(event_id, visitor_id)
    event_status, output_status = event.status if event else None, shown_status(output)
    state = video_state(event_status, output_status)
    if state == "waiting":
        # The catalog says the event ended only after its last segment is recognized; the
        # end marker says so as soon as it is written (a look at two objects' names).
        ended = waves.end_marker_seen(context.services, event_id)
        state = video_state(event_status, output_status, run_ended=ended)
    if state != "ready" or output is None or not output.object_key:
        return VideoFiles(state, None, None, None)
    store = context.services.object_store()
    vertical = store.exists(
        context.settings.bucket_highlights, keys.vertical_key(event_id, visitor_id)
    )
    return VideoFiles(
        state,
        f"{prefix}/video",
        f"{prefix}/poster" if output.poster_key else None,
        f"{prefix}/vertical" if vertical else None,
    )


@dataclass(frozen=True)
class OtherVisit:
    """The same person's visit of another event (they linked it), on their page."""

    event_id: str
    event_name: str
    files: VideoFiles


@dataclass(frozen=True)
class OfferedVisit:
    """An earlier visit that may be the visitor's: offered on their page, linked only if
    they say it is theirs. Its name is not shown: the event's is."""

    event_id: str
    event_name: str


@dataclass(frozen=True)
class MomentOnPage:
    """A moment of the visitor's highlight, as their page shows it: a thumbnail that
    plays the video from there."""

    moment: Moment
    #: When it was filmed, ``HH:MM`` in the event's time zone (``HH:MM:SS`` where two
    #: moments share a minute: :func:`~scas_lib.visitors.page.clock_times`).
    local_time: str
    #: App-relative; None for a video rendered before moments had thumbnails.
    thumbnail_path: str | None


@dataclass(frozen=True)
class VisitorStatus:
    """What a visitor's page shows."""

    event_id: str
    event_name: str
    display_name: str
    state: VideoState
    #: App-relative paths (under the page's token); None when there is no such file.
    video_path: str | None
    poster_path: str | None
    vertical_path: str | None
    #: The second consent: to be known again at future events.
    remembered: bool = False
    #: Their linked visits of other events, oldest first, and the ones offered to link.
    other_visits: tuple[OtherVisit, ...] = ()
    offered_visits: tuple[OfferedVisit, ...] = ()
    #: The event's day, in its time zone (None: not known yet).
    event_date: date | None = None
    #: While the video is waited for: how far recognition is with the event's footage,
    #: and (being made) what the video waits for now.
    progress: RecognitionProgress | None = None
    making_step: MakingStep | None = None
    #: The clips of the ready video, in its order.
    moments: tuple[MomentOnPage, ...] = ()


def event_zone(event: Event | None) -> ZoneInfo:
    """The event's time zone (the pages show its times in it); UTC where it names none."""
    try:
        return ZoneInfo(event.timezone if event else "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _event_date(
    context: WebContext, event: Event | None, moments: tuple[Moment, ...]
) -> date | None:
    """The event's day: when it starts as the catalog or its file says, else when the
    visitor's first moment was filmed, else when its run was started (the start marker;
    a replay's is the day of the replay, not of its footage)."""
    starts_at = event.starts_at if event else None
    if starts_at is None and event is not None:
        starts_at = find_event(event.id).config.starts_at
    if starts_at is None and moments:
        starts_at = moments[0].filmed_at
    if starts_at is None and event is not None:
        starts_at = waves.marker_times(context.services, event.id)["start"]
    if starts_at is None:
        return None
    if starts_at.tzinfo is None:  # an event file's local time
        return starts_at.date()
    return starts_at.astimezone(event_zone(event)).date()


def _moments(
    context: WebContext, event: Event | None, visitor_id: str, prefix: str
) -> tuple[MomentOnPage, ...]:
    """The moments of a ready video, from the edit plan it was rendered from (kept beside
    it), with the thumbnails the render made of them."""
    if event is None:
        return ()
    store = context.services.object_store()
    bucket = context.settings.bucket_highlights
    try:
        plan = EditPlan.from_json(
            store.get_bytes(bucket, keys.edit_plan_key(event.id, visitor_id)).decode()
        )
    except ObjectNotFound as error:  # a video published before plans were kept
        log.info("%s/%s: no edit plan to list moments from: %s", event.id, visitor_id, error)
        return ()
    thumbnails = {o.key for o in store.list(bucket, keys.moments_prefix(event.id, visitor_id))}
    zone = event_zone(event)
    moments = plan_moments(plan)
    times = clock_times([moment.filmed_at.astimezone(zone) for moment in moments])
    return tuple(
        MomentOnPage(
            moment,
            time,
            f"{prefix}/moments/{moment.index}"
            if keys.moment_key(event.id, visitor_id, moment.index) in thumbnails
            else None,
        )
        for moment, time in zip(moments, times, strict=True)
    )


def visitor_status(context: WebContext, page: VisitorPage, token: str) -> VisitorStatus:
    """The state of the visitor's video and where its files are; for a visitor who
    consented to be remembered, also their other events' videos and the earlier visits
    that may be theirs."""
    from scas_lib.visitors.returning import earlier_visits, every_visit

    with context.services.catalog() as catalog:
        visitor = catalog.visitors.get(page.event_id, page.visitor_id)
    if visitor is None:  # forgotten between the page lookup and now
        raise ApiError(404, "page_not_found", "this page's visitor was deleted")
    prefix = f"/api/visitor/{token}"
    files = video_files(context, page.event_id, page.visitor_id, f"{prefix}/media")
    others: list[OtherVisit] = []
    offered: list[OfferedVisit] = []
    if visitor.remember:
        for event_id, visitor_id in every_visit(context.services, page.event_id, page.visitor_id):
            if event_id != page.event_id:
                other = video_files(
                    context, event_id, visitor_id, f"{prefix}/visits/{event_id}/media"
                )
                others.append(OtherVisit(event_id, event_name(context, event_id), other))
        offered = [
            OfferedVisit(visit.event_id, event_name(context, visit.event_id))
            for visit in earlier_visits(
                context.services, context.engine, page.event_id, page.visitor_id
            )
        ]
    with context.services.catalog() as catalog:
        event = catalog.events.get(page.event_id)
        progress = (
            catalog.segments.recognition_progress(page.event_id)
            if files.state in ("waiting", "making")
            else None
        )
    moments = _moments(context, event, page.visitor_id, prefix) if files.video_path else ()
    return VisitorStatus(
        event_id=page.event_id,
        event_name=event_name(context, page.event_id),
        display_name=visitor.display_name,
        state=files.state,
        video_path=files.video_path,
        poster_path=files.poster_path,
        vertical_path=files.vertical_path,
        remembered=visitor.remember,
        other_visits=tuple(others),
        offered_visits=tuple(offered),
        event_date=_event_date(context, event, tuple(m.moment for m in moments)),
        progress=progress,
        making_step=making_step(progress) if progress and files.state == "making" else None,
        moments=moments,
    )


def link_visit(context: WebContext, page: VisitorPage, event_id: str) -> None:
    """The visitor says an offered earlier visit is theirs: link it (404 if it was not
    offered to them)."""
    from scas_lib.visitors.returning import link_earlier_visits

    try:
        linked = link_earlier_visits(
            context.services, context.engine, page.event_id, page.visitor_id, [event_id]
        )
    except ScasError as error:
        raise ApiError(409, "not_remembered", str(error)) from None
    if not linked:
        raise ApiError(404, "not_offered", f"no earlier visit in {event_id} is offered")


def _visit_of(context: WebContext, page: VisitorPage, event_id: str | None) -> tuple[str, str]:
    """The ``(event, visitor)`` of the page's person in ``event_id`` (default: the page's
    own); 404 unless that visit is linked to the page's visitor."""
    from scas_lib.visitors.returning import every_visit

    if event_id is None or event_id == page.event_id:
        return page.event_id, page.visitor_id
    for visit in every_visit(context.services, page.event_id, page.visitor_id):
        if visit[0] == event_id:
            return visit
    raise ApiError(404, "not_found", f"no visit of yours in {event_id}")


def media_key(
    context: WebContext, page: VisitorPage, kind: str, event_id: str | None = None
) -> str:
    """The object key of the visitor's video, poster or vertical video (404 if none), in
    the page's event or in a linked visit's ``event_id``."""
    visit_event, visitor_id = _visit_of(context, page, event_id)
    with context.services.catalog() as catalog:
        output = catalog.outputs.get(visit_event, visitor_id)
    key = None
    if output is not None and shown_status(output) == "done":
        key = {
            "video": output.object_key,
            "poster": output.poster_key,
            "vertical": keys.vertical_key(visit_event, visitor_id),
        }.get(kind)
    if key is None:
        raise ApiError(404, "not_found", f"there is no {kind} for this visitor (yet)")
    return key


def moment_thumbnail_key(context: WebContext, page: VisitorPage, index: int) -> str:
    """The object key of the thumbnail of the ``index``-th moment of the visitor's video
    (404 while there is no video, or no such thumbnail)."""
    with context.services.catalog() as catalog:
        output = catalog.outputs.get(page.event_id, page.visitor_id)
    if output is not None and shown_status(output) == "done" and 0 <= index < 100:
        key = keys.moment_key(page.event_id, page.visitor_id, index)
        if context.services.object_store().exists(context.settings.bucket_highlights, key):
            return key
    raise ApiError(404, "not_found", f"there is no moment {index} for this visitor")


def delete_my_data(context: WebContext, page: VisitorPage) -> list[ForgetResult]:
    """The visitor's "delete my data": the same deletion as ``scas forget --everywhere``
    (their visits of other events too, when they linked any); this visit's result last."""
    from scas_lib.visitors.returning import forget_everywhere

    try:
        return forget_everywhere(context.services, page.event_id, page.visitor_id)
    except ScasError as error:
        raise ApiError(
            503, "delete_failed", f"deleting did not finish, please try again: {error}"
        ) from None
