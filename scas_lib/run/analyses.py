"""The ``scas_analysis`` DAG's steps: a long upload analysed by mapped recognition tasks.

    split -> recognize.expand(piece) (queue gpu, one task per piece) -> annotate

The console puts the upload in the analyses bucket (:func:`~scas_lib.storage.keys.
analysis_prefix`) and triggers a run; :func:`split` cuts it into pieces there,
:func:`recognize` finds the faces of one piece (the stage :func:`~scas_lib.analysis.stage.
recognize_piece`, the recognition of an event's segments) and stores its tracks, and
:func:`annotate` labels and draws all of them on the video (:func:`~scas_lib.analysis.stage.
annotate_video`) and stores the results under ``result/``, where the console fetches them.
Every step writes the same keys again when retried; the pieces and tracks are deleted once
the results are stored.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from scas_lib.recognition.config import RecognitionConfig
from scas_lib.run.records import AnalysisRun, StoredPiece
from scas_lib.storage import keys

if TYPE_CHECKING:  # imported for real inside the functions (see scas_lib.run: no model runtime)
    from scas_lib.services.runtime import Services

log = logging.getLogger(__name__)

#: The DAG that analyses uploads in pieces (dags/scas_analysis.py).
ANALYSIS_DAG_ID = "scas_analysis"
#: The results of an analysis, under its prefix.
RESULT = "result/"


def _piece_s(services: Services, run: AnalysisRun) -> float:
    return run.piece_s or services.settings.analysis_piece_s


def _source(services: Services, run: AnalysisRun, folder: Path) -> Path:
    local = folder / PurePosixPath(run.source_key).name
    store = services.object_store()
    store.download_file(services.settings.bucket_analyses, run.source_key, local)
    return local


def split(services: Services, run: AnalysisRun) -> list[StoredPiece]:
    """Cut the upload into pieces of about ``piece_s`` (a short one is one piece) and store
    them beside it; :class:`~scas_lib.analysis.stage.AnalysisRefused` for a file that is
    not a video."""
    from scas_lib.analysis.stage import pieces_of, probe_upload

    bucket = services.settings.bucket_analyses
    store = services.object_store()
    with tempfile.TemporaryDirectory(prefix="scas-analysis-") as work:
        source = _source(services, run, Path(work))
        info = probe_upload(source)
        pieces = pieces_of(source, info.duration, _piece_s(services, run), Path(work) / "p")
        stored = []
        for index, piece in enumerate(pieces):
            key = keys.analysis_piece_key(run.analysis_id, index, "pieces")
            store.put_file(bucket, key, piece.path)
            stored.append(StoredPiece(index, key, piece.start_s, piece.duration_s))
    log.info("%s: %d pieces", run.source_key, len(stored))
    return stored


def recognize(services: Services, run: AnalysisRun, piece: StoredPiece) -> str:
    """Find the faces of one piece (against the event's visitors, if any) and store its
    tracks; the key of the tracks."""
    from scas_lib.analysis.pieces import tracks_to_json
    from scas_lib.analysis.stage import event_gallery, recognize_piece
    from scas_lib.media.split import VideoPiece
    from scas_lib.run.recognition import engine_for

    config = RecognitionConfig()
    engine = engine_for(services.settings, config)
    gallery, _ = event_gallery(services, engine, run.event_id)
    bucket = services.settings.bucket_analyses
    store = services.object_store()
    with tempfile.TemporaryDirectory(prefix="scas-analysis-") as work:
        local = Path(work) / PurePosixPath(piece.key).name
        store.download_file(bucket, piece.key, local)
        found = VideoPiece(local, piece.start_s, piece.duration_s)
        tracks = recognize_piece(found, engine, gallery, config)
    key = keys.analysis_piece_key(run.analysis_id, piece.index, "tracks")
    store.put_bytes(bucket, key, tracks_to_json(tracks).encode(), content_type="application/json")
    log.info("%s: %d face tracks", piece.key, len(tracks))
    return key


def annotate(services: Services, run: AnalysisRun, track_keys: Sequence[str]) -> list[str]:
    """Label and draw every piece's tracks on the upload, store the annotated MP4, the
    per-second JSON and the thumbnail under ``result/``, and delete the pieces and tracks;
    the keys of the results."""
    from scas_lib.analysis.pieces import tracks_from_json
    from scas_lib.analysis.stage import annotate_video, event_gallery, probe_upload
    from scas_lib.run.recognition import engine_for

    config = RecognitionConfig()
    bucket = services.settings.bucket_analyses
    store = services.object_store()
    tracks = [
        track
        for key in sorted(track_keys)
        for track in tracks_from_json(store.get_bytes(bucket, key).decode())
    ]
    engine = engine_for(services.settings, config)
    _, names = event_gallery(services, engine, run.event_id)
    same_person = engine.pack.manifest.thresholds.match
    prefix = keys.analysis_prefix(run.analysis_id)
    results = []
    with tempfile.TemporaryDirectory(prefix="scas-analysis-") as work:
        source = _source(services, run, Path(work))
        outcome = annotate_video(
            source, probe_upload(source), tracks, Path(work) / "out", names, same_person, config
        )
        # The JSON last: the console takes it as the sign that the results are all there.
        for path in (outcome.annotated, outcome.thumbnail, outcome.json):
            results.append(f"{prefix}{RESULT}{path.name}")
            store.put_file(bucket, results[-1], path)
    for kind in ("pieces", "tracks"):
        store.remove_prefix(bucket, f"{prefix}{kind}/")
    log.info("%s: %d people, %d tracks", run.source_key, len(outcome.analysis.people), len(tracks))
    return results
