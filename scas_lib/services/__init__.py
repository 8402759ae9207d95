"""Embedded default servers (PostgreSQL, SeaweedFS) and endpoint resolution."""

from scas_lib.services.postgres import EmbeddedPostgres
from scas_lib.services.runtime import Services, down, open_services, prepare, resolve, status, up
from scas_lib.services.seaweedfs import EmbeddedSeaweedFS

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedSeaweedFS",
    "Services",
    "down",
    "open_services",
    "prepare",
    "resolve",
    "status",
    "up",
]
