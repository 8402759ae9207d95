"""The analyse stage: a recorded video in, an annotated MP4 and its per-second JSON out.

The video is recognised as an event's segment is (:func:`~scas_lib.recognition.pipeline.
recognize_video`, the same engine, gallery and settings), against the enrolled visitors of
an event when one is given, else against nobody (everyone is ``unknown #n``). Its faces
are labelled (:mod:`~scas_lib.analysis.labels`) and drawn on every frame
(:mod:`~scas_lib.analysis.annotate`). A file ffmpeg cannot read is one clear error, and
nothing is written.

Example::

    outcome = analyze_file(Path("lobby.mp4"), Path("out"), engine, gallery, {"v-1": "Ana"})
    outcome.annotated, outcome.analysis.people
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scas_lib.analysis.annotate import write_annotated
from scas_lib.analysis.labels import analysed_frames, by_second, track_labels
from scas_lib.analysis.records import Analysis
from scas_lib.errors import ScasError
from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.matching import Gallery
from scas_lib.media.ffmpeg import MediaError
from scas_lib.media.probe import probe
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.pipeline import recognize_video

log = logging.getLogger(__name__)

#: The analysed file's frames are timed from here (a file has no wall clock of its own).
FILE_START = datetime(1970, 1, 1, tzinfo=UTC)


class AnalysisRefused(ScasError):
    """A file given to ``scas analyze`` cannot be analysed (one line says why)."""


@dataclass(frozen=True)
class AnalysisOutcome:
    analysis: Analysis
    annotated: Path
    json: Path
    frames_written: int


def analyze_file(
    path: Path,
    out_dir: Path,
    engine: FaceEngine,
    gallery: Gallery,
    names: Mapping[str, str],
    config: RecognitionConfig | None = None,
) -> AnalysisOutcome:
    """Analyse the video at ``path`` into ``out_dir/<name>.annotated.mp4`` and
    ``out_dir/<name>.analysis.json`` (``names``: the display name of each visitor of the
    gallery)."""
    config = config or RecognitionConfig()
    if not path.is_file():
        raise AnalysisRefused(f"{path}: no such file")
    try:
        info = probe(path)
    except MediaError as error:
        raise AnalysisRefused(f"{path}: not a video file ({error})") from None
    result = recognize_video(
        path, "file", FILE_START, engine, gallery, engine.pack.manifest.thresholds, config
    )
    if result.error:
        raise AnalysisRefused(f"{path}: could not be read to the end ({result.error})")
    tracks = list(result.tracks)
    labels = track_labels(tracks, names, engine.pack.manifest.thresholds.match)
    frames = analysed_frames(tracks, labels)
    people = tuple(dict.fromkeys(label for _, label in sorted(
        zip((t.start_time for t in tracks), labels, strict=True), key=lambda pair: pair[0]
    )))  # fmt: skip
    analysis = Analysis(path.name, info.duration, people, by_second(frames, info.duration))
    out_dir.mkdir(parents=True, exist_ok=True)
    annotated = out_dir / f"{path.stem}.annotated.mp4"
    record = out_dir / f"{path.stem}.analysis.json"
    partial = annotated.with_suffix(".part.mp4")
    try:
        written = write_annotated(path, partial, info, frames, hold_s=2 / config.analysis_fps)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(annotated)
    record.write_text(analysis.to_json() + "\n")
    log.info("%s: %d faces tracked, %d people, %d frames annotated",
             path.name, len(tracks), len(people), written)  # fmt: skip
    return AnalysisOutcome(analysis, annotated, record, written)
