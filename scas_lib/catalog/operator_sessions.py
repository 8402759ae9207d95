"""The ``operator_sessions`` table (migration 0019): the sessions a standalone operator's
browser signs in to (the cookie holds the session's token, never ``SCAS_OPERATOR_TOKEN``).
Tokens are stored as hashes (see :mod:`scas_lib.catalog.tokens`)."""

from __future__ import annotations

import secrets

from scas_lib.catalog.database import Database
from scas_lib.catalog.tokens import token_hash


class OperatorSessionRepository:
    """Opens, checks and ends operators' sessions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def open(self, lifetime_s: float) -> str:
        """A new session that lasts ``lifetime_s`` seconds; its token (shown only here).
        Expired sessions are cleared on the way."""
        self._db.execute("DELETE FROM operator_sessions WHERE expires_at <= now()")
        token = secrets.token_urlsafe(32)
        self._db.execute(
            """INSERT INTO operator_sessions (token_sha256, expires_at)
               VALUES (%s, now() + make_interval(secs => %s))""",
            (token_hash(token), float(lifetime_s)),
        )
        return token

    def is_open(self, token: str) -> bool:
        """Whether ``token`` is a session that has neither expired nor been closed."""
        if not token:
            return False
        rows = self._db.execute(
            "SELECT 1 FROM operator_sessions WHERE token_sha256 = %s AND expires_at > now()",
            (token_hash(token),),
        )
        return bool(rows)

    def close(self, token: str) -> bool:
        """End a session (signing out); whether there was one."""
        rows = self._db.execute(
            "DELETE FROM operator_sessions WHERE token_sha256 = %s RETURNING 1",
            (token_hash(token),),
        )
        return bool(rows)
