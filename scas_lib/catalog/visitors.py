"""The ``visitors`` and ``enrollments`` tables: who enrolled at an event, with their consent,
and the embeddings of their kiosk photos; and the visitor's lock.

Deleting a visitor deletes their rows everywhere by cascade (enrollments, tracks'
identities, appearances, outputs, visitor pages)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from scas_lib.catalog.database import Database
from scas_lib.catalog.records import Consent, Enrollment, Visitor
from scas_lib.catalog.rows import vector


class VisitorRepository:
    """Reads and writes visitors and their enrollments."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert(self, visitor: Visitor) -> None:
        consent = visitor.consent
        self._db.execute(
            """INSERT INTO visitors (event_id, id, display_name, consent_at, consent_version,
                   consent_language, remember)
               VALUES (%s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (event_id, id) DO UPDATE SET display_name = EXCLUDED.display_name,
                   consent_at = EXCLUDED.consent_at,
                   consent_version = EXCLUDED.consent_version,
                   consent_language = EXCLUDED.consent_language,
                   remember = EXCLUDED.remember,
                   -- Withdrawing the second consent undoes the links it allowed.
                   person_id = CASE WHEN EXCLUDED.remember THEN visitors.person_id END""",
            (
                visitor.event_id,
                visitor.id,
                visitor.display_name,
                consent.given_at,
                consent.version,
                consent.language,
                visitor.remember,
            ),
        )

    def get(self, event_id: str, visitor_id: str) -> Visitor | None:
        found = self._select("event_id = %s AND id = %s", (event_id, visitor_id))
        return found[0] if found else None

    def for_event(self, event_id: str) -> list[Visitor]:
        return self._select("event_id = %s", (event_id,))

    def _select(self, where: str, params: Sequence[Any]) -> list[Visitor]:
        rows = self._db.execute(
            f"""SELECT event_id, id, display_name, consent_version, consent_language,
                       consent_at, remember
                FROM visitors WHERE {where} ORDER BY id""",
            params,
        )
        return [
            Visitor(event_id, visitor_id, name, Consent(version, language, given_at), remember)
            for event_id, visitor_id, name, version, language, given_at, remember in rows
        ]

    @contextmanager
    def lock(self, event_id: str, visitor_id: str) -> Iterator[None]:
        """Hold the visitor's lock (a PostgreSQL advisory lock, for this connection) for a
        block: forgetting a visitor and publishing their video take it, so a video is never
        published after its visitor was forgotten."""
        with self._db.advisory_lock(f"scas-visitor:{event_id}/{visitor_id}"):
            yield

    def delete(self, event_id: str, visitor_id: str) -> bool:
        """Delete a visitor and, by cascade, their enrollments, tracks, appearances and
        outputs rows. Their objects (photos, videos) are the object store's to delete."""
        rows = self._db.execute(
            "DELETE FROM visitors WHERE event_id = %s AND id = %s RETURNING id",
            (event_id, visitor_id),
        )
        return bool(rows)

    def delete_all(self, event_id: str) -> int:
        """Delete every visitor of the event, with their rows (see :meth:`delete_visitor`);
        the number deleted."""
        return len(
            self._db.execute("DELETE FROM visitors WHERE event_id = %s RETURNING id", (event_id,))
        )

    def upsert_enrollment(self, enrollment: Enrollment) -> None:
        self._db.execute(
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
                vector(enrollment.embedding),
                enrollment.quality,
            ),
        )

    def enrollments(self, event_id: str, model_pack: str) -> list[Enrollment]:
        """An event's enrollments made with ``model_pack``: templates of different packs
        are never compared, so they are never returned together."""
        rows = self._db.execute(
            """SELECT event_id, visitor_id, photo_key, model_pack, embedding::real[], quality
               FROM enrollments WHERE event_id = %s AND model_pack = %s
               ORDER BY visitor_id, photo_key""",
            (event_id, model_pack),
        )
        return [
            Enrollment(event_id, visitor_id, photo_key, pack, tuple(embedding), quality)
            for event_id, visitor_id, photo_key, pack, embedding, quality in rows
        ]

    def delete_enrollments(self, event_id: str) -> int:
        """Delete the event's enrollment rows (the embeddings of kiosk photos), but those of
        visitors who consented to be remembered: theirs go with the visitor (the event's
        ``highlights`` retention step, or their own deletion)."""
        return len(
            self._db.execute(
                """DELETE FROM enrollments e WHERE e.event_id = %s
                   AND NOT EXISTS (SELECT 1 FROM visitors v
                                   WHERE v.event_id = e.event_id AND v.id = e.visitor_id
                                     AND v.remember)
                   RETURNING e.id""",
                (event_id,),
            )
        )
