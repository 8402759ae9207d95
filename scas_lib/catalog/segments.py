"""The ``segments`` table: each uploaded video segment, its status through recognition, and
the tracks recognition found in it (written with the segment's outcome, in one
transaction); and the event's arrivals lock.

Every write is idempotent: a segment is registered once per object key, and its tracks
replace the earlier ones of the same segment, so a retried task leaves exactly one set."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg2.extras

from scas_lib.catalog.database import Database
from scas_lib.catalog.records import RecognitionProgress, Segment, SegmentStatus
from scas_lib.catalog.rows import SEGMENT_COLUMNS, path_json, vector
from scas_lib.tracks import FaceTrack


class SegmentRepository:
    """Registers segments, moves them through their statuses and saves their tracks."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def register(
        self,
        event_id: str,
        camera_id: str,
        object_key: str,
        start_time: datetime,
        duration_s: float | None = None,
        etag: str | None = None,
    ) -> Segment:
        """Record a segment (once per object key) and return its row. Content with another
        ``etag`` than the row's (a re-upload) starts over: no attempts yet, its camera and
        start time as given."""
        rows = self._db.execute(
            f"""INSERT INTO segments (event_id, camera_id, object_key, start_time, duration_s,
                                      etag)
                VALUES (%s, %s, %s, %s, %s, %s)
                ON CONFLICT (object_key) DO UPDATE
                SET duration_s = coalesce(EXCLUDED.duration_s, segments.duration_s),
                    camera_id = EXCLUDED.camera_id, start_time = EXCLUDED.start_time,
                    attempts = CASE WHEN EXCLUDED.etag IS NOT NULL
                                     AND EXCLUDED.etag IS DISTINCT FROM segments.etag
                                    THEN 0 ELSE segments.attempts END,
                    etag = coalesce(EXCLUDED.etag, segments.etag)
                RETURNING {SEGMENT_COLUMNS}""",
            (event_id, camera_id, object_key, start_time, duration_s, etag),
        )
        return Segment(*rows[0])

    def reject(self, event_id: str, object_key: str, start_time: datetime, reason: str) -> Segment:
        """Record a segment that cannot belong to a camera (its camera id is invalid) as
        failed with ``reason`` and no camera, once per object key, and return its row. A
        row the key had before loses its camera and its tracks. The event is created
        (named by its id) if the catalog has none."""
        with self._db.transaction() as cur:
            cur.execute(
                "INSERT INTO events (id, name) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
                (event_id, event_id),
            )
            cur.execute(
                """DELETE FROM tracks WHERE segment_id IN
                       (SELECT id FROM segments WHERE object_key = %s)""",
                (object_key,),
            )
            cur.execute(
                f"""INSERT INTO segments (event_id, camera_id, object_key, start_time,
                                          status, error)
                    VALUES (%s, NULL, %s, %s, 'failed', %s)
                    ON CONFLICT (object_key) DO UPDATE
                    SET camera_id = NULL, status = 'failed', error = EXCLUDED.error,
                        updated_at = now()
                    RETURNING {SEGMENT_COLUMNS}""",
                (event_id, object_key, start_time, reason),
            )
            row = cur.fetchone()
            assert row is not None, "INSERT ... RETURNING returns its row"
            return Segment(*row)

    def get(self, segment_id: int) -> Segment | None:
        rows = self._db.execute(
            f"SELECT {SEGMENT_COLUMNS} FROM segments WHERE id = %s", (segment_id,)
        )
        return Segment(*rows[0]) if rows else None

    def for_event(self, event_id: str, status: SegmentStatus | None = None) -> list[Segment]:
        rows = self._db.execute(
            f"""SELECT {SEGMENT_COLUMNS} FROM segments
                WHERE event_id = %s AND (%s::text IS NULL OR status = %s)
                ORDER BY start_time, camera_id""",
            (event_id, status, status),
        )
        return [Segment(*row) for row in rows]

    def recognition_progress(self, event_id: str) -> RecognitionProgress:
        """The event's segments that arrived and those recognized: the sum of the per-camera
        counts the console's camera table shows (:func:`scas_lib.ingest.health.camera_health`),
        which the catalog keeps up to date (migration 0016_camera_arrivals); every waiting
        visitor's page asks for it."""
        rows = self._db.execute(
            """SELECT coalesce(sum(arrived), 0), coalesce(sum(recognized), 0)
               FROM camera_arrivals WHERE event_id = %s""",
            (event_id,),
        )
        arrived, recognized = rows[0]
        return RecognitionProgress(int(arrived), int(recognized))

    def mark_processing(self, segment_id: int) -> None:
        self._db.execute(
            """UPDATE segments SET status = 'processing', error = NULL,
                   attempts = attempts + 1, updated_at = now() WHERE id = %s""",
            (segment_id,),
        )

    def renew_lease(self, segment_id: int) -> bool:
        """Note that the segment's worker is still at it (see :meth:`reclaim_stale`); False
        if the segment is no longer ``processing``."""
        rows = self._db.execute(
            """UPDATE segments SET updated_at = now()
               WHERE id = %s AND status = 'processing' RETURNING id""",
            (segment_id,),
        )
        return bool(rows)

    def reclaim_stale(self, event_id: str, lease_s: float, max_attempts: int) -> list[Segment]:
        """Segments ``processing`` for longer than ``lease_s`` (their worker stopped without
        a word: killed, out of memory, its machine gone) go back to ``pending``, or to
        ``failed`` once tried ``max_attempts`` times; return them as they are now."""
        rows = self._db.execute(
            f"""UPDATE segments SET
                    status = CASE WHEN attempts >= %(max)s THEN 'failed' ELSE 'pending' END,
                    error = CASE WHEN attempts >= %(max)s
                        THEN 'given up: its worker stopped during each of ' || attempts
                             || ' attempts'
                        ELSE 'its worker stopped; to be tried again' END,
                    updated_at = now()
                WHERE event_id = %(event)s AND status = 'processing'
                  AND updated_at < now() - make_interval(secs => %(lease)s)
                RETURNING {SEGMENT_COLUMNS}""",
            {"max": max_attempts, "event": event_id, "lease": lease_s},
        )
        return [Segment(*row) for row in rows]

    def release(self, segment_id: int, reason: str) -> None:
        """Put a segment being processed back to ``pending`` after a transient fault (a
        server out of reach): the try does not count as one of its attempts, and ``reason``
        says what happened until it is tried again."""
        self._db.execute(
            """UPDATE segments SET status = 'pending', error = %s,
                   attempts = greatest(attempts - 1, 0), updated_at = now()
               WHERE id = %s AND status = 'processing'""",
            (reason, segment_id),
        )

    def mark_failed(self, segment_id: int, reason: str) -> None:
        self._db.execute(
            """UPDATE segments SET status = 'failed', error = %s, updated_at = now()
               WHERE id = %s""",
            (reason, segment_id),
        )

    def save_tracks(
        self,
        segment_id: int,
        tracks: Iterable[FaceTrack],
        *,
        duration_s: float | None = None,
        failure: str | None = None,
    ) -> None:
        """Replace the segment's tracks with ``tracks`` and mark it done, atomically.

        With ``failure``, the tracks found in the part that could be read are kept and the
        segment is marked failed with that reason. The tracks' times are stored on the
        segment's clock: their samples' offsets count from the segment's start time.
        """
        with self._db.transaction() as cur:
            cur.execute(
                "SELECT event_id, camera_id FROM segments WHERE id = %s FOR UPDATE",
                (segment_id,),
            )
            found = cur.fetchone()
            if found is None:
                raise KeyError(f"no segment with id {segment_id}")
            event_id, camera_id = found
            rows = []
            for track in tracks:
                if track.camera_id != camera_id:
                    raise ValueError(
                        f"a track of camera {track.camera_id!r} given for segment {segment_id} "
                        f"of camera {camera_id!r}"
                    )
                centroid = track.identity.centroid
                looks = track.attributes()
                rows.append(
                    (
                        segment_id,
                        track.index,
                        event_id,
                        track.visitor_id,
                        track.start_time,
                        track.end_time,
                        track.similarity,
                        track.quality,
                        track.model_pack,
                        None if centroid is None else vector(centroid.tolist()),
                        path_json(track.samples),
                        track.frame_size[0],
                        track.frame_size[1],
                        looks.expression,
                        looks.smile_share,
                        looks.age,
                        looks.gender,
                        looks.gender_confidence,
                    )
                )
            cur.execute("DELETE FROM tracks WHERE segment_id = %s", (segment_id,))
            psycopg2.extras.execute_values(
                cur,
                """INSERT INTO tracks (segment_id, track_index, event_id, visitor_id,
                       start_time, end_time, similarity, quality, model_pack, centroid,
                       path, frame_width, frame_height, expression, smile_share, age, gender,
                       gender_confidence) VALUES %s""",
                rows,
                template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::real[]" + ", %s" * 8 + ")",
            )
            cur.execute(
                """UPDATE segments SET status = %s, error = %s, updated_at = now(),
                       duration_s = coalesce(%s, duration_s) WHERE id = %s""",
                ("failed" if failure else "done", failure, duration_s, segment_id),
            )

    @contextmanager
    def arrivals_lock(self, event_id: str) -> Iterator[None]:
        """Hold the event's arrivals lock (a PostgreSQL advisory lock, for this connection)
        for a block: the recognize task that takes a wave's arriving segments holds it
        (:func:`scas_lib.run.recognition.recognize_batch`), and the wave's deliver looks for
        as long as it is held (:meth:`arrivals_taken`)."""
        with self._db.advisory_lock(f"scas-arrivals:{event_id}"):
            yield

    def arrivals_taken(self, event_id: str) -> bool:
        """Whether a recognize task holds the event's :meth:`arrivals_lock` now."""
        return self._db.advisory_lock_taken(f"scas-arrivals:{event_id}")
