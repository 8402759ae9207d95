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

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import av
import numpy as np

from scas_lib.media.ffmpeg import MediaError

_T = TypeVar("_T")


class DecodeError(MediaError):
    """Decoding stopped before the end of the video."""


@dataclass(frozen=True, eq=False)
class SampledFrame:
    #: Seconds since the video's first frame.
    offset_s: float
    image: np.ndarray = field(repr=False)
    #: Decoded size / original size (1.0 unless scaled down).
    scale: float = 1.0


def sample_frames(
    path: Path, *, fps: float = 5.0, max_long_side: int | None = None
) -> Iterator[SampledFrame]:
    """BGR frames every ``1 / fps`` seconds (the first frame included)."""
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as error:
        raise DecodeError(f"cannot open {path.name}: {_reason(error)}") from None
    with container:
        if not container.streams.video:
            raise DecodeError(f"{path.name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        # Deblocking makes a frame prettier, not its faces easier to find: skipping it saves
        # 10-45% of the decoding.
        stream.codec_context.options = {"skip_loop_filter": "all"}
        expected = _duration(container, stream)
        first: float | None = None
        next_sample = 0.0
        last_offset = 0.0
        try:
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                if first is None:
                    first = frame.time
                offset = frame.time - first
                last_offset = offset
                if offset + 1e-6 < next_sample:
                    continue
                while next_sample <= offset + 1e-6:
                    next_sample += 1.0 / fps
                yield _convert(frame, max_long_side, offset)
        except av.error.FFmpegError as error:
            raise DecodeError(
                f"{path.name} is damaged: decoding stopped at {last_offset:.1f} s "
                f"({_reason(error)})"
            ) from None
        frame_time = 1.0 / float(stream.average_rate or 25)
        if first is None:
            raise DecodeError(f"{path.name} holds no decodable frame")
        if expected and last_offset + frame_time < expected - 0.5:
            raise DecodeError(
                f"{path.name} is truncated: decoded {last_offset + frame_time:.1f} s "
                f"of {expected:.1f} s"
            )


def _convert(frame: av.VideoFrame, max_long_side: int | None, offset: float) -> SampledFrame:
    width, height = frame.width, frame.height
    scale = 1.0
    if max_long_side and max(width, height) > max_long_side:
        scale = max_long_side / max(width, height)
        width, height = round(width * scale / 2) * 2, round(height * scale / 2) * 2
    image = frame.to_ndarray(format="bgr24", width=width, height=height)
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
    buffer: queue.Queue = queue.Queue(maxsize=depth)
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
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        worker.join(timeout=5)
