"""The analyse stage: a recorded video in, an annotated MP4 and its per-second JSON out.

The video is recognised as an event's segment is (:func:`~scas_lib.recognition.pipeline.
recognize_video`, the same engine, gallery and settings), against the enrolled visitors of
an event when one is given, else against nobody (everyone is ``unknown #n``). Its faces
are labelled (:mod:`~scas_lib.analysis.labels`) and drawn on every frame
(:mod:`~scas_lib.analysis.annotate`). A file ffmpeg cannot read is one clear error, and
nothing is written.

A long video is analysed in pieces (:func:`pieces_of`): each is recognised on its own
(:func:`recognize_piece`: one after the other here, one mapped task each in the
``scas_analysis`` DAG), then the tracks of all are labelled and drawn at once
(:func:`annotate_video`).

Example::

    outcome = analyze_file(Path("lobby.mp4"), Path("out"), engine, gallery, {"v-1": "Ana"})
    outcome.annotated, outcome.analysis.people
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from scas_lib.analysis.annotate import write_annotated
from scas_lib.analysis.labels import analysed_frames, by_second, track_labels
from scas_lib.analysis.pieces import on_video_clock
from scas_lib.analysis.records import Analysis, AnalysisPhase, AnalysisProgress
from scas_lib.errors import ScasError
from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.matching import Gallery
from scas_lib.media.ffmpeg import MediaError
from scas_lib.media.probe import VideoInfo, probe, video_packet_after
from scas_lib.media.split import VideoPiece, split_video
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.pipeline import ReadProgress, recognize_video
from scas_lib.services.runtime import Services
from scas_lib.tracks import FaceTrack

log = logging.getLogger(__name__)

#: The analysed file's frames are timed from here (a file has no wall clock of its own).
FILE_START = datetime(1970, 1, 1, tzinfo=UTC)


def event_gallery(
    services: Services | None, engine: FaceEngine, event_id: str | None
) -> tuple[Gallery, dict[str, str]]:
    """Whom an analysis names: the enrolled visitors of ``event_id`` (their gallery of the
    engine's pack, and their display names), or nobody without an event."""
    size = engine.pack.manifest.recognizer.embedding_size
    nobody = Gallery(engine.model_pack, (), np.zeros((0, size), np.float32))
    if event_id is None or services is None:
        return nobody, {}
    with services.catalog() as catalog:
        enrolled = catalog.visitors.enrollments(event_id, engine.model_pack)
        names = {v.id: v.display_name for v in catalog.visitors.for_event(event_id)}
    gallery = Gallery.from_enrollments(engine.model_pack, enrolled) if enrolled else nobody
    return gallery, names


class AnalysisRefused(ScasError):
    """A file given to ``scas analyze`` cannot be analysed (one line says why)."""


#: The share of an analysis' progress that is recognition; annotating is the rest.
RECOGNITION_SHARE = 60.0


@dataclass(frozen=True)
class AnalysisOutcome:
    analysis: Analysis
    annotated: Path
    json: Path
    thumbnail: Path
    frames_written: int


class _Progress:
    """Turns the recognition's and the annotation's counts into :class:`AnalysisProgress`
    for the caller, with an ETA from the time taken so far."""

    def __init__(self, report: Callable[[AnalysisProgress], None] | None, duration_s: float,
                 frames: int) -> None:  # fmt: skip
        self.report, self.duration_s, self.frames = report, max(duration_s, 1e-3), max(frames, 1)
        self.started = time.monotonic()
        self.faces = 0
        #: Faces and frames of the pieces read before the one being read.
        self._before = (0, 0)
        self._piece: tuple[int, int] = (0, 0)

    def tell(self, phase: AnalysisPhase, percent: float, frames_done: int) -> None:
        if self.report is None:
            return
        elapsed = time.monotonic() - self.started
        eta = elapsed * (100 - percent) / percent if percent > 1 else None
        self.report(AnalysisProgress(phase, round(percent, 1), frames_done, self.faces,
                                     None if eta is None else round(eta, 1)))  # fmt: skip

    def read(self, read: ReadProgress) -> None:
        if read.frames_decoded < self._piece[1]:  # a new piece: its counts start again
            self._before = (self._before[0] + self._piece[0], self._before[1] + self._piece[1])
        self._piece = (read.faces_found, read.frames_decoded)
        self.faces = self._before[0] + read.faces_found
        share = min(1.0, read.read_s / self.duration_s)
        self.tell("recognizing", RECOGNITION_SHARE * share, self._before[1] + read.frames_decoded)

    def written(self, frames: int) -> None:
        share = min(1.0, frames / self.frames)
        self.tell("annotating", RECOGNITION_SHARE + (100 - RECOGNITION_SHARE) * share, frames)


def pieces_of(path: Path, duration_s: float, piece_s: float, work_dir: Path) -> list[VideoPiece]:
    """The pieces ``path`` is analysed in: itself when it is at most 1.5 ``piece_s`` long,
    else pieces of about ``piece_s`` in ``work_dir`` (cut at keyframes); itself again when
    its stream cannot be cut so (a codec MPEG-TS cannot hold, e.g. VP9): slower, not
    wrong."""
    whole = [VideoPiece(path, 0.0, duration_s)]
    if duration_s <= 1.5 * piece_s:
        return whole
    try:
        return split_video(path, work_dir, piece_s)
    except MediaError as error:
        log.warning("%s is analysed whole: it could not be cut into pieces (%s)", path.name, error)
        return whole


def recognize_piece(
    piece: VideoPiece,
    engine: FaceEngine,
    gallery: Gallery,
    config: RecognitionConfig,
    *,
    progress: Callable[[ReadProgress], None] | None = None,
) -> list[FaceTrack]:
    """The face tracks of one piece of a video, on the whole video's clock (``progress``:
    how far into the video the reading is)."""

    def moved(read: ReadProgress) -> None:
        if progress is not None:
            progress(replace(read, read_s=piece.start_s + read.read_s))

    result = recognize_video(
        piece.path, "file", FILE_START, engine, gallery, engine.pack.manifest.thresholds, config,
        progress=moved,
    )  # fmt: skip
    if result.error:
        raise AnalysisRefused(f"{piece.path.name}: could not be read to the end ({result.error})")
    return on_video_clock(result.tracks, piece.start_s)


def annotate_video(
    path: Path,
    info: VideoInfo,
    tracks: Sequence[FaceTrack],
    out_dir: Path,
    names: Mapping[str, str],
    same_person: float,
    config: RecognitionConfig,
    *,
    written_so_far: Callable[[int], None] | None = None,
) -> AnalysisOutcome:
    """Label the video's ``tracks`` and draw them on it: ``out_dir/<name>.annotated.mp4``,
    its per-second ``<name>.analysis.json`` and a thumbnail ``<name>.jpg``."""
    labels = track_labels(tracks, names, same_person)
    frames = analysed_frames(tracks, labels)
    people = tuple(dict.fromkeys(label for _, label in sorted(
        zip((t.start_time for t in tracks), labels, strict=True), key=lambda pair: pair[0]
    )))  # fmt: skip
    analysis = Analysis(path.name, info.duration, people, by_second(frames, info.duration))
    out_dir.mkdir(parents=True, exist_ok=True)
    annotated = out_dir / f"{path.stem}.annotated.mp4"
    record = out_dir / f"{path.stem}.analysis.json"
    thumbnail = out_dir / f"{path.stem}.jpg"
    partial = annotated.with_suffix(".part.mp4")
    try:
        written = write_annotated(
            path, partial, info, frames, hold_s=2 / config.analysis_fps, thumbnail=thumbnail,
            written_so_far=written_so_far,
        )  # fmt: skip
    except BaseException:
        partial.unlink(missing_ok=True)
        thumbnail.unlink(missing_ok=True)
        raise
    partial.replace(annotated)
    record.write_text(analysis.to_json() + "\n")
    log.info("%s: %d faces tracked, %d people, %d frames annotated",
             path.name, len(tracks), len(people), written)  # fmt: skip
    return AnalysisOutcome(analysis, annotated, record, thumbnail, written)


def probe_upload(path: Path, shown_as: str | None = None) -> VideoInfo:
    """The video stream of a file to analyse; :class:`AnalysisRefused` if there is none or
    the file is cut short. ``shown_as``: the file's name in the refusal (an upload's own
    name, not the name it was kept under)."""
    name = shown_as or path.name
    if not path.is_file():
        raise AnalysisRefused(f"{name}: no such file")
    try:
        info = probe(path)
        # A file cut short (an upload that stopped) keeps a header that promises the whole
        # video: near the promised end there must be video, else the file is refused
        # rather than analysed for hours it does not have.
        near_end = info.start_time + max(0.0, min(info.duration - 10, 0.9 * info.duration))
        if info.duration > 0 and video_packet_after(path, near_end) is None:
            raise AnalysisRefused(
                f"{name}: the file is cut short: its header says"
                f" {timedelta(seconds=round(info.duration))} but its video ends before that"
            )
        return info
    except MediaError as error:
        # ffprobe's words name the file where it is kept: a refusal names no server path.
        reason = str(error).replace(str(path), name).replace(path.name, name)
        raise AnalysisRefused(f"{name}: not a video file ({reason})") from None


def analyze_file(
    path: Path,
    out_dir: Path,
    engine: FaceEngine,
    gallery: Gallery,
    names: Mapping[str, str],
    config: RecognitionConfig | None = None,
    *,
    piece_s: float = 120.0,
    progress: Callable[[AnalysisProgress], None] | None = None,
) -> AnalysisOutcome:
    """Analyse the video at ``path`` into ``out_dir`` (:func:`annotate_video`; ``names``:
    the display name of each visitor of the gallery), a long one in pieces of about
    ``piece_s`` (:func:`pieces_of`), one after the other; ``progress`` is told how far it
    is."""
    config = config or RecognitionConfig()
    info = probe_upload(path)
    tracker = _Progress(progress, info.duration, round(info.duration * info.fps))
    tracks: list[FaceTrack] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pieces-", dir=out_dir) as work:
        for piece in pieces_of(path, info.duration, piece_s, Path(work)):
            tracks += recognize_piece(piece, engine, gallery, config, progress=tracker.read)
    outcome = annotate_video(
        path, info, tracks, out_dir, names, engine.pack.manifest.thresholds.match, config,
        written_so_far=tracker.written,
    )  # fmt: skip
    tracker.tell("done", 100.0, outcome.frames_written)
    return outcome
