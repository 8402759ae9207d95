"""Visitor pages' credentials (migrations 0009, 0010, 0012): the ``visitor_pages`` tokens
and short codes, the ``rate_limits`` bucket of short code tries, and the ``screen_links``
the big screen shows.

A visitor page is opened with a long random token (the QR code) or a short code; both are
stored as hashes (see :mod:`scas_lib.catalog.tokens`). The kiosk's token is thus not
available to show again, so each visitor gets a screen link of their own, made the first
time their video is on the big screen. Anyone in the room can scan it, so it only watches
the video (:meth:`VisitorPageRepository.for_screen_link`, the app's ``/w/`` page): it
never opens the visitor's page, which offers *Delete my data* (issue 44, item 7)."""

from __future__ import annotations

import secrets

from scas_lib.catalog.database import Database
from scas_lib.catalog.records import VisitorPage, VisitorPageIssue
from scas_lib.catalog.tokens import (
    CODE_ALPHABET,
    CODE_LENGTH,
    CODE_TRIES_BURST,
    CODE_TRIES_PER_MINUTE,
    short_code,
    take_token,
    token_hash,
)


class VisitorPageRepository:
    """Issues and looks up visitors' page credentials, and rations short code tries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def issue(
        self, event_id: str, visitor_id: str, kiosk_id: str | None = None
    ) -> VisitorPageIssue:
        """New credentials for a visitor's page (replacing earlier ones, which stop working)."""
        token = secrets.token_urlsafe(32)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        rows = self._db.execute(
            """INSERT INTO visitor_pages
                   (event_id, visitor_id, token_sha256, code_sha256, kiosk_id)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (event_id, visitor_id) DO UPDATE
               SET token_sha256 = EXCLUDED.token_sha256,
                   code_sha256 = EXCLUDED.code_sha256, kiosk_id = EXCLUDED.kiosk_id,
                   created_at = now()
               RETURNING event_id, visitor_id, kiosk_id, created_at""",
            (event_id, visitor_id, token_hash(token), token_hash(code), kiosk_id),
        )
        return VisitorPageIssue(VisitorPage(*rows[0]), token, code)

    def for_credential(self, credential: str) -> VisitorPage | None:
        """The page opened by a long token or a short code (as typed), else None. A screen
        link does not open it: it only watches (:meth:`for_screen_link`)."""
        code = short_code(credential)
        code_digest = token_hash(code) if code else None
        rows = self._db.execute(
            """SELECT event_id, visitor_id, kiosk_id, created_at FROM visitor_pages
               WHERE token_sha256 = %s OR code_sha256 = %s""",
            (token_hash(credential), code_digest),
        )
        return VisitorPage(*rows[0]) if rows else None

    def for_screen_link(self, token: str) -> VisitorPage | None:
        """The visitor whose video a screen link (:meth:`screen_link`) watches, else None.
        What it opens may only watch that video: never their page, nor delete anything."""
        rows = self._db.execute(
            """SELECT event_id, visitor_id, NULL, created_at FROM screen_links
               WHERE token_sha256 = %s""",
            (token_hash(token),),
        )
        return VisitorPage(*rows[0]) if rows else None

    def take_code_try(self) -> float:
        """Take one try of a short code from the app's bucket: 0.0 if allowed, else the
        seconds to wait (:data:`~scas_lib.catalog.tokens.CODE_TRIES_PER_MINUTE`). Give it
        back with :meth:`return_code_try` if the code opened a page."""
        limits = {"name": "short_codes", "per_minute": CODE_TRIES_PER_MINUTE,
                  "burst": CODE_TRIES_BURST}  # fmt: skip
        self._db.execute(
            """INSERT INTO rate_limits (name, allowance) VALUES (%(name)s, %(burst)s)
               ON CONFLICT (name) DO NOTHING""",
            limits,
        )
        return take_token(
            self._db, "rate_limits", "name = %(name)s", limits, "%(per_minute)s", "%(burst)s"
        )

    def return_code_try(self) -> None:
        """A short code that opened a page costs no try."""
        self._db.execute(
            """UPDATE rate_limits SET allowance = least(%s, allowance + 1)
               WHERE name = 'short_codes'""",
            (CODE_TRIES_BURST,),
        )

    def screen_link(self, event_id: str, visitor_id: str) -> str:
        """The visitor's screen link token, made on first use (the same one ever after)."""
        token = secrets.token_urlsafe(32)
        self._db.execute(
            """INSERT INTO screen_links (event_id, visitor_id, token, token_sha256)
               VALUES (%s, %s, %s, %s) ON CONFLICT (event_id, visitor_id) DO NOTHING""",
            (event_id, visitor_id, token, token_hash(token)),
        )
        rows = self._db.execute(
            "SELECT token FROM screen_links WHERE event_id = %s AND visitor_id = %s",
            (event_id, visitor_id),
        )
        return str(rows[0][0])
