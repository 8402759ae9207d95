"""Plain records the catalog stores and returns. Times are timezone-aware UTC datetimes.

Face tracks are :class:`scas_lib.tracks.FaceTrack`, the record every stage shares. Kiosk
and visitor page credentials are described in :mod:`scas_lib.catalog.tokens`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from scas_lib.tracks import FaceTrack

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
    #: The second, separate consent (migration 0014): remember me for future events. Off
    #: unless the visitor ticked it; only then is the visitor ever matched across events.
    remember: bool = False


@dataclass(frozen=True)
class EarlierVisit:
    """A visitor of another event who may be the same person: they too consented to be
    remembered, and their enrollment is within the calibrated match threshold."""

    event_id: str
    visitor_id: str
    display_name: str
    #: Cosine similarity of the closest pair of enrollments (higher is closer).
    similarity: float


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
class RecognitionProgress:
    """How far recognition is with an event's footage: the segments that arrived (pushed by
    ``scas ingest``, or in the catalog another way) and those of them recognized (done, or
    failed for good).

    >>> RecognitionProgress(40, 10).percent, RecognitionProgress(0, 0).finished
    (25, True)
    """

    arrived: int
    recognized: int

    @property
    def finished(self) -> bool:
        return self.recognized >= self.arrived

    @property
    def percent(self) -> int:
        """Rounded down: 100 only once every segment is recognized."""
        return 100 if self.finished else self.recognized * 100 // self.arrived


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


@dataclass(frozen=True)
class MomentCorrection:
    """ "Not this person": the visitor's tracks on ``camera_id`` that overlap this time are
    someone else's (migration 0010; applied by :mod:`scas_lib.highlights.appearances`)."""

    visitor_id: str
    camera_id: str
    start_time: datetime
    end_time: datetime

    def covers(self, track: FaceTrack) -> bool:
        return (
            track.visitor_id == self.visitor_id
            and track.camera_id == self.camera_id
            and track.start_time < self.end_time
            and track.end_time > self.start_time
        )


@dataclass(frozen=True)
class Sightings:
    """When and where an enrolled visitor was recognized."""

    visitor_id: str
    tracks: int
    cameras: list[str]
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True)
class SegmentTrack:
    """A stored track of a segment, with its visitor's name (None: nobody's)."""

    segment_key: str
    track: FaceTrack
    display_name: str | None


@dataclass(frozen=True)
class ScreenEntry:
    """One finished video the big screen plays."""

    visitor_id: str
    display_name: str
    #: When the video was last (re-)rendered: the screen plays the newest first.
    updated_at: datetime
    #: The screen link's token: ``/v/<token>`` is the visitor's page.
    token: str


@dataclass(frozen=True)
class Kiosk:
    """A paired kiosk (its token is never stored, see :mod:`scas_lib.catalog.tokens`)."""

    id: str
    event_id: str
    label: str
    per_minute: float
    burst: int
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class KioskPairing:
    """A new kiosk and its token, which exists only here: show it once."""

    kiosk: Kiosk
    token: str = field(repr=False)


@dataclass(frozen=True)
class VisitorPage:
    event_id: str
    visitor_id: str
    kiosk_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class VisitorPageIssue:
    """A visitor's new page credentials, shown once (QR code and short code)."""

    page: VisitorPage
    token: str = field(repr=False)
    code: str = field(repr=False)
