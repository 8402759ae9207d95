"""Versioned catalog migrations: ``migrations/NNNN_name.sql``, applied in order, each once.

Each migration runs in its own transaction together with its ``schema_migrations`` row, under
a transaction-level advisory lock, so concurrent upgrades (an Airflow init container and a
worker, say) apply every migration exactly once and running the upgrade twice is a no-op.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg2.extensions

# Any constant shared by every SCAS process; "SCAS" in ASCII.
_ADVISORY_LOCK_KEY = 0x53434153
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """The migrations shipped with this package, oldest first."""
    found = []
    for entry in resources.files("scas_lib.catalog").joinpath("migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return found


def _ensure_history_table(conn: psycopg2.extensions.connection) -> None:
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_KEY,))
        cur.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    integer PRIMARY KEY,
                   name       text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )


def applied_versions(conn: psycopg2.extensions.connection) -> set[int]:
    """Versions already applied to this database (empty for a new database)."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        found = cur.fetchone()
        if found is None or not found[0]:
            return set()
        cur.execute("SELECT version FROM schema_migrations")
        return {row[0] for row in cur.fetchall()}


def upgrade(conn: psycopg2.extensions.connection, *, pgvector: bool = True) -> list[Migration]:
    """Apply every migration not yet applied; return the ones applied by this call.

    ``pgvector=False`` keeps embeddings as ``real[]`` even on a server that has pgvector.
    """
    _ensure_history_table(conn)
    applied: list[Migration] = []
    for migration in available_migrations():
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_KEY,))
            cur.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (migration.version,))
            if cur.fetchone():
                continue
            cur.execute(
                "SELECT set_config('scas.pgvector', %s, true)", ("on" if pgvector else "off",)
            )
            cur.execute(migration.sql)
            cur.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
        applied.append(migration)
    return applied


def pending_migrations(conn: psycopg2.extensions.connection) -> list[Migration]:
    """Migrations this package has that the database lacks."""
    done = applied_versions(conn)
    return [migration for migration in available_migrations() if migration.version not in done]
