"""Camera health and lag in the catalog (migration 0008): what ``scas ingest`` reports and
what ``scas cameras`` and the operator console show. SQL over a :class:`Catalog`'s
connection; the decisions (states, gaps) come from :mod:`scas_lib.ingest.policy`.

The lag of a camera is how far recognition is behind what ingest pushed: the segments
pushed and not recognized yet (done or failed in ``segments``), and the seconds between the
end of the newest pushed segment and the end of the newest recognized one. A venue checks
with it that recognition keeps up in real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scas_lib.catalog import Catalog
from scas_lib.ingest.policy import ACTIVE_STATES, CameraState, Gap
from scas_lib.ingest.spool import SpooledSegment

#: A camera whose ingest has not reported for this long is not being ingested any more
#: (the process ended without saying so: killed, machine down).
STALE_AFTER_S = 60.0


@dataclass(frozen=True)
class CameraHealth:
    """One camera of an event, as the operator sees it."""

    event_id: str
    camera_id: str
    #: None when ``scas ingest`` never reported on this camera.
    state: CameraState | None
    source: str
    detail: str
    reconnects: int
    #: Finished segments waiting in ingest's spool (the object store was unreachable).
    spooled: int
    updated_at: datetime | None
    #: Segments that arrived: pushed by ``scas ingest`` or in the catalog another way
    #: (``scas upload``, ``scas replay``).
    segments_pushed: int
    last_segment_key: str | None
    last_segment_end: datetime | None
    gaps: int
    gap_s: float
    #: Pushed segments that recognition has not finished yet.
    lag_segments: int
    #: Seconds of footage pushed and not recognized yet (end of the newest pushed segment
    #: minus end of the newest recognized one).
    lag_s: float

    def ingesting(self, now: datetime) -> bool:
        """Whether ``scas ingest`` is still working on this camera: an active state,
        reported recently, or segments still in its spool."""
        if self.state is None or self.updated_at is None:
            return False
        fresh = now - self.updated_at < timedelta(seconds=STALE_AFTER_S)
        return fresh and (self.state in ACTIVE_STATES or self.spooled > 0)


def record_state(
    catalog: Catalog,
    event_id: str,
    camera_id: str,
    state: CameraState,
    *,
    source: str,
    detail: str = "",
    reconnects: int = 0,
    spooled: int = 0,
) -> None:
    """Save a camera's state (``source`` masked); creates the event and camera rows."""
    with catalog.connection as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO events (id, name) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
            (event_id, event_id),
        )
        cur.execute(
            "INSERT INTO cameras (event_id, id, name) VALUES (%s, %s, %s) "
            "ON CONFLICT (event_id, id) DO NOTHING",
            (event_id, camera_id, camera_id),
        )
        cur.execute(
            """INSERT INTO camera_health
                   (event_id, camera_id, state, source, detail, reconnects, spooled)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (event_id, camera_id) DO UPDATE SET state = EXCLUDED.state,
                   source = EXCLUDED.source, detail = EXCLUDED.detail,
                   reconnects = EXCLUDED.reconnects, spooled = EXCLUDED.spooled,
                   updated_at = now()""",
            (event_id, camera_id, state, source, detail, reconnects, spooled),
        )


def record_gap(catalog: Catalog, event_id: str, gap: Gap) -> None:
    """Save a gap in a camera's recording (once per start)."""
    with catalog.connection as conn, conn.cursor() as cur:
        cur.execute(
            """INSERT INTO camera_gaps (event_id, camera_id, start_time, end_time)
               VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
            (event_id, gap.camera_id, gap.start_time, gap.end_time),
        )


def record_push(catalog: Catalog, segment: SpooledSegment) -> None:
    """Save that a segment is in the recordings bucket (once per key)."""
    with catalog.connection as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO events (id, name) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
            (segment.event_id, segment.event_id),
        )
        cur.execute(
            "INSERT INTO cameras (event_id, id, name) VALUES (%s, %s, %s) "
            "ON CONFLICT (event_id, id) DO NOTHING",
            (segment.event_id, segment.camera_id, segment.camera_id),
        )
        cur.execute(
            """INSERT INTO pushed_segments
                   (object_key, event_id, camera_id, start_time, duration_s)
               VALUES (%s, %s, %s, %s, %s) ON CONFLICT (object_key) DO NOTHING""",
            (segment.key, segment.event_id, segment.camera_id, segment.start_time,
             segment.duration_s),
        )  # fmt: skip


def last_pushed_end(catalog: Catalog, event_id: str, camera_id: str) -> datetime | None:
    """The end of a camera's newest pushed segment (to find a gap after a restart)."""
    with catalog.connection as conn, conn.cursor() as cur:
        cur.execute(
            """SELECT max(start_time + duration_s * interval '1 second') FROM pushed_segments
               WHERE event_id = %s AND camera_id = %s""",
            (event_id, camera_id),
        )
        row = cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY always gives one row
    end: datetime | None = row[0]
    return end


def request_end(catalog: Catalog, event_id: str) -> None:
    """Ask ``scas ingest`` to finish the event's segments (``scas event end``)."""
    with catalog.connection as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO events (id, name) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
            (event_id, event_id),
        )
        cur.execute("UPDATE events SET end_requested_at = now() WHERE id = %s", (event_id,))


def end_requested_at(catalog: Catalog, event_id: str) -> datetime | None:
    """When the end of the event was last asked for, or None."""
    with catalog.connection as conn, conn.cursor() as cur:
        cur.execute("SELECT end_requested_at FROM events WHERE id = %s", (event_id,))
        row = cur.fetchone()
    return row[0] if row else None


def camera_health(catalog: Catalog, event_id: str) -> list[CameraHealth]:
    """Every camera of the event the catalog knows, with its health and lag (the typed
    answer the operator console shows)."""
    with catalog.connection as conn, conn.cursor() as cur:
        cur.execute(
            """
            -- What arrived and what is recognized: the per-camera counts the catalog keeps
            -- up to date as segments come and go (migration 0016_camera_arrivals: a
            -- segment pushed by ingest or registered another way arrived once; it is
            -- recognized once done or failed), not a count of the day's segments each poll.
            WITH gaps AS (
                SELECT camera_id, count(*) AS gaps,
                       sum(extract(epoch FROM end_time - start_time)) AS gap_s
                FROM camera_gaps WHERE event_id = %(event)s GROUP BY camera_id)
            SELECT c.id, h.state, coalesce(h.source, ''), coalesce(h.detail, ''),
                   coalesce(h.reconnects, 0), coalesce(h.spooled, 0), h.updated_at,
                   coalesce(a.arrived, 0), newest.object_key, a.arrived_end,
                   coalesce(g.gaps, 0), coalesce(g.gap_s, 0),
                   coalesce(a.arrived, 0) - coalesce(a.recognized, 0),
                   coalesce(extract(epoch FROM a.arrived_end
                                    - coalesce(a.recognized_end, a.first_start)), 0)
            FROM cameras c
            LEFT JOIN camera_health h ON h.event_id = c.event_id AND h.camera_id = c.id
            LEFT JOIN camera_arrivals a ON a.event_id = c.event_id AND a.camera_id = c.id
            LEFT JOIN gaps g ON g.camera_id = c.id
            -- The newest segment that arrived, from the two (event, camera, start) indexes.
            LEFT JOIN LATERAL (
                SELECT object_key FROM (
                    (SELECT object_key, start_time FROM pushed_segments
                     WHERE event_id = c.event_id AND camera_id = c.id
                     ORDER BY start_time DESC LIMIT 1)
                    UNION ALL
                    (SELECT object_key, start_time FROM segments
                     WHERE event_id = c.event_id AND camera_id = c.id
                     ORDER BY start_time DESC LIMIT 1)) AS latest
                ORDER BY start_time DESC LIMIT 1) AS newest ON true
            WHERE c.event_id = %(event)s ORDER BY c.id""",
            {"event": event_id},
        )
        rows = cur.fetchall()
    found = []
    for row in rows:
        (
            camera_id, state, source, detail, reconnects, spooled, updated_at,
            pushed, last_key, pushed_end, gaps, gap_s, lag_segments, lag_s,
        ) = row  # fmt: skip
        found.append(
            CameraHealth(
                event_id=event_id,
                camera_id=camera_id,
                state=state,
                source=source,
                detail=detail,
                reconnects=reconnects,
                spooled=spooled,
                updated_at=updated_at,
                segments_pushed=pushed,
                last_segment_key=last_key,
                last_segment_end=pushed_end,
                gaps=gaps,
                gap_s=float(gap_s),
                lag_segments=int(lag_segments),
                lag_s=max(0.0, float(lag_s)),
            )
        )
    return found
