"""H.264 Annex B byte streams (as ffmpeg's ``-f h264`` writes them): NAL units and
parameter sets. Pure.

>>> sps, pps, idr = bytes([0x67, 0x4D, 0x00, 0x28]), bytes([0x68, 0xEE, 0x3C, 0x80]), b"\\x65"
>>> stream = START_CODE + sps + START_CODE[1:] + pps + START_CODE[1:] + idr
>>> [nal[0] & 0x1F for nal in nal_units(stream)]
[7, 8, 5]
>>> [kind for kind, _ in leading_parameter_sets(stream)]
[7, 8]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

START_CODE = b"\x00\x00\x00\x01"
SPS, PPS, IDR_SLICE, SLICE = 7, 8, 5, 1


def nal_units(data: bytes) -> Iterator[bytes]:
    """The NAL units of an Annex B stream, without start codes or trailing zero bytes."""
    start = data.find(b"\x00\x00\x01")
    while start != -1:
        begin = start + 3
        following = data.find(b"\x00\x00\x01", begin)
        end = len(data) if following == -1 else following
        yield data[begin:end].rstrip(b"\x00")
        start = following


def leading_parameter_sets(data: bytes) -> list[tuple[int, bytes]]:
    """(type, NAL unit) of the SPS and PPS before the first slice."""
    found = []
    for nal in nal_units(data):
        kind = nal[0] & 0x1F
        if kind in (SPS, PPS):
            found.append((kind, nal))
        elif kind in (SLICE, IDR_SLICE):
            break
    return found


def shared_parameter_sets(streams: Iterable[bytes]) -> list[bytes]:
    """The SPS and PPS that lead all of ``streams``, to put first in a joined stream (so
    that an MP4's decoder configuration carries them); none when the streams disagree, as
    two cameras' different sets would both claim id 0 (they then stay in-band only).

    >>> sps, pps, idr = bytes([0x67, 0x4D]), bytes([0x68, 0xEE]), bytes([0x65])
    >>> one = START_CODE + sps + START_CODE + pps + START_CODE + idr
    >>> [nal[0] & 0x1F for nal in shared_parameter_sets([one, one])]
    [7, 8]
    >>> other = one.replace(bytes([0x67, 0x4D]), bytes([0x67, 0x64]))
    >>> shared_parameter_sets([one, other]), shared_parameter_sets([])
    ([], [])
    """
    distinct: dict[int, set[bytes]] = {SPS: set(), PPS: set()}
    for data in streams:
        for kind, nal in leading_parameter_sets(data):
            distinct[kind].add(nal)
    if len(distinct[SPS]) == 1 and len(distinct[PPS]) == 1:
        return [next(iter(distinct[SPS])), next(iter(distinct[PPS]))]
    return []
