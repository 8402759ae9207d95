"""The HTML pages: server-rendered from ``templates/``, with small scripts from ``static/``.

- ``/kiosk/<event>``: the entrance kiosk (see templates/kiosk.html, static/kiosk.js).
  Opening ``/kiosk/<event>?pair=<token>`` once pairs the browser: the token goes into an
  HttpOnly cookie and the address bar loses it.
- ``/v/<token or code>``: the visitor's page; ``/v/`` asks for the short code.
- ``/``: the operators' start page (behind the operator dependency), linked from Airflow.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from scas_lib.catalog.access import kiosk_for_token
from scas_lib.storage import keys
from scas_lib.web.auth import KIOSK_COOKIE, Context, CurrentVisitorPage, current_kiosk
from scas_lib.web.errors import ApiError
from scas_lib.web.texts import LANGUAGES, all_texts, page_texts, pick_language, visitor_error
from scas_lib.web.visits import event_consent, event_name, visitor_status

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
#: A paired kiosk stays paired this long without being paired again.
KIOSK_COOKIE_AGE_S = 365 * 24 * 3600

kiosk_pages = APIRouter(include_in_schema=False)
visitor_pages = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    """The app's path prefix (``/scas``), for links and script addresses."""
    return request.scope.get("root_path", "").rstrip("/")


def _language(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))


def render(request: Request, template: str, **values: Any) -> HTMLResponse:
    language = values.pop("language", None) or _language(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"root": _root(request), "language": language, "t": page_texts(language), **values},
    )


def error_page(request: Request, code: str, message: str) -> str:
    """An error as a short page in the visitor's language (see errors.py)."""
    language = _language(request)
    template = TEMPLATES.get_template("error.html")
    return template.render(
        root=_root(request),
        language=language,
        t=page_texts(language),
        code=code,
        message=visitor_error(code, language) or message,
    )


# kiosk -----------------------------------------------------------------------------------


@kiosk_pages.get("/kiosk/{event_id}")
def kiosk_page(request: Request, event_id: str, context: Context, pair: str = "") -> Response:
    """The kiosk (paired by its cookie), or pair this browser with ``?pair=<token>``."""
    keys.validate_id(event_id, "event id")
    if pair:
        with context.services.catalog() as catalog:
            kiosk = kiosk_for_token(catalog, pair)
        if kiosk is None or kiosk.event_id != event_id:
            raise ApiError(401, "kiosk_not_paired", "this pairing link is not valid")
        response = RedirectResponse(f"{_root(request)}/kiosk/{event_id}", status_code=303)
        response.set_cookie(
            KIOSK_COOKIE, pair, max_age=KIOSK_COOKIE_AGE_S, path=_root(request) or "/",
            httponly=True, samesite="strict", secure=request.url.scheme == "https",
        )  # fmt: skip
        return response
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
        kiosk_config=json.dumps(
            {
                "enrollUrl": f"{_root(request)}/api/kiosk/enroll",
                "consentVersion": consent.version,
                "consentTexts": consent_texts,
                "texts": texts,
                "languages": list(LANGUAGES),
                "resetAfterS": 60,
            },
            ensure_ascii=False,
        ).replace("</", "<\\/"),  # a text holding "</script>" cannot end the script
    )


# visitor ---------------------------------------------------------------------------------


@visitor_pages.get("/v/")
def code_page(request: Request) -> HTMLResponse:
    """Type the short code from the kiosk."""
    return render(request, "code.html")


@visitor_pages.post("/v/")
def code_submit(request: Request, code: Annotated[str, Form()] = "") -> RedirectResponse:
    return RedirectResponse(f"{_root(request)}/v/{code.strip()}", status_code=303)


@visitor_pages.get("/v/{token}")
def visitor_page(
    request: Request, token: str, page: CurrentVisitorPage, context: Context
) -> HTMLResponse:
    """The visitor's page: their video's state, the video, download, delete my data."""
    status = visitor_status(context, page, token)
    return render(
        request,
        "visitor.html",
        status=status,
        api_url=f"{_root(request)}/api/visitor/{token}",
    )


# operator --------------------------------------------------------------------------------


def operator_pages(operator: Callable[..., Any]) -> APIRouter:
    """The operators' pages, behind the operator dependency."""
    router = APIRouter(include_in_schema=False, dependencies=[Depends(operator)])

    @router.get("/")
    def home(request: Request, context: Context) -> HTMLResponse:
        with context.services.catalog() as catalog:
            events = catalog.list_events()
        return render(request, "home.html", events=events, language="en")

    return router
