"""The one place that starts the media programs: ffmpeg, ffprobe and fc-list. No decisions
here: callers say what to run; this runs it, with a time limit, and turns a failure into a
one-line :class:`MediaError`.

>>> run_ffmpeg(["-f", "lavfi", "-i", "testsrc=duration=0.2", "-f", "null", "-"], "test").stderr
''
>>> try:
...     run_ffmpeg(["-i", "/nonexistent/clip.mp4", "-f", "null", "-"], "a missing file")
... except MediaError as error:
...     print(error)
ffmpeg failed (a missing file): /nonexistent/clip.mp4: No such file or directory
"""

from __future__ import annotations

import functools
import logging
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from scas_lib.errors import ScasError

log = logging.getLogger(__name__)

#: No ffmpeg run of SCAS needs this long, even on a busy 2-core machine; one that does has
#: stalled, and a task that fails can be retried where one that hangs cannot.
TIMEOUT_S = 600.0
#: What every ffmpeg run is told first: no banner, no reading of stdin, errors only.
QUIET = ("-hide_banner", "-nostdin", "-v", "error")


class MediaError(ScasError):
    """ffmpeg or ffprobe failed, or is missing."""


@dataclass(frozen=True)
class Finished:
    """What a program that ended well printed."""

    stdout: bytes
    stderr: str


#: How much lower than SCAS's own the CPU priority of the programs started now is (``nice``
#: increment; 0: the same). Process-wide, not per thread: a render starts its encoders from
#: worker threads. Set it with :func:`lower_priority`.
_niceness = 0


@contextmanager
def lower_priority(increment: int = 10) -> Iterator[None]:
    """Programs started inside run at a lower CPU priority (``nice -n increment``): work
    made ahead that must not slow what the machine must do first (the videos rendered at
    the end marker while the last segments are recognized).

    >>> def niceness() -> int:
    ...     return int(run_program("sh", ["-c", "nice"], "its niceness").stdout)
    >>> before = niceness()
    >>> with lower_priority():
    ...     niceness() - before
    10
    >>> niceness() - before
    0
    """
    global _niceness
    before = _niceness
    _niceness = before + increment
    try:
        yield
    finally:
        _niceness = before


def _command(tool_path: str, args: Sequence[str]) -> list[str]:
    """The command line of a program started now: through ``nice`` inside
    :func:`lower_priority`."""
    if _niceness:
        return [require("nice"), "-n", str(_niceness), tool_path, *args]
    return [tool_path, *args]


def require(tool: str = "ffmpeg") -> str:
    """The path of ``tool``; :class:`MediaError` when it is not installed."""
    found = shutil.which(tool)
    if found is None:
        raise MediaError(f"{tool} is not installed (Debian: apt-get install ffmpeg)")
    return found


def run_program(
    tool: str, args: Sequence[str], what: str, *, timeout_s: float | None = None
) -> Finished:
    """Run ``tool`` with ``args`` and wait, at most ``timeout_s`` (default :data:`TIMEOUT_S`)
    seconds; :class:`MediaError` with the last line it printed when it fails or stalls."""
    limit = TIMEOUT_S if timeout_s is None else timeout_s
    command = _command(require(tool), args)
    log.debug("%s %s: %s", tool, what, " ".join(command))
    try:
        result = subprocess.run(
            command, capture_output=True, check=False, timeout=limit, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise MediaError(f"{tool} stalled ({what}): no result in {limit:g} s") from None
    stderr = result.stderr.decode(errors="replace")
    if result.returncode != 0:
        raise MediaError(f"{tool} failed ({what}): {last_line(stderr)}")
    return Finished(result.stdout, stderr)


def run_ffmpeg(args: Sequence[str], what: str, *, timeout_s: float | None = None) -> Finished:
    """ffmpeg with ``args`` (after :data:`QUIET`); see :func:`run_program`."""
    return run_program("ffmpeg", [*QUIET, *args], what, timeout_s=timeout_s)


def run_graph(stream: Any, what: str, *, timeout_s: float | None = None) -> Finished:
    """An ffmpeg-python output node, run by ffmpeg; outputs are overwritten."""
    return run_ffmpeg(["-y", *stream.get_args()], what, timeout_s=timeout_s)


def start_ffmpeg(args: Sequence[str]) -> subprocess.Popen[bytes]:
    """ffmpeg with ``args``, reading what the caller writes to its stdin (so, unlike
    :data:`QUIET`, without ``-nostdin``); end it with :func:`finish`."""
    return subprocess.Popen(
        _command(require("ffmpeg"), ["-hide_banner", "-v", "error", *args]),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def start_ffmpeg_reader(args: Sequence[str]) -> subprocess.Popen[bytes]:
    """ffmpeg with ``args`` (after :data:`QUIET`) writing its output to a pipe the caller
    reads from ``stdout`` (raw frames, say); end it with :func:`finish`."""
    return subprocess.Popen(
        _command(require("ffmpeg"), [*QUIET, *args]),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen[bytes], what: str, *, timeout_s: float | None = None) -> None:
    """Close the stdin of a process from :func:`start_ffmpeg` and wait for it to end."""
    limit = TIMEOUT_S if timeout_s is None else timeout_s
    try:
        _, stderr = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise MediaError(f"ffmpeg stalled ({what}): no result in {limit:g} s") from None
    if process.returncode != 0:
        raise MediaError(f"ffmpeg failed ({what}): {last_line(stderr.decode(errors='replace'))}")


def require_font(pattern: str) -> None:
    """:class:`MediaError` unless fontconfig knows the family of ``pattern``
    (``"Family:style=Bold"``), which ffmpeg's drawtext finds through it."""
    family = pattern.split(":")[0]
    if not run_program("fc-list", [family], f"font {family}").stdout.strip():
        raise MediaError(
            f"font {family!r} is not installed (Debian: apt-get install fonts-noto-cjk)"
        )


@functools.lru_cache(maxsize=64)
def font_charset(pattern: str) -> tuple[tuple[int, int], ...]:
    """The code points the font of ``pattern`` (``"Family:style=Bold"``) has glyphs for,
    as fontconfig lists them (inclusive ranges); none if it is not installed. Kept for the
    process: fonts are installed before SCAS starts."""
    listed = run_program("fc-list", ["--format", "%{charset}\n", pattern], f"font {pattern}")
    ranges = []
    for line in listed.stdout.decode().splitlines()[:1]:
        for part in line.split():
            first, _, last = part.partition("-")
            ranges.append((int(first, 16), int(last or first, 16)))
    return tuple(sorted(ranges))


def last_line(stderr: str) -> str:
    """The last line a program printed: ffmpeg's reason comes last.

    >>> last_line("Input #0...\\nclip.mp4: Invalid data found\\n")
    'clip.mp4: Invalid data found'
    """
    lines = stderr.strip().splitlines()
    return lines[-1].strip() if lines else "no message"


def start_recorder(args: Sequence[str]) -> subprocess.Popen[str]:
    """A long-running ffmpeg (a camera's recorder) with the whole command line ``args``
    (:func:`scas_lib.ingest.sources.recorder_args`): stdin closed, stdout (its
    ``-progress`` reports) and stderr (its messages) text pipes the caller reads line by
    line, in its own process group so that a Ctrl-C at the terminal reaches the caller
    first, which then ends the recorder cleanly (:func:`stop_recorder`).
    """
    return subprocess.Popen(
        [require("ffmpeg"), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        bufsize=1,
        start_new_session=True,
    )


def stop_recorder(process: subprocess.Popen[str], *, grace_s: float = 15.0) -> int:
    """End a recorder so that the segment it is writing is finished (complete, listed):
    one SIGINT, on which ffmpeg stops reading and writes its outputs' trailers, then
    SIGKILL after ``grace_s``; its exit code. Only one SIGINT: a second one would make
    ffmpeg abort its writes too, trailers included. A read it is blocked in (a camera that
    froze) is not interrupted by the first, so ``grace_s`` outlasts the recorder's network
    timeout (10 s) and the frozen camera's last segment is still saved.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
