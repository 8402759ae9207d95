"""The records a run passes between its steps (and, as plain dicts, between its
Airflow tasks through XCom): what one run does (:class:`RunRequest`, :class:`EventRun`),
what a wave has to do (:class:`Wave`), what a recognize task goes on with
(:class:`FollowOn`) and what it did (:class:`BatchOutcome`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from scas_lib.events import EventConfig

if TYPE_CHECKING:  # for annotations only: the services and the stages load at run time
    from scas_lib.recognition.records import SegmentOutcome
    from scas_lib.run.timing import SegmentTiming


Mode = Literal["live", "camera", "render"]


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
    #: How long a segment may stay ``processing`` without its worker renewing the lease
    #: before the worker is taken for dead and the segment reclaimed
    #: (:data:`~scas_lib.recognition.lease.SEGMENT_LEASE_S`; 0: never); a task recognizing
    #: a batch marks each segment ``processing`` only while it works on it.
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


@dataclass(frozen=True)
class FollowOn:
    """A live wave's first recognize task goes on with the segments that arrive while the
    wave runs (:func:`~scas_lib.run.recognition.arrivals`), until ``until``
    (``time.monotonic()``) or the event's end. Why: between a segment's upload and its
    recognition, a new wave pays the start of five tasks (about 7 s: docs/benchmarks-history.md,
    "Time to highlight"), and the end's last segments would wait for a whole wave."""

    #: The wave's own segments, every batch's: the other tasks of the wave take those.
    listed: frozenset[str]
    until: float
    poll_s: float


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


@dataclass(frozen=True)
class AnalysisRun:
    """What one run of the ``scas_analysis`` DAG analyses: the upload at ``source_key`` of
    the analyses bucket, named against the enrolled visitors of ``event_id`` (nobody when
    None), in pieces of about ``piece_s`` (None: the settings')."""

    analysis_id: str
    source_key: str
    event_id: str | None = None
    piece_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalysisRun:
        return cls(**data)


@dataclass(frozen=True)
class StoredPiece:
    """One piece of an analysed video in the analyses bucket: where it lies in the video."""

    index: int
    key: str
    start_s: float
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoredPiece:
        return cls(**data)
