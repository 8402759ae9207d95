"""Plain records the catalog stores and returns. Times are timezone-aware UTC datetimes.

Face tracks are :class:`scas_lib.tracks.FaceTrack`, the record every stage shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

EventStatus = Literal["scheduled", "running", "ended", "done"]
SegmentStatus = Literal["pending", "processing", "done", "failed"]
#: ``forgotten`` is never stored: a render returns it when its visitor was forgotten meanwhile.
OutputStatus = Literal["rendering", "done", "failed", "not_seen", "forgotten"]
CameraKind = Literal["fixed", "robot"]


@dataclass(frozen=True)
class Event:
    id: str
    name: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    timezone: str = "UTC"
    status: EventStatus = "scheduled"
    #: When the event's videos were last published (status ``done``); retention counts
    #: from here.
    done_at: datetime | None = None
    #: The time of the end marker the videos were last published after (the object
    #: store's clock): that run is over, a later one waits for newer markers or segments.
    closed_end_at: datetime | None = None


@dataclass(frozen=True)
class Camera:
    event_id: str
    id: str
    name: str
    kind: CameraKind = "fixed"


@dataclass(frozen=True)
class Consent:
    """What a visitor agreed to: the event's consent text ``version``, read in ``language``
    (``en``, ``zh``, ...), at ``given_at``."""

    version: str
    language: str
    given_at: datetime


@dataclass(frozen=True)
class Visitor:
    event_id: str
    id: str
    display_name: str
    consent: Consent


@dataclass(frozen=True)
class Enrollment:
    event_id: str
    visitor_id: str
    photo_key: str
    model_pack: str
    embedding: tuple[float, ...]
    quality: float


@dataclass(frozen=True)
class Segment:
    id: int
    event_id: str
    #: None for a segment rejected because its camera id is invalid (then it is failed).
    camera_id: str | None
    object_key: str
    start_time: datetime
    duration_s: float | None
    status: SegmentStatus
    error: str | None
    attempts: int
    #: The ETag of the content last recognized (None for a row from before migration 0007).
    etag: str | None = None


@dataclass(frozen=True)
class Appearance:
    visitor_id: str
    camera_id: str
    start_time: datetime
    end_time: datetime
    score: float


@dataclass(frozen=True)
class Output:
    event_id: str
    visitor_id: str
    status: OutputStatus
    object_key: str | None = None
    poster_key: str | None = None
    duration_s: float | None = None
    template: str | None = None
    error: str | None = None
    #: What the latest render was for (:func:`scas_lib.highlights.stage.plan_digest`).
    plan_digest: str | None = None
