"""Which events the web app knows: an event in the catalog, or one with an event file.
Pages and actions for any other answer 404, instead of an empty console that reconnects
for ever or a kiosk paired with nothing (issue 44, item 9)."""

from __future__ import annotations

from scas_lib.event_files import find_event
from scas_lib.run import waves
from scas_lib.storage import keys
from scas_lib.web.context import WebContext
from scas_lib.web.errors import ApiError


def require_event(context: WebContext, event_id: str) -> None:
    """Nothing for a known event; 404 ``not_found`` for any other (400 for a bad id)."""
    keys.validate_id(event_id, "event id")
    if find_event(event_id).from_file:
        return
    with context.services.catalog() as catalog:
        if catalog.events.get(event_id) is not None:
            return
    raise ApiError(404, "not_found", f"there is no event {event_id!r}")


def event_is_over(context: WebContext, event_id: str) -> bool:
    """Whether the event is over: done in the catalog, or its run's end marker written (its
    cameras no longer film, so a kiosk takes nobody)."""
    with context.services.catalog() as catalog:
        event = catalog.events.get(event_id)
    return (event is not None and event.status == "done") or waves.end_marker_seen(
        context.services, event_id
    )
