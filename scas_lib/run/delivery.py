"""The ``deliver`` step: the videos of the visitors who left while the event runs,
and at the end marker of those still there, beside the wave's recognition
(:func:`deliver_during_wave`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from scas_lib.errors import ScasError, is_transient
from scas_lib.events import EventConfig
from scas_lib.run.parameters import DELIVERIES_PER_LOOK
from scas_lib.run.planning import footage_spans, request_template
from scas_lib.run.publishing import render
from scas_lib.run.records import RunRequest
from scas_lib.run.waves import end_marker_seen, look, segment_keys
from scas_lib.storage import keys

if TYPE_CHECKING:  # imported for real inside the functions (see scas_lib.run: no model runtime)
    from scas_lib.catalog import Output
    from scas_lib.services.runtime import Services

log = logging.getLogger(__name__)


def deliver_departed(services: Services, request: RunRequest) -> list[Output]:
    """Progressive delivery, one look of a live run's (:func:`deliver_during_wave` looks
    again every poll): render and publish the video of at most ``DELIVERIES_PER_LOOK``
    visitors who have left (not seen for ``leave_after_s`` of footage,
    :mod:`scas_lib.highlights.departures`) and has no video of what they were seen doing
    yet; a visitor seen again since their video is rendered again once they leave again
    (or at the end), replacing it. Idempotent: a retry renders only what is still not up
    to date, and each video replaces the visitor's own objects and row.

    The DAG's ``deliver`` task looks from the wave's start, beside the wave's recognition
    and as long as it takes arrivals (:func:`deliver_during_wave`), so its renders hold up
    no recognition. Not once the end marker is there: the recognition left then would wait
    for these renders, and the end's renders run side by side (``render.expand``)."""
    from scas_lib.highlights.departures import departed, footage_clock
    from scas_lib.highlights.stage import outdated_visitors, plan_visitors

    if request.mode != "live" or request.leave_after_s is None:
        return []
    event_id = request.event_id
    if end_marker_seen(services, event_id):
        log.info("%s: the event has ended: every video left is made after recognition", event_id)
        return []
    clock = footage_clock(footage_spans(services, event_id))
    with services.catalog() as catalog:
        seen = catalog.tracks.last_seen(event_id)
    gone = departed(seen, clock, request.leave_after_s)
    if not gone:
        return []
    template = request_template(request)
    planned = plan_visitors(services, event_id, gone, template)
    due = outdated_visitors(services, event_id, planned, template, retry_failed=False)
    log.info("%s: footage recognized up to %s; %d have left, %d to render: %s",
             event_id, clock, len(gone), len(due), due)  # fmt: skip
    return _render_each(services, request, due[:DELIVERIES_PER_LOOK])


def render_before_the_last_segments(services: Services, request: RunRequest) -> list[Output]:
    """Once the end marker is there (none before) and only the cameras' last segments are
    left to recognize (at most one per camera): render every video that is not the one the footage
    recognized so far makes, those seen longest ago first, while those segments are
    recognized; none once they are. After them, the end's highlights render again only the
    videos the last footage changed: the last 10 s of the benchmark's event changed 1 plan
    of 10 (docs/benchmarks-history.md, "Time to highlight"), and seen longest ago is seen least in
    them."""
    from scas_lib.highlights.stage import outdated_visitors, plan_visitors
    from scas_lib.media.ffmpeg import lower_priority

    event_id = request.event_id

    def left() -> list[str]:
        return look(services, event_id, request.max_attempts, request.lease_s).keys

    if request.mode != "live" or not end_marker_seen(services, event_id):
        return []
    cameras = {parsed.camera_id for key in segment_keys(services, event_id)
               if (parsed := keys.parse_segment_key(key))}  # fmt: skip
    waiting = left()
    if not waiting or len(waiting) > len(cameras):
        return []
    with services.catalog() as catalog:
        seen = catalog.tracks.last_seen(event_id)
    template = request_template(request)
    planned = plan_visitors(services, event_id, sorted(seen, key=seen.__getitem__), template)
    due = outdated_visitors(services, event_id, planned, template, retry_failed=False)
    log.info("%s: the end marker is there, %d segments left to recognize; %d videos to "
             "render meanwhile: %s", event_id, len(waiting), len(due), due)  # fmt: skip
    # Made ahead: the recognition of the last segments, which every video waits for, first.
    with lower_priority():
        return _render_each(services, request, due, keep_going=lambda: bool(left()))


def _render_each(
    services: Services,
    request: RunRequest,
    visitors: Sequence[str],
    keep_going: Callable[[], bool] = lambda: True,
) -> list[Output]:
    """Render and publish each visitor's video while ``keep_going()``; one failed render
    keeps no one else from their video (:class:`DeliveryFailed` after the others), a
    transient fault stops at once."""
    outputs, failed = [], []
    for visitor_id in visitors:
        if not keep_going():
            break
        try:
            outputs.append(render(services, request, visitor_id))
        except Exception as error:
            if is_transient(error):
                raise
            log.error("%s: render failed: %s", visitor_id, error)
            failed.append(visitor_id)
    if failed:  # (tried again after the end marker, or once the visitor is seen again)
        raise DeliveryFailed(failed)
    return outputs


def _arrivals_taken(services: Services, request: RunRequest) -> bool:
    with services.catalog() as catalog:
        return catalog.segments.arrivals_taken(request.event_id)


class DeliveryFailed(ScasError):
    """Videos made while the event runs failed to render (each render's error is in the
    log): of visitors who left, or made at the end marker ahead of the end's renders. The
    end's renders try them again."""

    def __init__(self, visitors: Sequence[str]) -> None:
        names = ", ".join(visitors)
        count = f"{len(visitors)} video" + ("s" if len(visitors) > 1 else "")
        super().__init__(
            f"{count} made while the event runs failed to render ({names}); "
            "the end's renders try again"
        )
        self.visitors = list(visitors)

    def __reduce__(self) -> tuple[type[DeliveryFailed], tuple[list[str]]]:
        return type(self), (self.visitors,)


def deliver_during_wave(
    services: Services, request: RunRequest, config: EventConfig
) -> list[Output]:
    """What the wave's ``deliver`` task does: :func:`deliver_departed` at once, then every
    ``poll_interval_s`` for ``wave_s`` and for as long as the wave's recognition takes
    arriving segments (it holds the event's arrivals lock,
    :func:`~scas_lib.run.recognition.arrivals`), while the end marker is not there: a
    visitor who leaves gets their video as soon as the recognized footage shows it, not a
    wave later. Once the end marker is there, it renders the videos of the visitors still
    there while the last segments are recognized (:func:`render_before_the_last_segments`),
    and stops. Renders that failed are named in one :class:`DeliveryFailed` after the wave's
    others."""
    until = time.monotonic() + config.wave_s if request.mode == "live" else 0.0
    outputs: list[Output] = []
    failed: list[str] = []
    while True:
        ended = end_marker_seen(services, request.event_id)
        step = render_before_the_last_segments if ended else deliver_departed
        try:
            outputs += step(services, request)
        except DeliveryFailed as error:
            failed += [visitor for visitor in error.visitors if visitor not in failed]
        if ended or (time.monotonic() >= until and not _arrivals_taken(services, request)):
            break
        time.sleep(config.poll_interval_s)
    if failed:
        raise DeliveryFailed(failed)
    return outputs
