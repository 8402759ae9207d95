"""Credentials of the web app in the catalog (migration 0009): kiosk tokens and visitor pages.

A token is shown once, when it is made, and only its SHA-256 is stored; a lookup hashes what
was presented and compares in the database (an index on the hash, so nothing is compared
character by character in Python).

- A **kiosk** is paired to one event by an operator (``scas kiosk pair --event E``); its
  token authorizes enrollment for that event only, until it is revoked. Each kiosk has a
  token bucket (``per_minute`` refill, ``burst`` size) in its row: :func:`take_enrollment`
  takes one token or says how long to wait, atomically, so every API server process
  shares one limit.
- A **visitor page** is opened with a long random token (the QR code) or a short code (to
  type on a phone); both are random, neither is the visitor id. Deleting the visitor
  deletes the page (a foreign key with ``ON DELETE CASCADE``). A short code is guessable
  by a script at 40 bits, so its tries come out of one bucket for the whole app (migration
  0012, :func:`take_code_try`) and a code that opens a page gives its try back: only wrong
  codes use the bucket up.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scas_lib.catalog.repository import Catalog
from scas_lib.errors import ScasError
from scas_lib.storage import keys

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


@dataclass(frozen=True)
class Kiosk:
    """A paired kiosk (its token is never stored, see the module docstring)."""

    id: str
    event_id: str
    label: str
    per_minute: float
    burst: int
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class KioskPairing:
    """A new kiosk and its token, which exists only here: show it once."""

    kiosk: Kiosk
    token: str = field(repr=False)


@dataclass(frozen=True)
class VisitorPage:
    event_id: str
    visitor_id: str
    kiosk_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class VisitorPageIssue:
    """A visitor's new page credentials, shown once (QR code and short code)."""

    page: VisitorPage
    token: str = field(repr=False)
    code: str = field(repr=False)


def _execute(
    catalog: Catalog, sql: str, params: Sequence[Any] | dict[str, Any] = ()
) -> list[tuple]:
    conn = catalog.connection
    with conn, conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


_KIOSK_COLUMNS = "id, event_id, label, per_minute, burst, created_at, revoked_at"


def pair_kiosk(
    catalog: Catalog,
    event_id: str,
    *,
    label: str = "",
    per_minute: float = DEFAULT_PER_MINUTE,
    burst: int = DEFAULT_BURST,
) -> KioskPairing:
    """Make a kiosk for ``event_id`` (created in the catalog if new) and its token."""
    keys.validate_id(event_id, "event id")
    if per_minute <= 0 or burst < 1:
        raise ScasError("a kiosk needs a rate above 0 per minute and a burst of at least 1")
    catalog.ensure_event(event_id)
    token = KIOSK_TOKEN_PREFIX + secrets.token_urlsafe(32)
    kiosk_id = f"k-{secrets.token_hex(4)}"
    rows = _execute(
        catalog,
        f"""INSERT INTO kiosks (id, event_id, label, token_sha256, per_minute, burst, allowance)
            VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_KIOSK_COLUMNS}""",
        (kiosk_id, event_id, label, token_hash(token), per_minute, burst, burst),
    )
    return KioskPairing(Kiosk(*rows[0]), token)


def kiosk_for_token(catalog: Catalog, token: str) -> Kiosk | None:
    """The active kiosk whose token this is, else None (unknown or revoked)."""
    if not token.startswith(KIOSK_TOKEN_PREFIX):
        return None
    rows = _execute(
        catalog,
        f"SELECT {_KIOSK_COLUMNS} FROM kiosks WHERE token_sha256 = %s AND revoked_at IS NULL",
        (token_hash(token),),
    )
    return Kiosk(*rows[0]) if rows else None


def list_kiosks(catalog: Catalog, event_id: str | None = None) -> list[Kiosk]:
    where, params = ("WHERE event_id = %s", (event_id,)) if event_id else ("", ())
    rows = _execute(
        catalog, f"SELECT {_KIOSK_COLUMNS} FROM kiosks {where} ORDER BY created_at, id", params
    )
    return [Kiosk(*row) for row in rows]


def revoke_kiosk(catalog: Catalog, kiosk_id: str) -> bool:
    """Revoke a kiosk's token (at once: every request looks it up); False if unknown or
    already revoked."""
    rows = _execute(
        catalog,
        "UPDATE kiosks SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL RETURNING id",
        (kiosk_id,),
    )
    return bool(rows)


def _refilled(per_minute: str, burst: str) -> str:
    """SQL: a token bucket row's allowance now (``allowance`` left at ``refilled_at``)."""
    return (
        f"least({burst}, allowance + extract(epoch FROM now() - refilled_at) * {per_minute} / 60.0)"
    )


def _take_token(
    catalog: Catalog, table: str, where: str, params: dict[str, Any], per_minute: str, burst: str
) -> float:
    """Take one token from the bucket in ``table``'s row ``where``: 0.0 if allowed, else the
    seconds to wait until the next one is. One statement, so concurrent requests never both
    take the last one."""
    refilled = _refilled(per_minute, burst)
    taken = _execute(
        catalog,
        f"""UPDATE {table} SET allowance = {refilled} - 1, refilled_at = now()
            WHERE {where} AND {refilled} >= 1 RETURNING 1""",
        params,
    )
    if taken:
        return 0.0
    rows = _execute(
        catalog, f"SELECT (1 - {refilled}) * 60.0 / {per_minute} FROM {table} WHERE {where}", params
    )
    return max(0.1, float(rows[0][0])) if rows else 60.0


def take_enrollment(catalog: Catalog, kiosk_id: str) -> float:
    """Take one enrollment from the kiosk's token bucket: 0.0 if allowed, else the seconds to
    wait until the next one is."""
    where = "id = %(kiosk)s AND revoked_at IS NULL"
    return _take_token(catalog, "kiosks", where, {"kiosk": kiosk_id}, "per_minute", "burst")


def is_short_code(credential: str) -> bool:
    """Whether a visitor page's credential is a short code as typed (not a long token).

    >>> is_short_code("abcd-efgh"), is_short_code("x" * 43)
    (True, False)
    """
    return len(credential) <= 2 * CODE_LENGTH and len(normalize_code(credential)) == CODE_LENGTH


def take_code_try(catalog: Catalog) -> float:
    """Take one try of a short code from the app's bucket: 0.0 if allowed, else the seconds
    to wait (:data:`CODE_TRIES_PER_MINUTE`). Give it back with :func:`return_code_try` if
    the code opened a page."""
    limits = {"name": "short_codes", "per_minute": CODE_TRIES_PER_MINUTE,
              "burst": CODE_TRIES_BURST}  # fmt: skip
    _execute(
        catalog,
        """INSERT INTO rate_limits (name, allowance) VALUES (%(name)s, %(burst)s)
           ON CONFLICT (name) DO NOTHING""",
        limits,
    )
    return _take_token(
        catalog, "rate_limits", "name = %(name)s", limits, "%(per_minute)s", "%(burst)s"
    )


def return_code_try(catalog: Catalog) -> None:
    """A short code that opened a page costs no try."""
    _execute(
        catalog,
        """UPDATE rate_limits SET allowance = least(%s, allowance + 1)
           WHERE name = 'short_codes'""",
        (CODE_TRIES_BURST,),
    )


def issue_visitor_page(
    catalog: Catalog, event_id: str, visitor_id: str, kiosk_id: str | None = None
) -> VisitorPageIssue:
    """New credentials for a visitor's page (replacing earlier ones, which stop working)."""
    token = secrets.token_urlsafe(32)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    rows = _execute(
        catalog,
        """INSERT INTO visitor_pages (event_id, visitor_id, token_sha256, code_sha256, kiosk_id)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (event_id, visitor_id) DO UPDATE SET token_sha256 = EXCLUDED.token_sha256,
               code_sha256 = EXCLUDED.code_sha256, kiosk_id = EXCLUDED.kiosk_id,
               created_at = now()
           RETURNING event_id, visitor_id, kiosk_id, created_at""",
        (event_id, visitor_id, token_hash(token), token_hash(code), kiosk_id),
    )
    return VisitorPageIssue(VisitorPage(*rows[0]), token, code)


def visitor_page_for(catalog: Catalog, credential: str) -> VisitorPage | None:
    """The page opened by a long token, a short code (as typed) or the big screen's link
    (:mod:`scas_lib.catalog.screen`), else None."""
    code = normalize_code(credential)
    code_digest = token_hash(code) if len(code) == CODE_LENGTH else None
    rows = _execute(
        catalog,
        """SELECT event_id, visitor_id, kiosk_id, created_at FROM visitor_pages
           WHERE token_sha256 = %s OR code_sha256 = %s
           UNION ALL
           SELECT event_id, visitor_id, NULL, created_at FROM screen_links
           WHERE token_sha256 = %s""",
        (token_hash(credential), code_digest, token_hash(credential)),
    )
    return VisitorPage(*rows[0]) if rows else None
