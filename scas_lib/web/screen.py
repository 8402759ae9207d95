"""The big screen at the exit: the event's finished videos, newest first, each with its
visitor's name and the QR code of a page that watches it (never the visitor's own page:
:mod:`~scas_lib.web.watch`), and the live feed the screen listens to.

The feed is server-sent events (``text/event-stream``, :func:`live_feed`, which the
console's feed uses too): a ``playlist`` event with the whole list whenever it changes (and
once at the start), a comment every
:data:`KEEPALIVE_S` seconds so proxies keep the connection open. The catalog is looked at
every :data:`POLL_S` seconds: a video published by any process (the DAG's workers, `scas
highlights`) shows up without anyone telling the web app.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import segno
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from scas_lib.storage import ObjectStore, S3Config, keys
from scas_lib.web.context import WebContext
from scas_lib.web.errors import ApiError

POLL_S = 1.0
KEEPALIVE_S = 15.0
#: How long the browser waits before reconnecting a dropped feed (the ``retry:`` field).
RETRY_MS = 2000


@dataclass(frozen=True)
class ScreenVideo:
    """One video on the screen. Paths are app-relative (under ``/scas``)."""

    visitor_id: str
    display_name: str
    #: When it was rendered (ISO 8601): a re-rendered video is a new one.
    updated_at: str
    video_path: str
    poster_path: str
    #: The vertical (9:16) cut, where the template made one: a portrait screen plays it.
    vertical_path: str | None
    #: The watch-only page of the video (absolute: it is what the QR code holds); never the
    #: visitor's own page, which can delete their data.
    page_url: str
    #: The QR code of ``page_url`` as an SVG ``data:`` URI, :data:`QR_BORDER` modules of
    #: quiet zone around it.
    qr_svg: str
    #: The width of that code's symbol in modules (quiet zone not counted), and of the
    #: whole image (quiet zone counted): the screen sizes the image by them, so that the
    #: symbol has the same width whatever the link's length (docs/venue-day.md, "The big
    #: screen").
    qr_modules: int
    qr_image_modules: int


#: Medium error correction (the kiosk's look too); the quiet zone the standard asks for.
QR_ERROR = "m"
QR_BORDER = 4


@functools.lru_cache(maxsize=1024)
def qr_data_uri(url: str) -> str:
    """A QR code of ``url`` for an ``<img>``.
    Kept: every screen's feed asks again each second for the same few hundred links."""
    return segno.make(url, error=QR_ERROR).svg_data_uri(scale=8, border=QR_BORDER)


@functools.lru_cache(maxsize=1024)
def qr_modules(url: str) -> int:
    """The width in modules of :func:`qr_data_uri`'s symbol, quiet zone not counted."""
    return int(segno.make(url, error=QR_ERROR).symbol_size(border=0)[0])


@functools.lru_cache(maxsize=4096)
def has_vertical_cut(s3: S3Config, bucket: str, key: str, rendered_at: str) -> bool:
    """Whether the render of ``rendered_at`` left a vertical cut at ``key``. Kept per
    render: the cut is stored before the output is marked done (and a new render is a new
    ``rendered_at``), while every screen's feed asks again each second."""
    return ObjectStore(s3).exists(bucket, key)


def screen_playlist(context: WebContext, event_id: str, base_url: str) -> list[ScreenVideo]:
    """The event's finished videos, newest first. ``base_url`` is the app's address as the
    screen reached it (``SCAS_PUBLIC_URL`` wins, as for the kiosk's QR codes)."""
    keys.validate_id(event_id, "event id")
    base = (context.settings.public_url or base_url).rstrip("/")
    with context.services.catalog() as catalog:
        if catalog.events.get(event_id) is None:
            raise ApiError(404, "not_found", f"no event {event_id!r}")
        entries = catalog.outputs.published(event_id)
    bucket = context.settings.bucket_highlights
    videos = []
    for entry in entries:
        # The screen link watches the video only (watch.py): anyone can scan the screen.
        media = f"/api/watch/{entry.token}/media"
        page_url = f"{base}/w/{entry.token}"
        rendered_at = entry.updated_at.isoformat()
        vertical_key = keys.vertical_key(event_id, entry.visitor_id)
        vertical = has_vertical_cut(context.services.s3, bucket, vertical_key, rendered_at)
        modules = qr_modules(page_url)
        videos.append(
            ScreenVideo(
                visitor_id=entry.visitor_id,
                display_name=entry.display_name,
                updated_at=rendered_at,
                video_path=f"{media}/video",
                poster_path=f"{media}/poster",
                vertical_path=f"{media}/vertical" if vertical else None,
                page_url=page_url,
                qr_svg=qr_data_uri(page_url),
                qr_modules=modules,
                qr_image_modules=modules + 2 * QR_BORDER,
            )
        )
    return videos


async def live_feed(
    event: str,
    load: Callable[[], object],
    disconnected: Callable[[], Awaitable[bool]],
    *,
    poll_s: float = POLL_S,
) -> AsyncIterator[str]:
    """A live feed (the screen's playlist, the console's state): ``event`` with what
    ``load`` returns now, then again each time it changes, until the client goes away."""
    yield f"retry: {RETRY_MS}\n\n"
    sent: str | None = None
    last_write = time.monotonic()
    while True:
        data = json.dumps(jsonable_encoder(await run_in_threadpool(load)), ensure_ascii=False)
        if data != sent:
            sent = data
            last_write = time.monotonic()
            yield f"event: {event}\ndata: {data}\n\n"
        elif time.monotonic() - last_write >= KEEPALIVE_S:
            last_write = time.monotonic()
            yield ": keepalive\n\n"
        await asyncio.sleep(poll_s)
        if await disconnected():
            return


def feed_response(feed: AsyncIterator[str]) -> StreamingResponse:
    """A live feed as the answer: server-sent events, never cached or buffered."""
    return StreamingResponse(
        feed,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
