"""One psycopg2 connection and the plain SQL the repositories run over it.

:class:`Database` is what every repository of the catalog holds: :meth:`~Database.execute`
runs one statement in its own transaction, :meth:`~Database.transaction` gives a cursor for
several statements that commit together, and :meth:`~Database.advisory_lock` holds a
PostgreSQL advisory lock (for this connection) for a block.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

import psycopg2.extensions


class Database:
    """Plain SQL over one connection. Not thread-safe: one per thread or task."""

    def __init__(self, conn: psycopg2.extensions.connection) -> None:
        self._conn = conn

    @property
    def connection(self) -> psycopg2.extensions.connection:
        return self._conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def uses_pgvector(self) -> bool:
        """True when embeddings are stored in pgvector columns."""
        rows = self.execute(
            """SELECT udt_name FROM information_schema.columns
               WHERE table_name = 'enrollments' AND column_name = 'embedding'"""
        )
        return bool(rows) and rows[0][0] == "vector"

    def execute(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction; its rows (none for a statement that
        returns nothing)."""
        with self._conn, self._conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor whose statements commit together when the block ends (and roll back
        together if it raises)."""
        with self._conn, self._conn.cursor() as cur:
            yield cur

    @contextmanager
    def advisory_lock(self, key: str) -> Iterator[None]:
        """Hold the session-level advisory lock named ``key`` for a block (waiting for it
        while another connection holds it)."""
        self.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
        try:
            yield
        finally:
            if not self._conn.closed:
                self.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))

    def advisory_lock_taken(self, key: str) -> bool:
        """Whether another connection holds the advisory lock named ``key`` now (it is
        tried and, if got, let go at once)."""
        rows = self.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,))
        if rows[0][0]:
            self.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
        return not rows[0][0]
