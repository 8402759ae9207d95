"""Sampled decoding: the frames of a video at a few frames per second, with their times.

PyAV (FFmpeg's libraries) decodes in FFmpeg's own threads and hands over only the sampled
frames, converted and scaled by swscale in one step. Frames are picked by timestamp, not by
count, so variable frame rates sample evenly; each comes with its offset in seconds from
the video's first frame, whatever the stream's first timestamp is (recorders rarely start
at zero). Rotation metadata is applied.

A damaged file yields every frame that could be decoded, then raises
:class:`DecodeError` saying where it stopped; a file that ends early is reported the same
way, so the caller can keep what it got and still mark the segment failed.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

import av
import numpy as np
from numpy.typing import NDArray

from scas_lib.media.ffmpeg import MediaError

_T = TypeVar("_T")


class DecodeError(MediaError):
    """Decoding stopped before the end of the video."""


@dataclass(frozen=True, eq=False)
class SampledFrame:
    #: Seconds since the video's first frame.
    offset_s: float
    image: NDArray[np.uint8] = field(repr=False)
    #: Decoded size / original size (1.0 unless scaled down).
    scale: float = 1.0


def sample_frames(
    path: Path, *, fps: float = 5.0, max_long_side: int | None = None
) -> Iterator[SampledFrame]:
    """BGR frames every ``1 / fps`` seconds (the first frame included)."""
    with GopReader(path, fps=fps, max_long_side=max_long_side) as reader:
        for gop in reader.groups():
            yield from reader.frames(gop)


@dataclass(frozen=True, eq=False)
class Gop:
    """A group of pictures: a keyframe and the frames that need it, as packets."""

    index: int
    packets: tuple[av.Packet[av.VideoStream], ...] = field(repr=False)
    #: Seconds from the video's first frame to this group's keyframe.
    start_s: float
    #: False for frames before the first keyframe (a file cut mid-group).
    has_keyframe: bool = True


class GopReader:
    """A video a group of pictures at a time: its keyframe alone, or all of its frames.

    A keyframe decodes by itself, for about a sixth of what its whole 2 s group costs on a
    camera's stream (the frames after it can only be decoded from it, in order). So footage
    where nothing happens can be looked at one keyframe at a time and decoded whole only
    where something does; the recognition pipeline decides which
    (:mod:`scas_lib.recognition.pipeline`). Each group is decoded on its own (the decoder
    emptied after it), so groups can be skipped and come back to. Cameras send closed
    groups; in an open one (B-frames that refer across a keyframe, x265's default) the
    few frames shown just before each keyframe are lost, so a sample may come a frame or
    two later there.

    Frames are sampled every ``1 / fps`` seconds from the video's first frame, by
    timestamp; a damaged or truncated file raises :class:`DecodeError` from
    :meth:`groups`, :meth:`keyframe` or :meth:`frames` after what could be read.
    """

    def __init__(self, path: Path, *, fps: float = 5.0, max_long_side: int | None = None):
        self.path = path
        self.fps = fps
        self.max_long_side = max_long_side
        #: Seconds of video read so far (up to the end of the last packet demuxed).
        self.read_s = 0.0
        #: Frames decoded so far (keyframes decoded alone included).
        self.decoded_frames = 0
        self._containers: list[av.container.InputContainer] = []
        self._demuxer = self._open()
        self._stream = self._demuxer.streams.video[0]
        self._decoder = self._stream.codec_context
        self._scout: av.VideoCodecContext | None = None
        self._origin: float | None = None

    def __enter__(self) -> GopReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for container in self._containers:
            container.close()

    def groups(self) -> Iterator[Gop]:
        """The video's groups in order, each once its packets are read."""
        name = self.path.name
        packets: list[av.Packet[av.VideoStream]] = []
        has_keyframe = False
        index = 0
        try:
            for packet in self._demuxer.demux(self._stream):
                moment = packet.pts if packet.pts is not None else packet.dts
                if packet.size == 0 or moment is None:
                    continue
                seconds = float(moment * packet.time_base)
                if self._origin is None:
                    self._origin = seconds
                duration = float((packet.duration or 0) * packet.time_base)
                self.read_s = max(self.read_s, seconds - self._origin + duration)
                if packet.is_keyframe and packets:
                    yield self._group(index, packets, has_keyframe)
                    index, packets = index + 1, []
                if not packets:
                    has_keyframe = packet.is_keyframe
                packets.append(packet)
        except av.error.FFmpegError as error:
            raise DecodeError(
                f"{name} is damaged: reading stopped at {self.read_s:.1f} s ({_reason(error)})"
            ) from None
        if packets:
            yield self._group(index, packets, has_keyframe)
        if self._origin is None:
            raise DecodeError(f"{name} holds no decodable frame")
        expected = _duration(self._demuxer, self._stream)
        if expected and self.read_s < expected - 0.5:
            raise DecodeError(f"{name} is truncated: read {self.read_s:.1f} s of {expected:.1f} s")

    def _group(
        self, index: int, packets: list[av.Packet[av.VideoStream]], has_keyframe: bool
    ) -> Gop:
        assert self._origin is not None
        times = [p.pts if p.pts is not None else p.dts for p in packets]
        first = times[0] if has_keyframe else min(t for t in times if t is not None)
        assert first is not None  # groups() keeps only packets with a time
        start = float(first * packets[0].time_base) - self._origin
        return Gop(index, tuple(packets), max(0.0, start), has_keyframe)

    def keyframe(self, gop: Gop) -> SampledFrame | None:
        """The group's keyframe alone (None if it has none or it does not decode)."""
        if not gop.has_keyframe:
            return None
        if self._scout is None:
            # A decoder of its own (another open of the file, so it knows the stream's
            # rotation too): the main one may be in the middle of another group.
            self._scout = self._open().streams.video[0].codec_context
            self._scout.options = dict(_DECODER_OPTIONS)
        for offset, frame in self._decoded(self._scout, gop.packets[:1], gop.start_s):
            return _convert(frame, self.max_long_side, offset)
        return None

    def frames(self, gop: Gop, *, after_s: float | None = None) -> Iterator[SampledFrame]:
        """The group's frames every ``1 / fps`` seconds, only those after ``after_s`` if
        given (already seen)."""
        step = 1.0 / self.fps
        first = gop.start_s if after_s is None else after_s + 1e-6
        next_sample = math.ceil(first / step - 1e-6) * step
        for offset, frame in self._decoded(self._decoder, gop.packets, gop.start_s):
            if offset + 1e-6 < next_sample:
                continue
            while next_sample <= offset + 1e-6:
                next_sample += step
            # Only the sampled frames are converted: a 1080p frame's conversion costs about
            # a third of its decoding.
            yield _convert(frame, self.max_long_side, offset)

    def _open(self) -> av.container.InputContainer:
        try:
            container = av.open(str(self.path))
        except av.error.FFmpegError as error:
            raise DecodeError(f"cannot open {self.path.name}: {_reason(error)}") from None
        self._containers.append(container)
        if not container.streams.video:
            raise DecodeError(f"{self.path.name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.options = dict(_DECODER_OPTIONS)
        return container

    def _decoded(
        self,
        decoder: av.VideoCodecContext,
        packets: Sequence[av.Packet[av.VideoStream]],
        at_s: float,
    ) -> Iterator[tuple[float, av.VideoFrame]]:
        """Every frame of ``packets`` with its offset, the decoder emptied after the last
        (or when the caller stops); ``at_s``: where they start, to say where a damaged one
        stopped."""
        assert self._origin is not None
        last = at_s
        try:
            for packet in [*packets, None]:
                for frame in decoder.decode(packet):
                    self.decoded_frames += 1
                    # Frames drained at the end carry no time base: the stream's is theirs.
                    if frame.pts is not None:
                        time_base = self._stream.time_base
                        assert time_base is not None  # a demuxed stream has one
                        last = float(frame.pts * time_base) - self._origin
                        yield last, frame
        except av.error.FFmpegError as error:
            raise DecodeError(
                f"{self.path.name} is damaged: decoding stopped at {last:.1f} s ({_reason(error)})"
            ) from None
        finally:
            decoder.flush_buffers()


#: Deblocking makes a frame prettier, not its faces easier to find: skipping it saves 10-45%
#: of the decoding.
_DECODER_OPTIONS = {"skip_loop_filter": "all"}


def _convert(frame: av.VideoFrame, max_long_side: int | None, offset: float) -> SampledFrame:
    width, height = frame.width, frame.height
    scale = 1.0
    if max_long_side and max(width, height) > max_long_side:
        scale = max_long_side / max(width, height)
        width, height = round(width * scale / 2) * 2, round(height * scale / 2) * 2
    image = cast(NDArray[np.uint8], frame.to_ndarray(format="bgr24", width=width, height=height))
    rotation = int(getattr(frame, "rotation", 0) or 0) % 360
    if rotation:
        # Display matrices turn counter-clockwise; np.rot90 does too for positive k.
        image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
    return SampledFrame(offset, image, scale)


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error)


def prefetch(items: Iterable[_T], depth: int = 4) -> Iterator[_T]:
    """Run ``items`` in a background thread, ``depth`` ahead of the consumer.

    Decoding (FFmpeg) and inference (onnxruntime) both release the GIL, so the next frames
    are decoded while the current one is analysed. An exception in the producer is raised
    in the consumer after the items produced before it.
    """
    buffer: queue.Queue[_T | object] = queue.Queue(maxsize=depth)
    done = object()
    failure: list[BaseException] = []
    stop = threading.Event()

    def put(item: object) -> bool:
        """Wait for room unless the consumer has gone; False if it has."""
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer, not lost in the thread
            failure.append(error)
        put(done)

    worker = threading.Thread(target=produce, daemon=True, name="prefetch")
    worker.start()
    try:
        while (item := buffer.get()) is not done:
            yield cast(_T, item)  # all but ``done`` came from ``items``
        if failure:
            raise failure[0]
    finally:
        stop.set()
        worker.join(timeout=5)
