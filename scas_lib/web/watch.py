"""What the big screen's QR code opens: a watch-only page of one visitor's video
(issue 44, item 7).

Anyone in the room can scan the screen, so its code is not the visitor's own key (the
kiosk's QR code and short code, which open their page, with *Delete my data*): it is the
visitor's screen link (:meth:`~scas_lib.catalog.visitor_pages.VisitorPageRepository.screen_link`),
which opens ``/w/<link>``, the video and its poster, and nothing else; every route here
only reads. Deleting the visitor deletes the link.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from scas_lib.catalog.records import VisitorPage
from scas_lib.web.auth import Context
from scas_lib.web.errors import ApiError
from scas_lib.web.media import object_response
from scas_lib.web.rendering import app_root, render, request_language
from scas_lib.web.visits import event_name, media_key, video_files

#: The files a screen link may watch.
WatchedKind = Literal["video", "poster", "vertical"]


def screen_link_page(token: str, context: Context) -> VisitorPage:
    """The visitor whose video the screen link in the address watches; 404 else."""
    page = None
    if 16 <= len(token) <= 128:
        with context.services.catalog() as catalog:
            page = catalog.visitor_pages.for_screen_link(token)
    if page is None:
        raise ApiError(404, "page_not_found", "there is no such video (any more)")
    return page


Watched = Annotated[VisitorPage, Depends(screen_link_page)]

watch_router = APIRouter(tags=["watch"])


@watch_router.get("/w/{token}", include_in_schema=False)
def watch_page(request: Request, token: str, page: Watched, context: Context) -> HTMLResponse:
    """The video the big screen showed, to watch on a phone: no page of the visitor's."""
    files = video_files(
        context, page.event_id, page.visitor_id, f"{app_root(request)}/api/watch/{token}/media"
    )
    with context.services.catalog() as catalog:
        visitor = catalog.visitors.get(page.event_id, page.visitor_id)
    if visitor is None or files.video_path is None:
        raise ApiError(404, "page_not_found", "there is no such video (any more)")
    return render(
        request,
        "watch.html",
        language=request_language(request),
        files=files,
        event_name=event_name(context, page.event_id),
        display_name=visitor.display_name,
    )


@watch_router.get("/api/watch/{token}/media/{kind}")
def watch_media(request: Request, kind: WatchedKind, page: Watched, context: Context) -> Any:
    """The video, its poster or its vertical version, as the big screen plays them
    (HTTP ranges); a screen link reads nothing else."""
    return object_response(
        context.services.object_store(),
        context.settings.bucket_highlights,
        media_key(context, page, kind),
        range_header=request.headers.get("range"),
    )
