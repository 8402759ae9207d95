"""Returning visitors (migration 0014): the visitors who consented to be remembered, the
nearest of them in other events, and the links between one person's visitors.

A visitor is only ever compared with other events' visitors when both gave the second
consent (``visitors.remember``); a link (``visitors.person_id``) is only written between
such visitors. With pgvector the comparison is its cosine distance (``<=>``); on plain
``real[]`` columns the same cosine is computed in SQL, so both give the same answer."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from scas_lib.catalog.database import Database
from scas_lib.catalog.records import EarlierVisit

#: Cosine similarity of two enrollment rows ``a`` and ``b`` on real[] columns.
_COSINE_ARRAYS = """(SELECT sum(x * y) / NULLIF(sqrt(sum(x * x)) * sqrt(sum(y * y)), 0)
                     FROM unnest(a.embedding::real[], b.embedding::real[]) AS t(x, y))"""
#: The same with pgvector's cosine distance.
_COSINE_VECTORS = "1 - (a.embedding <=> b.embedding)"


class PeopleRepository:
    """Finds a remembered visitor's earlier visits and links one person's visitors."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def earlier_visits(
        self, event_id: str, visitor_id: str, model_pack: str, threshold: float, limit: int = 5
    ) -> list[EarlierVisit]:
        """The visitors of other events, nearest first, who consented to be remembered and
        whose enrollment (same model pack) is at least ``threshold`` similar to one of this
        visitor's; none unless this visitor consented too. Visitors already linked to this
        one are left out."""
        cosine = _COSINE_VECTORS if self._db.uses_pgvector else _COSINE_ARRAYS
        rows = self._db.execute(
            f"""SELECT o.event_id, o.id, o.display_name, max({cosine}) AS similarity
                FROM visitors v
                JOIN enrollments a ON a.event_id = v.event_id AND a.visitor_id = v.id
                JOIN enrollments b ON b.model_pack = a.model_pack AND b.event_id <> v.event_id
                JOIN visitors o ON o.event_id = b.event_id AND o.id = b.visitor_id
                WHERE v.event_id = %s AND v.id = %s AND v.remember AND o.remember
                  AND a.model_pack = %s
                  AND (v.person_id IS NULL OR o.person_id IS DISTINCT FROM v.person_id)
                GROUP BY o.event_id, o.id, o.display_name
                HAVING max({cosine}) >= %s
                ORDER BY similarity DESC, o.event_id, o.id
                LIMIT %s""",
            (event_id, visitor_id, model_pack, threshold, limit),
        )
        return [EarlierVisit(e, v, name, float(similarity)) for e, v, name, similarity in rows]

    def link(self, event_id: str, visitor_id: str, others: Sequence[tuple[str, str]]) -> str | None:
        """Make this visitor and ``others`` (``(event_id, visitor_id)`` pairs) one person,
        joining the people they already belong to; the person's id, or None when this
        visitor did not consent to be remembered. Visitors without that consent are never
        linked (the table's check says so too)."""
        members = [(event_id, visitor_id), *others]
        pairs = ", ".join(["(%s, %s)"] * len(members))
        flat = [value for pair in members for value in pair]
        rows = self._db.execute(
            f"""SELECT event_id, id, person_id FROM visitors
                WHERE remember AND (event_id, id) IN ({pairs})""",
            flat,
        )
        if not any((e, v) == (event_id, visitor_id) for e, v, _ in rows):
            return None
        people = sorted({person for _, _, person in rows if person})
        person = people[0] if people else f"p-{secrets.token_hex(6)}"
        self._db.execute(
            f"""UPDATE visitors SET person_id = %s
                WHERE remember AND ((event_id, id) IN ({pairs}) OR person_id = ANY(%s::text[]))""",
            [person, *flat, people],
        )
        return person

    def linked(self, event_id: str, visitor_id: str) -> list[tuple[str, str]]:
        """Every ``(event_id, visitor_id)`` of the visitor's person, this one included,
        oldest event first; just this visitor when they are linked to no one (or unknown:
        nothing)."""
        rows = self._db.execute(
            """SELECT o.event_id, o.id
               FROM visitors v
               JOIN visitors o ON (o.event_id = v.event_id AND o.id = v.id)
                               OR (v.person_id IS NOT NULL AND o.person_id = v.person_id)
               LEFT JOIN events e ON e.id = o.event_id
               WHERE v.event_id = %s AND v.id = %s
               ORDER BY coalesce(e.starts_at, o.created_at), o.event_id, o.id""",
            (event_id, visitor_id),
        )
        return [(e, v) for e, v in rows]
