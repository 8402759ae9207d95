"""The catalog: one PostgreSQL connection and a repository per group of tables on it.

Example::

    with Catalog.connect("postgresql://...") as catalog:
        catalog.events.upsert(Event(id="expo", name="Expo 2026"))
        visitor = catalog.visitors.get("expo", "v-1")

Every repository runs plain SQL through the catalog (:class:`~scas_lib.catalog.database.
Database`); every write is idempotent, and a stage's results replace the earlier results of
the same unit of work in one transaction, so a retried task leaves exactly one set of rows.
"""

from __future__ import annotations

from typing import Self

import psycopg2.extensions

from scas_lib.catalog.connection import connect
from scas_lib.catalog.corrections import CorrectionRepository
from scas_lib.catalog.database import Database
from scas_lib.catalog.events import EventRepository
from scas_lib.catalog.kiosks import KioskRepository
from scas_lib.catalog.operator_sessions import OperatorSessionRepository
from scas_lib.catalog.outputs import OutputRepository
from scas_lib.catalog.people import PeopleRepository
from scas_lib.catalog.segments import SegmentRepository
from scas_lib.catalog.tracks import TrackRepository
from scas_lib.catalog.visitor_pages import VisitorPageRepository
from scas_lib.catalog.visitors import VisitorRepository


class Catalog(Database):
    """Reads and writes the SCAS catalog. Not thread-safe: one per thread or task."""

    def __init__(self, conn: psycopg2.extensions.connection) -> None:
        super().__init__(conn)
        #: Events and their cameras.
        self.events = EventRepository(self)
        #: Visitors, their enrollments and their locks.
        self.visitors = VisitorRepository(self)
        #: Video segments, their statuses, their tracks' saving and the arrivals lock.
        self.segments = SegmentRepository(self)
        #: Face tracks as stored, and when and where visitors were seen.
        self.tracks = TrackRepository(self)
        #: Visitor page credentials, short code tries and screen links.
        self.visitor_pages = VisitorPageRepository(self)
        #: Appearances, highlight outputs and the published videos.
        self.outputs = OutputRepository(self, self.visitor_pages)
        #: Paired kiosks and their enrollment buckets.
        self.kiosks = KioskRepository(self, self.events)
        #: Operators' "not this person" corrections.
        self.corrections = CorrectionRepository(self)
        #: Returning visitors: who consented to be remembered, and their links across events.
        self.people = PeopleRepository(self)
        #: Standalone operators' signed-in sessions.
        self.operator_sessions = OperatorSessionRepository(self)

    @classmethod
    def connect(cls, url: str, *, timeout_s: float = 5.0) -> Self:
        return cls(connect(url, timeout_s=timeout_s))
