"""Deleted rows out of the database's files, after a visitor is forgotten.

A ``DELETE`` only marks a row dead: its bytes (a visitor's name, their face embeddings)
stay in the table's file until the space is reused, and in the write-ahead log (WAL) that
recorded the insert until the segment is removed. :func:`scrub_deleted_rows` therefore

1. rewrites the small tables that hold what identifies a person (``VACUUM FULL``: a new
   file of the live rows only; the old one is emptied at once and removed at the next
   checkpoint), and vacuums the other tables a visitor's deletion cascades to, which may
   be large (their dead rows' space is reused by later rows);
2. checkpoints, switches to a new WAL segment and checkpoints again: every segment from
   before is no longer needed and is removed (the embedded server runs with
   ``wal_recycle = off``, so a segment is deleted, not renamed for reuse with its old
   bytes in it).

Step 2 needs the right to checkpoint (a superuser, or ``pg_checkpoint``), which the
embedded server's user has; on another server the WAL is that server's to retain (and its
archive's, if it archives). A transaction older than the deletion keeps the row alive for
itself: rows such a transaction can still see are kept by the rewrite, so the bytes are gone
when the last transaction begun before the forget has ended and the next forget has run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg2
import psycopg2.errors

from scas_lib.catalog.connection import connect

log = logging.getLogger(__name__)

#: Small tables whose rows identify a person: rewritten.
REWRITTEN_TABLES = ("visitors", "enrollments", "visitor_pages", "screen_links")
#: The other tables a visitor's rows cascade from (one row per track may be millions).
VACUUMED_TABLES = (
    "tracks", "appearances", "outputs", "moment_corrections", "visitor_sightings",
)  # fmt: skip
#: How long a rewrite waits for a table that another transaction holds.
LOCK_TIMEOUT_S = 30


@dataclass(frozen=True)
class ScrubResult:
    """What :func:`scrub_deleted_rows` did: the tables rewritten and vacuumed, and whether
    the WAL from before was retired (False without the right to checkpoint)."""

    rewritten: tuple[str, ...]
    vacuumed: tuple[str, ...]
    wal_retired: bool


def scrub_deleted_rows(database_url: str, *, timeout_s: float = 5.0) -> ScrubResult:
    """Remove the bytes of deleted visitors' rows from the database's files (see above)."""
    connection = connect(database_url, timeout_s=timeout_s)
    try:
        connection.autocommit = True  # VACUUM runs outside a transaction
        with connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT_S}s'")
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
                (list(REWRITTEN_TABLES + VACUUMED_TABLES),),
            )
            present = {row[0] for row in cursor.fetchall()}
            rewritten = tuple(t for t in REWRITTEN_TABLES if t in present)
            vacuumed = tuple(t for t in VACUUMED_TABLES if t in present)
            for table, command in [(t, "VACUUM (FULL)") for t in rewritten] + [
                (t, "VACUUM") for t in vacuumed
            ]:
                try:
                    cursor.execute(f"{command} {table}")
                except psycopg2.errors.LockNotAvailable:
                    # The rows are deleted all the same; the next forget rewrites the table.
                    log.warning("%s %s: the table stayed busy for %d s", command, table,
                                LOCK_TIMEOUT_S)  # fmt: skip
            try:
                cursor.execute("CHECKPOINT")
                cursor.execute("SELECT pg_switch_wal()")
                cursor.execute("CHECKPOINT")
                wal_retired = True
            except psycopg2.errors.InsufficientPrivilege:
                log.warning(
                    "cannot checkpoint the catalog's server: the WAL that recorded the "
                    "forgotten rows is kept as long as that server keeps its WAL"
                )
                wal_retired = False
        return ScrubResult(rewritten, vacuumed, wal_retired)
    finally:
        connection.close()
