"""Who is asking: the dependencies each router puts in front of its routes.

- a **kiosk**: its token (``scas kiosk pair``) as ``Authorization: Bearer`` or in the
  ``scas_kiosk`` cookie that opening the pairing link sets (:func:`current_kiosk`);
- a **visitor**: the token or short code in their page's address (:func:`visitor_page`);
- an **operator**: inside Airflow an Airflow user (the plugin passes
  ``airflow.api_fastapi.core_api.security.get_user``, which reads the bearer JWT or the UI's
  cookie); under ``scas serve`` the ``SCAS_OPERATOR_TOKEN`` bearer token
  (:func:`operator_token`), or the ``scas_operator`` cookie of a session that signing in
  with that token opens (``/sign-in``: a big screen or a browser cannot send a bearer
  header when it opens a page). The cookie holds the session's own token, never the
  operator token; the session expires (``SCAS_OPERATOR_SESSION_HOURS``) and *Sign out*
  ends it. An operator never gets in with a kiosk token or the reverse.

Every check looks the token up again, so a revoked kiosk stops at its next request.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scas_lib.catalog.records import Kiosk, VisitorPage
from scas_lib.catalog.tokens import is_short_code
from scas_lib.web.context import WebContext, web_context
from scas_lib.web.errors import ApiError
from scas_lib.web.texts import pick_language, visitor_error

#: The cookie a paired kiosk's browser keeps its token in (HttpOnly, path of the app).
KIOSK_COOKIE = "scas_kiosk"
#: The cookie a standalone operator's browser (the console, the big screen) keeps its
#: session's token in (HttpOnly, path of the app).
OPERATOR_COOKIE = "scas_operator"

_kiosk_bearer = HTTPBearer(auto_error=False, scheme_name="kiosk token")
_operator_bearer = HTTPBearer(auto_error=False, scheme_name="operator token")

Context = Annotated[WebContext, Depends(web_context)]


def _visitor_message(request: Request, code: str) -> str:
    language = pick_language(
        request.query_params.get("lang"), request.headers.get("accept-language")
    )
    return visitor_error(code, language) or code


def current_kiosk(
    request: Request,
    context: Context,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_kiosk_bearer)],
) -> Kiosk:
    """The paired, not revoked kiosk making the request; 401 ``kiosk_not_paired`` else."""
    token = bearer.credentials if bearer else request.cookies.get(KIOSK_COOKIE)
    kiosk = None
    if token:
        with context.services.catalog() as catalog:
            kiosk = catalog.kiosks.for_token(token)
    if kiosk is None:
        raise ApiError(401, "kiosk_not_paired", _visitor_message(request, "kiosk_not_paired"))
    return kiosk


def visitor_page(request: Request, token: str, context: Context) -> VisitorPage:
    """The visitor page the token (or short code) in the address opens; 404 else, and 429
    while too many wrong short codes are tried
    (:meth:`~scas_lib.catalog.visitor_pages.VisitorPageRepository.take_code_try`: long tokens
    are not limited)."""
    page = None
    if 6 <= len(token) <= 128:
        short = is_short_code(token)
        with context.services.catalog() as catalog:
            wait_s = catalog.visitor_pages.take_code_try() if short else 0.0
            if wait_s > 0:
                message = _visitor_message(request, "code_tries_limited")
                raise ApiError(429, "code_tries_limited", f"{message} ({wait_s:.0f} s)", wait_s)
            page = catalog.visitor_pages.for_credential(token)
            if short and page is not None:
                catalog.visitor_pages.return_code_try()
    if page is None:
        raise ApiError(404, "page_not_found", _visitor_message(request, "page_not_found"))
    return page


def is_operator_token(context: WebContext, given: str) -> bool:
    """Whether ``given`` is the configured operator token (403 if none is configured)."""
    configured = context.settings.operator_token
    if configured is None:
        raise ApiError(
            403,
            "operator_disabled",
            "no operator token is configured: set SCAS_OPERATOR_TOKEN for `scas serve`",
        )
    return hmac.compare_digest(given.encode(), configured.get_secret_value().encode())


def operator_token(
    request: Request,
    context: Context,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_operator_bearer)],
) -> str:
    """Standalone operator check: the bearer token must be ``SCAS_OPERATOR_TOKEN``, or the
    ``scas_operator`` cookie an open session's token."""
    if bearer is not None:
        signed_in = is_operator_token(context, bearer.credentials)
    else:
        is_operator_token(context, "")  # 403 when no operator token is configured
        with context.services.catalog() as catalog:
            signed_in = catalog.operator_sessions.is_open(request.cookies.get(OPERATOR_COOKIE, ""))
    if not signed_in:
        raise ApiError(
            401, "not_authenticated", "sign in as an operator (a session, or the token as Bearer)"
        )
    return "operator"


CurrentKiosk = Annotated[Kiosk, Depends(current_kiosk)]
CurrentVisitorPage = Annotated[VisitorPage, Depends(visitor_page)]
