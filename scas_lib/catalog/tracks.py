"""Reading the ``tracks`` table: the face tracks recognition stored, by segment, event or
visitor, and what follows from them (when and where each visitor was seen). They are
written with their segment's outcome
(:meth:`~scas_lib.catalog.segments.SegmentRepository.save_tracks`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from scas_lib.catalog.database import Database
from scas_lib.catalog.records import SegmentTrack, Sightings
from scas_lib.catalog.rows import TRACK_COLUMNS, face_track, float4_array
from scas_lib.tracks import FaceTrack


class TrackRepository:
    """Reads face tracks and clears their mean embeddings."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def of_segment(self, segment_id: int) -> list[FaceTrack]:
        """The segment's tracks, with their mean embeddings, in the tracker's order."""
        rows = self._db.execute(
            f"""SELECT {TRACK_COLUMNS}, t.centroid::real[]
                FROM tracks t JOIN segments s ON s.id = t.segment_id
                WHERE t.segment_id = %s ORDER BY t.track_index""",
            (segment_id,),
        )
        return [face_track(row[:-1], row[-1]) for row in rows]

    def for_event(self, event_id: str, *, ends_only: bool = False) -> list[FaceTrack]:
        """Every track of the event, known or not, with its mean embedding where it is kept
        (the retention policy clears bystanders'), by camera and time. ``ends_only``: each
        with only its first, best (highest quality, the path's 7th value) and last face, so
        its camera, times and quality but not its path: what a count of people needs, read
        in about half the time (docs/benchmarks-history.md)."""
        return list(self._read(event_id, None, ends_only=ends_only).values())

    def by_id(
        self, event_id: str, ids: Sequence[int], *, ends_only: bool = False
    ) -> dict[int, FaceTrack]:
        """The event's tracks of ``ids`` (those still there), as :meth:`for_event` reads
        them, by id."""
        return self._read(event_id, list(ids), ends_only=ends_only)

    def count_keys(self, event_id: str) -> dict[int, tuple[str | None, str, bool]]:
        """Each track's id and what a count of people depends on (what :meth:`fingerprint`
        digests): its visitor, model pack and whether its mean embedding is kept."""
        rows = self._db.execute(
            """SELECT id, visitor_id, model_pack, centroid IS NOT NULL FROM tracks
               WHERE event_id = %s""",
            (event_id,),
        )
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def _read(
        self, event_id: str, ids: list[int] | None, *, ends_only: bool
    ) -> dict[int, FaceTrack]:
        path = "t.path"
        if ends_only:
            path = """CASE WHEN jsonb_array_length(t.path) > 3 THEN jsonb_build_array(
                           t.path -> 0,
                           (SELECT face FROM jsonb_array_elements(t.path) WITH ORDINALITY
                                AS inner_faces(face, n)
                            WHERE n > 1 AND n < jsonb_array_length(t.path)
                            ORDER BY (face ->> 6)::real DESC LIMIT 1),
                           t.path -> -1)
                       ELSE t.path END"""
        columns = TRACK_COLUMNS.replace("t.path", path)
        # The embeddings in PostgreSQL's binary form: 512 floats a track parsed from text
        # were most of the time of reading the tracks.
        rows = self._db.execute(
            f"""SELECT {columns}, array_send(t.centroid::real[]), t.id
                FROM tracks t JOIN segments s ON s.id = t.segment_id
                WHERE t.event_id = %s AND (%s::bigint[] IS NULL OR t.id = ANY(%s::bigint[]))
                ORDER BY s.camera_id, t.start_time, t.track_index""",
            (event_id, ids, ids),
        )
        return {row[-1]: face_track(row[:-2], None if row[-2] is None else float4_array(row[-2]))
                for row in rows}  # fmt: skip

    def identified(self, event_id: str, visitor_id: str | None = None) -> list[FaceTrack]:
        """Every track of the event given to a visitor (only ``visitor_id``'s, if given),
        from segments in any status (a failed segment keeps the tracks of its readable
        part), by visitor, time and camera. Without their mean embeddings."""
        rows = self._db.execute(
            f"""SELECT {TRACK_COLUMNS}
                FROM tracks t JOIN segments s ON s.id = t.segment_id
                WHERE t.event_id = %s AND t.visitor_id IS NOT NULL
                  AND (%s::text IS NULL OR t.visitor_id = %s)
                ORDER BY t.visitor_id, t.start_time, s.camera_id""",
            (event_id, visitor_id, visitor_id),
        )
        return [face_track(row) for row in rows]

    def around(
        self, event_id: str, camera_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[FaceTrack]:
        """Every track of the event, known or not, on ``camera_ids`` and overlapping
        ``start`` to ``end`` (the faces around a visitor while they were seen), by camera
        and time. Without their mean embeddings."""
        rows = self._db.execute(
            f"""SELECT {TRACK_COLUMNS}
                FROM tracks t JOIN segments s ON s.id = t.segment_id
                WHERE t.event_id = %s AND s.camera_id = ANY(%s)
                  AND t.end_time >= %s AND t.start_time <= %s
                ORDER BY s.camera_id, t.start_time, t.track_index""",
            (event_id, list(camera_ids), start, end),
        )
        return [face_track(row) for row in rows]

    def fingerprint(self, event_id: str) -> str:
        """A digest of what a count of the event's people depends on: each track's id,
        visitor, model pack and whether its mean embedding is kept. Equal digests, same
        count (tracks are replaced under new ids, never changed otherwise)."""
        rows = self._db.execute(
            """SELECT md5(coalesce(string_agg(
                      id || ':' || coalesce(visitor_id, '') || ':' || model_pack || ':'
                      || (centroid IS NULL)::text, ',' ORDER BY id), ''))
               FROM tracks WHERE event_id = %s""",
            (event_id,),
        )
        return str(rows[0][0])

    def forget_embeddings(self, event_id: str, *, bystanders_only: bool) -> int:
        """Clear the mean embeddings kept with the event's tracks (only those of tracks
        that are nobody enrolled, with ``bystanders_only``), and with them what their faces
        looked like (expression, age, gender: the end of each face path entry and the
        track's summary); the number of tracks cleared."""
        rows = self._db.execute(
            """UPDATE tracks SET centroid = NULL,
                   path = (SELECT coalesce(jsonb_agg(jsonb_path_query_array(entry, '$[0 to 8]')
                                                     ORDER BY position), '[]'::jsonb)
                           FROM jsonb_array_elements(path) WITH ORDINALITY AS p(entry, position)),
                   expression = NULL, smile_share = NULL, age = NULL, gender = NULL,
                   gender_confidence = NULL
               WHERE event_id = %s AND (centroid IS NOT NULL OR expression IS NOT NULL
                                        OR age IS NOT NULL OR gender IS NOT NULL)
                 AND (NOT %s OR visitor_id IS NULL)
               RETURNING id""",
            (event_id, bystanders_only),
        )
        return len(rows)

    def of_segments(self, event_id: str, segment_keys: Sequence[str]) -> list[SegmentTrack]:
        """Every track of these segments (by object key; identified or not), by segment and
        track number, with the names of the visitors they were given to (the playback)."""
        rows = self._db.execute(
            f"""SELECT s.object_key, v.display_name, {TRACK_COLUMNS}
                FROM tracks t JOIN segments s ON s.id = t.segment_id
                LEFT JOIN visitors v ON v.event_id = t.event_id AND v.id = t.visitor_id
                WHERE s.event_id = %s AND s.object_key = ANY(%s)
                ORDER BY s.start_time, t.track_index""",
            (event_id, list(segment_keys)),
        )
        return [SegmentTrack(row[0], face_track(row[2:]), row[1]) for row in rows]

    def sightings(self, event_id: str) -> dict[str, Sightings]:
        """Each recognized visitor's tracks: how many, on which cameras, first and last
        segment start (visitors never recognized are absent), from the per-camera rows the
        catalog keeps as tracks come and go (migration 0017_visitor_sightings)."""
        rows = self._db.execute(
            """SELECT visitor_id, sum(tracks), array_agg(camera_id ORDER BY camera_id),
                      min(first_seen), max(last_seen)
               FROM visitor_sightings WHERE event_id = %s GROUP BY visitor_id""",
            (event_id,),
        )
        return {
            row[0]: Sightings(row[0], int(row[1]), list(row[2]), row[3], row[4]) for row in rows
        }

    def last_seen(self, event_id: str) -> dict[str, datetime]:
        """Each visitor's latest moment on any camera: the end of their last track (what
        :mod:`scas_lib.highlights.departures` decides who has left by). Tracks an operator
        corrected away still count here: they can only make a visitor seem to stay longer,
        so their video comes no earlier than it should."""
        rows = self._db.execute(
            """SELECT visitor_id, max(end_time) FROM tracks
               WHERE event_id = %s AND visitor_id IS NOT NULL GROUP BY visitor_id""",
            (event_id,),
        )
        return {visitor: seen for visitor, seen in rows}
