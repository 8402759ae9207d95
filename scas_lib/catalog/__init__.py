"""The PostgreSQL catalog: migrations, records and the repository API."""

from scas_lib.catalog.connection import connect, describe_url
from scas_lib.catalog.migrate import available_migrations, pending_migrations, upgrade
from scas_lib.catalog.records import (
    Appearance,
    Camera,
    Consent,
    Enrollment,
    Event,
    Output,
    Segment,
    Visitor,
)
from scas_lib.catalog.repository import Catalog

__all__ = [
    "Appearance",
    "Camera",
    "Catalog",
    "Consent",
    "Enrollment",
    "Event",
    "Output",
    "Segment",
    "Visitor",
    "available_migrations",
    "connect",
    "describe_url",
    "pending_migrations",
    "upgrade",
]
