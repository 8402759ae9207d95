"""The ``kiosks`` table (migration 0009): kiosks paired to an event, their tokens (stored as
hashes, see :mod:`scas_lib.catalog.tokens`) and each kiosk's enrollment token bucket."""

from __future__ import annotations

import secrets

from scas_lib.catalog.database import Database
from scas_lib.catalog.events import EventRepository
from scas_lib.catalog.records import Kiosk, KioskPairing
from scas_lib.catalog.tokens import (
    DEFAULT_BURST,
    DEFAULT_PER_MINUTE,
    KIOSK_TOKEN_PREFIX,
    take_token,
    token_hash,
)
from scas_lib.errors import ScasError
from scas_lib.storage import keys

_KIOSK_COLUMNS = "id, event_id, label, per_minute, burst, created_at, revoked_at"


class KioskRepository:
    """Pairs, finds and revokes kiosks, and rations their enrollments."""

    def __init__(self, db: Database, events: EventRepository) -> None:
        self._db = db
        self._events = events

    def pair(
        self,
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
        self._events.ensure(event_id)
        token = KIOSK_TOKEN_PREFIX + secrets.token_urlsafe(32)
        kiosk_id = f"k-{secrets.token_hex(4)}"
        rows = self._db.execute(
            f"""INSERT INTO kiosks (id, event_id, label, token_sha256, per_minute, burst, allowance)
                VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_KIOSK_COLUMNS}""",
            (kiosk_id, event_id, label, token_hash(token), per_minute, burst, burst),
        )
        return KioskPairing(Kiosk(*rows[0]), token)

    def for_token(self, token: str) -> Kiosk | None:
        """The active kiosk whose token this is, else None (unknown or revoked)."""
        if not token.startswith(KIOSK_TOKEN_PREFIX):
            return None
        rows = self._db.execute(
            f"SELECT {_KIOSK_COLUMNS} FROM kiosks WHERE token_sha256 = %s AND revoked_at IS NULL",
            (token_hash(token),),
        )
        return Kiosk(*rows[0]) if rows else None

    def all(self, event_id: str | None = None) -> list[Kiosk]:
        """Every kiosk (only ``event_id``'s, if given), revoked ones too, oldest first."""
        where, params = ("WHERE event_id = %s", (event_id,)) if event_id else ("", ())
        rows = self._db.execute(
            f"SELECT {_KIOSK_COLUMNS} FROM kiosks {where} ORDER BY created_at, id", params
        )
        return [Kiosk(*row) for row in rows]

    def revoke(self, kiosk_id: str) -> bool:
        """Revoke a kiosk's token (at once: every request looks it up); False if unknown or
        already revoked."""
        rows = self._db.execute(
            """UPDATE kiosks SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL
               RETURNING id""",
            (kiosk_id,),
        )
        return bool(rows)

    def take_enrollment(self, kiosk_id: str) -> float:
        """Take one enrollment from the kiosk's token bucket: 0.0 if allowed, else the seconds
        to wait until the next one is."""
        where = "id = %(kiosk)s AND revoked_at IS NULL"
        return take_token(self._db, "kiosks", where, {"kiosk": kiosk_id}, "per_minute", "burst")
