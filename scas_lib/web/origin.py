"""State changes come only from the app's own pages (issue 44, item 5).

A browser sends the app's cookies (the operator's session, a kiosk's token) with a form
that a page of another origin submits to it, and ``SameSite=Strict`` does not tell two
ports of one host apart: a page on ``http://127.0.0.1:<other port>`` could make the
signed-in operator's browser pair a kiosk or end the event. So every POST, PUT, PATCH and
DELETE that a browser marks as coming from another origin is refused with 403
``cross_origin`` before the app sees it:

- its ``Sec-Fetch-Site`` header, which browsers send with every request, must say
  ``same-origin`` (or ``none``: the user's own doing). ``same-site`` is refused: it is what
  another port of the same host gets;
- a browser without ``Sec-Fetch-Site``: its ``Origin`` must be the app's own (the host and
  port the request was sent to, or those of ``SCAS_PUBLIC_URL``). The pages' own forms send
  ``Origin: null`` (their ``Referrer-Policy`` is ``no-referrer``), so ``Sec-Fetch-Site``
  decides first.

A request with an ``Authorization`` header passes: a page of another origin cannot add one
without a CORS preflight, which the app never grants. A client that is no browser (curl,
the tests) sends neither header and carries no cookie it did not set itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

#: The methods that change something.
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: ``Sec-Fetch-Site`` values of a request the app's own pages (or the user) made.
_OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def _host_port(address: str) -> str:
    """``host:port`` of an origin or URL, lower case, the scheme's default port dropped."""
    parts = urlsplit(address if "//" in address else f"//{address}")
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return ""
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if port is None or port == default else f"{host}:{port}"


def is_cross_origin(method: str, headers: Mapping[str, str], public_url: str | None) -> bool:
    """Whether a request is a state change that a page of another origin made (pure).

    >>> own = {"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000"}
    >>> is_cross_origin("POST", own, None), is_cross_origin("GET", {"origin": "x"}, None)
    (False, False)
    >>> is_cross_origin("POST", {**own, "origin": "http://127.0.0.1:9000"}, None)
    True
    >>> is_cross_origin("POST", {"origin": "null", "sec-fetch-site": "same-origin"}, None)
    False
    >>> is_cross_origin("DELETE", {**own, "sec-fetch-site": "same-site"}, None)
    True
    >>> is_cross_origin("POST", {"host": "a", "origin": "https://venue.example"},
    ...                 "https://venue.example/scas")
    False
    """
    if method.upper() not in STATE_CHANGING or "authorization" in headers:
        return False
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site not in _OWN_FETCH_SITES
    origin = headers.get("origin")
    if origin is None:
        return False  # no browser: it sends only the cookies it was given
    own = {_host_port(headers.get("host", ""))}
    if public_url:
        own.add(_host_port(public_url))
    own.discard("")
    return origin == "null" or _host_port(origin) not in own


class SameOriginActions:
    """ASGI middleware: refuses :func:`is_cross_origin` requests with 403, before their
    body is read."""

    def __init__(self, app: ASGIApp, public_url: str | None = None) -> None:
        self.app = app
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_cross_origin(
            scope["method"], Headers(scope=scope), self.public_url
        ):
            refusal = JSONResponse(
                {"code": "cross_origin",
                 "message": "this action must come from SCAS's own pages (Origin)"},
                status_code=403,
            )  # fmt: skip
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
