"""Request bodies: read only after the caller is authenticated, and never past a limit.

FastAPI reads a route's form fields and files before it runs the route's dependencies, so
an unauthenticated caller could make the server take in a whole upload before being told
401. The upload routes (``/api/kiosk/enroll``, ``/api/analyses``) therefore declare no body
parameters: their authentication runs first, and they read their form afterwards
(:func:`read_form`: a declared ``Content-Length`` over the limit is refused with 413 before
a byte is read), documenting it in OpenAPI with :func:`multipart_body`.

:class:`BodyLimit` (a pure ASGI middleware) bounds every request's body by its route: it
stops reading a body (chunked too) as soon as it has passed the limit, and tells the app
the client is gone; the upload routes answer 413. Any other route's body is small: one
that declares more than :data:`DEFAULT_BODY_BYTES` is refused at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Room for a multipart form's boundaries, headers and small fields around its file.
FORM_OVERHEAD_BYTES = 256 * 1024
#: The body of any other route: small forms and JSON.
DEFAULT_BODY_BYTES = 1 << 20
#: Where :class:`BodyLimit` leaves the request's limit, and whether it was passed.
_LIMIT, _PASSED = "scas.body_limit", "scas.body_limit_passed"


@dataclass(frozen=True)
class UploadLimit:
    """The largest file an upload route takes (``what``: the file, in its refusal)."""

    max_bytes: int
    what: str = "the upload"

    @property
    def body_bytes(self) -> int:
        """The most of the request's body read: the file and its form around it."""
        return self.max_bytes + FORM_OVERHEAD_BYTES


_DEFAULT = UploadLimit(DEFAULT_BODY_BYTES - FORM_OVERHEAD_BYTES, "the request's body")


class BodyTooLarge(HTTPException):
    """413: the request's body is (or says it is) over its route's limit."""

    def __init__(self, limit: UploadLimit) -> None:
        super().__init__(413, f"{limit.what} is over {max(1, limit.max_bytes >> 20)} MB")


class BodyLimit:
    """Bounds each request's body (``uploads``: the upload routes' inner paths, without
    the mount point, to their limits, asked at each request since settings load lazily;
    every other route: :data:`DEFAULT_BODY_BYTES`)."""

    def __init__(self, app: ASGIApp, uploads: Callable[[], dict[str, UploadLimit]]) -> None:
        self.app = app
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path = scope.get("path", "")
        inner = path[len(root) :] if root and path.startswith(root) else path
        upload_limit = self.uploads().get(inner.rstrip("/"))
        limit = _DEFAULT if upload_limit is None else upload_limit
        declared = content_length(scope)
        if upload_limit is None and declared is not None and declared > limit.body_bytes:
            await _refuse(send, BodyTooLarge(limit))  # no upload route: no need to know who
            return
        scope[_LIMIT] = limit
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if scope.get(_PASSED):
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.body_bytes:
                    # Read no further: to the app, the client is gone (read_form: 413).
                    scope[_PASSED] = True
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, limited_receive, send)


async def read_form(request: Request, *, max_files: int = 1, max_fields: int = 20) -> FormData:
    """The request's multipart form, read now (after the route's dependencies admitted the
    caller): 413 if its ``Content-Length`` is over the route's limit (nothing read) or its
    body passes it (:class:`BodyLimit`); 400 if it is no form."""
    limit: UploadLimit = request.scope.get(_LIMIT, _DEFAULT)
    declared = content_length(request.scope)
    if declared is not None and declared > limit.body_bytes:
        raise BodyTooLarge(limit)
    try:
        return await request.form(max_files=max_files, max_fields=max_fields)
    except ClientDisconnect:
        if request.scope.get(_PASSED):
            raise BodyTooLarge(limit) from None
        # The client went away mid-upload: nobody is left to answer, nothing to log.
        raise HTTPException(400, "the upload was cut off") from None


def content_length(scope: Scope) -> int | None:
    """The request's declared ``Content-Length``, if any."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def form_flag(form: FormData, name: str) -> bool:
    """A checkbox-like field: true for ``true``, ``1``, ``on``, ``yes`` (any case)."""
    return form_text(form, name).strip().lower() in {"true", "1", "on", "yes"}


def form_file(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) else None


def multipart_body(fields: dict[str, str], files: dict[str, str], required: list[str]) -> Any:
    """OpenAPI's ``requestBody`` of a route that reads its form itself: text ``fields`` and
    ``files`` by name, with their descriptions."""
    properties: dict[str, Any] = {
        name: {"type": "string", "description": text} for name, text in fields.items()
    }
    properties |= {
        name: {"type": "string", "format": "binary", "description": text}
        for name, text in files.items()
    }
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    }


async def _refuse(send: Send, error: BodyTooLarge) -> None:
    body = json.dumps({"code": "too_large", "message": error.detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
