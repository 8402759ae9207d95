""" "Not this person" corrections (migration 0010, the ``moment_corrections`` table): the
moments an operator said were someone else, by camera and time (applied by
:mod:`scas_lib.highlights.appearances`)."""

from __future__ import annotations

from scas_lib.catalog.database import Database
from scas_lib.catalog.records import MomentCorrection


class CorrectionRepository:
    """Records and lists moment corrections; they are kept across re-recognition."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, event_id: str, correction: MomentCorrection) -> None:
        """Record that ``correction``'s moment is not its visitor."""
        self._db.execute(
            """INSERT INTO moment_corrections
                   (event_id, visitor_id, camera_id, start_time, end_time)
               VALUES (%s, %s, %s, %s, %s)""",
            (event_id, correction.visitor_id, correction.camera_id, correction.start_time,
             correction.end_time),
        )  # fmt: skip

    def for_event(self, event_id: str, visitor_id: str | None = None) -> list[MomentCorrection]:
        """The event's corrections (one visitor's, if given), oldest first."""
        where, params = "event_id = %s", [event_id]
        if visitor_id:
            where, params = where + " AND visitor_id = %s", [event_id, visitor_id]
        rows = self._db.execute(
            f"""SELECT visitor_id, camera_id, start_time, end_time FROM moment_corrections
                WHERE {where} ORDER BY id""",
            params,
        )
        return [MomentCorrection(*row) for row in rows]
