"""Playback of one camera between two times, as recognition saw it: the camera's segments
in order, each a presigned link to the stored MP4 (played as they are, one after the other:
nothing is re-encoded), with the face paths of the tracks recognition stored for it and the
names of the visitors they were given to. The page (static/playback.js) draws each track's
box over the video at the time of its samples.

A segment's start is in its key; its length is the ``duration`` its uploader (``scas
ingest``, ``scas replay``, ``scas upload``) stored with it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from scas_lib.run import waves
from scas_lib.storage import keys
from scas_lib.web.context import WebContext
from scas_lib.web.errors import ApiError

#: The longest span one playback covers (a few hundred segments at most).
MAX_SPAN = timedelta(hours=2)
#: How far before ``start`` a segment may begin and still reach into the span.
LONGEST_SEGMENT = timedelta(minutes=10)


@dataclass(frozen=True)
class PlaybackSample:
    """Where a face was: ``offset_s`` from the segment's first frame, ``box`` as
    ``(x1, y1, x2, y2)`` in the frame's pixels."""

    offset_s: float
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class PlaybackTrack:
    """A face track of a segment: its visitor (None for a stranger) and its face path."""

    index: int
    visitor_id: str | None
    display_name: str | None
    similarity: float | None
    frame_width: int
    frame_height: int
    samples: list[PlaybackSample]


@dataclass(frozen=True)
class PlaybackSegment:
    key: str
    start_time: datetime
    duration_s: float
    #: A presigned GET of the segment (valid ``SCAS_PRESIGN_EXPIRY_S``).
    url: str
    tracks: list[PlaybackTrack]


@dataclass(frozen=True)
class Playback:
    event_id: str
    camera_id: str
    start: datetime
    end: datetime
    segments: list[PlaybackSegment]


def media_origin(context: WebContext) -> str:
    """Where the presigned links point (the playback page lets its video load from there)."""
    parts = urlsplit(context.services.s3.endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def camera_playback(
    context: WebContext, event_id: str, camera_id: str, start: datetime, end: datetime
) -> Playback:
    """The camera's segments that overlap ``[start, end]``, oldest first, with their tracks."""
    keys.validate_id(event_id, "event id")
    keys.validate_id(camera_id, "camera id")
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(422, "invalid_request", "start and end need a time zone")
    if not start < end <= start + MAX_SPAN:
        raise ApiError(422, "invalid_request", f"end must be after start, by at most {MAX_SPAN}")
    services = context.services
    store = services.object_store()
    bucket = services.settings.bucket_recordings
    expiry = timedelta(seconds=services.settings.presign_expiry_s)
    found = []
    for key in waves.segment_keys(services, event_id, camera_id):
        parsed = keys.parse_segment_key(key)
        if parsed is None or not start - LONGEST_SEGMENT < parsed.start_time < end:
            continue
        duration = store.stat(bucket, key).metadata.get("duration")
        duration_s = float(duration) if duration else 0.0
        if parsed.start_time + timedelta(seconds=duration_s) > start:
            found.append((parsed.start_time, key, duration_s))
    found.sort()
    with services.catalog() as catalog:
        stored = catalog.tracks.of_segments(event_id, [key for _, key, _ in found])
    tracks = defaultdict(list)
    for item in stored:
        track = item.track
        tracks[item.segment_key].append(
            PlaybackTrack(
                index=track.index,
                visitor_id=track.visitor_id,
                display_name=item.display_name,
                similarity=track.similarity,
                frame_width=track.frame_size[0],
                frame_height=track.frame_size[1],
                samples=[PlaybackSample(s.offset_s, s.box) for s in track.samples],
            )
        )
    segments = [
        PlaybackSegment(
            key, begin, duration_s, store.presigned_url(bucket, key, expiry), tracks[key]
        )
        for begin, key, duration_s in found
    ]
    return Playback(event_id, camera_id, start, end, segments)
