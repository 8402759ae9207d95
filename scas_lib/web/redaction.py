"""Credentials out of what is logged: a request's address, as a log line may show it.

A visitor's page address holds their credential (the long token of the QR code or the
short code, in ``/v/<credential>`` and ``/api/visitor/<credential>/...``), a screen link
its own (``/w/<link>``, ``/api/watch/<link>/...``); a kiosk's
pairing link holds the kiosk's token (``?pair=``) and the standalone sign-in link the
operator's (``?token=``). Whatever logs a request's path or query string passes it through
:func:`without_credentials` first: the access log (``CredentialsOutOfAccessLogs`` in
:mod:`.app`) and the error handlers (:mod:`.errors`).
"""

from __future__ import annotations

import re

#: Where a request's address holds a credential: a visitor page's token or short code or a
#: screen link (in the path), a kiosk's pairing token (``?pair=``) and an operator's
#: (``?token=``).
_CREDENTIAL_IN_PATH = re.compile(r"(/v/|/w/|/api/visitor/|/api/watch/)[^/]+")
_CREDENTIAL_IN_QUERY = re.compile(rb"(^|&)(pair|token)=[^&]*")


def without_credentials(path: str, query: bytes = b"") -> tuple[str, bytes]:
    """A request's path and query string with their credentials replaced by ``***``.

    >>> without_credentials("/scas/api/visitor/Xy_9/media/video")
    ('/scas/api/visitor/***/media/video', b'')
    >>> without_credentials("/scas/kiosk/expo", b"lang=zh&pair=scask_abc")
    ('/scas/kiosk/expo', b'lang=zh&pair=***')
    >>> without_credentials("/scas/v/5HUD-EGSC---", b"token=t&next=/screen/E")
    ('/scas/v/***', b'token=***&next=/screen/E')
    """
    return (
        _CREDENTIAL_IN_PATH.sub(r"\1***", path),
        _CREDENTIAL_IN_QUERY.sub(rb"\1\2=***", query),
    )


def loggable_path(path: str) -> str:
    """A request's path as a log line may show it (:func:`without_credentials`)."""
    return without_credentials(path)[0]
