"""One camera's recorder: an ffmpeg process supervised by a thread. An adapter: when to
restart and what state the camera is in come from :class:`~scas_lib.ingest.policy.RestartPolicy`.

The thread starts ffmpeg (:func:`scas_lib.media.ffmpeg.start_recorder`) into a fresh run
directory of the spool, reads its messages (masked: they contain the camera's URL), moves
each finished segment to the spool's ``ready/`` and hands it to ``on_segment``, and
restarts ffmpeg when it ends or stalls, with back-off, until it is told to stop. When the
spool's disk is full it waits, offline, until there is room again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from scas_lib.ingest.policy import (
    CameraState,
    RestartPolicy,
    describe_exit,
    parse_input_start,
    parse_progress_frames,
    parse_video_codec,
)
from scas_lib.ingest.sources import (
    COPY_CODECS,
    Source,
    Transcode,
    arrival_clock,
    recorder_args,
    should_copy,
)
from scas_lib.ingest.spool import Spool, SpooledSegment, SpoolFull
from scas_lib.media import ffmpeg

log = logging.getLogger(__name__)

#: How often the supervisor looks at its ffmpeg (segments finished, signs of life).
LOOK_S = 0.25
#: How often a recorder whose spool is full looks for room again.
ROOM_LOOK_S = 1.0


@dataclass(frozen=True)
class StateChange:
    """What a recorder reports when its camera's state changes."""

    camera_id: str
    state: CameraState
    #: Why (the last line ffmpeg printed, masked), for a failure.
    detail: str = ""
    #: Restarts of the recorder so far.
    reconnects: int = 0


class CameraRecorder(threading.Thread):
    """Records one camera into the spool until :meth:`stop`."""

    def __init__(
        self,
        source: Source,
        spool: Spool,
        segment_s: float,
        *,
        policy: RestartPolicy,
        transcode: Transcode = "auto",
        on_segment: Callable[[SpooledSegment], None],
        on_state: Callable[[StateChange], None],
    ) -> None:
        super().__init__(name=f"record-{source.camera_id}", daemon=True)
        self.source = source
        self.spool = spool
        self.segment_s = segment_s
        self.policy = policy
        self.transcode: Transcode = transcode
        self.on_segment = on_segment
        self.on_state = on_state
        self._stopping = threading.Event()
        self._copy = should_copy(transcode, source.kind, "h264")
        self.reconnects = 0
        self.failure: BaseException | None = None

    @property
    def camera_id(self) -> str:
        return self.source.camera_id

    def stop(self) -> None:
        """Ask the recorder to end: ffmpeg finishes its segment, which is still handed on."""
        self._stopping.set()

    def run(self) -> None:
        failures = 0
        self._report("starting")
        try:
            while not self._stopping.is_set():
                try:
                    produced, detail, switch = self._run_once()
                except SpoolFull as error:
                    # Uploads and the operator free the disk; the camera goes on then.
                    self._wait_for_room(error)
                    continue
                if self._stopping.is_set():
                    break
                if switch:  # same camera, now encoded: no failure, no wait
                    continue
                failures = 1 if produced else failures + 1
                self.reconnects += 1
                state = self.policy.state_after_failure(failures)
                delay = self.policy.delay_s(failures)
                log.warning(
                    "%s: recorder ended (%s); %s, next try in %.0f s",
                    self.camera_id, detail, state, delay,
                )  # fmt: skip
                self._report(state, detail)
                self._stopping.wait(delay)
        except Exception as error:  # a bug must not leave the camera silently dead
            self.failure = error
            log.exception("%s: recorder failed", self.camera_id)
            self._report("stopped", f"recorder failed: {error}")
            return
        self._report("stopped")

    def _wait_for_room(self, full: SpoolFull) -> None:
        """Wait, offline and saying why, until the spool has room for a segment again
        (or the recorder is told to stop). What the camera sends meanwhile is not recorded:
        there is nowhere to put it; it is a gap, as an outage is."""
        log.error("%s: %s; recording again once there is room", self.camera_id, full)
        self._report("offline", str(full))
        while not self._stopping.wait(ROOM_LOOK_S):
            try:
                self.spool.check_room(self._segment_bytes)
            except SpoolFull:
                continue
            log.info("%s: the spool has room again; recording", self.camera_id)
            self._report("starting")
            return

    @property
    def _segment_bytes(self) -> int:
        return int(self.segment_s * 2_000_000)  # 16 Mbit/s worth

    def _report(self, state: CameraState, detail: str = "") -> None:
        self.on_state(StateChange(self.camera_id, state, detail, self.reconnects))

    def _run_once(self) -> tuple[bool, str, bool]:
        """One ffmpeg run: ``(produced a segment, why it ended, switch to encoding)``."""
        self.spool.check_room(self._segment_bytes)
        run = self.spool.new_run(self.camera_id)
        args = recorder_args(self.source, self.segment_s, str(run), copy=self._copy)
        process = ffmpeg.start_recorder(args)
        lines: deque[str] = deque(maxlen=20)
        codec: list[str] = []
        started = threading.Event()
        arrival = arrival_clock(self.source.kind)

        def read_messages() -> None:
            assert process.stderr is not None
            for raw in process.stderr:
                line = self.source.mask(raw.rstrip())
                lines.append(line)
                log.debug("%s ffmpeg: %s", self.camera_id, line)
                if not started.is_set() and (start := parse_input_start(line)) is not None:
                    Spool.write_start(run, time.time() if arrival else start)
                    started.set()
                if not codec and (found := parse_video_codec(line)):
                    codec.append(found)

        frames = [0]

        def read_progress() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                if (count := parse_progress_frames(line)) is not None:
                    frames[0] = count

        reader = threading.Thread(target=read_messages, name=f"ffmpeg-{self.camera_id}")
        reader.daemon = True
        reader.start()
        progress = threading.Thread(target=read_progress, name=f"progress-{self.camera_id}")
        progress.daemon = True
        progress.start()
        log.info("%s: recording %s", self.camera_id, self.source.display)
        produced = False
        reported = False
        switch = False
        why = ""
        last_frames, last_progress = -1, time.monotonic()
        while process.poll() is None:
            if self._stopping.wait(LOOK_S):
                ffmpeg.stop_recorder(process)
                break
            if started.is_set() and not reported:
                self._report("recording")
                reported = True
            if switch := self._must_encode(codec):
                ffmpeg.stop_recorder(process)
                break
            produced |= self._hand_on(self.spool.harvest(self.camera_id, run))
            # The watchdog starts once the input is open: until then ffmpeg's own network
            # timeout applies (it may analyse a slow stream for seconds before writing).
            # Its sign of life is the count of frames written, which ffmpeg reports.
            now = time.monotonic()
            if frames[0] != last_frames or not started.is_set():
                last_frames, last_progress = frames[0], now
            elif self.policy.stalled(last_progress, now):
                why = f"no data for {self.policy.stall_s:g} s"
                # Said at once: ffmpeg may take its network timeout to end.
                self._report(self.policy.state_after_failure(1), why)
                ffmpeg.stop_recorder(process)
                break
        reader.join(timeout=5)
        progress.join(timeout=5)
        switch = switch or self._must_encode(codec)  # also when ffmpeg ended by itself
        if switch:  # what was copied is not H.264/H.265: never uploaded
            self.spool.discard_run(run)
            return produced, "", switch
        produced |= self._hand_on(self.spool.close_run(self.camera_id, run))
        if not why:
            why = describe_exit(process.returncode, list(lines))
        return produced, why, switch

    def _must_encode(self, codec: list[str]) -> bool:
        """Whether the stream, found to be ``codec``, is being copied and must be encoded
        instead (``transcode: auto``); if so, later runs encode it."""
        if not (self._copy and self.transcode == "auto" and codec and codec[0] not in COPY_CODECS):
            return False
        log.info("%s: %s cannot be copied; encoding to H.264", self.camera_id, codec[0])
        self._copy = False
        return True

    def _hand_on(self, segments: list[SpooledSegment]) -> bool:
        for segment in segments:
            self.on_segment(segment)
        return bool(segments)
