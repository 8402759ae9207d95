"""The object key layout, as pure functions (no I/O).

::

    recordings/<event>/<camera>/<UTC start time>.mp4   camera segments
    recordings/<event>/_control/start|end              event control markers
    enrollments/<event>/<visitor>/<n>.jpg              kiosk photos
    highlights/<event>/<visitor>.mp4 (+ .jpg poster)   finished videos

The bucket is the first path component; these functions build the key inside it. A segment's
start time is written in UTC with microseconds (``20261122T054445.250000Z``) so that keys sort
in recording order. Camera ids never start with ``_``, so ``_control`` cannot clash.

>>> from datetime import datetime, timezone
>>> key = segment_key("expo", "cam1", datetime(2026, 11, 22, 5, 44, 45, 250000, timezone.utc))
>>> key
'expo/cam1/20261122T054445.250000Z.mp4'
>>> parsed = parse_segment_key(key)
>>> parsed.camera_id, parsed.start_time.isoformat()
('cam1', '2026-11-22T05:44:45.250000+00:00')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from scas_lib.errors import InvalidId

ControlMarker = Literal["start", "end"]

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"
_SEGMENT_EXTENSIONS = ("mp4", "mkv", "ts")
_SEGMENT_KEY = re.compile(
    r"^(?P<event>[^/]+)/(?P<camera>[^/_][^/]*)/(?P<time>\d{8}T\d{6}\.\d{6}Z)\.(?P<ext>[a-z0-9]+)$"
)


def id_problem(value: object, what: str = "id") -> str | None:
    """Why ``value`` is not a valid event, camera or visitor id, or None if it is one.

    Ids are lower-case letters, digits, ``-`` and ``_``, at most 63 characters, starting with
    a letter or digit: safe in object keys, URLs, file names and Airflow DAG ids.

    >>> id_problem("cam1") is None
    True
    >>> id_problem("Cam 2", "camera id").split(":")[0]
    "invalid camera id 'Cam 2'"
    """
    if isinstance(value, str) and _ID.fullmatch(value):
        return None
    return (
        f"invalid {what} {value!r}: use 1-63 lower-case letters, digits, '-' or '_', "
        "starting with a letter or digit"
    )


def validate_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a valid id (:func:`id_problem`), else raise
    :class:`~scas_lib.errors.InvalidId` (a ScasError and a ValueError)."""
    problem = id_problem(value, what)
    if problem:
        raise InvalidId(problem)
    return value


def format_utc(moment: datetime) -> str:
    """``moment`` in the key time format; naive datetimes are rejected (one clock: UTC)."""
    if moment.tzinfo is None:
        raise ValueError("segment start times must be timezone-aware (UTC)")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def segment_key(event_id: str, camera_id: str, start_time: datetime, extension: str = "mp4") -> str:
    """Key of a camera segment inside the recordings bucket."""
    if extension not in _SEGMENT_EXTENSIONS:
        raise ValueError(f"unsupported segment extension {extension!r}")
    return (
        f"{validate_id(event_id, 'event id')}/{validate_id(camera_id, 'camera id')}/"
        f"{format_utc(start_time)}.{extension}"
    )


@dataclass(frozen=True)
class SegmentKey:
    event_id: str
    camera_id: str
    start_time: datetime
    extension: str


def parse_segment_key(key: str) -> SegmentKey | None:
    """The parts of a segment key, or None if ``key`` is not one (a control marker, say)."""
    match = _SEGMENT_KEY.match(key)
    if not match or match["ext"] not in _SEGMENT_EXTENSIONS:
        return None
    start = datetime.strptime(match["time"], _TIME_FORMAT).replace(tzinfo=UTC)
    return SegmentKey(match["event"], match["camera"], start, match["ext"])


def segment_camera_problem(key: str, metadata: dict[str, str]) -> str | None:
    """Why a segment cannot belong to a camera (its camera id, from the key or the
    ``camera`` metadata, is not a valid id), or None.

    >>> key = "expo/cam1/20261122T054445.250000Z.mp4"
    >>> segment_camera_problem(key, {"camera": "cam2"}) is None
    True
    >>> segment_camera_problem(key, {"camera": "Cam 2"}).split(":")[:2]
    ['camera metadata', " invalid camera id 'Cam 2'"]
    >>> segment_camera_problem("expo/Cam 2/20261122T054445.250000Z.mp4", {}).split(":")[0]
    'segment key'
    """
    parsed = parse_segment_key(key)
    if parsed is not None and (problem := id_problem(parsed.camera_id, "camera id")):
        return f"segment key: {problem}"
    if "camera" in metadata and (problem := id_problem(metadata["camera"], "camera id")):
        return f"camera metadata: {problem}"
    return None


def event_recordings_prefix(event_id: str) -> str:
    """Prefix under which all of an event's segments and markers live."""
    return f"{validate_id(event_id, 'event id')}/"


def control_prefix(event_id: str) -> str:
    """Prefix of an event's control markers inside the recordings bucket."""
    return f"{validate_id(event_id, 'event id')}/_control/"


def control_marker_key(event_id: str, marker: ControlMarker) -> str:
    """Key of an event's start or end marker inside the recordings bucket."""
    if marker not in ("start", "end"):
        raise ValueError(f"unknown control marker {marker!r}")
    return f"{control_prefix(event_id)}{marker}"


def enrollment_photo_key(event_id: str, visitor_id: str, index: int) -> str:
    """Key of a visitor's ``index``-th kiosk photo inside the enrollments bucket."""
    if index < 0:
        raise ValueError("photo index must be >= 0")
    return (
        f"{validate_id(event_id, 'event id')}/{validate_id(visitor_id, 'visitor id')}/{index}.jpg"
    )


def visitor_enrollment_prefix(event_id: str, visitor_id: str) -> str:
    """Prefix of all of a visitor's kiosk photos (for listing and privacy deletion)."""
    return f"{validate_id(event_id, 'event id')}/{validate_id(visitor_id, 'visitor id')}/"


def highlight_key(event_id: str, visitor_id: str) -> str:
    """Key of a visitor's highlight video inside the highlights bucket."""
    return f"{validate_id(event_id, 'event id')}/{validate_id(visitor_id, 'visitor id')}.mp4"


def poster_key(event_id: str, visitor_id: str) -> str:
    """Key of the poster image that goes with :func:`highlight_key`."""
    return f"{validate_id(event_id, 'event id')}/{validate_id(visitor_id, 'visitor id')}.jpg"


def edit_plan_key(event_id: str, visitor_id: str) -> str:
    """Key of the edit plan (JSON) a highlight was rendered from."""
    return f"{validate_id(event_id, 'event id')}/{validate_id(visitor_id, 'visitor id')}.plan.json"


def vertical_key(event_id: str, visitor_id: str) -> str:
    """Key of the 9:16 version of a highlight (when its template asks for one)."""
    return (
        f"{validate_id(event_id, 'event id')}/{validate_id(visitor_id, 'visitor id')}.vertical.mp4"
    )


def frames_key(event_id: str, visitor_id: str) -> str:
    """Key of the record of what each frame of a highlight (and of its 9:16 version) shows:
    which camera frame, through which window (:mod:`scas_lib.highlights.shown`)."""
    return (
        f"{validate_id(event_id, 'event id')}/{validate_id(visitor_id, 'visitor id')}.frames.json"
    )


def moments_prefix(event_id: str, visitor_id: str) -> str:
    """The prefix of a highlight's moment thumbnails (:func:`moment_key`): as many as its
    plan has clips, so they are found, and deleted, by this prefix.

    >>> moments_prefix("expo", "ana"), moment_key("expo", "ana", 2)
    ('expo/ana.moment-', 'expo/ana.moment-02.jpg')
    >>> moment_key("expo", "ana2", 0).startswith(moments_prefix("expo", "ana"))
    False
    """
    return f"{validate_id(event_id, 'event id')}/{validate_id(visitor_id, 'visitor id')}.moment-"


def moment_key(event_id: str, visitor_id: str, index: int) -> str:
    """Key of the thumbnail of the ``index``-th clip (from 0) of a visitor's highlight."""
    if not 0 <= index < 100:
        raise ValueError(f"moment index {index} out of range")
    return f"{moments_prefix(event_id, visitor_id)}{index:02d}.jpg"


def highlight_keys(event_id: str, visitor_id: str) -> list[str]:
    """The objects of known name the highlights bucket may hold for a visitor (for privacy
    deletion; their moments' thumbnails are under :func:`moments_prefix`).

    >>> [key.removeprefix("expo/ana") for key in highlight_keys("expo", "ana")]
    ['.mp4', '.jpg', '.plan.json', '.vertical.mp4', '.frames.json']
    """
    return [
        highlight_key(event_id, visitor_id),
        poster_key(event_id, visitor_id),
        edit_plan_key(event_id, visitor_id),
        vertical_key(event_id, visitor_id),
        frames_key(event_id, visitor_id),
    ]


def analysis_prefix(analysis_id: str) -> str:
    """Prefix of everything of one analysis run by Airflow in the analyses bucket: the
    upload (``source.<ext>``), its ``pieces/``, their ``tracks/`` and the ``result/``."""
    if not analysis_id.isalnum():
        raise ValueError(f"an analysis id is letters and digits, not {analysis_id!r}")
    return f"{analysis_id}/"


def analysis_piece_key(analysis_id: str, index: int, kind: Literal["pieces", "tracks"]) -> str:
    """Key of the ``index``-th piece of an analysed video, or of the tracks found in it.

    >>> analysis_piece_key("3f2a", 7, "tracks")
    '3f2a/tracks/007.json'
    """
    extension = "ts" if kind == "pieces" else "json"
    return f"{analysis_prefix(analysis_id)}{kind}/{index:03d}.{extension}"


KeyKind = Literal["recording", "enrollment", "highlight"]
_CONTROL_KEY = re.compile(r"^[^/]+/_control/(start|end)$")
_ENROLLMENT_KEY = re.compile(r"^[^/]+/[^/_][^/]*/\d+\.jpg$")
_HIGHLIGHT_KEY = re.compile(r"^[^/]+/[^/]+\.(mp4|jpg|plan\.json|frames\.json)$")


def key_kind(key: str) -> KeyKind | None:
    """Which part of the layout an object key belongs to, or None for a key SCAS does not
    write. The buckets may be one (the tests' setup, a small deployment): the kind
    lets a purge delete one kind of an event's objects and leave the others.

    >>> [key_kind(k) for k in ("expo/cam1/20261122T054445.250000Z.mp4", "expo/_control/end",
    ...                        "expo/ana/0.jpg", "expo/ana.vertical.mp4", "expo/notes.txt")]
    ['recording', 'recording', 'enrollment', 'highlight', None]
    >>> key_kind("expo/ana.frames.json")
    'highlight'
    """
    if parse_segment_key(key) or _CONTROL_KEY.match(key):
        return "recording"
    if _ENROLLMENT_KEY.match(key):
        return "enrollment"
    if _HIGHLIGHT_KEY.match(key):
        return "highlight"
    return None
