""" "Not this person" corrections in the catalog (migration 0010): the moments an operator
said were someone else, by camera and time (see :mod:`scas_lib.highlights.appearances`)."""

from __future__ import annotations

from scas_lib.catalog.access import _execute
from scas_lib.catalog.repository import Catalog
from scas_lib.highlights.appearances import MomentCorrection


def add_correction(catalog: Catalog, event_id: str, correction: MomentCorrection) -> None:
    """Record that ``correction``'s moment is not its visitor (kept across re-recognition)."""
    _execute(
        catalog,
        """INSERT INTO moment_corrections (event_id, visitor_id, camera_id, start_time, end_time)
           VALUES (%s, %s, %s, %s, %s)""",
        (event_id, correction.visitor_id, correction.camera_id, correction.start_time,
         correction.end_time),
    )  # fmt: skip


def list_corrections(
    catalog: Catalog, event_id: str, visitor_id: str | None = None
) -> list[MomentCorrection]:
    """The event's corrections (one visitor's, if given), oldest first."""
    where, params = "event_id = %s", [event_id]
    if visitor_id:
        where, params = where + " AND visitor_id = %s", [event_id, visitor_id]
    rows = _execute(
        catalog,
        f"""SELECT visitor_id, camera_id, start_time, end_time FROM moment_corrections
            WHERE {where} ORDER BY id""",
        params,
    )
    return [MomentCorrection(*row) for row in rows]
