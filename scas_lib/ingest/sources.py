"""Camera sources: the ``url:`` of a camera in the event file, its ``${VAR}`` expansion from
the environment, the masking of its credentials, and the ffmpeg input options each kind of
source needs. Pure functions: no I/O, no processes (the environment is passed in).

A camera's URL names its kind by its scheme:

- ``rtsp://`` / ``rtsps://``: an IP camera, read over TCP (interleaved), as Frigate does;
- ``rtmp://`` / ``rtmps://``: a robot or encoder pushing to an RTMP server;
- ``http://`` / ``https://``: MPEG-TS, FLV, MJPEG or HLS over HTTP (ffmpeg finds which);
- ``device:/dev/video0``: a local V4L2 device (raw video: always encoded);
- ``file:/path/clip.mp4``: a file looped at real-time pace, for demos.

Secrets never sit in the event file: ``rtsp://admin:${CAM1_PASSWORD}@10.0.0.21/stream1``
takes the password from the environment when ingest starts. Every line SCAS prints about a
source goes through :meth:`Source.mask`, which hides the user-info password, credential-like
query parameters and every expanded variable's value.

>>> source = resolve_source("cam1", "rtsp://admin:${PW}@10.0.0.21/s1?token=abc", {"PW": "p@ss"})
>>> source.kind, source.display
('rtsp', 'rtsp://admin:***@10.0.0.21/s1?token=***')
>>> source.url
'rtsp://admin:p%40ss@10.0.0.21/s1?token=abc'
>>> source.mask("Input #0, rtsp, from 'rtsp://admin:p%40ss@10.0.0.21/s1?token=abc':")
"Input #0, rtsp, from 'rtsp://admin:***@10.0.0.21/s1?token=***':"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote, unquote

from scas_lib.errors import ConfigurationError
from scas_lib.events import SourceKind, source_kind

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:password|passwd|pass|pwd|token|key|secret|auth|signature)=)([^&#\s'\"]*)"
)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s'\"]*):([^@/\s'\"]*)@")
MASK = "***"
#: ffmpeg's network timeout for a source, in microseconds: a dead socket is an error after
#: 10 s (the watchdog restarts a recorder that stalls in a way ffmpeg does not notice).
NETWORK_TIMEOUT_US = 10_000_000


def expand_variables(url: str, environ: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """``url`` with every ``${VAR}`` replaced from ``environ``, and the values used (to
    mask them). A value inside the user-info part (before the host's ``@``) is
    percent-encoded, so a password may hold ``@`` or ``:``. A missing variable is a
    ConfigurationError that names it, never a value.

    >>> expand_variables("rtsp://u:${P}@h/s", {"P": "a:b"})
    ('rtsp://u:a%3Ab@h/s', ('a:b', 'a%3Ab'))
    """
    missing = sorted({name for name in _VARIABLE.findall(url) if name not in environ})
    if missing:
        raise ConfigurationError(
            f"camera url needs the environment variable(s) {', '.join(missing)}, not set"
        )
    scheme_end = url.find("://")
    authority_end = len(url)
    if scheme_end >= 0:
        slash = url.find("/", scheme_end + 3)
        authority_end = slash if slash >= 0 else len(url)
    userinfo_end = url.rfind("@", 0, authority_end)
    used: list[str] = []

    def value(match: re.Match[str]) -> str:
        raw = environ[match[1]]
        text = quote(raw, safe="") if match.start() < userinfo_end else raw
        used.extend(v for v in (raw, text) if v and v not in used)
        return text

    return _VARIABLE.sub(value, url), tuple(used)


def mask_url(text: str) -> str:
    """``text`` with URL passwords and credential-like query parameters replaced by ``***``.

    >>> mask_url("rtmp://bot:hunter2@relay/live?key=k1&x=1")
    'rtmp://bot:***@relay/live?key=***&x=1'
    """
    return _SECRET_PARAMS.sub(rf"\1{MASK}", _USERINFO.sub(rf"\1:{MASK}@", text))


@dataclass(frozen=True)
class Source:
    """One camera's resolved source. ``url`` holds the secrets: never print it; print
    :attr:`display` or :meth:`mask` a line that may contain it."""

    camera_id: str
    kind: SourceKind
    url: str = field(repr=False)
    display: str
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def mask(self, text: str) -> str:
        """``text`` (an ffmpeg message, say) with this source's secrets hidden."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= 3:  # shorter values would mask ordinary words
                text = text.replace(secret, MASK)
        return mask_url(text)

    @property
    def path(self) -> str:
        """The file or device path of a ``file:`` or ``device:`` source."""
        rest = self.url.split(":", 1)[1]
        return unquote(rest[2:] if rest.startswith("//") else rest)


def resolve_source(camera_id: str, url: str, environ: Mapping[str, str]) -> Source:
    """The source of camera ``camera_id`` from its event-file ``url``."""
    kind = source_kind(url)
    expanded, used = expand_variables(url, environ)
    password = _USERINFO.search(expanded)
    secrets = (*used, password[2], unquote(password[2])) if password else used
    source = Source(camera_id, kind, expanded, mask_url(url), tuple(s for s in secrets if s))
    return Source(camera_id, kind, expanded, source.mask(mask_url(url)), source.secrets)


def input_args(source: Source) -> list[str]:
    """The ffmpeg options before and including ``-i`` for ``source``. Every packet gets
    the wall-clock time it arrived at as its timestamp (``-use_wallclock_as_timestamps``):
    the one clock segment start times are on (UTC, this machine's clock).

    >>> input_args(Source("c", "rtsp", "rtsp://h/s", "rtsp://h/s"))[:4]
    ['-rtsp_transport', 'tcp', '-timeout', '10000000']

    A looped file is the exception: ffmpeg paces it (``-re``) by its own timestamps, which
    wall-clock ones would replace, so it keeps them and its clock is the moment ffmpeg
    starts reading it (:func:`arrival_clock`).

    >>> input_args(Source("c", "file", "file:/clips/a.mp4", "file:/clips/a.mp4"))
    ['-re', '-stream_loop', '-1', '-i', '/clips/a.mp4']
    """
    wallclock = ["-use_wallclock_as_timestamps", "1"]
    if source.kind == "rtsp":
        before = ["-rtsp_transport", "tcp", "-timeout", str(NETWORK_TIMEOUT_US)]
        return [*before, *wallclock, "-i", source.url]
    if source.kind in ("rtmp", "http"):
        return ["-rw_timeout", str(NETWORK_TIMEOUT_US), *wallclock, "-i", source.url]
    if source.kind == "device":
        return ["-f", "v4l2", *wallclock, "-i", source.path]
    return ["-re", "-stream_loop", "-1", "-i", source.path]


def arrival_clock(kind: SourceKind) -> bool:
    """Whether a recorder's wall-clock start is the moment ffmpeg reports its input (True,
    for a looped file, accurate to some 50 ms) rather than the ``start:`` it prints (the
    wall-clock arrival of the first packet, for every live source).

    >>> arrival_clock("file"), arrival_clock("rtsp")
    (True, False)
    """
    return kind == "file"


Transcode = Literal["auto", "copy", "encode"]
#: Codecs a segment may hold as they come from the camera (what recognition decodes and
#: the highlights renderer cuts); anything else is encoded to H.264.
COPY_CODECS = ("h264", "hevc")


def should_copy(transcode: Transcode, kind: SourceKind, codec: str | None) -> bool:
    """Whether to copy the camera's stream (True) or encode it to H.264.

    >>> should_copy("auto", "rtsp", "h264"), should_copy("auto", "http", "mjpeg")
    (True, False)
    >>> should_copy("auto", "device", "h264"), should_copy("copy", "rtsp", None)
    (False, True)
    """
    if transcode != "auto":
        return transcode == "copy"
    return kind != "device" and codec in COPY_CODECS


def recorder_args(source: Source, segment_s: float, directory: str, *, copy: bool) -> list[str]:
    """The whole ffmpeg command line (after the program name) of a camera's recorder:
    video only, cut into MP4 segments of ``segment_s`` on keyframes in ``directory``; each
    finished segment is appended to ``segments.csv`` there (name, start, end: seconds on the
    recorder's timeline, whose 0 is the wall-clock ``start:`` ffmpeg prints for the input).
    A segment is listed only once its file is complete. ``-v info`` is needed for that
    ``start:`` line; ``-nostats`` keeps the progress line out of it, and ``-progress``
    reports the frames written to stdout every half second instead (the watchdog's sign of
    life: the MP4 muxer keeps a segment in memory until it closes it, so the files on disk
    say little).
    """
    return [
        "-hide_banner", "-nostdin", "-nostats", "-v", "info", "-progress", "pipe:1",
        *input_args(source), *segment_output_args(segment_s, directory, copy=copy),
    ]  # fmt: skip


def segment_output_args(segment_s: float, directory: str, *, copy: bool) -> list[str]:
    """The output half of a command that cuts video into MP4 segments of ``segment_s``
    seconds on keyframes in ``directory``, listing each finished one in ``segments.csv``
    there (``name,start,end``); video only. Encoding puts keyframes where cuts belong.

    >>> segment_output_args(2, "/tmp/run", copy=True)[:6]
    ['-map', '0:v:0', '-an', '-c:v', 'copy', '-f']
    """
    if copy:
        codec = ["-c:v", "copy"]
    else:
        codec = [
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-bf", "0",
            "-pix_fmt", "yuv420p", "-force_key_frames", f"expr:gte(t,n_forced*{segment_s:g})",
        ]  # fmt: skip
    return [
        "-map", "0:v:0", "-an", *codec,
        "-f", "segment", "-segment_time", f"{segment_s:g}", "-segment_format", "mp4",
        "-reset_timestamps", "1",
        "-segment_list", f"{directory}/segments.csv", "-segment_list_type", "csv",
        f"{directory}/seg%06d.mp4",
    ]  # fmt: skip
