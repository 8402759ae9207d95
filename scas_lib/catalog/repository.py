"""The catalog's repository API: plain SQL over one psycopg2 connection.

Every write is idempotent. Upserts are keyed on natural keys (event and camera ids, a
segment's object key, a visitor's photo key), and the results of a stage replace the earlier
results of the same unit of work in one transaction (a segment's tracks, a visitor's
appearances), so a retried task leaves exactly one set of rows.

Example::

    catalog = Catalog.connect("postgresql://...")
    catalog.upsert_event(Event(id="expo", name="Expo 2026"))
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import numpy as np
import psycopg2.extensions
import psycopg2.extras

from scas_lib.catalog.connection import connect
from scas_lib.catalog.records import (
    Appearance,
    Camera,
    Consent,
    Enrollment,
    Event,
    EventStatus,
    Output,
    Segment,
    SegmentStatus,
    Visitor,
)
from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity

_SEGMENT_COLUMNS = (
    "id, event_id, camera_id, object_key, start_time, duration_s, status, error, attempts, etag"
)


def _vector(values: Sequence[float] | None) -> list[float] | None:
    return None if values is None else [float(value) for value in values]


_TRACK_COLUMNS = """s.camera_id, s.start_time, t.track_index, t.path, t.frame_width,
    t.frame_height, t.model_pack, t.visitor_id, t.similarity"""


def _path_json(samples: Sequence[FaceSample]) -> psycopg2.extras.Json:
    """A face path as the ``tracks.path`` column holds it: one array per sample,
    ``[offset_s, x1, y1, x2, y2, score, quality, similarity, runner_up]`` (see migration
    0003; rows written before the evidence was kept end after ``quality``)."""
    return psycopg2.extras.Json(
        [[s.offset_s, *s.box, s.score, s.quality, s.similarity, s.runner_up] for s in samples]
    )


def _face_track(
    row: Sequence[Any], centroid: Sequence[float] | np.ndarray | None = None
) -> FaceTrack:
    """A :class:`FaceTrack` from a row of ``_TRACK_COLUMNS``."""
    camera_id, start, index, path, width, height, model_pack, visitor_id, similarity = row
    samples = tuple(
        FaceSample(t, (x1, y1, x2, y2), score, quality, None, *evidence)
        for t, x1, y1, x2, y2, score, quality, *evidence in path
    )
    identity = TrackIdentity(
        visitor_id, similarity, None if centroid is None else np.asarray(centroid, np.float32)
    )
    return FaceTrack(camera_id, start, index, samples, (width or 0, height or 0), model_pack,
                     identity)  # fmt: skip


def _float4_array(sent: bytes | memoryview) -> np.ndarray:
    """A one-dimensional ``real[]`` without NULLs as ``array_send`` writes it: a 20-byte
    header (dimensions, NULL flag, element type, length, lower bound), then each element's
    length and big-endian value.

    >>> _float4_array(bytes.fromhex("00000001" "00000000" "000002bc" "00000002" "00000001"
    ...                             "00000004" "3f000000" "00000004" "bf800000"))
    array([ 0.5, -1. ], dtype=float32)
    """
    header = np.frombuffer(sent, dtype=">i4", count=5)
    if header[0] != 1 or header[1] != 0:
        raise ValueError("expected a one-dimensional array without NULLs")
    elements = np.frombuffer(sent, dtype=[("length", ">i4"), ("value", ">f4")], offset=20)
    return elements["value"].astype(np.float32)


class Catalog:
    """Reads and writes the SCAS catalog. Not thread-safe: one per thread or task."""

    def __init__(self, conn: psycopg2.extensions.connection) -> None:
        self._conn = conn

    @classmethod
    def connect(cls, url: str, *, timeout_s: float = 5.0) -> Catalog:
        return cls(connect(url, timeout_s=timeout_s))

    @property
    def connection(self) -> psycopg2.extensions.connection:
        return self._conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple]:
        with self._conn, self._conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    @property
    def uses_pgvector(self) -> bool:
        """True when embeddings are stored in pgvector columns."""
        rows = self._execute(
            """SELECT udt_name FROM information_schema.columns
               WHERE table_name = 'enrollments' AND column_name = 'embedding'"""
        )
        return bool(rows) and rows[0][0] == "vector"

    # events and cameras ------------------------------------------------------------------

    def upsert_event(self, event: Event) -> None:
        self._execute(
            """INSERT INTO events (id, name, starts_at, ends_at, timezone, status)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,
                   starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at,
                   timezone = EXCLUDED.timezone, updated_at = now()""",
            (event.id, event.name, event.starts_at, event.ends_at, event.timezone, event.status),
        )

    def ensure_event(self, event_id: str) -> None:
        """Create the event (named by its id) unless it exists; never changes it."""
        self._execute(
            "INSERT INTO events (id, name) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
            (event_id, event_id),
        )

    def get_event(self, event_id: str) -> Event | None:
        found = self._events("id = %s", (event_id,))
        return found[0] if found else None

    def list_events(self) -> list[Event]:
        return self._events("true", ())

    def _events(self, where: str, params: Sequence[Any]) -> list[Event]:
        rows = self._execute(
            f"""SELECT id, name, starts_at, ends_at, timezone, status, done_at, closed_end_at
                FROM events
                WHERE {where} ORDER BY id""",
            params,
        )
        return [Event(*row) for row in rows]

    def set_event_status(self, event_id: str, status: EventStatus) -> None:
        """Set the event's status; ``done`` also stamps ``done_at`` (see :class:`Event`)."""
        self._execute(
            """UPDATE events SET status = %s, updated_at = now(),
                   done_at = CASE WHEN %s = 'done' THEN now() ELSE done_at END
               WHERE id = %s""",
            (status, status, event_id),
        )

    def close_event_run(self, event_id: str, end_marker_at: datetime) -> None:
        """Record that the event's videos were published after the end marker of
        ``end_marker_at`` (see :attr:`Event.closed_end_at`); never moves it back."""
        self._execute(
            """UPDATE events SET closed_end_at = greatest(closed_end_at, %s), updated_at = now()
               WHERE id = %s""",
            (end_marker_at, event_id),
        )

    def upsert_camera(self, camera: Camera) -> None:
        self._execute(
            """INSERT INTO cameras (event_id, id, name, kind) VALUES (%s, %s, %s, %s)
               ON CONFLICT (event_id, id) DO UPDATE SET name = EXCLUDED.name,
                   kind = EXCLUDED.kind""",
            (camera.event_id, camera.id, camera.name, camera.kind),
        )

    def ensure_camera(self, event_id: str, camera_id: str) -> None:
        """Create the camera (named by its id) unless it exists; never changes it."""
        self._execute(
            """INSERT INTO cameras (event_id, id, name) VALUES (%s, %s, %s)
               ON CONFLICT (event_id, id) DO NOTHING""",
            (event_id, camera_id, camera_id),
        )

    def list_cameras(self, event_id: str) -> list[Camera]:
        rows = self._execute(
            "SELECT event_id, id, name, kind FROM cameras WHERE event_id = %s ORDER BY id",
            (event_id,),
        )
        return [Camera(*row) for row in rows]

    # visitors and enrollments ------------------------------------------------------------

    def upsert_visitor(self, visitor: Visitor) -> None:
        consent = visitor.consent
        self._execute(
            """INSERT INTO visitors (event_id, id, display_name, consent_at, consent_version,
                   consent_language)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (event_id, id) DO UPDATE SET display_name = EXCLUDED.display_name,
                   consent_at = EXCLUDED.consent_at,
                   consent_version = EXCLUDED.consent_version,
                   consent_language = EXCLUDED.consent_language""",
            (
                visitor.event_id,
                visitor.id,
                visitor.display_name,
                consent.given_at,
                consent.version,
                consent.language,
            ),
        )

    def get_visitor(self, event_id: str, visitor_id: str) -> Visitor | None:
        found = self._visitors("event_id = %s AND id = %s", (event_id, visitor_id))
        return found[0] if found else None

    def list_visitors(self, event_id: str) -> list[Visitor]:
        return self._visitors("event_id = %s", (event_id,))

    def _visitors(self, where: str, params: Sequence[Any]) -> list[Visitor]:
        rows = self._execute(
            f"""SELECT event_id, id, display_name, consent_version, consent_language,
                       consent_at
                FROM visitors WHERE {where} ORDER BY id""",
            params,
        )
        return [Visitor(*row[:3], Consent(*row[3:])) for row in rows]

    @contextmanager
    def visitor_lock(self, event_id: str, visitor_id: str) -> Iterator[None]:
        """Hold the visitor's lock (a PostgreSQL advisory lock, for this connection) for a
        block: forgetting a visitor and publishing their video take it, so a video is never
        published after its visitor was forgotten."""
        with self._advisory_lock(f"scas-visitor:{event_id}/{visitor_id}"):
            yield

    @contextmanager
    def arrivals_lock(self, event_id: str) -> Iterator[None]:
        """Hold the event's arrivals lock (a PostgreSQL advisory lock, for this connection)
        for a block: the recognize task that takes a wave's arriving segments holds it
        (:func:`scas_lib.orchestration.recognize_batch`), and the wave's deliver looks for
        as long as it is held (:meth:`arrivals_taken`)."""
        with self._advisory_lock(f"scas-arrivals:{event_id}"):
            yield

    @contextmanager
    def _advisory_lock(self, key: str) -> Iterator[None]:
        self._execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
        try:
            yield
        finally:
            if not self._conn.closed:
                self._execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))

    def arrivals_taken(self, event_id: str) -> bool:
        """Whether a recognize task holds the event's :meth:`arrivals_lock` now."""
        key = f"scas-arrivals:{event_id}"
        rows = self._execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,))
        if rows[0][0]:
            self._execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
        return not rows[0][0]

    def delete_visitor(self, event_id: str, visitor_id: str) -> bool:
        """Delete a visitor and, by cascade, their enrollments, tracks, appearances and
        outputs rows. Their objects (photos, videos) are the object store's to delete."""
        rows = self._execute(
            "DELETE FROM visitors WHERE event_id = %s AND id = %s RETURNING id",
            (event_id, visitor_id),
        )
        return bool(rows)

    def delete_visitors(self, event_id: str) -> int:
        """Delete every visitor of the event, with their rows (see :meth:`delete_visitor`);
        the number deleted."""
        return len(
            self._execute("DELETE FROM visitors WHERE event_id = %s RETURNING id", (event_id,))
        )

    def delete_enrollments(self, event_id: str) -> int:
        """Delete the event's enrollment rows (the embeddings of kiosk photos)."""
        return len(
            self._execute("DELETE FROM enrollments WHERE event_id = %s RETURNING id", (event_id,))
        )

    def forget_track_embeddings(self, event_id: str, *, bystanders_only: bool) -> int:
        """Clear the mean embeddings kept with the event's tracks (only those of tracks
        that are nobody enrolled, with ``bystanders_only``); the number cleared."""
        rows = self._execute(
            """UPDATE tracks SET centroid = NULL
               WHERE event_id = %s AND centroid IS NOT NULL
                 AND (NOT %s OR visitor_id IS NULL)
               RETURNING id""",
            (event_id, bystanders_only),
        )
        return len(rows)

    def upsert_enrollment(self, enrollment: Enrollment) -> None:
        self._execute(
            """INSERT INTO enrollments
                   (event_id, visitor_id, photo_key, model_pack, embedding, quality)
               VALUES (%s, %s, %s, %s, %s::real[], %s)
               ON CONFLICT (event_id, visitor_id, photo_key, model_pack) DO UPDATE
               SET embedding = EXCLUDED.embedding, quality = EXCLUDED.quality,
                   created_at = now()""",
            (
                enrollment.event_id,
                enrollment.visitor_id,
                enrollment.photo_key,
                enrollment.model_pack,
                _vector(enrollment.embedding),
                enrollment.quality,
            ),
        )

    def list_enrollments(self, event_id: str, model_pack: str) -> list[Enrollment]:
        """An event's enrollments made with ``model_pack``: templates of different packs
        are never compared, so they are never returned together."""
        rows = self._execute(
            """SELECT event_id, visitor_id, photo_key, model_pack, embedding::real[], quality
               FROM enrollments WHERE event_id = %s AND model_pack = %s
               ORDER BY visitor_id, photo_key""",
            (event_id, model_pack),
        )
        return [Enrollment(*row[:4], tuple(row[4]), row[5]) for row in rows]

    # segments ----------------------------------------------------------------------------

    def register_segment(
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
        rows = self._execute(
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
                RETURNING {_SEGMENT_COLUMNS}""",
            (event_id, camera_id, object_key, start_time, duration_s, etag),
        )
        return Segment(*rows[0])

    def reject_segment(
        self, event_id: str, object_key: str, start_time: datetime, reason: str
    ) -> Segment:
        """Record a segment that cannot belong to a camera (its camera id is invalid) as
        failed with ``reason`` and no camera, once per object key, and return its row. A
        row the key had before loses its camera and its tracks. The event is created
        (named by its id) if the catalog has none."""
        with self._conn, self._conn.cursor() as cur:
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
                    RETURNING {_SEGMENT_COLUMNS}""",
                (event_id, object_key, start_time, reason),
            )
            return Segment(*cur.fetchone())

    def get_segment(self, segment_id: int) -> Segment | None:
        rows = self._execute(
            f"SELECT {_SEGMENT_COLUMNS} FROM segments WHERE id = %s", (segment_id,)
        )
        return Segment(*rows[0]) if rows else None

    def list_segments(self, event_id: str, status: SegmentStatus | None = None) -> list[Segment]:
        rows = self._execute(
            f"""SELECT {_SEGMENT_COLUMNS} FROM segments
                WHERE event_id = %s AND (%s::text IS NULL OR status = %s)
                ORDER BY start_time, camera_id""",
            (event_id, status, status),
        )
        return [Segment(*row) for row in rows]

    def mark_segment_processing(self, segment_id: int) -> None:
        self._execute(
            """UPDATE segments SET status = 'processing', error = NULL,
                   attempts = attempts + 1, updated_at = now() WHERE id = %s""",
            (segment_id,),
        )

    def reclaim_stale_segments(
        self, event_id: str, lease_s: float, max_attempts: int
    ) -> list[Segment]:
        """Segments ``processing`` for longer than ``lease_s`` (their worker stopped without
        a word: killed, out of memory, its machine gone) go back to ``pending``, or to
        ``failed`` once tried ``max_attempts`` times; return them as they are now."""
        rows = self._execute(
            f"""UPDATE segments SET
                    status = CASE WHEN attempts >= %(max)s THEN 'failed' ELSE 'pending' END,
                    error = CASE WHEN attempts >= %(max)s
                        THEN 'given up: its worker stopped during each of ' || attempts
                             || ' attempts'
                        ELSE 'its worker stopped; to be tried again' END,
                    updated_at = now()
                WHERE event_id = %(event)s AND status = 'processing'
                  AND updated_at < now() - make_interval(secs => %(lease)s)
                RETURNING {_SEGMENT_COLUMNS}""",
            {"max": max_attempts, "event": event_id, "lease": lease_s},
        )
        return [Segment(*row) for row in rows]

    def release_segment(self, segment_id: int, reason: str) -> None:
        """Put a segment being processed back to ``pending`` after a transient fault (a
        server out of reach): the try does not count as one of its attempts, and ``reason``
        says what happened until it is tried again."""
        self._execute(
            """UPDATE segments SET status = 'pending', error = %s,
                   attempts = greatest(attempts - 1, 0), updated_at = now()
               WHERE id = %s AND status = 'processing'""",
            (reason, segment_id),
        )

    def mark_segment_failed(self, segment_id: int, reason: str) -> None:
        self._execute(
            """UPDATE segments SET status = 'failed', error = %s, updated_at = now()
               WHERE id = %s""",
            (reason, segment_id),
        )

    def save_segment_tracks(
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
        with self._conn, self._conn.cursor() as cur:
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
                        None if centroid is None else _vector(centroid.tolist()),
                        _path_json(track.samples),
                        track.frame_size[0],
                        track.frame_size[1],
                    )
                )
            cur.execute("DELETE FROM tracks WHERE segment_id = %s", (segment_id,))
            psycopg2.extras.execute_values(
                cur,
                """INSERT INTO tracks (segment_id, track_index, event_id, visitor_id,
                       start_time, end_time, similarity, quality, model_pack, centroid,
                       path, frame_width, frame_height) VALUES %s""",
                rows,
                template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::real[], %s, %s, %s)",
            )
            cur.execute(
                """UPDATE segments SET status = %s, error = %s, updated_at = now(),
                       duration_s = coalesce(%s, duration_s) WHERE id = %s""",
                ("failed" if failure else "done", failure, duration_s, segment_id),
            )

    def list_tracks(self, segment_id: int) -> list[FaceTrack]:
        """The segment's tracks, with their mean embeddings, in the tracker's order."""
        rows = self._execute(
            f"""SELECT {_TRACK_COLUMNS}, t.centroid::real[]
                FROM tracks t JOIN segments s ON s.id = t.segment_id
                WHERE t.segment_id = %s ORDER BY t.track_index""",
            (segment_id,),
        )
        return [_face_track(row[:-1], row[-1]) for row in rows]

    def list_event_tracks(self, event_id: str, *, ends_only: bool = False) -> list[FaceTrack]:
        """Every track of the event, known or not, with its mean embedding where it is kept
        (the retention policy clears bystanders'), by camera and time. ``ends_only``: each
        with only its first and last face, so its camera and times but not its path: what
        a count of people needs, read in about half the time (docs/benchmarks.md)."""
        path = "t.path"
        if ends_only:
            path = """CASE WHEN jsonb_array_length(t.path) > 2
                           THEN jsonb_build_array(t.path -> 0, t.path -> -1) ELSE t.path END"""
        columns = _TRACK_COLUMNS.replace("t.path", path)
        # The embeddings in PostgreSQL's binary form: 512 floats a track parsed from text
        # were most of the time of reading the tracks.
        rows = self._execute(
            f"""SELECT {columns}, array_send(t.centroid::real[])
                FROM tracks t JOIN segments s ON s.id = t.segment_id
                WHERE t.event_id = %s ORDER BY s.camera_id, t.start_time, t.track_index""",
            (event_id,),
        )
        return [_face_track(row[:-1], None if row[-1] is None else _float4_array(row[-1]))
                for row in rows]  # fmt: skip

    def tracks_fingerprint(self, event_id: str) -> str:
        """A digest of what a count of the event's people depends on: each track's id,
        visitor, model pack and whether its mean embedding is kept. Equal digests, same
        count (tracks are replaced under new ids, never changed otherwise)."""
        rows = self._execute(
            """SELECT md5(coalesce(string_agg(
                      id || ':' || coalesce(visitor_id, '') || ':' || model_pack || ':'
                      || (centroid IS NULL)::text, ',' ORDER BY id), ''))
               FROM tracks WHERE event_id = %s""",
            (event_id,),
        )
        return str(rows[0][0])

    def list_identified_tracks(
        self, event_id: str, visitor_id: str | None = None
    ) -> list[FaceTrack]:
        """Every track of the event given to a visitor (only ``visitor_id``'s, if given),
        from segments in any status (a failed segment keeps the tracks of its readable
        part), by visitor, time and camera. Without their mean embeddings."""
        rows = self._execute(
            f"""SELECT {_TRACK_COLUMNS}
                FROM tracks t JOIN segments s ON s.id = t.segment_id
                WHERE t.event_id = %s AND t.visitor_id IS NOT NULL
                  AND (%s::text IS NULL OR t.visitor_id = %s)
                ORDER BY t.visitor_id, t.start_time, s.camera_id""",
            (event_id, visitor_id, visitor_id),
        )
        return [_face_track(row) for row in rows]

    # appearances and outputs -------------------------------------------------------------

    def replace_appearances(
        self, event_id: str, visitor_id: str, appearances: Iterable[Appearance]
    ) -> None:
        """Replace a visitor's appearances in one transaction."""
        with self._conn, self._conn.cursor() as cur:
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

    def list_appearances(self, event_id: str, visitor_id: str) -> list[Appearance]:
        rows = self._execute(
            """SELECT visitor_id, camera_id, start_time, end_time, score FROM appearances
               WHERE event_id = %s AND visitor_id = %s ORDER BY start_time, camera_id""",
            (event_id, visitor_id),
        )
        return [Appearance(*row) for row in rows]

    def upsert_output(self, output: Output) -> None:
        self._execute(
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

    def reclaim_stale_outputs(self, event_id: str, lease_s: float) -> list[str]:
        """Outputs ``rendering`` for longer than ``lease_s`` (their render was killed
        without a word) become ``failed`` (an earlier video they point to stays); return
        their visitor ids."""
        rows = self._execute(
            """UPDATE outputs SET status = 'failed', updated_at = now(),
                   error = 'its render stopped without finishing (the worker was killed?)'
               WHERE event_id = %s AND status = 'rendering'
                 AND updated_at < now() - make_interval(secs => %s)
               RETURNING visitor_id""",
            (event_id, lease_s),
        )
        return sorted(row[0] for row in rows)

    def get_output(self, event_id: str, visitor_id: str) -> Output | None:
        found = [o for o in self.list_outputs(event_id) if o.visitor_id == visitor_id]
        return found[0] if found else None

    def list_outputs(self, event_id: str) -> list[Output]:
        rows = self._execute(
            """SELECT event_id, visitor_id, status, object_key, poster_key, duration_s,
                      template, error, plan_digest
               FROM outputs WHERE event_id = %s ORDER BY visitor_id""",
            (event_id,),
        )
        return [Output(*row) for row in rows]
