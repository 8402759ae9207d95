"""What a finished MP4 segment says of itself, read from its index (the ``moov`` box) in
this process: the duration of its video track, or that it has no index at all.

Ingest asks this of every segment ffmpeg lists. An ffprobe per segment cost some 0.09
CPU-s (a process that loads every codec library and analyses the stream), six times what
ffmpeg itself spends recording the segment; the index is a few kilobytes at the end of the
file (ffmpeg's MP4 muxer writes the media first, the index last), read in microseconds.

A segment ffmpeg was closing when the disk filled is listed without its index: it has no
``moov``, or one cut short, or media data that runs past the end of the file.

:func:`boxes` and :func:`video_track_duration_s` are pure (bytes in, answers out);
:func:`read_index` reads the file.

>>> mvhd = _full_box(b"mvhd", bytes(4) * 3 + (1000).to_bytes(4, "big") + bytes(4))
>>> track = _box(b"trak", _box(b"mdia", _full_box(b"mdhd", bytes(8)
...     + (12800).to_bytes(4, "big") + (25600).to_bytes(4, "big") + bytes(4))
...     + _full_box(b"hdlr", bytes(4) + b"vide" + bytes(12))))
>>> video_track_duration_s(_box(b"moov", mvhd + track)[8:])
2.0
>>> video_track_duration_s(mvhd) is None  # no video track
True
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: A segment's index is a few kilobytes per second of video; more is not a segment.
MAX_INDEX_BYTES = 64 * 2**20


class UnreadableSegment(Exception):
    """The file is not a whole MP4: why, in a few words."""


@dataclass(frozen=True)
class Box:
    """A box's four-character type, where its payload starts and where the box ends (byte
    offsets in what was parsed; ``end`` may lie past the bytes at hand)."""

    kind: bytes
    payload_at: int
    end: int


def boxes(data: bytes, start: int = 0, stop: int | None = None) -> Iterator[Box]:
    """The boxes laid one after another in ``data[start:stop]``. :class:`UnreadableSegment`
    for a header that is cut short or whose size makes no sense; a box whose end lies past
    ``stop`` is still yielded (the caller decides whether that is a truncation)."""
    stop = len(data) if stop is None else stop
    at = start
    while at < stop:
        if stop - at < 8:
            raise UnreadableSegment("a box header is cut short")
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:
            if stop - at < 16:
                raise UnreadableSegment("a box header is cut short")
            (size,) = struct.unpack_from(">Q", data, at + 8)
            header = 16
        elif size == 0:  # to the end of the enclosing space
            size = stop - at
        if size < header:
            raise UnreadableSegment(f"box {kind!r} has an impossible size {size}")
        yield Box(kind, at + header, at + size)
        at += size


def _child(data: bytes, parent: Box, kind: bytes) -> Box | None:
    return next((box for box in boxes(data, parent.payload_at, parent.end) if box.kind == kind),
                None)  # fmt: skip


def _timescale_and_duration(data: bytes, header: Box) -> tuple[int, int]:
    """(timescale, duration) of an ``mvhd`` or ``mdhd`` box (version 0 or 1)."""
    version = data[header.payload_at]
    if version == 1:
        timescale, duration = struct.unpack_from(">IQ", data, header.payload_at + 4 + 16)
    else:
        timescale, duration = struct.unpack_from(">II", data, header.payload_at + 4 + 8)
    return timescale, duration


def video_track_duration_s(moov: bytes) -> float | None:
    """The duration in seconds of the first video track of an MP4 index (the payload of its
    ``moov`` box, as :func:`read_index` returns it), from the track's media header (what
    ffprobe reports as the stream's duration); None when the index holds no video track.
    :class:`UnreadableSegment` when the index itself is cut short or malformed."""
    try:
        for track in boxes(moov):
            if track.kind != b"trak" or track.end > len(moov):
                continue
            media = _child(moov, track, b"mdia")
            if media is None or media.end > len(moov):
                continue
            handler = _child(moov, media, b"hdlr")
            header = _child(moov, media, b"mdhd")
            if handler is None or header is None:
                continue
            if moov[handler.payload_at + 8 : handler.payload_at + 12] != b"vide":
                continue
            timescale, duration = _timescale_and_duration(moov, header)
            if timescale == 0:
                raise UnreadableSegment("the video track has no timescale")
            return duration / timescale
    except struct.error:
        raise UnreadableSegment("the index is cut short") from None
    return None


def read_index(path: Path) -> bytes:
    """The payload of ``path``'s ``moov`` box, found by walking the file's top-level box
    headers (a seek and a few bytes each). :class:`UnreadableSegment` when the file has no
    index, or a box (the media data, the index) runs past the end of the file: what ffmpeg
    leaves of a segment it could not finish. OSError as the file system raises it."""
    with path.open("rb") as file:
        size = file.seek(0, 2)
        at, index = 0, None
        while at < size:
            file.seek(at)
            head = file.read(16)
            if len(head) < 8:
                raise UnreadableSegment("a box header is cut short")
            length, kind = struct.unpack_from(">I4s", head)
            header = 8
            if length == 1:
                if len(head) < 16:
                    raise UnreadableSegment("a box header is cut short")
                (length,) = struct.unpack_from(">Q", head, 8)
                header = 16
            elif length == 0:  # the last box, to the end of the file
                length = size - at
            name = kind.decode("latin-1")
            if length < header:
                raise UnreadableSegment(f"box {name!r} has an impossible size {length}")
            if at + length > size:
                raise UnreadableSegment(f"box {name!r} runs past the end of the file")
            if kind == b"moov":
                if length - header > MAX_INDEX_BYTES:
                    raise UnreadableSegment("the index is too large for a segment")
                file.seek(at + header)
                index = file.read(length - header)
            at += length
    if index is None:
        raise UnreadableSegment("it has no index (moov)")
    return index


def _box(kind: bytes, payload: bytes) -> bytes:
    """A box around ``payload`` (for the examples and tests)."""
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, payload: bytes) -> bytes:
    """A full box (version 0, no flags) around ``payload``."""
    return _box(kind, bytes(4) + payload)
