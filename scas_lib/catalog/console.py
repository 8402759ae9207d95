"""The operator console's catalog queries: what each visitor's tracks say about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scas_lib.catalog.access import _execute
from scas_lib.catalog.repository import Catalog


@dataclass(frozen=True)
class Sightings:
    """When and where an enrolled visitor was recognized."""

    visitor_id: str
    tracks: int
    cameras: list[str]
    first_seen: datetime | None
    last_seen: datetime | None


def visitor_sightings(catalog: Catalog, event_id: str) -> dict[str, Sightings]:
    """Each recognized visitor's tracks: how many, on which cameras, first and last segment
    start (visitors never recognized are absent)."""
    rows = _execute(
        catalog,
        """SELECT t.visitor_id, count(*), array_agg(DISTINCT s.camera_id ORDER BY s.camera_id),
                  min(s.start_time), max(s.start_time)
           FROM tracks t JOIN segments s ON s.id = t.segment_id
           WHERE t.event_id = %s AND t.visitor_id IS NOT NULL
           GROUP BY t.visitor_id""",
        (event_id,),
    )
    return {row[0]: Sightings(row[0], row[1], list(row[2]), row[3], row[4]) for row in rows}
