"""Serve an object of the store to a browser, with HTTP ranges (a ``<video>`` seeks by
asking for byte ranges; a phone at the venue cannot reach the object store itself).

A response holds at most :data:`CHUNK` bytes in memory: a range is answered up to that
much (browsers ask again for the rest) and a whole download is streamed in such pieces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

from fastapi.responses import Response, StreamingResponse

from scas_lib.storage.object_store import ObjectStore
from scas_lib.web.errors import ApiError

CHUNK = 4 * 2**20
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


#: What a file name may not hold on any system a visitor saves to (and control characters).
_NOT_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def download_name(event_name: str, display_name: str, extension: str, suffix: str = "") -> str:
    """The name a visitor's video is saved under: the event's and the visitor's names, in
    any script, without what a file name cannot hold.

    >>> download_name("Expo 2026", "Ana Lee", "mp4"), download_name("展会", "李/娜", "jpg")
    ('Expo 2026 - Ana Lee.mp4', '展会 - 李 娜.jpg')
    """
    stem = " - ".join(
        _NOT_IN_FILE_NAMES.sub(" ", part).strip(" .") for part in (event_name, display_name)
    )
    return f"{stem[:150]}{suffix}.{extension}"


def _content_disposition(name: str) -> str:
    """``attachment`` with ``name`` as typed (RFC 6266 ``filename*``) and an ASCII one for
    old clients."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte a ``Range`` header asks for (one range), None for the whole
    object; 416 if it is outside the object.

    >>> parse_range("bytes=0-", 100), parse_range("bytes=-10", 100), parse_range(None, 100)
    ((0, 99), (90, 99), None)
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None  # several ranges or an odd unit: send it whole, as HTTP allows
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(size - 1, int(last)) if last else size - 1
    if start >= size or start > end:
        raise ApiError(416, "range_not_satisfiable", f"the object has {size} bytes")
    return start, end


def object_response(
    store: ObjectStore,
    bucket: str,
    key: str,
    *,
    range_header: str | None,
    download_name: str | None = None,
) -> Response:
    """The object as a (partial) response; ``download_name`` makes it an attachment."""
    stored = store.stat(bucket, key)
    size = stored.size
    media_type = stored.content_type or "application/octet-stream"
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    if download_name:
        headers["Content-Disposition"] = _content_disposition(download_name)
    wanted = parse_range(range_header, size)
    if wanted is not None:
        start, end = wanted
        end = min(end, start + CHUNK - 1)
        body = store.get_range(bucket, key, start, end - start + 1)
        headers["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{size}"
        return Response(body, 206, headers=headers, media_type=media_type)

    def pieces() -> Iterator[bytes]:
        for offset in range(0, size, CHUNK):
            yield store.get_range(bucket, key, offset, min(CHUNK, size - offset))

    headers["Content-Length"] = str(size)
    return StreamingResponse(pieces(), headers=headers, media_type=media_type)
