"""The ``recognize`` step: the event's face engine (loaded once per process), one
segment (:func:`recognize`), the wave cut into batches (:func:`segment_batches`), and one
task's batch with the segments that arrive meanwhile (:func:`recognize_batch`).
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from scas_lib.errors import ScasError, is_transient
from scas_lib.events import EventConfig
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.run.records import BatchOutcome, FollowOn, RunRequest
from scas_lib.run.timing import BatchTimer
from scas_lib.run.waves import look, stored_segments
from scas_lib.storage import keys

if TYPE_CHECKING:  # imported for real inside the functions (see scas_lib.run: no model runtime)
    from scas_lib.faces.engine import FaceEngine
    from scas_lib.faces.session import ProviderChoice
    from scas_lib.recognition.records import SegmentOutcome
    from scas_lib.services.runtime import Services
    from scas_lib.settings import Settings

log = logging.getLogger(__name__)


class SegmentFailed(ScasError):
    """A segment could not be recognized (its tracks so far are kept, its row says why)."""

    def __init__(self, outcome: SegmentOutcome) -> None:
        super().__init__(f"{outcome.key}: {outcome.error}")
        self.outcome = outcome

    def __reduce__(self) -> tuple[type[SegmentFailed], tuple[SegmentOutcome]]:
        # An exception is pickled with its message as the argument: rebuild from the outcome.
        return type(self), (self.outcome,)


def recognition_config(config: EventConfig, settings: Settings) -> RecognitionConfig:
    """How this event's footage is analysed: :class:`RecognitionConfig`'s defaults, then
    ``SCAS_ONNX_THREADS`` when it is not 0, then the event file's ``recognition:`` fields.

    >>> from scas_lib.settings import Settings
    >>> event = EventConfig(id="expo", recognition={"analysis_fps": 2})
    >>> found = recognition_config(event, Settings(onnx_threads=2))
    >>> found.analysis_fps, found.onnx_threads
    (2, 2)
    """
    recognition = config.recognition_config()
    if settings.onnx_threads and "onnx_threads" not in config.recognition:
        recognition = replace(recognition, onnx_threads=settings.onnx_threads)
    return recognition


@functools.lru_cache(maxsize=4)
def _engine(pack_dir: str, provider: ProviderChoice, config: RecognitionConfig) -> FaceEngine:
    """One engine per worker process and set-up: loading the models takes seconds."""
    from scas_lib.recognition.pipeline import footage_engine

    return footage_engine(Path(pack_dir), config, provider=provider)


def engine_for(settings: Settings, recognition: RecognitionConfig) -> FaceEngine:
    """The face engine for footage analysed as ``recognition`` says (loaded once per
    process and set-up)."""
    return _engine(str(settings.model_pack_dir), settings.onnx_provider, recognition)


def recognition_engine(services: Services, config: EventConfig) -> FaceEngine:
    """The face engine for the event's footage (loaded once per process and set-up)."""
    return engine_for(services.settings, recognition_config(config, services.settings))


def recognize(services: Services, key: str, config: EventConfig) -> SegmentOutcome:
    """Recognize one segment (idempotent) as the event's settings say; raise
    :class:`SegmentFailed` if it could not be read to the end, so that its task fails while
    the tracks found so far are kept."""
    from scas_lib.recognition.stage import recognize_segment

    engine = recognition_engine(services, config)
    outcome = recognize_segment(
        services, engine, key, recognition_config(config, services.settings)
    )
    found = ", ".join(f"{v} x{n}" for v, n in outcome.identified.items()) or "no visitor"
    log.info("%s: %s, %d tracks, %s", key, outcome.status, outcome.tracks, found)
    if outcome.status == "failed":
        raise SegmentFailed(outcome)
    return outcome


def segment_batches(keys_: Sequence[str], config: EventConfig) -> list[list[str]]:
    """The wave's segments cut into the batches of its recognize tasks: one task's process
    loads the models once and recognizes its batch one segment after another. At most
    ``recognize_batch`` segments each, but as many batches as ``gpu_slots`` (when there
    are that many segments) so that every slot works; sorted by key, so a batch holds one
    camera's consecutive segments as far as it can, and sizes differ by one at most.

    >>> wave = [f"expo/cam{c}/2026112{t}T100000Z.mp4" for c in (1, 2) for t in range(5)]
    >>> [len(b) for b in segment_batches(wave, EventConfig(id="expo", recognize_batch=4))]
    [4, 3, 3]
    >>> [len(b) for b in segment_batches(wave[:3], EventConfig(id="expo", gpu_slots=2))]
    [2, 1]
    >>> segment_batches([], EventConfig(id="expo"))
    []
    """
    ordered = sorted(keys_)
    if not ordered:
        return []
    count = max(-(-len(ordered) // config.recognize_batch), min(config.gpu_slots, len(ordered)))
    size, longer = divmod(len(ordered), count)
    batches, at = [], 0
    for index in range(count):
        end = at + size + (1 if index < longer else 0)
        batches.append(ordered[at:end])
        at = end
    return batches


class BatchFailed(ScasError):
    """Segments of a batch failed (after every other segment of the batch was recognized);
    each one's row says why, and so does this message."""

    def __init__(self, failures: Mapping[str, str], total: int, retry_helps: bool) -> None:
        listed = "; ".join(f"{key}: {reason}" for key, reason in failures.items())
        super().__init__(f"{len(failures)} of {total} segments failed: {listed}")
        self.failures = dict(failures)
        self.total = total
        #: False when every failure is bad data (a segment that cannot be read to the end):
        #: trying again reads the same bytes. Another error may pass on a retry.
        self.retry_helps = retry_helps

    def __reduce__(self) -> tuple[type[BatchFailed], tuple[dict[str, str], int, bool]]:
        return type(self), (self.failures, self.total, self.retry_helps)


def follow_on(
    request: RunRequest,
    config: EventConfig,
    map_index: int,
    batches: Sequence[Sequence[str]] | None,
) -> FollowOn | None:
    """The :class:`~scas_lib.run.records.FollowOn` of a recognize task: the wave's first
    (one per wave, so no two tasks take the same arrival) in a live run that waits for
    segments, with ``wave_s``.

    >>> live = RunRequest("expo", "live", "default", {}, max_attempts=3)
    >>> follow_on(live, EventConfig(id="expo"), 0, [["a", "b"], ["c"]]).listed == {"a", "b", "c"}
    True
    >>> follow_on(live, EventConfig(id="expo"), 1, [["a"], ["c"]]) is None
    True
    """
    if request.mode != "live" or not request.wait or map_index > 0 or config.wave_s <= 0:
        return None
    listed = frozenset(key for batch in batches or [] for key in batch)
    return FollowOn(listed, time.monotonic() + config.wave_s, config.poll_interval_s)


def arrivals(services: Services, request: RunRequest, follow: FollowOn) -> Iterator[str]:
    """The event's segments that arrive while its wave runs, one at a time as they come,
    oldest footage first, until ``follow.until``; once the end marker is there, until
    nothing is left to recognize, however long that takes (the run then goes on to the
    highlights: no new wave starts between the end and them)."""
    taken = set(follow.listed)
    while True:
        wave = look(services, request.event_id, request.max_attempts, request.lease_s)
        if not wave.ended and time.monotonic() >= follow.until:
            return
        new = [key for key in wave.keys if key not in taken]
        if new:
            oldest = min(new, key=_footage_order)
            taken.add(oldest)
            yield oldest
        elif wave.ended:
            return
        else:
            time.sleep(follow.poll_s)


def _footage_order(key: str) -> tuple[datetime, str]:
    parsed = keys.parse_segment_key(key)
    return (parsed.start_time if parsed else datetime.max.replace(tzinfo=UTC), key)


def recognize_batch(
    services: Services,
    request: RunRequest,
    keys_: Sequence[str],
    config: EventConfig,
    *,
    retry: bool = False,
    follow: FollowOn | None = None,
) -> BatchOutcome:
    """Recognize a batch of segments one after another in this process (:func:`recognize`
    each: idempotent per key, its own status row); what one recognize task does. With
    ``follow``, then the segments that arrive meanwhile (:func:`arrivals`).

    One segment that fails never stops the others: :class:`BatchFailed` is raised after
    the last one, naming each failed segment and its reason. A transient fault (the
    catalog or the object store out of reach) is raised at once, for the task to be tried
    again: the segment is pending again, and the ``retry`` of a live run skips the
    segments recognized already (their rows are done for the content stored now; a live
    wave lists no such segment, so the earlier try did them)."""
    with _taking_arrivals(services, request.event_id, follow):
        return _recognize_each(services, request, keys_, config, retry=retry, follow=follow)


@contextmanager
def _taking_arrivals(services: Services, event_id: str, follow: FollowOn | None) -> Iterator[None]:
    """Hold the event's arrivals lock while a task that takes arrivals works (nothing
    without ``follow``): the wave's deliver looks for as long as it is held."""
    if follow is None:
        yield
        return
    with services.catalog() as catalog, catalog.segments.arrivals_lock(event_id):
        yield


def _recognize_each(
    services: Services,
    request: RunRequest,
    keys_: Sequence[str],
    config: EventConfig,
    *,
    retry: bool,
    follow: FollowOn | None,
) -> BatchOutcome:
    timer = BatchTimer()
    skipped = sorted(_done_already(services, keys_)) if retry and request.mode == "live" else []
    if skipped:
        log.info("a retry: %d segments are done already: %s", len(skipped), skipped)
    outcomes: list[SegmentOutcome] = []
    failures: dict[str, str] = {}
    retry_helps = False
    batch = [key for key in keys_ if key not in skipped]
    later = arrivals(services, request, follow) if follow else iter(())
    recognized = 0
    for key in itertools.chain(batch, later):
        recognized += 1
        timer.prepare(lambda: recognition_engine(services, config))
        try:
            outcome = recognize(services, key, config)
        except SegmentFailed as failed:
            outcome = failed.outcome
            failures[key] = outcome.error or "failed"
        except Exception as error:
            if is_transient(error):
                raise
            log.exception("%s: failed", key)
            failures[key] = f"{type(error).__name__}: {error}".strip()
            retry_helps = True
            timer.lap()
            continue
        outcomes.append(outcome)
        timer.recognized(key, outcome)
        timer.lap()
    if failures:
        batch_failed = BatchFailed(failures, recognized + len(skipped), retry_helps)
        log.error("%s", batch_failed)  # one line, whatever the task's log makes of the exception
        raise batch_failed
    return BatchOutcome(outcomes, timer.timings, skipped)


def _done_already(services: Services, keys_: Sequence[str]) -> set[str]:
    """The keys whose catalog row is done for the content stored under them now."""
    wanted = set(keys_)
    events = {parsed.event_id for key in wanted if (parsed := keys.parse_segment_key(key))}
    done = set()
    for event_id in events:
        stored = {s.key: s.etag for s in stored_segments(services, event_id)}
        with services.catalog() as catalog:
            rows = catalog.segments.for_event(event_id, status="done")
        done |= {
            row.object_key
            for row in rows
            if row.object_key in wanted and row.etag and row.etag == stored.get(row.object_key)
        }
    return done
