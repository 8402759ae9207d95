"""The playback's query: the face tracks recognition stored for some segments of one camera
(their face paths, migration 0003), with the names of the visitors they were given to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scas_lib.catalog.access import _execute
from scas_lib.catalog.repository import _TRACK_COLUMNS, Catalog, _face_track
from scas_lib.tracks import FaceTrack


@dataclass(frozen=True)
class SegmentTrack:
    """A stored track of a segment, with its visitor's name (None: nobody's)."""

    segment_key: str
    track: FaceTrack
    display_name: str | None


def segment_tracks(
    catalog: Catalog, event_id: str, segment_keys: Sequence[str]
) -> list[SegmentTrack]:
    """Every track of these segments (identified or not), by segment and track number."""
    rows = _execute(
        catalog,
        f"""SELECT s.object_key, v.display_name, {_TRACK_COLUMNS}
            FROM tracks t JOIN segments s ON s.id = t.segment_id
            LEFT JOIN visitors v ON v.event_id = t.event_id AND v.id = t.visitor_id
            WHERE s.event_id = %s AND s.object_key = ANY(%s)
            ORDER BY s.start_time, t.track_index""",
        (event_id, list(segment_keys)),
    )
    return [SegmentTrack(row[0], _face_track(row[2:]), row[1]) for row in rows]
