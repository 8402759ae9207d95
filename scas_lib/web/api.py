"""The REST API under ``/scas/api``, one router per audience (OpenAPI at ``/scas/docs``).

- :data:`kiosk_router`: a paired kiosk enrolls visitors of its event;
- :data:`visitor_router`: a visitor's page token reads their video's state and files and
  deletes their data;
- :func:`operator_router`: events, visitors, outputs and kiosks, behind the operator
  dependency the app is made with (an Airflow user, or the operator token standalone). The
  operator console (issue 16) adds its routes here.

Errors are ``{code, message}`` (see :mod:`scas_lib.web.errors`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request

from scas_lib.catalog.records import Kiosk, Output, VisitorPage
from scas_lib.storage import keys
from scas_lib.visitors.page import VideoState, shown_status, video_state
from scas_lib.web.auth import Context, CurrentKiosk, CurrentVisitorPage
from scas_lib.web.errors import ApiError, ErrorBody
from scas_lib.web.known import require_event
from scas_lib.web.media import download_name, object_response
from scas_lib.web.screen import qr_data_uri
from scas_lib.web.texts import pick_language
from scas_lib.web.uploads import form_file, form_flag, form_text, multipart_body, read_form
from scas_lib.web.visits import (
    KioskEnrollment,
    VisitorStatus,
    delete_my_data,
    enroll_at_kiosk,
    event_consent,
    event_name,
    link_visit,
    media_key,
    moment_thumbnail_key,
    visitor_status,
)

#: The visitor's media files, by name in their URLs.
MediaKind = Literal["video", "poster", "vertical"]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 422, 429, 500)
}

kiosk_router = APIRouter(prefix="/api/kiosk", tags=["kiosk"], responses=ERROR_RESPONSES)
visitor_router = APIRouter(prefix="/api/visitor", tags=["visitor"], responses=ERROR_RESPONSES)


def app_base_url(request: Request) -> str:
    """The app's own address as the client reached it (``http://host/scas``; Starlette's
    ``base_url`` is the outermost app's, without the mount's path)."""
    root = request.scope.get("root_path", "")
    return str(request.url.replace(path=root or "/", query="", fragment="")).rstrip("/")


# kiosk -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KioskSession:
    """What a kiosk shows: its event and the consent text (version, texts by language)."""

    kiosk_id: str
    event_id: str
    consent_version: str
    consent_texts: dict[str, str]


@kiosk_router.get("/session")
def kiosk_session(kiosk: CurrentKiosk) -> KioskSession:
    """The kiosk's event and the consent text it must show."""
    consent = event_consent(kiosk.event_id)
    return KioskSession(kiosk.id, kiosk.event_id, consent.version, dict(consent.texts))


@kiosk_router.post(
    "/enroll",
    status_code=201,
    openapi_extra=multipart_body(
        fields={
            "name": "The visitor's name, any script.",
            "language": "The visitor's language (zh, en).",
            "consent": "true: the visitor ticked the consent box.",
            "consent_version": "The consent text version shown.",
            "remember": "true: the second, separate consent, to be known at future events.",
        },
        files={"photo": "The selfie (JPEG, PNG, WebP)."},
        required=[],
    ),
)
async def kiosk_enroll(request: Request, context: Context, kiosk: CurrentKiosk) -> KioskEnrollment:
    """Enroll a visitor (multipart: photo, name, consent). A refusal of the enrollment gates
    is 422 with the gate's ``code`` and a kind message in ``language``; over the kiosk's
    rate limit 429 with ``Retry-After``. The form is read only once the kiosk is known
    (:mod:`scas_lib.web.uploads`)."""
    from starlette.concurrency import run_in_threadpool

    from scas_lib.faces.enrollment import EnrollmentPolicy

    form = await read_form(request)
    try:
        chosen = pick_language(form_text(form, "language"), request.headers.get("accept-language"))
        photo = form_file(form, "photo")
        # One byte over the limit is enough for the size gate to refuse it.
        data = await photo.read(EnrollmentPolicy().max_bytes + 1) if photo else b""
    finally:
        await form.close()
    name, remember = form_text(form, "name"), form_flag(form, "remember")
    consent, consent_version = form_flag(form, "consent"), form_text(form, "consent_version")
    return await run_in_threadpool(
        enroll_at_kiosk,
        context,
        kiosk,
        name=name,
        language=chosen,
        consent_given=consent,
        consent_version=consent_version,
        photo=data,
        base_url=app_base_url(request),
        remember=remember,
    )


# visitor ---------------------------------------------------------------------------------


@visitor_router.get("/{token}")
def visitor_get(token: str, page: CurrentVisitorPage, context: Context) -> VisitorStatus:
    """The state of the visitor's video and the paths of its files (app-relative)."""
    return visitor_status(context, page, token)


@visitor_router.get("/{token}/media/{kind}")
def visitor_media(
    request: Request,
    kind: MediaKind,
    page: CurrentVisitorPage,
    context: Context,
    download: bool = False,
) -> Any:
    """The video, its poster or its vertical version; ``?download=1`` as an attachment.
    Answers HTTP ranges (206)."""
    return _media_response(request, context, page, kind, page.event_id, download)


@visitor_router.get("/{token}/moments/{index}")
def visitor_moment(request: Request, index: int, page: CurrentVisitorPage, context: Context) -> Any:
    """The thumbnail (JPEG) of one moment of the visitor's video, from 0 in its order."""
    key = moment_thumbnail_key(context, page, index)
    return object_response(
        context.services.object_store(), context.settings.bucket_highlights, key,
        range_header=request.headers.get("range"),
    )  # fmt: skip


@visitor_router.post("/{token}/visits/{event_id}")
def visitor_link(
    token: str, event_id: str, page: CurrentVisitorPage, context: Context
) -> VisitorStatus:
    """The visitor says an earlier visit offered on their page is theirs: it is linked
    (409 without the consent to be remembered, 404 if it was not offered) and the page's
    new state returned."""
    link_visit(context, page, event_id)
    return visitor_status(context, page, token)


@visitor_router.get("/{token}/visits/{event_id}/media/{kind}")
def visitor_visit_media(
    request: Request,
    event_id: str,
    kind: MediaKind,
    page: CurrentVisitorPage,
    context: Context,
    download: bool = False,
) -> Any:
    """A linked visit's video, poster or vertical version (404 unless that visit is
    linked to the page's visitor)."""
    return _media_response(request, context, page, kind, event_id, download)


def _media_response(
    request: Request,
    context: Context,
    page: VisitorPage,
    kind: MediaKind,
    event_id: str,
    download: bool,
) -> Any:
    """The object of one of the visitor's media files, in ranges, maybe as an attachment."""
    key = media_key(context, page, kind, event_id)
    name = None
    if download:  # named after the event and the visitor (not "<event>-highlight.mp4")
        with context.services.catalog() as catalog:
            visitor = catalog.visitors.get(page.event_id, page.visitor_id)
        name = download_name(
            event_name(context, event_id), visitor.display_name if visitor else "",
            "jpg" if kind == "poster" else "mp4", " (9x16)" if kind == "vertical" else "",
        )  # fmt: skip
    return object_response(
        context.services.object_store(),
        context.settings.bucket_highlights,
        key,
        range_header=request.headers.get("range"),
        download_name=name,
    )


@dataclass(frozen=True)
class Deleted:
    """The answer to "delete my data"."""

    deleted: bool
    objects_deleted: int


@visitor_router.delete("/{token}")
def visitor_delete(page: CurrentVisitorPage, context: Context) -> Deleted:
    """Delete the visitor's photos, face data, detections and videos everywhere (the same
    deletion as ``scas forget --everywhere``: their linked visits of other events too); the
    page's token stops working."""
    results = delete_my_data(context, page)
    return Deleted(results[-1].catalog_rows, sum(r.objects_deleted for r in results))


# operator --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventSummary:
    id: str
    name: str
    status: str
    visitors: int


@dataclass(frozen=True)
class VisitorSummary:
    id: str
    display_name: str
    consent_version: str
    consent_language: str
    consent_at: datetime
    state: VideoState


@dataclass(frozen=True)
class NewKiosk:
    """A kiosk just paired: open ``pairing_path`` (under the app) on the kiosk once, or
    scan ``qr_svg`` (``pairing_url``) with it."""

    kiosk: Kiosk
    token: str
    pairing_path: str
    #: The absolute pairing address (``SCAS_PUBLIC_URL`` wins) and its QR code (SVG
    #: ``data:`` URI): the operator console shows it for the kiosk to scan.
    pairing_url: str = ""
    qr_svg: str = ""


@dataclass(frozen=True)
class Revoked:
    kiosk_id: str
    revoked: bool


def pairing_path(event_id: str, token: str) -> str:
    """The app-relative address that pairs a kiosk's browser (see pages.kiosk_page)."""
    return f"/kiosk/{event_id}?pair={token}"


def operator_router(operator: Callable[..., Any]) -> APIRouter:
    """The operator's routes, each behind the ``operator`` dependency."""
    router = APIRouter(
        prefix="/api",
        tags=["operator"],
        dependencies=[Depends(operator)],
        responses=ERROR_RESPONSES,
    )

    @router.get("/events")
    def events(context: Context) -> list[EventSummary]:
        """Every event in the catalog, with its number of visitors."""
        with context.services.catalog() as catalog:
            return [
                EventSummary(e.id, e.name, e.status, len(catalog.visitors.for_event(e.id)))
                for e in catalog.events.all()
            ]

    @router.get("/events/{event_id}/visitors")
    def visitors(event_id: str, context: Context) -> list[VisitorSummary]:
        """The event's visitors, with their consent and the state of their video."""
        keys.validate_id(event_id, "event id")
        with context.services.catalog() as catalog:
            event = catalog.events.get(event_id)
            if event is None:
                raise ApiError(404, "not_found", f"no event {event_id!r}")
            outputs = {o.visitor_id: shown_status(o) for o in catalog.outputs.for_event(event_id)}
            return [
                VisitorSummary(
                    id=v.id,
                    display_name=v.display_name,
                    consent_version=v.consent.version,
                    consent_language=v.consent.language,
                    consent_at=v.consent.given_at,
                    state=video_state(event.status, outputs.get(v.id)),
                )
                for v in catalog.visitors.for_event(event_id)
            ]

    @router.get("/events/{event_id}/outputs")
    def outputs(event_id: str, context: Context) -> list[Output]:
        """The event's highlight videos (rows of the outputs table)."""
        keys.validate_id(event_id, "event id")
        with context.services.catalog() as catalog:
            return catalog.outputs.for_event(event_id)

    @router.get("/events/{event_id}/kiosks")
    def kiosks(event_id: str, context: Context) -> list[Kiosk]:
        """The event's kiosks, revoked ones included."""
        keys.validate_id(event_id, "event id")
        with context.services.catalog() as catalog:
            return catalog.kiosks.all(event_id)

    @router.post("/events/{event_id}/kiosks", status_code=201)
    def pair(event_id: str, request: Request, context: Context, label: str = "") -> NewKiosk:
        """Pair a new kiosk with the event; its token is shown only in this answer (with
        the pairing link as a QR code). 404 for an event SCAS does not know."""
        require_event(context, event_id)
        with context.services.catalog() as catalog:
            pairing = catalog.kiosks.pair(event_id, label=label)
        path = pairing_path(event_id, pairing.token)
        url = (context.settings.public_url or app_base_url(request)).rstrip("/") + path
        # Not through qr_data_uri's cache: a pairing link is a secret, kept nowhere.
        return NewKiosk(pairing.kiosk, pairing.token, path, url, qr_data_uri.__wrapped__(url))

    @router.delete("/kiosks/{kiosk_id}")
    def revoke(kiosk_id: str, context: Context) -> Revoked:
        """Revoke a kiosk: its token stops working at its next request."""
        with context.services.catalog() as catalog:
            if not catalog.kiosks.revoke(kiosk_id):
                raise ApiError(404, "not_found", f"no active kiosk {kiosk_id!r}")
        return Revoked(kiosk_id, revoked=True)

    return router
