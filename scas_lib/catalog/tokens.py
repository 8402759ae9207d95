"""Credentials of the web app (migration 0009): kiosk tokens, visitor pages, token buckets.

A token is shown once, when it is made, and only its SHA-256 is stored; a lookup hashes what
was presented and compares in the database (an index on the hash, so nothing is compared
character by character in Python).

- A **kiosk** is paired to one event by an operator (``scas kiosk pair --event E``); its
  token authorizes enrollment for that event only, until it is revoked. Each kiosk has a
  token bucket (``per_minute`` refill, ``burst`` size) in its row:
  :meth:`~scas_lib.catalog.kiosks.KioskRepository.take_enrollment` takes one token or says
  how long to wait, atomically, so every API server process shares one limit
  (:func:`take_token`).
- A **visitor page** is opened with a long random token (the QR code) or a short code (to
  type on a phone); both are random, neither is the visitor id. Deleting the visitor
  deletes the page (a foreign key with ``ON DELETE CASCADE``). A short code is guessable
  by a script at 40 bits, so its tries come out of one bucket for the whole app (migration
  0012, :meth:`~scas_lib.catalog.visitor_pages.VisitorPageRepository.take_code_try`) and a
  code that opens a page gives its try back: only wrong codes use the bucket up.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from scas_lib.catalog.database import Database

#: Kiosk tokens start with this, so a leaked one is recognisable (and grep-able in logs).
KIOSK_TOKEN_PREFIX = "scask_"
#: Short codes avoid letters and digits that read alike (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: 8 characters of 31: about 40 bits, shown as ``ABCD-EFGH``.
CODE_LENGTH = 8
DEFAULT_PER_MINUTE = 20.0
DEFAULT_BURST = 10
#: Wrong short codes the app answers a minute, and at once. A script trying codes then
#: needs about 31**8 / 60 / visitors minutes to open anyone's page: 2.7 years with 10,000
#: visitors; a visitor who mistyped waits only while somebody is trying codes.
CODE_TRIES_PER_MINUTE = 60.0
CODE_TRIES_BURST = 60


def token_hash(token: str) -> str:
    """The SHA-256 of a token as stored: the token itself never is."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalize_code(text: str) -> str:
    """A short code as typed, in its stored form: upper case, without spaces or dashes.

    >>> normalize_code(" abcd-efgh ")
    'ABCDEFGH'
    """
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def format_code(code: str) -> str:
    """A short code as shown, in two groups of four.

    >>> format_code("ABCDEFGH")
    'ABCD-EFGH'
    """
    return f"{code[:4]}-{code[4:]}"


#: What a short code may be typed with: its letters and digits, in either case, and the
#: spaces and dashes people put between groups.
_CODE_AS_TYPED = re.compile(r"[A-Za-z0-9 -]+")


def short_code(credential: str) -> str | None:
    """The short code a visitor page's credential is, in its one canonical form (the form
    that is stored, looked up and counted against the tries), or None for a long token.

    Every spelling of a code (case, spaces, dashes, however many) is the same code, so it
    opens the same page and takes from the same bucket of tries; anything else (another
    character anywhere) is a long token, looked up exactly as given.

    >>> short_code("abcd-efgh"), short_code("ABCD-EFGH---------"), short_code("ABCD_EFGH")
    ('ABCDEFGH', 'ABCDEFGH', None)
    >>> short_code("x" * 43) is None
    True
    """
    code = normalize_code(credential)
    if len(code) == CODE_LENGTH and _CODE_AS_TYPED.fullmatch(credential):
        return code
    return None


def is_short_code(credential: str) -> bool:
    """Whether a visitor page's credential is a short code (:func:`short_code`).

    >>> is_short_code("abcd-efgh"), is_short_code("x" * 43)
    (True, False)
    """
    return short_code(credential) is not None


def _refilled(per_minute: str, burst: str) -> str:
    """SQL: a token bucket row's allowance now (``allowance`` left at ``refilled_at``)."""
    return (
        f"least({burst}, allowance + extract(epoch FROM now() - refilled_at) * {per_minute} / 60.0)"
    )


def take_token(
    db: Database, table: str, where: str, params: dict[str, Any], per_minute: str, burst: str
) -> float:
    """Take one token from the bucket in ``table``'s row ``where``: 0.0 if allowed, else the
    seconds to wait until the next one is. One statement, so concurrent requests never both
    take the last one."""
    refilled = _refilled(per_minute, burst)
    taken = db.execute(
        f"""UPDATE {table} SET allowance = {refilled} - 1, refilled_at = now()
            WHERE {where} AND {refilled} >= 1 RETURNING 1""",
        params,
    )
    if taken:
        return 0.0
    rows = db.execute(
        f"SELECT (1 - {refilled}) * 60.0 / {per_minute} FROM {table} WHERE {where}", params
    )
    return max(0.1, float(rows[0][0])) if rows else 60.0
