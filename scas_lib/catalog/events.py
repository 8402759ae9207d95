"""The ``events`` and ``cameras`` tables: what each event is, its status, and its cameras.

Every write is idempotent: upserts are keyed on the event's and camera's ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from scas_lib.catalog.database import Database
from scas_lib.catalog.records import Camera, Event, EventStatus


class EventRepository:
    """Reads and writes events and their cameras."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert(self, event: Event) -> None:
        self._db.execute(
            """INSERT INTO events (id, name, starts_at, ends_at, timezone, status)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,
                   starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at,
                   timezone = EXCLUDED.timezone, updated_at = now()""",
            (event.id, event.name, event.starts_at, event.ends_at, event.timezone, event.status),
        )

    def ensure(self, event_id: str) -> None:
        """Create the event (named by its id) unless it exists; never changes it."""
        self._db.execute(
            "INSERT INTO events (id, name) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
            (event_id, event_id),
        )

    def get(self, event_id: str) -> Event | None:
        found = self._select("id = %s", (event_id,))
        return found[0] if found else None

    def all(self) -> list[Event]:
        return self._select("true", ())

    def _select(self, where: str, params: Sequence[Any]) -> list[Event]:
        rows = self._db.execute(
            f"""SELECT id, name, starts_at, ends_at, timezone, status, done_at, closed_end_at
                FROM events
                WHERE {where} ORDER BY id""",
            params,
        )
        return [Event(*row) for row in rows]

    def set_status(self, event_id: str, status: EventStatus) -> None:
        """Set the event's status; ``done`` also stamps ``done_at`` (see :class:`Event`)."""
        self._db.execute(
            """UPDATE events SET status = %s, updated_at = now(),
                   done_at = CASE WHEN %s = 'done' THEN now() ELSE done_at END
               WHERE id = %s""",
            (status, status, event_id),
        )

    def close_run(self, event_id: str, end_marker_at: datetime) -> None:
        """Record that the event's videos were published after the end marker of
        ``end_marker_at`` (see :attr:`Event.closed_end_at`); never moves it back."""
        self._db.execute(
            """UPDATE events SET closed_end_at = greatest(closed_end_at, %s), updated_at = now()
               WHERE id = %s""",
            (end_marker_at, event_id),
        )

    def upsert_camera(self, camera: Camera) -> None:
        self._db.execute(
            """INSERT INTO cameras (event_id, id, name, kind) VALUES (%s, %s, %s, %s)
               ON CONFLICT (event_id, id) DO UPDATE SET name = EXCLUDED.name,
                   kind = EXCLUDED.kind""",
            (camera.event_id, camera.id, camera.name, camera.kind),
        )

    def ensure_camera(self, event_id: str, camera_id: str) -> None:
        """Create the camera (named by its id) unless it exists; never changes it."""
        self._db.execute(
            """INSERT INTO cameras (event_id, id, name) VALUES (%s, %s, %s)
               ON CONFLICT (event_id, id) DO NOTHING""",
            (event_id, camera_id, camera_id),
        )

    def cameras(self, event_id: str) -> list[Camera]:
        rows = self._db.execute(
            "SELECT event_id, id, name, kind FROM cameras WHERE event_id = %s ORDER BY id",
            (event_id,),
        )
        return [Camera(*row) for row in rows]
