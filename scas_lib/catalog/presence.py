"""When each visitor of an event was last seen, from the catalog (progressive delivery:
:mod:`scas_lib.highlights.departures` decides who has left)."""

from __future__ import annotations

from datetime import datetime

from scas_lib.catalog.access import _execute
from scas_lib.catalog.repository import Catalog


def last_seen(catalog: Catalog, event_id: str) -> dict[str, datetime]:
    """Each visitor's latest moment on any camera: the end of their last track. Tracks an
    operator corrected away still count here: they can only make a visitor seem to stay
    longer, so their video comes no earlier than it should."""
    rows = _execute(
        catalog,
        """SELECT visitor_id, max(end_time) FROM tracks
           WHERE event_id = %s AND visitor_id IS NOT NULL GROUP BY visitor_id""",
        (event_id,),
    )
    return {visitor: seen for visitor, seen in rows}
