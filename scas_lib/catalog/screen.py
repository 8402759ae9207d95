"""The big screen's queries (migration 0010): the event's finished videos, newest first,
each with a link to its visitor's page that the screen can show again and again.

A visitor page's kiosk token is stored only as a hash (see :mod:`scas_lib.catalog.access`),
so the screen cannot show it: each visitor gets a screen link of their own, made the first
time their video is on the screen, which opens the same page (``visitor_page_for``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from scas_lib.catalog.access import _execute, token_hash
from scas_lib.catalog.repository import Catalog


@dataclass(frozen=True)
class ScreenEntry:
    """One finished video the screen plays."""

    visitor_id: str
    display_name: str
    #: When the video was last (re-)rendered: the screen plays the newest first.
    updated_at: datetime
    #: The screen link's token: ``/v/<token>`` is the visitor's page.
    token: str


def screen_link(catalog: Catalog, event_id: str, visitor_id: str) -> str:
    """The visitor's screen link token, made on first use (the same one ever after)."""
    token = secrets.token_urlsafe(32)
    _execute(
        catalog,
        """INSERT INTO screen_links (event_id, visitor_id, token, token_sha256)
           VALUES (%s, %s, %s, %s) ON CONFLICT (event_id, visitor_id) DO NOTHING""",
        (event_id, visitor_id, token, token_hash(token)),
    )
    rows = _execute(
        catalog,
        "SELECT token FROM screen_links WHERE event_id = %s AND visitor_id = %s",
        (event_id, visitor_id),
    )
    return rows[0][0]


def screen_entries(catalog: Catalog, event_id: str) -> list[ScreenEntry]:
    """The event's published videos (also while one is rendered again), newest first, each
    with its screen link."""
    rows = _execute(
        catalog,
        """SELECT o.visitor_id, v.display_name, o.updated_at, l.token
           FROM outputs o JOIN visitors v ON v.event_id = o.event_id AND v.id = o.visitor_id
           LEFT JOIN screen_links l ON l.event_id = o.event_id AND l.visitor_id = o.visitor_id
           WHERE o.event_id = %s AND o.object_key IS NOT NULL
             AND o.status IN ('done', 'rendering', 'failed')  -- (rendered again: still shown)
           ORDER BY o.updated_at DESC, o.visitor_id""",
        (event_id,),
    )
    return [
        ScreenEntry(visitor, name, updated, token or screen_link(catalog, event_id, visitor))
        for visitor, name, updated, token in rows
    ]
