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

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

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


def split_frames(data: bytes, counts: Sequence[int]) -> list[bytes]:
    """An Annex B stream cut into consecutive parts of ``counts`` frames each; a frame's
    parameter sets and SEI go with it. One slice per frame is not assumed: a frame starts
    at a slice whose first macroblock is 0. ValueError when the frames do not add up or a
    part does not start with an IDR frame.

    >>> sps, pps, idr, p = bytes([0x67, 0x4D]), bytes([0x68, 0xEE]), b"\\x65\\x88", b"\\x41\\x9a"
    >>> stream = b"".join(START_CODE + nal for nal in (sps, pps, idr, p, sps, pps, idr))
    >>> [[nal[0] & 0x1F for nal in nal_units(part)] for part in split_frames(stream, [2, 1])]
    [[7, 8, 5, 1], [7, 8, 5]]
    """
    frames: list[list[bytes]] = []
    pending: list[bytes] = []
    for nal in nal_units(data):
        kind = nal[0] & 0x1F
        if kind in (SLICE, IDR_SLICE) and len(nal) > 1 and nal[1] & 0x80:  # first_mb 0
            frames.append([*pending, nal])
            pending = []
        elif kind in (SLICE, IDR_SLICE) and frames:
            frames[-1].append(nal)
        else:
            pending.append(nal)
    if len(frames) != sum(counts):
        raise ValueError(f"{len(frames)} frames where {sum(counts)} were expected")
    parts, position = [], 0
    for count in counts:
        chunk = frames[position : position + count]
        position += count
        if not any(nal[0] & 0x1F == IDR_SLICE for nal in chunk[0]):
            raise ValueError("a part does not start with an IDR frame")
        parts.append(b"".join(START_CODE + nal for frame in chunk for nal in frame))
    return parts


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


# Frames that repeat the previous one ------------------------------------------------------
#
# A stretch where the picture does not change (a card once its text has faded in) need not
# be encoded at all: a P slice whose macroblocks are all skipped shows its reference frame
# again, and costs a few bytes. Such a slice is written here (CAVLC, for which an all-skip
# slice is one number), under a picture parameter set of its own, so that the encoder's
# parameters (CABAC and all) stay as they are for everything it encodes.


class UnsupportedStream(ValueError):
    """A stream whose parameters the skip-frame writer does not handle."""


@dataclass(frozen=True)
class SequenceParameters:
    """What a slice header needs from a sequence parameter set."""

    sps_id: int
    log2_max_frame_num: int
    pic_order_cnt_type: int
    width_mbs: int
    height_mbs: int
    separate_colour_plane: bool = False

    @property
    def macroblocks(self) -> int:
        return self.width_mbs * self.height_mbs


def unescape(payload: bytes) -> bytes:
    """A NAL unit's payload without its emulation-prevention bytes (00 00 03 -> 00 00)."""
    return payload.replace(b"\x00\x00\x03", b"\x00\x00")


def escape(payload: bytes) -> bytes:
    """Emulation-prevention bytes inserted: no 00 00 0x (x <= 3) left in ``payload``."""
    out, zeros = bytearray(), 0
    for byte in payload:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


class _BitReader:
    def __init__(self, data: bytes) -> None:
        self.value, self.size, self.pos = int.from_bytes(data, "big"), 8 * len(data), 0

    def u(self, bits: int) -> int:
        if self.pos + bits > self.size:
            raise UnsupportedStream("a parameter set or slice header ends early")
        self.pos += bits
        return (self.value >> (self.size - self.pos)) & ((1 << bits) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise UnsupportedStream("an Exp-Golomb code is longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)


class _BitWriter:
    def __init__(self) -> None:
        self.bits: list[str] = []

    def u(self, bits: int, value: int) -> None:
        if bits:
            self.bits.append(format(value, f"0{bits}b"))

    def ue(self, value: int) -> None:
        code = format(value + 1, "b")
        self.bits.append("0" * (len(code) - 1) + code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def rbsp(self) -> bytes:
        """The bits with the RBSP trailing bits (a one, then zeros to a byte boundary)."""
        bits = "".join(self.bits) + "1"
        bits += "0" * (-len(bits) % 8)
        return int(bits, 2).to_bytes(len(bits) // 8, "big")


#: profile_idc values whose SPS carries chroma format and bit depths (H.264 7.3.2.1.1).
_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def parse_sps(nal: bytes) -> SequenceParameters:
    """The fields of a sequence parameter set NAL unit that a slice header depends on."""
    bits = _BitReader(unescape(nal[1:64]))
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    sps_id = bits.ue()
    separate = False
    if profile in _HIGH_PROFILES:
        if bits.ue() == 3:  # chroma_format_idc 4:4:4
            separate = bool(bits.u(1))
        bits.ue(), bits.ue()  # bit depths
        bits.u(1)  # qpprime_y_zero_transform_bypass_flag
        if bits.u(1):
            raise UnsupportedStream("an SPS with scaling matrices")
    log2_max_frame_num = bits.ue() + 4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        raise UnsupportedStream("picture order count type 1")
    bits.ue()  # max_num_ref_frames
    bits.u(1)  # gaps_in_frame_num_value_allowed_flag
    width, height = bits.ue() + 1, bits.ue() + 1
    if not bits.u(1):
        raise UnsupportedStream("an interlaced stream")
    return SequenceParameters(sps_id, log2_max_frame_num, poc_type, width, height, separate)


def slice_frame_num(nal: bytes, sps: SequenceParameters) -> int:
    """frame_num of a slice NAL unit of a stream described by ``sps``."""
    bits = _BitReader(unescape(nal[1:32]))
    bits.ue(), bits.ue(), bits.ue()  # first_mb_in_slice, slice_type, pic_parameter_set_id
    if sps.separate_colour_plane:
        bits.u(2)
    return bits.u(sps.log2_max_frame_num)


def skip_pps(sps_id: int, pps_id: int) -> bytes:
    """A picture parameter set NAL unit for :func:`skip_slice`: CAVLC, one slice group,
    one reference, no weighted prediction, deblocking controlled by the slice."""
    bits = _BitWriter()
    bits.ue(pps_id)
    bits.ue(sps_id)
    bits.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    bits.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    bits.ue(0)  # num_slice_groups_minus1
    bits.ue(0)  # num_ref_idx_l0_default_active_minus1
    bits.ue(0)  # num_ref_idx_l1_default_active_minus1
    bits.u(1, 0)  # weighted_pred_flag
    bits.u(2, 0)  # weighted_bipred_idc
    bits.se(0)  # pic_init_qp_minus26
    bits.se(0)  # pic_init_qs_minus26
    bits.se(0)  # chroma_qp_index_offset
    bits.u(1, 1)  # deblocking_filter_control_present_flag
    bits.u(1, 0)  # constrained_intra_pred_flag
    bits.u(1, 0)  # redundant_pic_cnt_present_flag
    return bytes([0x68]) + escape(bits.rbsp())


def skip_slice(sps: SequenceParameters, pps_id: int, frame_num: int) -> bytes:
    """A P slice NAL unit (a reference picture) whose macroblocks are all skipped: it shows
    its reference, the frame before it, again. Needs picture order count type 2 (frame
    order from ``frame_num``, as x264 writes a stream without B-frames)."""
    if sps.pic_order_cnt_type != 2:
        raise UnsupportedStream(f"picture order count type {sps.pic_order_cnt_type}")
    bits = _BitWriter()
    bits.ue(0)  # first_mb_in_slice
    bits.ue(5)  # slice_type: P, as every slice of the picture
    bits.ue(pps_id)
    if sps.separate_colour_plane:
        bits.u(2, 0)
    bits.u(sps.log2_max_frame_num, frame_num % (1 << sps.log2_max_frame_num))
    bits.u(1, 0)  # num_ref_idx_active_override_flag
    bits.u(1, 0)  # ref_pic_list_modification_flag_l0
    bits.u(1, 0)  # adaptive_ref_pic_marking_mode_flag: sliding window
    bits.se(0)  # slice_qp_delta
    bits.ue(1)  # disable_deblocking_filter_idc: nothing to filter between skipped blocks
    bits.ue(sps.macroblocks)  # mb_skip_run: all of them
    return bytes([0x41]) + escape(bits.rbsp())  # nal_ref_idc 2, type 1 (non-IDR slice)


def repeat_last_frame(stream: bytes, count: int, pps_id: int) -> bytes:
    """``count`` frames that repeat the last frame of ``stream`` (Annex B, ending in a
    slice of a stream without B-frames), as Annex B to append to it: a PPS of id
    ``pps_id``, then one skipped P slice per frame. :class:`UnsupportedStream` for a stream
    they cannot follow."""
    sps = last_slice = None
    for nal in nal_units(stream):
        kind = nal[0] & 0x1F
        if kind == SPS:
            sps = parse_sps(nal)
        elif kind in (SLICE, IDR_SLICE):
            last_slice = nal
    if sps is None or last_slice is None:
        raise UnsupportedStream("no SPS or no slice to follow")
    frame_num = slice_frame_num(last_slice, sps)
    out = [START_CODE + skip_pps(sps.sps_id, pps_id)]
    out += [START_CODE + skip_slice(sps, pps_id, frame_num + n) for n in range(1, count + 1)]
    return b"".join(out)
