"""What each step of an event does, as plain functions: the Airflow tasks of
``dags/scas_events.py`` and the ``scas recognize`` / ``scas highlights`` commands call these
and nothing else, so the CLI and the DAG cannot disagree. No Airflow import here, and no
model runtime at import time: the DAG file imports this module on every parse, so the face
engine, the decoder and the renderer are imported inside the functions that use them.

The DAG of an event (``dags/scas_events.py``) runs in *waves*. One DAG run is one wave:

1. ``start``: resolve the run's event id and mode, record the event and its cameras;
2. ``wait_for_segments`` (deferrable, in the triggerer): wait until the recordings bucket
   holds segments not yet recognized (new keys, or new content under a known key), or the
   run has ended and its videos are not published yet (:func:`look`, :func:`run_state`);
3. ``recognize``, mapped over batches of the wave's segments (:func:`segment_batches`), on
   queue ``gpu``: each task recognizes its batch one segment after another
   (:func:`recognize_batch`, :func:`recognize` each), its models loaded once; the first
   then takes the segments that arrive, as they come, for ``wave_s`` (:func:`arrivals`),
   and after the end marker until none is left;
3b. ``deliver``, from ``start``, beside the above: the videos of the visitors who left, as
   the recognized footage shows them gone, and at the end marker those of the visitors
   still there while the last segments are recognized (:func:`deliver_during_wave`);
4. ``decide``: when the end marker is there and no segment is left (:func:`next_step`), go
   on to ``highlights`` -> ``render`` (mapped over visitors) -> ``publish``; otherwise
   start the next wave (a new run of the same DAG, which waits for the next segments).

So segments are recognized while the event is running, as the cameras upload them, and
after the end marker only the last segments and the videos they change remain. A
later live run recognizes late segments and renders again; an event run again under the
same id opens a new run with its start marker, and is not fooled by the earlier end
marker, which ``publish`` recorded as published after.

Three modes, chosen by the run's params (:class:`RunRequest`):

- ``live`` (no param): the waves above;
- ``camera``: re-process every segment of one camera now, then render everything again;
- ``render``: no recognition; render again (one visitor, or all), maybe with another
  template.

The ``scas`` command runs the same steps by hand: ``scas recognize`` resolves the event
(:func:`resolve_run`, the event file's settings when there is one), records it
(:func:`start_run`) and calls :func:`recognize` per segment; ``scas highlights`` calls
:func:`highlights`, :func:`render` per visitor and :func:`publish`.

Every step is idempotent: recognizing a segment again replaces its tracks, planning
replaces appearances, rendering replaces a video, so running a DAG twice duplicates
nothing.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from scas_lib.errors import ScasError, is_transient
from scas_lib.events import (
    EventConfig,
    event_templates_dir,
    events_dir,
    find_event_file,
    read_event_config,
    show_parent_id,
)
from scas_lib.highlights.templates import (
    Template,
    TemplateError,
    available_templates,
    load_template,
)
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.storage import keys

if TYPE_CHECKING:  # imported for real inside the functions that use them (see the docstring)
    from scas_lib.catalog import Output
    from scas_lib.faces.engine import FaceEngine
    from scas_lib.highlights.departures import SegmentSpan
    from scas_lib.highlights.stage import PublishedHighlight
    from scas_lib.recognition.stage import SegmentOutcome
    from scas_lib.retention.stage import PurgeReport
    from scas_lib.services.runtime import Services
    from scas_lib.settings import Settings
    from scas_lib.storage import StoredObject

log = logging.getLogger(__name__)

#: The queue and pool of the recognition tasks (GPU workers listen on this queue).
GPU_QUEUE = "gpu"
GPU_POOL = "gpu"

Mode = Literal["live", "camera", "render"]
#: Retries of every task of an event's DAG but ``recognize`` (the event file's
#: ``recognize_retries``) and ``render`` (one): every task is idempotent.
TASK_RETRIES = 2
#: Segment states after which a segment needs no more work in this event.
FINISHED_STATES = ("done", "failed")
#: Videos of departed visitors one look renders at most (:func:`deliver_departed`): the
#: others wait for the next look, so that a look does not hold up the wave's end long.
DELIVERIES_PER_LOOK = 3


class SegmentFailed(ScasError):
    """A segment could not be recognized (its tracks so far are kept, its row says why)."""

    def __init__(self, outcome: SegmentOutcome) -> None:
        super().__init__(f"{outcome.key}: {outcome.error}")
        self.outcome = outcome

    def __reduce__(self) -> tuple[type[SegmentFailed], tuple[SegmentOutcome]]:
        # An exception is pickled with its message as the argument: rebuild from the outcome.
        return type(self), (self.outcome,)


@contextmanager
def event_services(settings: Settings) -> Iterator[Services]:
    """The catalog and object store for one task (joins or starts embedded servers)."""
    from scas_lib.services.runtime import open_services

    with open_services(settings) as services:
        yield services


# one run: its event and mode ---------------------------------------------------------------


@dataclass(frozen=True)
class RunRequest:
    """What one run does, from the event file and the run's params."""

    event_id: str
    mode: Mode
    template: str
    template_overrides: dict[str, Any]
    #: Tries of one segment before it is given up on (:attr:`EventConfig.max_attempts`).
    max_attempts: int
    visitor: str | None = None
    camera: str | None = None
    #: How long a segment may stay ``processing`` before its worker is taken for dead and
    #: the segment reclaimed: one segment's time limit (0: never); a task recognizing a
    #: batch marks each segment ``processing`` only while it works on it.
    lease_s: float = 0.0
    #: Seconds of footage without a visitor after which they have left and get their video
    #: while the event runs (:attr:`EventConfig.leave_after_s`; None: only at the end).
    leave_after_s: float | None = None

    @property
    def wait(self) -> bool:
        """Whether the run waits for segments (only live runs do)."""
        return self.mode == "live"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRequest:
        return cls(**data)


@dataclass(frozen=True)
class EventRun:
    """An event's settings and what one run of it does.

    ``from_file`` is False for an event that has no event file: it runs with every default
    and its catalog row is left as the stages made it.
    """

    config: EventConfig
    request: RunRequest
    from_file: bool = True


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def own_event_id(config: EventConfig, event_id: str) -> str:
    """``event_id`` if a run of ``config`` may work on it: the event itself, or for a
    recurring event one of its shows (``<id>-YYYYMMDD-HHMM``); else ScasError. A run's
    params can so never rename or re-camera another event.

    >>> night = EventConfig(id="night", schedule="0 20 * * 5")
    >>> own_event_id(night, "night-20261127-2000")
    'night-20261127-2000'
    >>> own_event_id(EventConfig(id="expo"), "gala")
    Traceback (most recent call last):
    scas_lib.errors.ScasError: event_id 'gala' is not event expo
    """
    keys.validate_id(event_id, "event id")
    if event_id == config.id or (config.recurring and show_parent_id(event_id) == config.id):
        return event_id
    shows = f" or one of its shows ({config.id}-YYYYMMDD-HHMM)" if config.recurring else ""
    raise ScasError(f"event_id {event_id!r} is not event {config.id}{shows}")


def run_request(
    config: EventConfig,
    params: Mapping[str, Any],
    show_start: datetime | None = None,
    templates_dir: Path | None = None,
) -> RunRequest:
    """The run's event id and mode. Params (all optional): ``event_id`` (another show of a
    recurring event), ``visitor`` (re-render that visitor only), ``camera`` (re-process that
    camera's segments), ``template`` (render with another template: a shipped one or one in
    ``templates_dir``, default :func:`~scas_lib.events.event_templates_dir`; a name, never a
    path).

    >>> config = EventConfig.model_validate({"id": "expo", "cameras": [{"id": "cam1"}]})
    >>> run_request(config, {}).mode, run_request(config, {"visitor": "v1"}).mode
    ('live', 'render')
    >>> run_request(config, {"camera": "cam1", "template": "default"}).template
    'default'
    """
    event_id = _text(params.get("event_id"))
    event_id = own_event_id(config, event_id) if event_id else config.occurrence_id(show_start)
    visitor = _text(params.get("visitor"))
    camera = _text(params.get("camera"))
    template = _text(params.get("template"))
    if visitor and camera:
        raise ScasError("give either a visitor to re-render or a camera to re-process, not both")
    if visitor:
        keys.validate_id(visitor, "visitor id")
    if camera:
        keys.validate_id(camera, "camera id")
        known = {c.id for c in config.cameras}
        if known and camera not in known:
            raise ScasError(
                f"event {config.id} has no camera {camera!r} (cameras: {sorted(known)})"
            )
    if template:  # refused now, before anything runs, if it is missing or invalid
        load_template(template, None, templates_dir or event_templates_dir())
    mode: Mode = "camera" if camera else "render" if visitor or template else "live"
    overrides = (
        dict(config.template_overrides) if not template or template == config.template else {}
    )
    return RunRequest(
        event_id=event_id,
        mode=mode,
        template=template or config.template,
        template_overrides=overrides,
        visitor=visitor,
        camera=camera,
        max_attempts=config.max_attempts,
        lease_s=config.recognize_timeout_s,
        leave_after_s=config.leave_after_s,
    )


def resolve_run(
    event_id: str, params: Mapping[str, Any] | None = None, directory: Path | None = None
) -> EventRun:
    """The run of ``event_id`` asked for by hand (the ``scas`` command): with the settings of
    its event file (``<event_id>.yaml`` or ``.yml`` in :func:`~scas_lib.events.events_dir`,
    or for a show ``<id>-YYYYMMDD-HHMM`` its recurring event's file) when there is one, else
    every default.

    >>> run = resolve_run("walk-in", {"template": "default"}, directory=Path("/nowhere"))
    >>> run.from_file, run.request.event_id, run.request.template, run.request.max_attempts
    (False, 'walk-in', 'default', 3)
    """
    keys.validate_id(event_id, "event id")
    path = find_event_file(event_id, directory)
    config = read_event_config(path) if path else None
    if config is None and (parent := show_parent_id(event_id)):
        parent_path = find_event_file(parent, directory)
        parent_config = read_event_config(parent_path) if parent_path else None
        if parent_config and parent_config.recurring:
            path, config = parent_path, parent_config
    request = run_request(
        config or EventConfig(id=event_id),
        {**(params or {}), "event_id": event_id},
        templates_dir=event_templates_dir(directory),
    )
    return EventRun(config or EventConfig(id=event_id), request, from_file=path is not None)


def start_run(services: Services, run: EventRun) -> None:
    """Record the event and its cameras in the catalog (names from the event file).

    An event with no event file must be known already, to the catalog or by its recordings:
    else ScasError, and nothing is stored (a misspelt id does not become a new event)."""
    from scas_lib.catalog import Camera, Event

    request, config = run.request, run.config
    with services.catalog() as catalog:
        if not run.from_file:
            if catalog.get_event(request.event_id) is None and not _has_recordings(
                services, request.event_id
            ):
                raise ScasError(
                    f"no event {request.event_id}: no event file in {events_dir()}, nothing "
                    "in the catalog or the recordings bucket"
                )
            catalog.ensure_event(request.event_id)
            return
        existing = catalog.get_event(request.event_id)
        catalog.upsert_event(
            Event(
                id=request.event_id,
                name=config.display_name,
                starts_at=config.starts_at or (existing.starts_at if existing else None),
                ends_at=config.ends_at or (existing.ends_at if existing else None),
                timezone=config.timezone,
            )
        )
        for camera in config.cameras:
            catalog.upsert_camera(
                Camera(request.event_id, camera.id, camera.display_name, camera.kind)
            )


# time limits of the DAG's tasks ----------------------------------------------------------------

#: Tasks that only talk to the catalog and the object store.
BOOKKEEPING_TIMEOUT_S = 300.0
#: The highlights task: every visitor's appearances and edit plan.
PLANNING_TIMEOUT_S = 900.0
#: How long a live run waits for the next segment or the end marker.
WAIT_TIMEOUT_S = 24 * 3600.0


def render_timeout_s(template: Template) -> float:
    """How long rendering one video may take: five minutes to start, then 20 s per second
    of 1080p video (it takes about 0.6 s on two cores), more for bigger pictures and twice
    that with the vertical version.

    >>> render_timeout_s(load_template())
    900.0
    """
    pixels = template.width * template.height / (1920 * 1080)
    return 300.0 + 20.0 * template.target_length_s * pixels * (2 if template.vertical else 1)


def task_timeouts(config: EventConfig, templates_dir: Path | None = None) -> dict[str, float]:
    """Seconds each task of the event's DAG may run before Airflow stops it. Rendering is
    given the time of the longest video among the event's template and every other one a
    run may choose (a template that cannot be read is left out: it fails the run that
    chooses it, not the DAG file).

    >>> timeouts = task_timeouts(EventConfig(id="expo", segment_s=120, recognize_batch=2))
    >>> timeouts["recognize"], timeouts["render"], timeouts["start"]
    (2160.0, 900.0, 300.0)
    """
    folder = templates_dir or event_templates_dir()
    chosen = [(config.template, config.template_overrides)]
    chosen += [(name, {}) for name in available_templates(folder)]
    templates = [Template(name="default")]  # a broken template is refused when it is chosen
    for name, overrides in chosen:
        try:
            templates.append(load_template(name, overrides, folder))
        except TemplateError as error:
            log.warning("render time limit: %s", error)
    return {
        "start": BOOKKEEPING_TIMEOUT_S,
        "wait_for_segments": WAIT_TIMEOUT_S + BOOKKEEPING_TIMEOUT_S,
        "segments": BOOKKEEPING_TIMEOUT_S,
        "recognize": config.recognize_batch_timeout_s,
        "decide": BOOKKEEPING_TIMEOUT_S,
        "next_wave": BOOKKEEPING_TIMEOUT_S,
        "highlights": PLANNING_TIMEOUT_S,
        "render": max(render_timeout_s(template) for template in templates),
        "publish": BOOKKEEPING_TIMEOUT_S,
        "deliver": PLANNING_TIMEOUT_S
        + config.wave_s
        + DELIVERIES_PER_LOOK * max(render_timeout_s(template) for template in templates),
    }


# sensing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wave:
    """What the recordings bucket holds for an event that is not recognized yet."""

    event_id: str
    keys: list[str]
    #: The run is over: the end marker is there, and no start marker is newer.
    ended: bool
    #: ... and the videos were published after that end marker already (an earlier run).
    closed: bool = False

    @property
    def ready(self) -> bool:
        """Whether there is work now: new segments, or an end not published yet."""
        return bool(self.keys) or (self.ended and not self.closed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_state(
    start_at: datetime | None, end_at: datetime | None, closed_end_at: datetime | None
) -> tuple[bool, bool]:
    """``(ended, closed)`` of an event's current run, from the times of its start and end
    markers (the object store's clock) and of the end marker its videos were last published
    after. A start marker newer than the end marker opens a new run, which only a newer end
    marker ends (one uploaded in the same second as the start ends it); an end marker the
    videos were published after is closed: a later run is not fooled by it.

    >>> from datetime import datetime as t
    >>> run_state(t(2026, 1, 1, 10), t(2026, 1, 1, 12), None)  # ended, not published yet
    (True, False)
    >>> run_state(t(2026, 1, 1, 13), t(2026, 1, 1, 12), t(2026, 1, 1, 12))  # a new run
    (False, False)
    >>> run_state(t(2026, 1, 1, 10), t(2026, 1, 1, 12), t(2026, 1, 1, 12))  # published
    (True, True)
    >>> run_state(None, None, None)
    (False, False)
    """
    if end_at is None or (start_at is not None and start_at > end_at):
        return False, False
    return True, closed_end_at is not None and end_at <= closed_end_at


def _has_recordings(services: Services, event_id: str) -> bool:
    """Whether the recordings bucket holds anything of the event (segments or markers)."""
    store = services.object_store()
    prefix = keys.event_recordings_prefix(event_id)
    return bool(store.list(services.settings.bucket_recordings, prefix))


def _stored_segments(
    services: Services, event_id: str, camera_id: str | None = None
) -> list[StoredObject]:
    prefix = keys.event_recordings_prefix(event_id)
    if camera_id:
        prefix += f"{keys.validate_id(camera_id, 'camera id')}/"
    stored = services.object_store().list(services.settings.bucket_recordings, prefix)
    return [s for s in stored if keys.parse_segment_key(s.key)]


def segment_keys(services: Services, event_id: str, camera_id: str | None = None) -> list[str]:
    """The event's segment keys in the recordings bucket (one camera's, if given)."""
    return [s.key for s in _stored_segments(services, event_id, camera_id)]


def marker_times(services: Services, event_id: str) -> dict[str, datetime | None]:
    """When the event's ``start`` and ``end`` markers were uploaded (None: not there)."""
    store = services.object_store()
    bucket = services.settings.bucket_recordings
    found = {s.key: s.last_modified for s in store.list(bucket, keys.control_prefix(event_id))}
    return {name: found.get(keys.control_marker_key(event_id, name)) for name in ("start", "end")}


def end_marker_seen(services: Services, event_id: str) -> bool:
    """Whether the event's current run has ended: its end marker is there, and no start
    marker is newer (:func:`run_state`)."""
    markers = marker_times(services, event_id)
    return run_state(markers["start"], markers["end"], None)[0]


def pending_segments(
    services: Services, event_id: str, max_attempts: int, lease_s: float = 0.0
) -> list[str]:
    """Segment keys in the recordings bucket under ``<event>/`` with work left.

    Done and failed segments need no more work, unless their content changed (another
    ETag: a re-upload), which is recognized again. A new segment whose key names an invalid
    camera id is recorded as failed with the reason at once (it can belong to no camera). A
    segment left ``processing`` or ``pending`` (a worker died) is pending again, until it
    has been tried ``max_attempts`` times (:attr:`RunRequest.max_attempts`): then it is
    given up on, so one segment that kills its worker cannot keep the event from finishing.
    With ``lease_s``, rows ``processing`` for longer than that (their worker died) are first
    put back to ``pending``, or failed once given up on, so the catalog says so too.
    """
    stored = {s.key: s for s in _stored_segments(services, event_id)}
    with services.catalog() as catalog:
        if lease_s > 0:
            for row in catalog.reclaim_stale_segments(event_id, lease_s, max_attempts):
                log.warning("%s: reclaimed from a stopped worker: %s", row.object_key, row.status)
        rows = {s.object_key: s for s in catalog.list_segments(event_id)}
        for key in stored:
            if key not in rows and (problem := keys.segment_camera_problem(key, {})):
                log.warning("%s: not recognized: %s", key, problem)
                parsed = keys.parse_segment_key(key)
                assert parsed is not None  # segment_keys lists only segment keys
                rows[key] = catalog.reject_segment(event_id, key, parsed.start_time, problem)
    pending = []
    for key, item in stored.items():
        row = rows.get(key)
        if row is None:
            pending.append(key)
        elif row.camera_id and row.etag and item.etag and row.etag != item.etag:
            log.info("%s: new content, recognized again", key)
            pending.append(key)
        elif row.status in FINISHED_STATES:
            continue
        elif row.attempts >= max_attempts:
            log.warning("%s: giving up after %d attempts (%s)", key, row.attempts, row.status)
        else:
            pending.append(key)
    return pending


def look(services: Services, event_id: str, max_attempts: int, lease_s: float = 0.0) -> Wave:
    """The next wave: segments to recognize now, and whether the event's run has ended
    (:func:`run_state`) and was published already.

    The markers are looked at first: segments a camera uploaded before its end marker
    are then in the listing that follows.
    """
    ended, closed = event_run_state(services, event_id)
    pending = pending_segments(services, event_id, max_attempts, lease_s)
    return Wave(event_id, pending, ended, closed)


def event_run_state(services: Services, event_id: str) -> tuple[bool, bool]:
    """``(ended, closed)`` of the event's current run (:func:`run_state`): from its markers
    in the object store and the end marker the catalog says it was published after."""
    markers = marker_times(services, event_id)
    closed_end_at = None
    if markers["end"] is not None:
        with services.catalog() as catalog:
            event = catalog.get_event(event_id)
        closed_end_at = event.closed_end_at if event else None
    return run_state(markers["start"], markers["end"], closed_end_at)


def segments_to_recognize(
    services: Services, request: RunRequest, wave: Wave | None, *, again: bool = False
) -> list[str]:
    """The keys to recognize in this run: a live run's wave (by hand, with no wave: the
    segments not finished yet), all of one camera's in a ``camera`` run, none when
    re-rendering. ``again``: every segment of the event, finished or not."""
    if request.mode == "camera" or again:
        return segment_keys(services, request.event_id, request.camera)
    if request.mode == "render":
        return []
    if wave is None:
        return pending_segments(services, request.event_id, request.max_attempts, request.lease_s)
    return list(wave.keys)


# recognition ---------------------------------------------------------------------------------


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
def _engine(pack_dir: str, provider: str, config: RecognitionConfig) -> FaceEngine:
    """One engine per worker process and set-up: loading the models takes seconds."""
    from scas_lib.recognition.pipeline import footage_engine

    return footage_engine(Path(pack_dir), config, provider=provider)


def recognition_engine(services: Services, config: EventConfig) -> FaceEngine:
    """The face engine for the event's footage (loaded once per process and set-up)."""
    settings = services.settings
    recognition = recognition_config(config, settings)
    return _engine(str(settings.model_pack_dir), settings.onnx_provider, recognition)


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


@dataclass(frozen=True)
class SegmentTiming:
    """What one segment cost its recognize task's process: what was paid before its first
    frame (wall and process CPU seconds, every thread), counted from the process's start for
    the first segment the process recognizes, else from the end of the one before; against
    the work, its decode and analysis. Logged, and returned by the task (XCom) for
    ``benchmarks/recognize_overhead.py``."""

    key: str
    #: The first segment of its process: the one that pays the process's start.
    first: bool
    before_s: float
    before_cpu_s: float
    #: Of ``before_s``: from the process's start to the task's call (Airflow's task runner
    #: and the DAG file), importing the recognition modules, loading the engine, and the
    #: stage's set-up (catalog rows, gallery, download); the rest is opening the catalog
    #: and object store and bookkeeping.
    task_start_s: float
    imports_s: float
    engine_s: float
    setup_s: float
    work_s: float
    work_cpu_s: float


@dataclass(frozen=True)
class BatchOutcome:
    """What one recognize task did: the outcome and timing of each segment it recognized
    (those that failed included), and the segments a retry found done already."""

    outcomes: list[SegmentOutcome]
    timings: list[SegmentTiming]
    skipped: list[str]

    def record(self) -> dict[str, Any]:
        """For the task's XCom: plain values."""
        return asdict(self)


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


class _Clock:
    """Wall and CPU marks of this process: since its start, then since the last segment."""

    def __init__(self) -> None:
        import psutil

        # A task's process is forked for it: its CPU clock starts at 0 with it.
        self.wall, self.cpu, self.first = psutil.Process().create_time(), 0.0, True

    def lap(self) -> None:
        self.wall, self.cpu, self.first = time.time(), time.process_time(), False


@dataclass(frozen=True)
class FollowOn:
    """A live wave's first recognize task goes on with the segments that arrive while the
    wave runs (:func:`arrivals`), until ``until`` (``time.monotonic()``) or the event's end.
    Why: between a segment's upload and its recognition, a new wave pays the start of five
    tasks (about 7 s: docs/benchmarks.md, "Time to highlight"), and the end's last segments
    would wait for a whole wave."""

    #: The wave's own segments, every batch's: the other tasks of the wave take those.
    listed: frozenset[str]
    until: float
    poll_s: float


def follow_on(
    request: RunRequest,
    config: EventConfig,
    map_index: int,
    batches: Sequence[Sequence[str]] | None,
) -> FollowOn | None:
    """The :class:`FollowOn` of a recognize task: the wave's first (one per wave, so no two
    tasks take the same arrival) in a live run that waits for segments, with ``wave_s``.

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
    with services.catalog() as catalog, catalog.arrivals_lock(event_id):
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
    called = time.time()
    clock = _Clock()
    skipped = sorted(_done_already(services, keys_)) if retry and request.mode == "live" else []
    if skipped:
        log.info("a retry: %d segments are done already: %s", len(skipped), skipped)
    outcomes, timings, failures = [], [], {}
    retry_helps = False
    batch = [key for key in keys_ if key not in skipped]
    later = arrivals(services, request, follow) if follow else iter(())
    recognized = 0
    for key in itertools.chain(batch, later):
        recognized += 1
        started = time.perf_counter()
        from scas_lib.recognition import stage  # noqa: F401  (timed: the first import)

        imported = time.perf_counter()
        recognition_engine(services, config)
        loaded = time.perf_counter()
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
            clock.lap()
            continue
        outcomes.append(outcome)
        if (work := outcome.timing) is not None:
            timing = SegmentTiming(
                key=key,
                first=clock.first,
                before_s=work.started_at - clock.wall,
                before_cpu_s=work.started_cpu_s - clock.cpu,
                task_start_s=max(0.0, called - clock.wall) if clock.first else 0.0,
                imports_s=imported - started,
                engine_s=loaded - imported,
                setup_s=work.setup_s,
                work_s=work.work_s,
                work_cpu_s=work.work_cpu_s,
            )
            timings.append(timing)
            log.info(
                "%s: %.2f s (%.2f s CPU) before its first frame, %.2f s (%.2f s CPU) of work",
                key, timing.before_s, timing.before_cpu_s, timing.work_s, timing.work_cpu_s,
            )  # fmt: skip
        clock.lap()
    if failures:
        failed = BatchFailed(failures, recognized + len(skipped), retry_helps)
        log.error("%s", failed)  # one line, whatever the task's log makes of the exception
        raise failed
    return BatchOutcome(outcomes, timings, skipped)


def _done_already(services: Services, keys_: Sequence[str]) -> set[str]:
    """The keys whose catalog row is done for the content stored under them now."""
    wanted = set(keys_)
    events = {parsed.event_id for key in wanted if (parsed := keys.parse_segment_key(key))}
    done = set()
    for event_id in events:
        stored = {s.key: s.etag for s in _stored_segments(services, event_id)}
        with services.catalog() as catalog:
            rows = catalog.list_segments(event_id, status="done")
        done |= {
            row.object_key
            for row in rows
            if row.object_key in wanted and row.etag and row.etag == stored.get(row.object_key)
        }
    return done


def next_step(services: Services, request: RunRequest) -> Literal["highlights", "next_wave"]:
    """After this run's recognition: render now, or wait for more segments in a new run.

    Live runs go on to the highlights only once the end marker is there and no segment is
    left to recognize; the other modes always do.
    """
    if request.mode != "live":
        return "highlights"
    wave = look(services, request.event_id, request.max_attempts, request.lease_s)
    if wave.ended and not wave.keys:
        with services.catalog() as catalog:
            catalog.set_event_status(request.event_id, "ended")
        return "highlights"
    return "next_wave"


def after_failed_wave(request: RunRequest) -> Literal["next_wave"]:
    """The next step of a run whose wave failed before recognition (a server out of reach
    through every retry): a live run hands over to the next wave, which tries again; the
    other modes cannot go on (ScasError)."""
    if request.mode != "live":
        raise ScasError(f"{request.event_id}: the {request.mode} run's segment list failed")
    log.warning("%s: this wave failed; the next wave tries again", request.event_id)
    return "next_wave"


# highlights ----------------------------------------------------------------------------------


def request_template(request: RunRequest) -> Template:
    """The run's template: a shipped one or the venue's, with the event's overrides."""
    return load_template(request.template, request.template_overrides, event_templates_dir())


def highlights(services: Services, request: RunRequest, *, every: bool = False) -> list[str]:
    """Plan every visitor's highlights; return the visitors to render (only the requested
    one when the run re-renders one visitor). A live run renders only the visitors whose
    video is not the one their footage makes now: those who left during the event and were
    not seen again have theirs already (:func:`deliver_departed`); ``every`` (``scas
    highlights``, by hand) renders every visitor with footage all the same."""
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
        rows = catalog.list_segments(event_id)
    known = {row.object_key for row in rows}
    spans = [
        SegmentSpan(row.camera_id, row.start_time, row.duration_s, row.status in FINISHED_STATES)
        for row in rows
        if row.camera_id  # (a segment of no camera is failed: it holds no one's footage)
    ]
    for stored in _stored_segments(services, event_id):
        parsed = keys.parse_segment_key(stored.key)
        if stored.key not in known and parsed is not None:
            spans.append(SegmentSpan(parsed.camera_id, parsed.start_time, None, False))
    return spans


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
    from scas_lib.catalog.presence import last_seen
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
        seen = last_seen(catalog, event_id)
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
    of 10 (docs/benchmarks.md, "Time to highlight"), and seen longest ago is seen least in
    them."""
    from scas_lib.catalog.presence import last_seen
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
        seen = last_seen(catalog, event_id)
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
        return catalog.arrivals_taken(request.event_id)


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
    arriving segments (it holds the event's arrivals lock, :func:`arrivals`), while the end
    marker is not there: a visitor who leaves gets their video as soon as the recognized
    footage shows it, not a wave later.
    Once the end marker is there, it renders the videos of the visitors still there while
    the last segments are recognized (:func:`render_before_the_last_segments`), and stops.
    Renders that failed are named in one :class:`DeliveryFailed` after the wave's others."""
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
        for visitor_id in catalog.reclaim_stale_outputs(request.event_id, lease_s):
            log.warning("%s: its render stopped without finishing: failed", visitor_id)
    markers = marker_times(services, request.event_id)
    published = publish_event(services, request.event_id)
    ended, _ = run_state(markers["start"], markers["end"], None)
    if ended and markers["end"] is not None:  # this run is over: a later one waits for more
        with services.catalog() as catalog:
            catalog.close_event_run(request.event_id, markers["end"])
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


# retention -----------------------------------------------------------------------------------


def purge(
    services: Services, now: datetime, event_ids: Sequence[str] | None = None
) -> list[PurgeReport]:
    """Apply each event's retention policy (its event file's, else the defaults) as of
    ``now``: every event in the catalog, or those named. The daily DAG ``scas_retention``
    and ``scas purge`` run this."""
    from scas_lib.retention.stage import purge_event

    if event_ids is None:
        with services.catalog() as catalog:
            event_ids = [event.id for event in catalog.list_events()]
    reports = []
    for event_id in event_ids:
        policy = resolve_run(event_id).config.retention
        report = purge_event(services, event_id, policy, now)
        reports.append(report)
        if report.deleted:
            log.info("%s: %d objects and rows past retention deleted", event_id, report.deleted)
    return reports
