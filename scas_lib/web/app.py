"""The app factory, and the standalone server (`scas serve`).

:func:`create_app` makes the app whose routes start at its own root (``/api/...``,
``/kiosk/...``, ``/v/...``, ``/docs``); it is always mounted at ``/scas``: by Airflow's API
server (the plugin's ``url_prefix``) or by :func:`standalone_app`, so every address is the
same both ways.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from scas_lib.web.airflow import AirflowLink
from scas_lib.web.analyses import AnalysisJobs, analyses_router
from scas_lib.web.api import kiosk_router, operator_router, visitor_router
from scas_lib.web.auth import operator_token
from scas_lib.web.console import console_router
from scas_lib.web.context import WebContext
from scas_lib.web.errors import install_error_handlers
from scas_lib.web.live import live_router
from scas_lib.web.origin import SameOriginActions
from scas_lib.web.pages import (
    kiosk_pages,
    landing_pages,
    operator_pages,
    page_policy,
    sign_in_pages,
    visitor_pages,
)
from scas_lib.web.redaction import without_credentials
from scas_lib.web.uploads import BodyLimit, UploadLimit
from scas_lib.web.watch import watch_router

#: Where the app is mounted, standalone and in Airflow.
URL_PREFIX = "/scas"
STATIC_DIR = Path(__file__).parent / "static"
#: Swagger UI's files, from the ``fastapi-offline`` wheel (only its files are used): the
#: API docs work at a venue without internet.
SWAGGER_UI_DIR = Path(fastapi_offline.__file__).parent / "static"

log = logging.getLogger(__name__)


def create_app(
    context: WebContext,
    operator: Callable[..., Any] | None = None,
    airflow: AirflowLink | None = None,
) -> FastAPI:
    """The SCAS web app. ``operator`` is the dependency that admits operators (Airflow's
    ``get_user`` in the plugin); by default the ``SCAS_OPERATOR_TOKEN`` bearer token.
    ``airflow``: the Airflow the console triggers DAG runs on (the plugin's is the API
    server itself); by default ``SCAS_AIRFLOW_URL``'s, if set."""
    # The front door offers the sign-in that admits operators here.
    sign_in = "airflow" if operator else "token"
    operator = operator or operator_token
    app = FastAPI(
        title="SCAS",
        summary="Kiosk enrollment, visitors' pages and the operators' API.",
        version="1",
        docs_url=None,  # served below from the package, not from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.scas = context
    app.state.operator_sign_in = sign_in
    app.state.analyses = AnalysisJobs(context)
    install_error_handlers(app)
    app.middleware("http")(_security_headers)
    app.add_middleware(CredentialsOutOfAccessLogs)
    app.add_middleware(BodyLimit, uploads=lambda: _upload_limits(context))
    # Operator and kiosk actions only from the app's own pages (cookies cross ports).
    app.add_middleware(SameOriginActions, public_url=context.settings.public_url)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/docs-static", StaticFiles(directory=SWAGGER_UI_DIR), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="SCAS API",
            swagger_js_url=f"{root}/docs-static/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs-static/swagger-ui.css",
            swagger_favicon_url=f"{root}/docs-static/favicon.png",
        )
        page.headers["Content-Security-Policy"] = docs_policy(bytes(page.body).decode())
        return page

    for router in (
        kiosk_router,
        visitor_router,
        operator_router(operator),
        console_router(operator, airflow),
        analyses_router(operator, airflow),
        live_router(operator),
        landing_pages,
        kiosk_pages,
        visitor_pages,
        watch_router,
        operator_pages(operator),
        sign_in_pages,
    ):
        app.include_router(router)
    return app


async def _security_headers(request: Request, call_next: Callable[..., Any]) -> Any:
    """Headers on every answer. No referrer: a visitor's page address is their credential."""
    response = await call_next(request)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    html = response.headers.get("content-type", "").startswith("text/html")
    # The playback page and the API docs set their own (page_policy: the playback's video
    # comes from the object store's presigned links; docs_policy).
    if html and "Content-Security-Policy" not in response.headers:
        response.headers["Content-Security-Policy"] = page_policy()
    return response


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_policy(page: str) -> str:
    """The API docs' policy: Swagger UI's files from the app and the one inline script that
    starts it, allowed by its hash (no other inline script); its widgets set styles.

    >>> docs_policy("<script>go()</script>").split("; ")[1]
    "script-src 'self' 'sha256-5KYv+PUboo5h+0+YAtGRPbwv5d/QxzHslP4YGnUaxRw='"
    """
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'self'; form-action 'self'"
    )


def _upload_limits(context: WebContext) -> dict[str, UploadLimit]:
    """The routes that take a file, and the largest each takes (any other body: 1 MB)."""
    from scas_lib.faces.enrollment import EnrollmentPolicy

    return {
        "/api/kiosk/enroll": UploadLimit(EnrollmentPolicy().max_bytes, "the photo"),
        "/api/analyses": UploadLimit(context.settings.analysis_max_mb << 20, "the video"),
    }


class CredentialsOutOfAccessLogs:
    """Takes the credentials out of a request's address once it is answered, before an
    access log around the app writes it down: Airflow's API server logs every request's
    path and query from the same ASGI scope, and a visitor's page address opens their
    face's video (`scas serve` writes no access log at all)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                scope["path"], scope["query_string"] = without_credentials(
                    scope["path"], scope.get("query_string", b"")
                )
                scope["raw_path"] = scope["path"].encode()


def standalone_app(context: WebContext) -> FastAPI:
    """The app mounted at ``/scas`` (the root redirects there), as `scas serve` runs it."""
    root = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    root.mount(URL_PREFIX, create_app(context))

    @root.get("/", include_in_schema=False)
    def _to_app() -> RedirectResponse:
        return RedirectResponse(f"{URL_PREFIX}/")

    return root


def serve(context: WebContext, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the standalone app with uvicorn until interrupted."""
    import uvicorn

    # No access log: the addresses of visitors' pages and kiosk pairing links are their
    # credentials, and a log is no place for them.
    uvicorn.run(standalone_app(context), host=host, port=port, log_level="info", access_log=False)
