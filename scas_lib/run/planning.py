"""The ``highlights`` step: every visitor's edit plan, and which videos to render
(:func:`highlights`); the footage clock's segments (:func:`footage_spans`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scas_lib.errors import ScasError
from scas_lib.events import event_templates_dir
from scas_lib.highlights.templates import (
    Template,
    load_template,
)
from scas_lib.run.records import RunRequest
from scas_lib.run.waves import FINISHED_STATES, stored_segments
from scas_lib.storage import keys

if TYPE_CHECKING:  # imported for real inside the functions (see scas_lib.run: no model runtime)
    from scas_lib.highlights.departures import SegmentSpan
    from scas_lib.services.runtime import Services

log = logging.getLogger(__name__)


def request_template(request: RunRequest) -> Template:
    """The run's template: a shipped one or the venue's, with the event's overrides."""
    return load_template(request.template, request.template_overrides, event_templates_dir())


def highlights(services: Services, request: RunRequest, *, every: bool = False) -> list[str]:
    """Plan every visitor's highlights; return the visitors to render (only the requested
    one when the run re-renders one visitor). A live run renders only the visitors whose
    video is not the one their footage makes now: those who left during the event and were
    not seen again have theirs already (:func:`~scas_lib.run.delivery.deliver_departed`);
    ``every`` (``scas highlights``, by hand) renders every visitor with footage all the same."""
    from scas_lib.highlights.stage import outdated_visitors, plan_highlights

    template = request_template(request)
    visitors = plan_highlights(services, request.event_id, template)
    log.info("%s: %d visitors with footage: %s", request.event_id, len(visitors), visitors)
    if request.visitor:
        if request.visitor not in visitors:
            raise ScasError(f"visitor {request.visitor} has no footage in {request.event_id}")
        return [request.visitor]
    if request.mode == "live" and not every:
        current = set(visitors) - set(
            outdated_visitors(services, request.event_id, visitors, template)
        )
        if current:
            log.info("%s: %d videos are up to date already", request.event_id, len(current))
        return [visitor for visitor in visitors if visitor not in current]
    return list(visitors)


def footage_spans(services: Services, event_id: str) -> list[SegmentSpan]:
    """The event's segments for the footage clock: the catalog's rows (recognized or given
    up on: finished), and the recordings bucket's segments that have no row yet."""
    from scas_lib.highlights.departures import SegmentSpan

    with services.catalog() as catalog:
        rows = catalog.segments.for_event(event_id)
    known = {row.object_key for row in rows}
    spans = [
        SegmentSpan(row.camera_id, row.start_time, row.duration_s, row.status in FINISHED_STATES)
        for row in rows
        if row.camera_id  # (a segment of no camera is failed: it holds no one's footage)
    ]
    for stored in stored_segments(services, event_id):
        parsed = keys.parse_segment_key(stored.key)
        if stored.key not in known and parsed is not None:
            spans.append(SegmentSpan(parsed.camera_id, parsed.start_time, None, False))
    return spans
