"""The ``appearances`` and ``outputs`` tables: when each visitor appears on which camera,
and each visitor's highlight video (its status, objects and plan); and the published videos
the big screen plays.

A visitor's appearances are replaced in one transaction, and outputs are upserted on the
visitor, so a retried task leaves exactly one set of rows."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg2.extras

from scas_lib.catalog.database import Database
from scas_lib.catalog.records import Appearance, Output, ScreenEntry
from scas_lib.catalog.visitor_pages import VisitorPageRepository


class OutputRepository:
    """Reads and writes appearances and highlight outputs."""

    def __init__(self, db: Database, visitor_pages: VisitorPageRepository) -> None:
        self._db = db
        self._visitor_pages = visitor_pages

    def replace_appearances(
        self, event_id: str, visitor_id: str, appearances: Iterable[Appearance]
    ) -> None:
        """Replace a visitor's appearances in one transaction."""
        with self._db.transaction() as cur:
            cur.execute(
                "DELETE FROM appearances WHERE event_id = %s AND visitor_id = %s",
                (event_id, visitor_id),
            )
            rows = []
            for appearance in appearances:
                if appearance.visitor_id != visitor_id:
                    raise ValueError(
                        f"appearance of {appearance.visitor_id!r} given for {visitor_id!r}"
                    )
                rows.append(
                    (
                        event_id,
                        visitor_id,
                        appearance.camera_id,
                        appearance.start_time,
                        appearance.end_time,
                        appearance.score,
                    )
                )
            psycopg2.extras.execute_values(
                cur,
                """INSERT INTO appearances
                       (event_id, visitor_id, camera_id, start_time, end_time, score)
                   VALUES %s""",
                rows,
            )

    def appearances(self, event_id: str, visitor_id: str) -> list[Appearance]:
        rows = self._db.execute(
            """SELECT visitor_id, camera_id, start_time, end_time, score FROM appearances
               WHERE event_id = %s AND visitor_id = %s ORDER BY start_time, camera_id""",
            (event_id, visitor_id),
        )
        return [Appearance(*row) for row in rows]

    def upsert(self, output: Output) -> None:
        self._db.execute(
            """INSERT INTO outputs (event_id, visitor_id, status, object_key, poster_key,
                   duration_s, template, error, plan_digest)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (event_id, visitor_id) DO UPDATE SET status = EXCLUDED.status,
                   object_key = EXCLUDED.object_key, poster_key = EXCLUDED.poster_key,
                   duration_s = EXCLUDED.duration_s, template = EXCLUDED.template,
                   error = EXCLUDED.error, plan_digest = EXCLUDED.plan_digest,
                   updated_at = now()""",
            (
                output.event_id,
                output.visitor_id,
                output.status,
                output.object_key,
                output.poster_key,
                output.duration_s,
                output.template,
                output.error,
                output.plan_digest,
            ),
        )

    def reclaim_stale(self, event_id: str, lease_s: float) -> list[str]:
        """Outputs ``rendering`` for longer than ``lease_s`` (their render was killed
        without a word) become ``failed`` (an earlier video they point to stays); return
        their visitor ids."""
        rows = self._db.execute(
            """UPDATE outputs SET status = 'failed', updated_at = now(),
                   error = 'its render stopped without finishing (the worker was killed?)'
               WHERE event_id = %s AND status = 'rendering'
                 AND updated_at < now() - make_interval(secs => %s)
               RETURNING visitor_id""",
            (event_id, lease_s),
        )
        return sorted(row[0] for row in rows)

    def get(self, event_id: str, visitor_id: str) -> Output | None:
        found = [o for o in self.for_event(event_id) if o.visitor_id == visitor_id]
        return found[0] if found else None

    def for_event(self, event_id: str) -> list[Output]:
        rows = self._db.execute(
            """SELECT event_id, visitor_id, status, object_key, poster_key, duration_s,
                      template, error, plan_digest
               FROM outputs WHERE event_id = %s ORDER BY visitor_id""",
            (event_id,),
        )
        return [Output(*row) for row in rows]

    def published(self, event_id: str) -> list[ScreenEntry]:
        """The event's published videos (also while one is rendered again), newest first,
        each with its visitor's screen link (made here on first use), as the big screen
        plays them."""
        rows = self._db.execute(
            """SELECT o.visitor_id, v.display_name, o.updated_at, l.token
               FROM outputs o JOIN visitors v ON v.event_id = o.event_id AND v.id = o.visitor_id
               LEFT JOIN screen_links l ON l.event_id = o.event_id AND l.visitor_id = o.visitor_id
               WHERE o.event_id = %s AND o.object_key IS NOT NULL
                 AND o.status IN ('done', 'rendering', 'failed')  -- (rendered again: still shown)
               ORDER BY o.updated_at DESC, o.visitor_id""",
            (event_id,),
        )
        return [
            ScreenEntry(
                visitor, name, updated, token or self._visitor_pages.screen_link(event_id, visitor)
            )
            for visitor, name, updated, token in rows
        ]
