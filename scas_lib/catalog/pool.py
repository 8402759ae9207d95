"""Catalog connections kept open for reuse, for a server that answers many short requests.

Opening a PostgreSQL connection costs a server process and an authentication: about 11 ms
on the 2-core benchmark machine, half of it CPU on each side, and a kiosk enrollment opened
five (docs/benchmarks-history.md, kiosk load). A :class:`CatalogPool` hands out
:class:`~scas_lib.catalog.Catalog` objects as usual (one per thread, closed after use);
closing one gives its connection back instead of closing it.

A connection comes back as it was left, so nothing of one use may leak into the next: an
open transaction is rolled back when it is given back (a connection in an unknown state is
closed), and a connection taken from the pool first releases any session-level advisory
lock (a :meth:`~scas_lib.catalog.Catalog.visitor_lock` whose unlock failed); that query
also proves the connection alive, and a dead one (a restarted server) is replaced by a new
one rather than failing the request.
"""

from __future__ import annotations

import threading

import psycopg2
import psycopg2.extensions

from scas_lib.catalog.catalog import Catalog
from scas_lib.catalog.connection import connect


class PooledCatalog(Catalog):
    """A catalog whose :meth:`close` gives its connection back to its pool."""

    def __init__(self, conn: psycopg2.extensions.connection, pool: CatalogPool) -> None:
        super().__init__(conn)
        self._pool: CatalogPool | None = pool

    def close(self) -> None:
        if self._pool is not None:  # closing twice gives back once
            self._pool.give_back(self._conn)
            self._pool = None


class CatalogPool:
    """Up to ``keep`` idle connections to the catalog at ``url``; more may be open at once
    (each request gets one), those beyond ``keep`` are closed when given back."""

    def __init__(self, url: str, *, timeout_s: float = 5.0, keep: int = 8) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.keep = keep
        self._idle: list[psycopg2.extensions.connection] = []
        self._lock = threading.Lock()

    def catalog(self) -> Catalog:
        """A catalog on an idle connection that still works, else on a new one."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return PooledCatalog(connect(self.url, timeout_s=self.timeout_s), self)
            try:
                with conn, conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock_all()")
                return PooledCatalog(conn, self)
            except psycopg2.Error:  # the server closed it: try the next, or a new one
                conn.close()

    def give_back(self, conn: psycopg2.extensions.connection) -> None:
        """Keep ``conn`` for the next request if it is usable and the pool has room."""
        if not conn.closed:
            status: int | None = conn.info.transaction_status
            if status in (
                psycopg2.extensions.TRANSACTION_STATUS_INTRANS,
                psycopg2.extensions.TRANSACTION_STATUS_INERROR,
            ):
                try:
                    conn.rollback()
                    status = conn.info.transaction_status
                except psycopg2.Error:
                    status = None
            if status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                with self._lock:
                    if len(self._idle) < self.keep:
                        self._idle.append(conn)
                        return
        conn.close()

    def close(self) -> None:
        """Close the idle connections (those in use close when given back)."""
        with self._lock:
            idle, self._idle = self._idle, []
            self.keep = 0
        for conn in idle:
            conn.close()
