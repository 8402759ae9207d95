"""Opening PostgreSQL connections with errors a person can act on."""

from __future__ import annotations

import psycopg2
import psycopg2.extensions

from scas_lib.errors import CatalogUnavailable


def describe_url(url: str) -> str:
    """``user@host:port/dbname`` of a libpq URL or DSN, without the password.

    >>> describe_url("postgresql://scas:secret@db:5432/scas")
    'scas@db:5432/scas'
    """
    try:
        parts = psycopg2.extensions.parse_dsn(url)
    except psycopg2.ProgrammingError:
        return "<unparsable database URL>"
    return (
        f"{parts.get('user', '')}@{parts.get('host', 'localhost')}:"
        f"{parts.get('port', '5432')}/{parts.get('dbname', '')}"
    )


def connect(url: str, *, timeout_s: float = 5.0) -> psycopg2.extensions.connection:
    """Open a connection, or raise :class:`CatalogUnavailable` naming the server and cause."""
    try:
        return psycopg2.connect(url, connect_timeout=max(1, round(timeout_s)))
    except psycopg2.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "unknown error"
        raise CatalogUnavailable(
            f"cannot connect to the catalog at {describe_url(url)}: {reason} "
            "(check SCAS_DATABASE_URL, or unset it to use the embedded PostgreSQL)"
        ) from None
    except psycopg2.ProgrammingError as error:
        raise CatalogUnavailable(f"invalid database URL: {error}") from None
