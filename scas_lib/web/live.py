"""Watching a camera live from the console: its picture at the camera's rate, with the
faces boxed and labelled as the analyses draw them (a visitor's name or ``unknown #n``,
expression, age and gender).

- ``/console/live/<camera>`` (``?event=`` when more than one event file has that camera):
  the page (templates/live.html, static/live-view.js);
- ``GET /api/events/<event>/cameras/<camera>/live``: the stream the page reads, one
  ``multipart/x-mixed-replace`` answer whose parts are the camera's frames
  (``image/jpeg``, each with ``X-Frame`` and ``X-Frame-Time``, the Unix time it was read
  from the camera) and, after each analysed frame, its faces (``application/json``, a
  :class:`LiveOverlay`).

The camera is read from its ``url:`` in the event file, resolved as `scas ingest` resolves
it (:func:`~scas_lib.ingest.sources.resolve_source`, ``${VAR}`` from the environment;
:func:`~scas_lib.ingest.sources.input_args`), by one ffmpeg per camera, shared by all its
viewers and stopped when the last one leaves: it decodes at :data:`LIVE_WIDTH` pixels wide
and writes JPEGs to a pipe. A worker thread analyses the newest frame only, at most
:data:`ANALYSIS_FPS` times a second, and frames that come while it works are shown
unanalysed, never queued: the picture stays as close to the camera as ffmpeg can decode
it, and the overlays follow a few times a second. Faces are found by the footage engine
(as the analyses' worker makes it) and named by
:class:`~scas_lib.analysis.live.LiveLabeller` against the event's enrolled visitors
(:func:`~scas_lib.analysis.stage.event_gallery`).

Example (what the page does)::

    GET /scas/api/events/expo/cameras/cam1/live   (the operator's cookie or bearer token)
    --scasframe
    Content-Type: image/jpeg
    Content-Length: 31337
    X-Frame: 1
    X-Frame-Time: 1764504000.120
    ...
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass, field
from subprocess import Popen
from typing import Annotated, Any

import anyio
import cv2
import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, StreamingResponse

from scas_lib.analysis.annotate import KNOWN_COLOUR, UNKNOWN_COLOUR, caption
from scas_lib.analysis.live import LiveFace, LiveLabeller
from scas_lib.analysis.records import AnalysedFace
from scas_lib.analysis.stage import event_gallery
from scas_lib.errors import ConfigurationError
from scas_lib.event_files import find_event_file, parse_event_file, read_event_configs
from scas_lib.events import events_dir
from scas_lib.faces.detection import input_size_for
from scas_lib.faces.engine import FaceEngine
from scas_lib.ingest.sources import Source, input_args, resolve_source
from scas_lib.media.ffmpeg import start_ffmpeg_reader
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.cuts import CutConfig, CutDetector
from scas_lib.storage import keys
from scas_lib.web.auth import Context
from scas_lib.web.context import WebContext
from scas_lib.web.errors import ApiError
from scas_lib.web.rendering import app_root, render, request_language, script_json
from scas_lib.web.texts import page_texts

log = logging.getLogger(__name__)

#: The width the live picture is decoded at (a console's panel, and enough for the faces
#: of a venue camera to be found).
LIVE_WIDTH = 640
#: The most frames a second the worker analyses (recognition samples footage at 5).
ANALYSIS_FPS = 5.0
#: The JPEG quality of the frames sent (ffmpeg's -q:v, 2 best to 31 worst).
JPEG_QSCALE = 5
#: The boundary between the parts of the stream.
BOUNDARY = "scasframe"
#: How long a viewer waits for the camera's first frame, and between frames, before the
#: stream ends (the page opens it again).
FRAME_WAIT_S = 15.0
#: A viewer that has not asked for a frame for this long has gone.
STALE_S = 5.0


@dataclass(frozen=True)
class LiveFrame:
    """One frame as the viewers get it: its number (from 1), the JPEG, and the Unix time it
    was read from ffmpeg."""

    number: int
    jpeg: bytes = field(repr=False)
    read_at: float


@dataclass(frozen=True)
class LiveBox:
    """One face as the page draws it: the box (the frame's pixels), the caption the
    annotated videos write (:func:`~scas_lib.analysis.annotate.caption`) and its colour
    (``#rrggbb``: a visitor's, or an unknown person's), with what the caption says."""

    box: tuple[float, float, float, float]
    caption: str
    colour: str
    label: str
    visitor_id: str | None
    expression: str | None
    age: float | None
    gender: str | None


@dataclass(frozen=True)
class LiveOverlay:
    """The faces of one analysed frame (``frame``: its number, read at ``read_at``), of
    ``width`` x ``height`` pixels; ``analysed_at``: when its faces were known."""

    frame: int
    read_at: float
    analysed_at: float
    width: int
    height: int
    faces: tuple[LiveBox, ...]


def _hex(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def live_box(face: AnalysedFace) -> LiveBox:
    """How the page draws an analysed face: as :func:`~scas_lib.analysis.annotate.draw_faces`
    does (its caption, green for a visitor, yellow for someone unknown).

    >>> live_box(AnalysedFace((1, 2, 30, 40), "Ana", "v-1", 0, "happy", 31.4, "female")).caption
    'Ana · happy · 31 F'
    """
    colour = KNOWN_COLOUR if face.visitor_id else UNKNOWN_COLOUR
    return LiveBox(
        tuple(round(v, 1) for v in face.box),  # type: ignore[arg-type]
        caption(face), _hex(colour), face.label, face.visitor_id, face.expression,
        None if face.age is None else round(face.age, 1), face.gender,
    )  # fmt: skip


def live_args(source: Source) -> list[str]:
    """The ffmpeg options of a live viewer: the camera as ingest reads it, with the least
    buffering (no input buffer, low-delay decoding), decoded at :data:`LIVE_WIDTH` wide (no
    wider than the camera), every frame as it comes (no frame dropped or repeated to keep a
    rate) as a JPEG on stdout, each flushed at once.

    >>> live_args(Source("c", "rtsp", "rtsp://h/s", "rtsp://h/s"))[:4]
    ['-fflags', 'nobuffer', '-flags', 'low_delay']
    """
    return [
        "-fflags", "nobuffer", "-flags", "low_delay", *input_args(source),
        "-map", "0:v:0", "-an", "-vf", f"scale='min({LIVE_WIDTH},iw)':-2",
        "-fps_mode", "passthrough", "-c:v", "mjpeg", "-q:v", str(JPEG_QSCALE),
        "-f", "mjpeg", "-flush_packets", "1", "pipe:1",
    ]  # fmt: skip


def split_jpegs(buffer: bytes) -> tuple[list[bytes], bytes]:
    """The whole JPEGs at the start of an MJPEG byte stream, and what is left of it (the
    start of the next one). ffmpeg's JPEGs hold no thumbnail, so the first end-of-image
    marker after a start-of-image marker ends the picture (the entropy-coded data escapes
    every 0xFF byte).

    >>> split_jpegs(b"\\xff\\xd8ab\\xff\\xd9\\xff\\xd8c")
    ([b'\\xff\\xd8ab\\xff\\xd9'], b'\\xff\\xd8c')
    """
    pictures: list[bytes] = []
    while True:
        start = buffer.find(b"\xff\xd8")
        if start < 0:
            return pictures, b""
        end = buffer.find(b"\xff\xd9", start + 2)
        if end < 0:
            return pictures, buffer[start:]
        pictures.append(buffer[start : end + 2])
        buffer = buffer[end + 2 :]


class CameraViewer:
    """One camera's live picture: its ffmpeg, the thread that reads its frames and the
    worker that analyses the newest one. Shared by the camera's viewers (:meth:`join`,
    :meth:`leave`): it starts with the first and stops with the last. A viewer that stops
    asking for frames (:meth:`next`) for :data:`STALE_S` has gone too: a stream whose
    client went away is not always told so by the server in front of it."""

    def __init__(
        self, source: Source, analyse: Callable[[np.ndarray[Any, Any], float], LiveOverlayParts]
    ) -> None:
        self.source = source
        self._analyse = analyse
        self._changed = threading.Condition()
        #: Each viewer's token, and when it last left :meth:`next` (None: waiting in it).
        self._viewers: dict[int, float | None] = {}
        self._tokens = itertools.count(1)
        self._process: Popen[bytes] | None = None
        self._frame: LiveFrame | None = None
        self._overlay: LiveOverlay | None = None
        #: Why the picture stopped (the camera's last message, masked), or None.
        self.ended: str | None = None
        self._stopping = threading.Event()

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def join(self) -> int:
        """One more viewer, and its token; the first starts ffmpeg (again, after the camera
        went away)."""
        with self._changed:
            token = next(self._tokens)
            self._viewers[token] = time.monotonic()
            if not self.running:
                self._start()
            return token

    def leave(self, token: int) -> None:
        """The viewer of ``token`` has gone; the last one stops ffmpeg."""
        with self._changed:
            if token in self._viewers:
                del self._viewers[token]
                if not self._viewers:
                    self._stop()

    def close(self) -> None:
        """Every viewer gone, ffmpeg stopped (the app is going away)."""
        with self._changed:
            self._viewers.clear()
            self._stop()

    def _drop_stale(self) -> None:
        """Forget the viewers who stopped asking for frames; the last one stops ffmpeg."""
        now = time.monotonic()
        stale = [
            t for t, left in self._viewers.items() if left is not None and now - left > STALE_S
        ]
        for token in stale:
            del self._viewers[token]
        if stale and not self._viewers:
            log.info("live view of %s: its viewers went away", self.source.camera_id)
            self._stop()

    def _start(self) -> None:
        self._stopping = threading.Event()
        self._frame, self._overlay, self.ended = None, None, None
        process = start_ffmpeg_reader(live_args(self.source))
        self._process = process
        log.info("live view of %s: started (%s)", self.source.camera_id, self.source.display)
        stopping = self._stopping
        threading.Thread(target=self._read, args=(process, stopping), daemon=True,
                         name=f"live-{self.source.camera_id}").start()  # fmt: skip
        threading.Thread(target=self._work, args=(stopping,), daemon=True,
                         name=f"live-analysis-{self.source.camera_id}").start()  # fmt: skip

    def _stop(self) -> None:
        self._stopping.set()
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
            log.info("live view of %s: stopped (no viewer left)", self.source.camera_id)
        self._changed.notify_all()

    def _read(self, process: Popen[bytes], stopping: threading.Event) -> None:
        assert process.stdout is not None and process.stderr is not None
        messages: list[str] = []

        def read_messages() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                messages[:] = [*messages[-4:], line.decode(errors="replace").strip()]

        threading.Thread(target=read_messages, daemon=True).start()
        rest, number = b"", 0
        while chunk := os.read(process.stdout.fileno(), 1 << 16):
            pictures, rest = split_jpegs(rest + chunk)
            if not pictures:
                continue
            now = time.time()
            with self._changed:
                for picture in pictures:
                    number += 1
                    self._frame = LiveFrame(number, picture, now)
                self._changed.notify_all()
                self._drop_stale()
        process.wait()
        with self._changed:
            if not stopping.is_set():
                why = self.source.mask(messages[-1]) if messages else "the camera stopped"
                self.ended = f"ffmpeg ended ({process.returncode}): {why}"
                log.warning("live view of %s: %s", self.source.camera_id, self.ended)
            stopping.set()
            self._changed.notify_all()

    def _work(self, stopping: threading.Event) -> None:
        analysed = 0
        while not stopping.is_set():
            began = time.monotonic()
            with self._changed:
                self._changed.wait_for(
                    lambda done=analysed: (
                        stopping.is_set()  # type: ignore[misc]
                        or (self._frame is not None and self._frame.number > done)
                    ),
                    timeout=1.0,
                )
                frame = self._frame
            if stopping.is_set() or frame is None or frame.number <= analysed:
                continue
            analysed = frame.number
            image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
            if image is None:
                continue
            try:
                faces = self._analyse(image, frame.read_at)
            except Exception:  # one bad frame never stops the live view
                log.exception("live view of %s: analysis failed", self.source.camera_id)
                continue
            height, width = image.shape[:2]
            overlay = LiveOverlay(frame.number, frame.read_at, time.time(), width, height, faces)
            with self._changed:
                self._overlay = overlay
                self._changed.notify_all()
            # At most ANALYSIS_FPS analyses a second: the picture needs the cores more.
            stopping.wait(max(0.0, 1 / ANALYSIS_FPS - (time.monotonic() - began)))

    def next(
        self, token: int, frame: int, overlay: int, timeout_s: float
    ) -> tuple[LiveFrame | None, LiveOverlay | None, bool]:
        """For the viewer of ``token``: the newest frame after number ``frame`` and the
        newest overlay after ``overlay`` (None where there is none newer), once either
        comes or ``timeout_s`` passed; and whether the picture has stopped (for this
        viewer: also when it was taken for gone)."""
        with self._changed:
            if token not in self._viewers:
                return None, None, True
            self._viewers[token] = None
            self._changed.wait_for(
                lambda: (
                    self._stopping.is_set()
                    or (self._frame is not None and self._frame.number > frame)
                    or (self._overlay is not None and self._overlay.frame > overlay)
                ),
                timeout=timeout_s,
            )
            newer_frame = self._frame if self._frame and self._frame.number > frame else None
            newer = self._overlay if self._overlay and self._overlay.frame > overlay else None
            if token not in self._viewers:
                return None, None, True
            self._viewers[token] = time.monotonic()
            return newer_frame, newer, self._stopping.is_set()


#: What the worker's analysis gives for a frame: its faces as the page draws them.
LiveOverlayParts = tuple[LiveBox, ...]


class LiveViewers:
    """The web app's live views: one :class:`CameraViewer` per camera, and the footage
    engine they share (made for the first, as the analyses' worker makes its own)."""

    def __init__(self, context: WebContext, environ: Mapping[str, str] | None = None) -> None:
        self._context = context
        self._environ = environ
        self._lock = threading.Lock()
        self._viewers: dict[tuple[str, str], CameraViewer] = {}
        self._engine: FaceEngine | None = None

    def engine(self) -> FaceEngine:
        with self._lock:
            if self._engine is None:
                from scas_lib.recognition.pipeline import footage_engine

                pack = self._context.engine.pack.directory
                provider = self._context.settings.onnx_provider
                self._engine = footage_engine(pack, provider=provider)
            return self._engine

    def source(self, event_id: str, camera_id: str) -> Source:
        """The camera's source, from its event file (404 without one, 409 for a camera
        without a url or with one that does not resolve)."""
        path = find_event_file(event_id)
        config = parse_event_file(path) if path else None
        camera = next((c for c in config.cameras if c.id == camera_id), None) if config else None
        if camera is None:
            raise ApiError(404, "not_found", f"event {event_id!r} has no camera {camera_id!r}")
        if not camera.url:
            raise ApiError(409, "no_camera_url", f"camera {camera_id!r} has no url to watch")
        try:
            return resolve_source(camera_id, camera.url, self._environ or os.environ)
        except ConfigurationError as error:
            raise ApiError(409, "no_camera_url", f"camera {camera_id}: {error}") from None

    def viewer(self, event_id: str, camera_id: str) -> CameraViewer:
        """The camera's viewer (made on first use; made again when its url changed)."""
        source = self.source(event_id, camera_id)
        with self._lock:
            viewer = self._viewers.get((event_id, camera_id))
            if viewer is None or (viewer.source.url != source.url and viewer.viewers == 0):
                viewer = CameraViewer(source, self._analysis(event_id, camera_id))
                self._viewers[(event_id, camera_id)] = viewer
            return viewer

    def _analysis(
        self, event_id: str, camera_id: str
    ) -> Callable[[np.ndarray[Any, Any], float], LiveOverlayParts]:
        """The worker's analysis of one frame: faces found, embedded and described by the
        engine, named by a labeller of the event's visitors (made at the first frame)."""
        made: list[LiveLabeller] = []
        started = time.time()
        cuts = CutDetector(CutConfig(threshold=RecognitionConfig().cut_threshold))

        def analyse(image: np.ndarray[Any, Any], read_at: float) -> LiveOverlayParts:
            engine = self.engine()
            if not made:
                gallery, names = event_gallery(self._context.services, engine, event_id)
                made.append(LiveLabeller(
                    gallery, names, engine.pack.manifest.thresholds,
                    model_pack=engine.model_pack, camera_id=camera_id,
                ))  # fmt: skip
            height, width = image.shape[:2]
            with engine.slot():
                found = engine.analyze(image, input_size=input_size_for(width, height, width))
                looks = engine.describe(found)
            faces = [
                LiveFace(tuple(float(v) for v in face.detection.box), face.detection.score,  # type: ignore[arg-type]
                         face.quality.score, face.embedding, attributes)
                for face, attributes in zip(found, looks, strict=True)
                if face.embedding is not None
            ]  # fmt: skip
            cut = cuts.is_cut(image)
            labelled = made[0].update(read_at - started, faces, (width, height), cut=cut)
            return tuple(live_box(face) for face in labelled)

        return analyse

    def close(self) -> None:
        """Stop every camera's ffmpeg (the app is going away)."""
        with self._lock:
            viewers = list(self._viewers.values())
        for viewer in viewers:
            viewer.close()


def live_viewers(request: Request) -> LiveViewers:
    """The app's live views (a FastAPI dependency), made on first use."""
    state = request.app.state
    with _MAKING:
        if getattr(state, "live_viewers", None) is None:
            state.live_viewers = LiveViewers(state.scas)
    viewers: LiveViewers = state.live_viewers
    return viewers


_MAKING = threading.Lock()
Viewers = Annotated[LiveViewers, Depends(live_viewers)]


def camera_event(camera_id: str, event: str = "") -> str:
    """The event whose camera is watched: ``event`` when given, else the one event file
    that has a camera ``camera_id`` (404 for none, 409 for several: say which)."""
    if event:
        return keys.validate_id(event, "event id")
    configs, _ = read_event_configs(events_dir())
    having = [config.id for config in configs if any(c.id == camera_id for c in config.cameras)]
    if not having:
        raise ApiError(404, "not_found", f"no event file has a camera {camera_id!r}")
    if len(having) > 1:
        raise ApiError(409, "ambiguous_camera", f"{camera_id!r} is a camera of "
                       f"{', '.join(having)}: add ?event=")  # fmt: skip
    return having[0]


def _part(content_type: str, body: bytes, headers: Mapping[str, str] | None = None) -> bytes:
    lines = [f"--{BOUNDARY}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body + b"\r\n"


async def live_stream(viewer: CameraViewer, token: int, request: Request) -> AsyncIterator[bytes]:
    """The parts of one viewer's stream (frames and overlays as they come) until the
    picture stops or the viewer goes; then the viewer leaves."""
    frame_seen = overlay_seen = 0
    checked = time.monotonic()
    try:
        while True:
            frame, overlay, ended = await run_in_threadpool(
                viewer.next, token, frame_seen, overlay_seen, FRAME_WAIT_S
            )
            if overlay is not None:
                overlay_seen = overlay.frame
                faces = json.dumps(asdict(overlay), ensure_ascii=False).encode()
                yield _part("application/json", faces)
            if frame is not None:
                frame_seen = frame.number
                stamps = {"X-Frame": str(frame.number), "X-Frame-Time": f"{frame.read_at:.3f}"}
                yield _part("image/jpeg", frame.jpeg, stamps)
            if ended or (frame is None and overlay is None):
                return
            if time.monotonic() - checked > 1.0:
                checked = time.monotonic()
                if await request.is_disconnected():
                    return
    finally:
        # Shielded: a viewer who went away cancels the stream, and the viewer must still
        # leave (the last one stops ffmpeg).
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(viewer.leave, token)


def live_router(operator: Callable[..., Any]) -> APIRouter:
    """The live view's page and stream, behind the ``operator`` dependency."""
    router = APIRouter(dependencies=[Depends(operator)])

    @router.get(
        "/api/events/{event_id}/cameras/{camera_id}/live",
        tags=["console"],
        response_class=StreamingResponse,
        responses={200: {"description": "The camera's frames (image/jpeg, X-Frame-Time: "
                         "the Unix time each was read) and its analysed faces "
                         "(application/json) as parts of multipart/x-mixed-replace.",
                         "content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}},
    )  # fmt: skip
    def stream(
        event_id: str, camera_id: str, request: Request, viewers: Viewers
    ) -> StreamingResponse:
        """The camera live: its frames at its own rate, and the faces of the frames
        analysed (a few a second), as one multipart stream."""
        keys.validate_id(event_id, "event id")
        keys.validate_id(camera_id, "camera id")
        viewer = viewers.viewer(event_id, camera_id)
        token = viewer.join()
        return StreamingResponse(
            live_stream(viewer, token, request),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.get("/console/live/{camera_id}", include_in_schema=False)
    def page(
        camera_id: str, request: Request, context: Context, viewers: Viewers, event: str = ""
    ) -> HTMLResponse:
        """The live view of a camera."""
        keys.validate_id(camera_id, "camera id")
        event_id = camera_event(camera_id, event)
        source = viewers.source(event_id, camera_id)
        language = request_language(request)
        root = app_root(request)
        return render(
            request,
            "live.html",
            language=language,
            event_id=event_id,
            camera_id=camera_id,
            source=source.display,
            stream_url=f"{root}/api/events/{event_id}/cameras/{camera_id}/live",
            console_url=f"{root}/console/{event_id}",
            texts_json=script_json(page_texts(language)),
        )

    return router
