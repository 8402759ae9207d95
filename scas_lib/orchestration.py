"""What the Airflow tasks do, as plain functions (no Airflow import here).

The DAG of an event (``dags/scas_events.py``) runs in *waves*. One DAG run is one wave:

1. ``start``: resolve the run's event id and mode, record the event and its cameras;
2. ``wait_for_segments`` (deferrable, in the triggerer): wait until the recordings bucket
   holds segments not yet recognized, or the end marker (:func:`look`);
3. ``recognize``, mapped over the wave's segments, on queue ``gpu`` (:func:`recognize`);
4. ``decide``: when the end marker is there and no segment is left (:func:`next_step`), go
   on to ``highlights`` -> ``render`` (mapped over visitors) -> ``publish``; otherwise
   start the next wave (a new run of the same DAG, which waits for the next segments).

So segments are recognized while the event is running, a few at a time as the cameras
upload them, and after the end marker only the last wave and the rendering remain.

Three modes, chosen by the run's params (:class:`RunRequest`):

- ``live`` (no param): the waves above;
- ``camera``: re-process every segment of one camera now, then render everything again;
- ``render``: no recognition; render again (one visitor, or all), maybe with another
  template.

Every step is idempotent: recognizing a segment again replaces its tracks, planning
replaces appearances, rendering replaces a video, so running a DAG twice duplicates
nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

from scas_lib.catalog import Camera, Event
from scas_lib.errors import ScasError
from scas_lib.events import EventConfig
from scas_lib.faces.engine import FaceEngine
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.pipeline import footage_engine
from scas_lib.recognition.stage import recognize_segment
from scas_lib.services.runtime import Services, open_services
from scas_lib.settings import Settings
from scas_lib.storage import keys

log = logging.getLogger(__name__)

#: Airflow connection ids the DAGs read the object store and the catalog from, if defined.
S3_CONNECTION_ID = "scas_s3"
POSTGRES_CONNECTION_ID = "scas_postgres"
#: The queue and pool of the recognition tasks (GPU workers listen on this queue).
GPU_QUEUE = "gpu"
GPU_POOL = "gpu"

Mode = Literal["live", "camera", "render"]
#: Segment states after which a segment needs no more work in this event.
FINISHED_STATES = ("done", "failed")


class SegmentFailed(ScasError):
    """A segment could not be recognized (its tracks so far are kept, its row says why)."""


# connections -> settings --------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionFields:
    """The fields of an Airflow connection that SCAS reads (no Airflow type here)."""

    conn_type: str | None = None
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def postgres_url(conn: ConnectionFields) -> str:
    """A ``postgresql://`` URL from a Postgres connection (extras become URL parameters).

    >>> postgres_url(ConnectionFields(host="db", login="scas", password="p@ss", schema="scas"))
    'postgresql://scas:p%40ss@db:5432/scas'
    """
    if not conn.host:
        raise ScasError("the Postgres connection has no host")
    auth = ""
    if conn.login:
        auth = quote(conn.login, safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        auth += "@"
    query = {k: str(v) for k, v in conn.extra.items() if isinstance(v, str | int | float)}
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{auth}{conn.host}:{conn.port or 5432}/{conn.schema or 'scas'}{suffix}"


def s3_settings(conn: ConnectionFields) -> dict[str, Any]:
    """Settings fields from an S3 connection: an ``aws`` connection with ``endpoint_url`` in
    its extra (the amazon provider's convention), keys as login and password.

    >>> found = s3_settings(ConnectionFields(login="k", password="s",
    ...     extra={"endpoint_url": "http://minio:9000", "region_name": "eu-west-1"}))
    >>> found["s3_endpoint"], found["s3_access_key"], found["s3_region"]
    ('http://minio:9000', 'k', 'eu-west-1')
    """
    extra = dict(conn.extra)
    endpoint = extra.get("endpoint_url") or extra.get("host")
    if not endpoint and conn.host:
        scheme = "" if "://" in conn.host else "http://"
        endpoint = f"{scheme}{conn.host}" + (f":{conn.port}" if conn.port else "")
    if not endpoint:
        raise ScasError("the S3 connection needs endpoint_url in its extra (or a host)")
    access = conn.login or extra.get("aws_access_key_id")
    secret = conn.password or extra.get("aws_secret_access_key")
    if not access or not secret:
        raise ScasError("the S3 connection needs the access key as login, the secret as password")
    found: dict[str, Any] = {
        "s3_endpoint": endpoint,
        "s3_access_key": access,
        "s3_secret_key": secret,
    }
    region = extra.get("region_name")
    if region:
        found["s3_region"] = region
    return found


def settings_from_connections(
    postgres: ConnectionFields | None = None, s3: ConnectionFields | None = None
) -> Settings:
    """The SCAS settings, with the catalog and object store taken from the connections
    given; a part whose connection is None comes from the ``SCAS_*`` settings as usual
    (a configured server, else the embedded default)."""
    overrides: dict[str, Any] = {}
    if postgres is not None:
        overrides["database_url"] = postgres_url(postgres)
    if s3 is not None:
        overrides.update(s3_settings(s3))
    return Settings(**overrides)


@contextmanager
def event_services(settings: Settings) -> Iterator[Services]:
    """The catalog and object store for one task (joins or starts embedded servers)."""
    with open_services(settings) as services:
        yield services


# one run: its event and mode ---------------------------------------------------------------


@dataclass(frozen=True)
class RunRequest:
    """What one DAG run does, from the event file and the run's params."""

    event_id: str
    mode: Mode
    template: str
    template_overrides: dict[str, Any]
    visitor: str | None = None
    camera: str | None = None

    @property
    def wait(self) -> bool:
        """Whether the run waits for segments (only live runs do)."""
        return self.mode == "live"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRequest:
        return cls(**data)


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def run_request(
    config: EventConfig, params: Mapping[str, Any], show_start: datetime | None = None
) -> RunRequest:
    """The run's event id and mode. Params (all optional): ``event_id`` (another show of a
    recurring event), ``visitor`` (re-render that visitor only), ``camera`` (re-process that
    camera's segments), ``template`` (render with another template).

    >>> config = EventConfig.model_validate({"id": "expo", "cameras": [{"id": "cam1"}]})
    >>> run_request(config, {}).mode, run_request(config, {"visitor": "v1"}).mode
    ('live', 'render')
    >>> run_request(config, {"camera": "cam1", "template": "sunset"}).template
    'sunset'
    """
    event_id = keys.validate_id(
        _text(params.get("event_id")) or config.occurrence_id(show_start), "event id"
    )
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
    )


def start_run(services: Services, config: EventConfig, request: RunRequest) -> None:
    """Record the event and its cameras in the catalog (names from the event file)."""
    with services.catalog() as catalog:
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


# sensing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wave:
    """What the recordings bucket holds for an event that is not recognized yet."""

    event_id: str
    keys: list[str]
    ended: bool

    @property
    def ready(self) -> bool:
        """Whether there is work now: new segments, or the end (with nothing left)."""
        return bool(self.keys) or self.ended

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def segment_keys(services: Services, event_id: str, camera_id: str | None = None) -> list[str]:
    """The event's segment keys in the recordings bucket (one camera's, if given)."""
    prefix = keys.event_recordings_prefix(event_id)
    if camera_id:
        prefix += f"{keys.validate_id(camera_id, 'camera id')}/"
    stored = services.object_store().list(services.settings.bucket_recordings, prefix)
    return [s.key for s in stored if keys.parse_segment_key(s.key)]


def end_marker_seen(services: Services, event_id: str) -> bool:
    """Whether the event's end marker is in the recordings bucket."""
    return services.object_store().exists(
        services.settings.bucket_recordings, keys.control_marker_key(event_id, "end")
    )


def pending_segments(services: Services, event_id: str, max_attempts: int = 3) -> list[str]:
    """Segment keys in the recordings bucket under ``<event>/`` not yet done in the catalog.

    Done and failed segments need no more work. A segment left ``processing`` or
    ``pending`` (a worker died) is pending again, until it has been tried ``max_attempts``
    times: then it is given up on, so one segment that kills its worker cannot keep the
    event from finishing.
    """
    stored = segment_keys(services, event_id)
    with services.catalog() as catalog:
        rows = {s.object_key: s for s in catalog.list_segments(event_id)}
    pending = []
    for key in stored:
        row = rows.get(key)
        if row is None:
            pending.append(key)
        elif row.status in FINISHED_STATES:
            continue
        elif row.attempts >= max_attempts:
            log.warning("%s: giving up after %d attempts (%s)", key, row.attempts, row.status)
        else:
            pending.append(key)
    return pending


def look(services: Services, event_id: str, max_attempts: int = 3) -> Wave:
    """The next wave: segments to recognize now, and whether the end marker is there.

    The end marker is looked at first: segments a camera uploaded before its end marker
    are then in the listing that follows.
    """
    ended = end_marker_seen(services, event_id)
    return Wave(event_id, pending_segments(services, event_id, max_attempts), ended)


def segments_to_recognize(services: Services, request: RunRequest, wave: Wave | None) -> list[str]:
    """The keys the ``recognize`` tasks are mapped over in this run."""
    if request.mode == "camera":
        return segment_keys(services, request.event_id, request.camera)
    if request.mode == "render" or wave is None:
        return []
    return list(wave.keys)


# recognition ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _engine(pack_dir: str, provider: str, config: RecognitionConfig) -> FaceEngine:
    return footage_engine(Path(pack_dir), config, provider=provider)


def recognize(services: Services, key: str, config: EventConfig | None = None) -> dict[str, Any]:
    """Recognize one segment (idempotent); raise :class:`SegmentFailed` if it could not be
    read to the end, so that its task fails while the tracks found so far are kept."""
    recognition = config.recognition_config() if config else RecognitionConfig()
    settings = services.settings
    engine = _engine(str(settings.model_pack_dir), settings.onnx_provider, recognition)
    outcome = recognize_segment(services, engine, key, recognition)
    found = ", ".join(f"{v} x{n}" for v, n in outcome.identified.items()) or "no visitor"
    log.info("%s: %s, %d tracks, %s", key, outcome.status, outcome.tracks, found)
    if outcome.status == "failed":
        raise SegmentFailed(f"{key}: {outcome.error}")
    return {
        "key": key,
        "status": outcome.status,
        "tracks": outcome.tracks,
        "identified": outcome.identified,
    }


def next_step(
    services: Services, request: RunRequest, max_attempts: int = 3
) -> Literal["highlights", "next_wave"]:
    """After this run's recognition: render now, or wait for more segments in a new run.

    Live runs go on to the highlights only once the end marker is there and no segment is
    left to recognize; the other modes always do.
    """
    if request.mode != "live":
        return "highlights"
    wave = look(services, request.event_id, max_attempts)
    if wave.ended and not wave.keys:
        with services.catalog() as catalog:
            catalog.set_event_status(request.event_id, "ended")
        return "highlights"
    return "next_wave"


# highlights ----------------------------------------------------------------------------------


def highlights(services: Services, request: RunRequest) -> list[str]:
    """Plan every visitor's highlights; return the visitors to render (only the requested
    one when the run re-renders one visitor)."""
    from scas_lib.highlights.stage import plan_highlights
    from scas_lib.highlights.templates import load_template

    template = load_template(request.template, request.template_overrides)
    visitors = plan_highlights(services, request.event_id, template)
    log.info("%s: %d visitors with footage: %s", request.event_id, len(visitors), visitors)
    if request.visitor:
        if request.visitor not in visitors:
            raise ScasError(f"visitor {request.visitor} has no footage in {request.event_id}")
        return [request.visitor]
    return list(visitors)


def render(services: Services, request: RunRequest, visitor_id: str) -> dict[str, Any]:
    """Render and publish one visitor's video (replacing an earlier one)."""
    from scas_lib.highlights.stage import render_highlight
    from scas_lib.highlights.templates import load_template

    template = load_template(request.template, request.template_overrides)
    output = render_highlight(services, request.event_id, visitor_id, template)
    log.info("%s: %s %s", visitor_id, output.status, output.object_key)
    return {
        "visitor_id": output.visitor_id,
        "status": output.status,
        "object_key": output.object_key,
        "duration_s": output.duration_s,
    }


def publish(services: Services, request: RunRequest) -> list[dict[str, Any]]:
    """Mark the event done and log every output with its presigned link."""
    from scas_lib.highlights.stage import publish_event

    published = publish_event(services, request.event_id)
    rows = []
    for item in published:
        row = {
            "visitor_id": item.visitor_id,
            "display_name": item.display_name,
            "status": item.status,
            "url": item.url,
        }
        rows.append(row)
        log.info("%s (%s): %s %s", item.display_name, item.visitor_id, item.status, item.url or "")
    log.info("%s: published %d outputs", request.event_id, len(rows))
    return rows
