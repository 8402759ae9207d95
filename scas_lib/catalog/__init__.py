"""The PostgreSQL catalog: migrations, records and the repositories.

:class:`Catalog` holds one connection; its attributes are the repositories, one per group
of tables, each in the module named after its data:

==========================  =====================================================
``catalog.events``          events and cameras (:mod:`~scas_lib.catalog.events`)
``catalog.visitors``        visitors, enrollments, visitor locks
``catalog.segments``        segments, saving their tracks, the arrivals lock
``catalog.tracks``          face tracks, sightings, when visitors were last seen
``catalog.outputs``         appearances, highlight outputs, published videos
``catalog.kiosks``          paired kiosks and their enrollment buckets
``catalog.visitor_pages``   visitor page credentials, short code tries, screen links
``catalog.corrections``     "not this person" corrections
``catalog.people``          returning visitors, their nearest earlier visits and links
==========================  =====================================================

The records they take and return are in :mod:`~scas_lib.catalog.records`; tokens and token
buckets in :mod:`~scas_lib.catalog.tokens`; the row mapping the repositories share in
:mod:`~scas_lib.catalog.rows`.
"""

from scas_lib.catalog.catalog import Catalog
from scas_lib.catalog.connection import connect, describe_url
from scas_lib.catalog.migrate import available_migrations, pending_migrations, upgrade
from scas_lib.catalog.records import (
    Appearance,
    Camera,
    Consent,
    EarlierVisit,
    Enrollment,
    Event,
    Kiosk,
    KioskPairing,
    MomentCorrection,
    Output,
    RecognitionProgress,
    ScreenEntry,
    Segment,
    SegmentTrack,
    Sightings,
    Visitor,
    VisitorPage,
    VisitorPageIssue,
)

__all__ = [
    "Appearance",
    "Camera",
    "Catalog",
    "Consent",
    "EarlierVisit",
    "Enrollment",
    "Event",
    "Kiosk",
    "KioskPairing",
    "MomentCorrection",
    "Output",
    "RecognitionProgress",
    "ScreenEntry",
    "Segment",
    "SegmentTrack",
    "Sightings",
    "Visitor",
    "VisitorPage",
    "VisitorPageIssue",
    "available_migrations",
    "connect",
    "describe_url",
    "pending_migrations",
    "upgrade",
]
