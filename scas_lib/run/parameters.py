"""A run's parameters: which event and what mode (:func:`run_request`,
:func:`resolve_run`), recording the event (:func:`start_run`), the services of one task,
and the DAG's queues, retries and time limits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scas_lib.errors import ScasError
from scas_lib.event_files import check_event_template, find_event
from scas_lib.events import EventConfig, event_templates_dir, events_dir, show_parent_id
from scas_lib.highlights.templates import (
    Template,
    TemplateError,
    available_templates,
    load_template,
)
from scas_lib.recognition.lease import SEGMENT_LEASE_S
from scas_lib.run.records import EventRun, Mode, RunRequest
from scas_lib.run.waves import has_recordings
from scas_lib.storage import keys

if TYPE_CHECKING:  # imported for real inside the functions (see scas_lib.run: no model runtime)
    from scas_lib.services.runtime import Services
    from scas_lib.settings import Settings

log = logging.getLogger(__name__)


#: The queue and pool of the recognition tasks (GPU workers listen on this queue).
GPU_QUEUE = "gpu"
GPU_POOL = "gpu"

#: Retries of every task of an event's DAG but ``recognize`` (the event file's
#: ``recognize_retries``) and ``render`` (one): every task is idempotent.
TASK_RETRIES = 2

#: Videos of departed visitors one look renders at most
#: (:func:`~scas_lib.run.delivery.deliver_departed`): the others wait for the next look, so
#: that a look does not hold up the wave's end long.
DELIVERIES_PER_LOOK = 3


@contextmanager
def event_services(settings: Settings) -> Iterator[Services]:
    """The catalog and object store for one task (joins or starts embedded servers)."""
    from scas_lib.services.runtime import open_services

    with open_services(settings) as services:
        yield services


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
        lease_s=SEGMENT_LEASE_S,
        leave_after_s=config.leave_after_s,
    )


def resolve_run(
    event_id: str, params: Mapping[str, Any] | None = None, directory: Path | None = None
) -> EventRun:
    """The run of ``event_id`` asked for by hand (the ``scas`` command): with the settings of
    its event file (:func:`~scas_lib.event_files.find_event`: ``<event_id>.yaml`` or ``.yml`` in
    :func:`~scas_lib.events.events_dir`, or for a show ``<id>-YYYYMMDD-HHMM`` its recurring
    event's file) when there is one, else every default.

    >>> run = resolve_run("walk-in", {"template": "default"}, directory=Path("/nowhere"))
    >>> run.from_file, run.request.event_id, run.request.template, run.request.max_attempts
    (False, 'walk-in', 'default', 3)
    """
    found = find_event(event_id, directory)
    if found.path is not None:  # a run renders with it: refused now if it cannot be loaded
        check_event_template(found.config, found.path)
    request = run_request(
        found.config,
        {**(params or {}), "event_id": event_id},
        templates_dir=event_templates_dir(directory),
    )
    return EventRun(found.config, request, from_file=found.from_file)


def start_run(services: Services, run: EventRun) -> None:
    """Record the event and its cameras in the catalog (names from the event file).

    An event with no event file must be known already, to the catalog or by its recordings:
    else ScasError, and nothing is stored (a misspelt id does not become a new event)."""
    from scas_lib.catalog import Camera, Event

    request, config = run.request, run.config
    with services.catalog() as catalog:
        if not run.from_file:
            if catalog.events.get(request.event_id) is None and not has_recordings(
                services, request.event_id
            ):
                raise ScasError(
                    f"no event {request.event_id}: no event file in {events_dir()}, nothing "
                    "in the catalog or the recordings bucket"
                )
            catalog.events.ensure(request.event_id)
            return
        existing = catalog.events.get(request.event_id)
        catalog.events.upsert(
            Event(
                id=request.event_id,
                name=config.display_name,
                starts_at=config.starts_at or (existing.starts_at if existing else None),
                ends_at=config.ends_at or (existing.ends_at if existing else None),
                timezone=config.timezone,
            )
        )
        for camera in config.cameras:
            catalog.events.upsert_camera(
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
    # (a broken template is refused when it is chosen)
    templates = [Template.model_validate({"name": "default"})]
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
