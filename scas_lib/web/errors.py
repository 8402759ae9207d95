"""Errors of the web app: JSON ``{code, message}`` under ``/api``, a short page elsewhere.

No response ever carries a stack trace: an unexpected exception is logged with its
traceback on the server and answered with ``internal_error`` and a sentence. A logged
request's path never holds its credential (:func:`~scas_lib.web.redaction.loggable_path`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from scas_lib.errors import CatalogUnavailable, ObjectNotFound, ObjectStoreError, ScasError
from scas_lib.web.redaction import loggable_path
from scas_lib.web.rendering import error_page, request_language
from scas_lib.web.texts import visitor_error

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """Every error response of the API."""

    code: str
    message: str


@dataclass
class ApiError(Exception):
    """An error the app answers on purpose: HTTP ``status``, a stable ``code``, a message."""

    status: int
    code: str
    message: str
    retry_after_s: float | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


_HTTP_CODES = {
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def _respond(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None
) -> Response:
    path = request.scope.get("path", "")
    root = request.scope.get("root_path", "")
    inner = path[len(root) :] if root and path.startswith(root) else path
    if inner.startswith("/api") or "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"code": code, "message": message}, status, headers=headers)
    return HTMLResponse(error_page(request, code, message), status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error as ``{code, message}`` (or a page), never with a traceback."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> Response:
        headers = (
            {"Retry-After": str(max(1, round(error.retry_after_s)))}
            if error.retry_after_s is not None
            else None
        )
        return _respond(request, error.status, error.code, error.message, headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
        message = str(error.detail) if error.detail else code.replace("_", " ")
        return _respond(request, error.status_code, code, message, dict(error.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'][1:]) or 'request'}: {item['msg']}"
            for item in error.errors()
        )
        return _respond(request, 422, "invalid_request", problems or "invalid request", None)

    @app.exception_handler(ScasError)
    async def _scas_error(request: Request, error: ScasError) -> Response:
        if isinstance(error, ObjectNotFound):
            return _respond(request, 404, "not_found", "there is no such file (any more)", None)
        if isinstance(error, CatalogUnavailable | ObjectStoreError):
            log.error(
                "web request %s %s: %s", request.method, loggable_path(request.url.path), error
            )
            message = visitor_error("unavailable", request_language(request)) or str(error)
            return _respond(request, 503, "unavailable", message, None)
        code = getattr(error, "code", "invalid")
        message = visitor_error(code, request_language(request)) or str(error)
        return _respond(request, 400, code, message, None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("web request %s %s failed", request.method, loggable_path(request.url.path))
        message = visitor_error("unavailable", request_language(request))
        return _respond(request, 500, "internal_error", message or "internal error", None)
