"""Event definitions: one YAML file per event under ``config/events/``.

Each file describes one event (or one recurring show): its cameras, when it runs, the
highlight template and the recognition settings. The Airflow DAG file builds a DAG
``scas_<id>`` from every file; nothing here imports Airflow.

A file looks like::

    id: expo
    name: Expo 2026
    timezone: Europe/Berlin
    starts_at: 2026-11-22T10:00:00      # local time in `timezone` unless it has an offset
    ends_at: 2026-11-22T18:00:00
    cameras:
      - {id: cam1, name: Entrance}
      - {id: robot1, name: Roaming robot, kind: robot}
    template: default
    template_overrides: {target_length_s: 45}
    recognition: {analysis_fps: 4}
    retention: {recordings_days: 14}      # see scas_lib/retention/policy.py
    gpu_slots: 1
    recognize_batch: 8                  # segments per recognize task (models loaded once)
    segment_s: 60                       # the longest segment the cameras upload

The template is a shipped one or the venue's own, ``templates/<name>.yaml`` beside the event
files; it is named, never given as a path.

A recurring show gives a cron ``schedule`` instead of ``starts_at``/``ends_at``; each show
is then its own event in the catalog and the object store, with the id
``<id>-<YYYYMMDD-HHMM>`` (the show's local start time, see :meth:`EventConfig.occurrence_id`).

The files are read by :mod:`scas_lib.event_files`; this module is what they hold.

>>> config = EventConfig.model_validate({"id": "expo", "name": "Expo", "cameras": []})
>>> config.dag_id, config.template, config.gpu_slots
('scas_expo', 'default', 1)
"""

from __future__ import annotations

import os
import re
from dataclasses import fields
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scas_lib.errors import ConfigurationError
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.retention.policy import RetentionPolicy
from scas_lib.storage import keys

if TYPE_CHECKING:  # the catalog's records are loaded only when a consent is recorded
    from scas_lib.catalog.records import Consent

#: The environment variable naming the event files' directory.
EVENTS_DIR_VARIABLE = "SCAS_EVENTS_DIR"
#: Where the event files are unless ``SCAS_EVENTS_DIR`` says otherwise.
DEFAULT_EVENTS_DIR = Path(__file__).resolve().parents[1] / "config" / "events"
EVENT_FILE_SUFFIXES = (".yaml", ".yml")
#: The folder beside the event files with the venue's own templates (``<name>.yaml``).
TEMPLATES_FOLDER = "templates"

# RecognitionConfig fields an event may override (plain numbers and flags only).
_RECOGNITION_FIELDS = {
    f.name
    for f in fields(RecognitionConfig)
    if f.type in ("float", "int", "bool", "int | None", "float | None")
}


_SHOW_ID = re.compile(r"(?P<event>.+)-(?P<time>\d{8}-\d{4})")

#: The kinds of camera source, each named by its URL's scheme (:mod:`scas_lib.ingest.sources`
#: records from them; the event file is checked against them here).
SourceKind = Literal["rtsp", "rtmp", "http", "device", "file"]

_SCHEMES: dict[str, SourceKind] = {
    "rtsp": "rtsp",
    "rtsps": "rtsp",
    "rtmp": "rtmp",
    "rtmps": "rtmp",
    "http": "http",
    "https": "http",
    "device": "device",
    "file": "file",
}


def source_kind(url: str) -> SourceKind:
    """The kind of source ``url`` is, from its scheme; ConfigurationError for another.

    >>> source_kind("rtmp://host/live/robot1"), source_kind("file:/clips/cam1.mp4")
    ('rtmp', 'file')
    """
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in _SCHEMES:
        known = ", ".join(f"{name}:" for name in _SCHEMES)
        raise ConfigurationError(f"camera url scheme {scheme or url!r} is not one of {known}")
    return _SCHEMES[scheme]


class CameraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = ""
    kind: Literal["fixed", "robot"] = "fixed"
    #: Where ``scas ingest`` records it from: ``rtsp://``, ``rtmp://``, ``http(s)://``,
    #: ``device:/dev/video0`` or ``file:/clip.mp4`` (looped), with ``${VAR}`` taken from the
    #: environment (:mod:`scas_lib.ingest.sources`). Never printed unmasked.
    url: str | None = Field(default=None, repr=False)
    #: ``auto`` copies H.264/H.265 and encodes anything else; ``copy`` / ``encode`` force it.
    transcode: Literal["auto", "copy", "encode"] = "auto"

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return keys.validate_id(value, "camera id")

    @field_validator("url")
    @classmethod
    def _known_source(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                source_kind(value)
            except ConfigurationError as error:
                raise ValueError(str(error)) from None
        return value

    @property
    def display_name(self) -> str:
        return self.name or self.id


#: The consent text an event shows unless its file gives its own (``consent:``).
DEFAULT_CONSENT_TEXTS = {
    "en": (
        "I agree that this event's cameras may film me and that my face, from this photo, is "
        "used to find me in the footage and make my highlight video. My photo, face data and "
        "video are deleted after the event as the venue announces, or at once when I ask."
    ),
    "zh": (
        "我同意本活动的摄像机拍摄我，并同意使用这张照片中的面部信息在录像中找到我并制作我的精彩视频。"  # noqa: RUF001
        "我的照片、面部数据和视频将按场馆公布的期限在活动后删除，或在我要求时立即删除。"  # noqa: RUF001
    ),
}


class IngestSettings(BaseModel):
    """How ``scas ingest`` watches the event's recorders (``ingest:`` in the event file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Seconds without new data after which a recorder is restarted.
    stall_s: float = Field(default=20.0, gt=0, le=600)
    backoff_min_s: float = Field(default=1.0, gt=0, le=600)
    backoff_max_s: float = Field(default=30.0, gt=0, le=3600)
    #: Failed starts in a row after which a camera is reported offline (still retried).
    offline_after: int = Field(default=3, ge=1, le=100)


class ConsentText(BaseModel):
    """The consent text a visitor agrees to at enrollment, in every language offered. A
    changed text gets a new ``version``: each visitor's record keeps the version and the
    language they agreed to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(default="scas-2026-11", min_length=1, max_length=64)
    texts: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CONSENT_TEXTS))

    @field_validator("texts")
    @classmethod
    def _some_text(cls, value: dict[str, str]) -> dict[str, str]:
        if not value or not all(text.strip() for text in value.values()):
            raise ValueError("give the consent text in at least one language, none empty")
        return value

    def agreed(self, language: str, at: datetime) -> Consent:
        """The record of a visitor agreeing to this text, read in ``language``.

        >>> from datetime import UTC
        >>> ConsentText().agreed("zh", datetime(2026, 11, 22, tzinfo=UTC)).version
        'scas-2026-11'
        """
        from scas_lib.catalog.records import Consent

        if language not in self.texts:
            offered = ", ".join(sorted(self.texts))
            raise ConfigurationError(
                f"no consent text in {language!r}; this event offers {offered}"
            )
        return Consent(self.version, language, at)


class EventConfig(BaseModel):
    """One event file, validated. Unknown keys are an error (a misspelling shows)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = ""
    timezone: str = "UTC"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    #: Cron expression (in ``timezone``) for a recurring show, instead of starts_at/ends_at.
    schedule: str | None = None
    cameras: list[CameraConfig] = Field(default_factory=list)
    template: str = "default"
    #: Template fields to change for this event, e.g. ``{target_length_s: 45}``.
    template_overrides: dict[str, Any] = Field(default_factory=dict)
    #: RecognitionConfig fields to change for this event, e.g. ``{analysis_fps: 4}``.
    recognition: dict[str, Any] = Field(default_factory=dict)
    #: At most this many segments of this event are recognized at once (pool ``gpu``).
    #: What visitors agree to at enrollment (versioned, in several languages).
    consent: ConsentText = Field(default_factory=ConsentText)
    #: How long the event's personal data is kept after it is done (``scas purge``).
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy)
    gpu_slots: int = Field(default=1, ge=1, le=64)
    #: Segments one recognize task recognizes one after another, its models loaded once
    #: (each task's process pays the imports and the engine's load again): a wave is cut
    #: into batches of at most this many, and into ``gpu_slots`` batches when it has that
    #: many segments, so the slots are used (:func:`scas_lib.run.recognition.segment_batches`).
    recognize_batch: int = Field(default=8, ge=1, le=256)
    #: Seconds between two looks at the recordings bucket while waiting for segments.
    poll_interval_s: float = Field(default=5.0, gt=0, le=600)
    #: Seconds a live wave goes on recognizing the segments that arrive while it runs (its
    #: first recognize task takes them as they come), before the next wave takes over: no
    #: new run's task starts between a segment and its recognition, and an end marker that
    #: comes meanwhile ends the event in this run. Each handover costs about 7 s in which
    #: nothing is recognized (five task starts), a tenth of a 60 s wave. 0: one listing per
    #: wave.
    wave_s: float = Field(default=60.0, ge=0, le=3600)
    #: Retries of one segment's recognition before it counts as failed.
    recognize_retries: int = Field(default=2, ge=0, le=10)
    #: Seconds between two tries of a failed task.
    retry_delay_s: float = Field(default=30.0, ge=0, le=3600)
    #: The longest segment the cameras upload, in seconds: sets how long recognizing one
    #: may take before its task is stopped (:attr:`recognize_timeout_s`).
    segment_s: float = Field(default=60.0, gt=0, le=3600)
    #: How ``scas ingest`` restarts the cameras' recorders.
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    #: A visitor not seen for this many seconds of footage while the event runs has left:
    #: their video is made then, and made again if they come back (null: only at the end).
    leave_after_s: float | None = Field(default=120.0, gt=0, le=86400)

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return keys.validate_id(value, "event id")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("recognition")
    @classmethod
    def _known_recognition_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - _RECOGNITION_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown recognition settings {unknown}; "
                f"known: {', '.join(sorted(_RECOGNITION_FIELDS))}"
            )
        RecognitionConfig(**value)  # types and ranges: a ValueError names the setting
        return value

    @model_validator(mode="after")
    def _one_way_to_run(self) -> EventConfig:
        zone = self.tz
        for name in ("starts_at", "ends_at"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                object.__setattr__(self, name, moment.replace(tzinfo=zone))
        if self.schedule and (self.starts_at or self.ends_at):
            raise ValueError("give either a cron schedule or starts_at/ends_at, not both")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.schedule and len(self.schedule.split()) != 5:
            raise ValueError(f"schedule {self.schedule!r} is not a 5-field cron expression")
        ids = [camera.id for camera in self.cameras]
        if len(ids) != len(set(ids)):
            raise ValueError(f"camera ids repeat: {ids}")
        return self

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    @property
    def dag_id(self) -> str:
        return f"scas_{self.id}"

    @property
    def display_name(self) -> str:
        return self.name or self.id

    @property
    def recurring(self) -> bool:
        return self.schedule is not None

    @property
    def max_attempts(self) -> int:
        """Tries of one segment before it is given up on: the first and its retries."""
        return self.recognize_retries + 1

    @property
    def recognize_timeout_s(self) -> float:
        """How long one segment's recognition may take: five minutes to start (models,
        download), then a fifth of real time (it runs at about 3.5x on two cores)."""
        return 300.0 + 5.0 * self.segment_s

    @property
    def recognize_batch_timeout_s(self) -> float:
        """How long one recognize task may take: its start once, then a fifth of real time
        for each of the ``recognize_batch`` segments it may be given, and the wave's time
        for the segments that arrive meanwhile with one more segment's."""
        return 300.0 + 5.0 * self.segment_s * (self.recognize_batch + 1) + self.wave_s

    def recognition_config(self) -> RecognitionConfig:
        """The recognition settings with this event's overrides applied."""
        return RecognitionConfig(**self.recognition)

    def occurrence_id(self, show_start: datetime | None = None) -> str:
        """The event id in the catalog and the object store for one run.

        A one-off event is always its own id. A recurring show gets one id per show, from
        the show's local start time (``expo-20261122-1000``), so each show has its own
        recordings prefix, end marker and videos.
        """
        if not self.recurring or show_start is None:
            return self.id
        local = show_start.astimezone(self.tz)
        return keys.validate_id(f"{self.id}-{local:%Y%m%d-%H%M}", "event id")


def events_dir() -> Path:
    """The event files' directory: ``SCAS_EVENTS_DIR`` or the repository's config/events."""
    configured = os.environ.get(EVENTS_DIR_VARIABLE)
    return Path(configured).expanduser() if configured else DEFAULT_EVENTS_DIR


def event_templates_dir(directory: Path | None = None) -> Path:
    """The venue's own templates: ``templates/`` beside the event files in ``directory``
    (default :func:`events_dir`)."""
    return (directory or events_dir()) / TEMPLATES_FOLDER


def show_parent_id(event_id: str) -> str | None:
    """The id of the recurring event whose show ``event_id`` would be
    (``<id>-YYYYMMDD-HHMM``, see :meth:`EventConfig.occurrence_id`), else None.

    >>> show_parent_id("night-show-20261122-2000"), show_parent_id("expo")
    ('night-show', None)
    """
    match = _SHOW_ID.fullmatch(event_id)
    if not match:
        return None
    try:
        datetime.strptime(match["time"], "%Y%m%d-%H%M")
    except ValueError:
        return None
    return match["event"]
