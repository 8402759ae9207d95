"""The HTML pages: server-rendered from ``templates/``, with small scripts from ``static/``.

- ``/kiosk/<event>``: the entrance kiosk (see templates/kiosk.html, static/kiosk.js).
  Opening ``/kiosk/<event>?pair=<token>`` once pairs the browser: the token goes into an
  HttpOnly cookie and the address bar loses it.
- ``/v/<token or code>``: the visitor's page; ``/v/`` asks for the short code.
- ``/``: the front door: the visitor code box and the operators' sign-in for anyone; a
  signed-in operator's browser also lists the events with their links (static/home.js
  asks the operator API, so it works with either way of signing in). Linked from Airflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from scas_lib.events import event_templates_dir
from scas_lib.highlights.templates import available_templates
from scas_lib.storage import keys
from scas_lib.web.auth import (
    KIOSK_COOKIE,
    OPERATOR_COOKIE,
    Context,
    CurrentVisitorPage,
    current_kiosk,
    is_operator_token,
)
from scas_lib.web.errors import ApiError
from scas_lib.web.known import require_event
from scas_lib.web.media import download_name
from scas_lib.web.playback import media_origin
from scas_lib.web.rendering import app_root, render, request_language, script_json
from scas_lib.web.texts import (
    LANGUAGES,
    Language,
    all_texts,
    format_date,
    page_texts,
    pick_language,
)
from scas_lib.web.visits import VisitorStatus, event_consent, event_name, visitor_status

#: A paired kiosk stays paired this long without being paired again.
KIOSK_COOKIE_AGE_S = 365 * 24 * 3600

landing_pages = APIRouter(include_in_schema=False)
kiosk_pages = APIRouter(include_in_schema=False)
visitor_pages = APIRouter(include_in_schema=False)
sign_in_pages = APIRouter(include_in_schema=False)


def page_policy(media_origin: str = "") -> str:
    """The pages' own files only: no other site's script, style or frame (a kiosk is a
    public screen). The QR code is a ``data:`` image, a captured photo a ``blob:`` one;
    ``media_origin`` is another place videos may come from (the playback's object store)."""
    media = f"'self' blob: {media_origin}".strip()
    return (
        f"default-src 'self'; img-src 'self' data: blob:; media-src {media}; "
        "script-src 'self'; style-src 'self'; frame-ancestors 'self'; form-action 'self'"
    )


def _keep_in_cookie(
    request: Request, target: str, cookie: str, token: str, max_age_s: int = KIOSK_COOKIE_AGE_S
) -> Response:
    """Redirect to ``target`` (app-relative) with ``token`` kept in an HttpOnly cookie of
    the app's path: the address bar (and its history) loses the token."""
    response = RedirectResponse(f"{app_root(request)}{target}", status_code=303)
    response.set_cookie(
        cookie, token, max_age=max_age_s, path=app_root(request) or "/",
        httponly=True, samesite="strict", secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


# landing ---------------------------------------------------------------------------------


@landing_pages.get("/")
def home(request: Request) -> HTMLResponse:
    """The front door (module docstring). How an operator signs in depends on the app:
    ``token`` standalone (a form for ``SCAS_OPERATOR_TOKEN``), ``airflow`` in the plugin."""
    language = request_language(request)
    return render(
        request,
        "home.html",
        language=language,
        sign_in=getattr(request.app.state, "operator_sign_in", "token"),
        texts_json=script_json(page_texts(language)),
    )


# kiosk -----------------------------------------------------------------------------------


@kiosk_pages.get("/kiosk/{event_id}")
def kiosk_page(request: Request, event_id: str, context: Context, pair: str = "") -> Response:
    """The kiosk (paired by its cookie), or pair this browser with ``?pair=<token>``."""
    keys.validate_id(event_id, "event id")
    if pair:
        with context.services.catalog() as catalog:
            kiosk = catalog.kiosks.for_token(pair)
        if kiosk is None or kiosk.event_id != event_id:
            raise ApiError(401, "kiosk_not_paired", "this pairing link is not valid")
        return _keep_in_cookie(request, f"/kiosk/{event_id}", KIOSK_COOKIE, pair)
    kiosk = current_kiosk(request, context, None)
    if kiosk.event_id != event_id:
        raise ApiError(403, "kiosk_not_paired", f"this kiosk is paired with {kiosk.event_id}")
    consent = event_consent(event_id)
    texts = all_texts()
    # The consent text in each kiosk language: the event's own, else (for a language its
    # file does not offer) its first text, which is then the one recorded as read.
    first = next(iter(consent.texts))
    consent_texts = {lang: consent.texts.get(lang, consent.texts[first]) for lang in LANGUAGES}
    return render(
        request,
        "kiosk.html",
        event_name=event_name(context, event_id),
        kiosk_config=script_json(
            {
                "enrollUrl": f"{app_root(request)}/api/kiosk/enroll",
                "consentVersion": consent.version,
                "consentTexts": consent_texts,
                "texts": texts,
                "languages": list(LANGUAGES),
                "resetAfterS": 60,
                # Seconds counted down before the photo: time to look up and smile.
                "countdownS": 3,
            }
        ),
    )


# visitor ---------------------------------------------------------------------------------


@visitor_pages.get("/v/")
def code_page(request: Request) -> HTMLResponse:
    """Type the short code from the kiosk."""
    return render(request, "code.html")


@visitor_pages.post("/v/")
def code_submit(request: Request, code: Annotated[str, Form()] = "") -> RedirectResponse:
    return RedirectResponse(f"{app_root(request)}/v/{code.strip()}", status_code=303)


@visitor_pages.get("/v/{token}")
def visitor_page(
    request: Request, token: str, page: CurrentVisitorPage, context: Context
) -> HTMLResponse:
    """The visitor's page, phone first: the video (its poster until it plays), share and
    download, the event's name and day, the video's moments, delete my data; before the
    video is there, its state and how far the event's footage is looked at."""
    status = visitor_status(context, page, token)
    language = request_language(request)
    texts = page_texts(language)
    return render(
        request,
        "visitor.html",
        language=language,
        status=status,
        event_date=format_date(status.event_date, language) if status.event_date else "",
        state_text=texts[_state_text(status)],
        progress_text=_progress_text(status, texts),
        api_url=f"{app_root(request)}/api/visitor/{token}",
        share_name=download_name(status.event_name, status.display_name, "mp4"),
        # What the script says, in the page's language (it updates the progress in place).
        texts_json=script_json({name: texts[name] for name in VISITOR_SCRIPT_TEXTS}),
    )


#: The texts static/visitor.js shows.
VISITOR_SCRIPT_TEXTS = (
    "progress_segments", "share_preparing", "share_again", "share_downloading",
)  # fmt: skip


def _state_text(status: VisitorStatus) -> str:
    """The name of the text that says the state: a video being made says what it waits for."""
    if status.state == "making" and status.making_step:
        return f"state_{status.making_step}"
    return f"state_{status.state}"


def _progress_text(status: VisitorStatus, texts: dict[str, str]) -> str:
    """How much of the event's footage is looked at, while that is what the video waits
    for (empty once it is all looked at, or before any arrived)."""
    progress = status.progress
    if progress is None or progress.arrived == 0 or status.making_step == "rendering":
        return ""
    return texts["progress_segments"].format(
        recognized=progress.recognized, arrived=progress.arrived
    )


# operator --------------------------------------------------------------------------------


def _event_language(request: Request, event_id: str) -> Language:
    """``?lang=``, else the event's default: the first language of its consent text."""
    wanted = request.query_params.get("lang")
    default = next(iter(event_consent(event_id).texts))
    return pick_language(wanted or default, request.headers.get("accept-language"))


@sign_in_pages.get("/sign-in")
def sign_in(request: Request, context: Context, token: str = "", next: str = "/") -> Response:
    """Standalone (`scas serve`): open ``/sign-in?token=<SCAS_OPERATOR_TOKEN>&next=/screen/E``
    once on a screen or an operator's browser; that opens a session of its own
    (``SCAS_OPERATOR_SESSION_HOURS``), whose token goes into an HttpOnly cookie, and the
    address bar loses the operator token."""
    if not token or not is_operator_token(context, token):
        raise ApiError(401, "not_authenticated", "this sign-in link is not valid")
    lifetime_s = round(context.settings.operator_session_hours * 3600)
    with context.services.catalog() as catalog:
        session = catalog.operator_sessions.open(lifetime_s)
    return _keep_in_cookie(request, _app_path(next), OPERATOR_COOKIE, session, lifetime_s)


@sign_in_pages.post("/sign-in")
def sign_in_form(
    request: Request, context: Context, token: Annotated[str, Form()] = "", next: str = "/"
) -> Response:
    """The front door's sign-in form: the same as :func:`sign_in`, the token in the form's
    body instead of an address (no history, no log keeps it)."""
    return sign_in(request, context, token, next)


@sign_in_pages.post("/sign-out")
def sign_out(request: Request, context: Context) -> Response:
    """*Sign out* (every operator page): the session ends and the cookie goes; back to the
    front door."""
    session = request.cookies.get(OPERATOR_COOKIE, "")
    if session:
        with context.services.catalog() as catalog:
            catalog.operator_sessions.close(session)
    response = RedirectResponse(f"{app_root(request)}/", status_code=303)
    response.delete_cookie(
        OPERATOR_COOKIE, path=app_root(request) or "/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


def _app_path(target: str) -> str:
    """``target`` when it is a path of this app, else its root: a sign-in link never
    sends anyone to another site."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def operator_pages(operator: Callable[..., Any]) -> APIRouter:
    """The operators' pages, behind the operator dependency."""
    router = APIRouter(include_in_schema=False, dependencies=[Depends(operator)])

    @router.get("/screen/{event_id}")
    def screen(request: Request, event_id: str, context: Context) -> HTMLResponse:
        """The big screen: full screen, no controls, the finished videos in a loop."""
        require_event(context, event_id)
        language = _event_language(request, event_id)
        return render(
            request,
            "screen.html",
            language=language,
            event_id=event_id,
            event_name=event_name(context, event_id),
            stream_url=f"{app_root(request)}/api/events/{event_id}/screen/stream",
        )

    @router.get("/playback/{event_id}/{camera_id}")
    def playback(request: Request, event_id: str, camera_id: str, context: Context) -> HTMLResponse:
        """A camera's footage between ``?start=`` and ``?end=`` (ISO 8601) with the faces
        recognition found drawn over it (the API's ``.../cameras/<camera>/playback``)."""
        keys.validate_id(event_id, "event id")
        keys.validate_id(camera_id, "camera id")
        language = _event_language(request, event_id)
        span = {k: request.query_params.get(k, "") for k in ("start", "end")}
        response = render(
            request,
            "playback.html",
            language=language,
            event_id=event_id,
            camera_id=camera_id,
            event_name=event_name(context, event_id),
            api_url=f"{app_root(request)}/api/events/{event_id}/cameras/{camera_id}/playback?"
            + urlencode(span),
            texts_json=script_json(page_texts(language)),
            query_zh=urlencode({**span, "lang": "zh"}),
            query_en=urlencode({**span, "lang": "en"}),
        )
        response.headers["Content-Security-Policy"] = page_policy(media_origin(context))
        return response

    @router.get("/console/{event_id}")
    def console(request: Request, event_id: str, context: Context) -> HTMLResponse:
        """The operator console of one event (404 for an event SCAS does not know). Its
        moments play the cameras' segments from the object store's presigned links."""
        require_event(context, event_id)
        language = _event_language(request, event_id)
        response = render(
            request,
            "console.html",
            language=language,
            texts_json=script_json(page_texts(language)),
            event_id=event_id,
            event_name=event_name(context, event_id),
            api_url=f"{app_root(request)}/api/events/{event_id}",
            templates=available_templates(event_templates_dir()),
        )
        response.headers["Content-Security-Policy"] = page_policy(media_origin(context))
        return response

    return router
