"""The ``render`` and ``publish`` steps: one visitor's video (:func:`render`), then
every output listed with its link (:func:`publish`, :func:`require_published`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scas_lib.errors import ScasError
from scas_lib.run.parameters import render_timeout_s
from scas_lib.run.planning import request_template
from scas_lib.run.records import RunRequest
from scas_lib.run.waves import marker_times, run_state

if TYPE_CHECKING:  # imported for real inside the functions (see scas_lib.run: no model runtime)
    from scas_lib.catalog import Output
    from scas_lib.highlights.records import PublishedHighlight
    from scas_lib.services.runtime import Services

log = logging.getLogger(__name__)


def render(services: Services, request: RunRequest, visitor_id: str) -> Output:
    """Render and publish one visitor's video (replacing an earlier one)."""
    from scas_lib.highlights.stage import render_highlight

    template = request_template(request)
    output = render_highlight(services, request.event_id, visitor_id, template)
    log.info("%s: %s %s", visitor_id, output.status, output.object_key)
    return output


def publish(services: Services, request: RunRequest) -> list[PublishedHighlight]:
    """Mark the event done and list every output with its presigned link (a render that
    stopped without a word, ``rendering`` for longer than it may run, is marked failed
    first; the end marker, if the run has ended, is recorded as published after). The log
    (and the
    DAG's XCom, :meth:`PublishedHighlight.record`) get ids and statuses only: a name or a
    link there would outlive the visitor's forget."""
    from scas_lib.highlights.stage import publish_event

    lease_s = render_timeout_s(request_template(request))  # no render runs longer
    with services.catalog() as catalog:
        for visitor_id in catalog.outputs.reclaim_stale(request.event_id, lease_s):
            log.warning("%s: its render stopped without finishing: failed", visitor_id)
    markers = marker_times(services, request.event_id)
    published = publish_event(services, request.event_id)
    ended, _ = run_state(markers["start"], markers["end"], None)
    if ended and markers["end"] is not None:  # this run is over: a later one waits for more
        with services.catalog() as catalog:
            catalog.events.close_run(request.event_id, markers["end"])
    for item in published:
        log.info("%s: %s", item.visitor_id, item.status)
    log.info("%s: published %d outputs", request.event_id, len(published))
    return published


#: Output statuses of a video that is not published: its render failed, or never finished.
UNPUBLISHED_STATES = ("failed", "rendering")


def require_published(published: Sequence[PublishedHighlight]) -> None:
    """Raise ScasError naming the visitors whose video is not published (one log line
    each), after :func:`publish` has published the others."""
    missing = [item for item in published if item.status in UNPUBLISHED_STATES]
    for item in missing:
        log.error("%s: not published: its render %s", item.visitor_id,
                  "failed" if item.status == "failed" else "did not finish")  # fmt: skip
    if missing:
        names = ", ".join(item.visitor_id for item in missing)
        raise ScasError(f"{len(missing)} videos not published ({names}): see their render tasks")
