"""Analyses from the console: an operator uploads a recorded video, watches its progress
live, then plays the annotated video and downloads it and its per-second JSON
(:func:`~scas_lib.analysis.stage.analyze_file`, as ``scas analyze`` runs it).

Each operator has their own history (newest first, with a thumbnail), and deletes what
they like: an analysis is a folder ``<data_dir>/analyses/<operator>/<id>/`` holding the
upload, the results and ``analysis.json`` (its record). Analyses run one at a time, on a
worker thread of the web app, against nobody's enrollments (everyone is ``unknown #n``)
or, when the upload names an event, its enrolled visitors. A long one (over 1.5
``SCAS_ANALYSIS_PIECE_S``) is analysed in pieces: by the ``scas_analysis`` DAG's mapped
recognition tasks when the console reaches an Airflow that has it
(:mod:`~scas_lib.web.analyses_airflow`), else one piece after the other here.

- ``POST /api/analyses`` (multipart ``file``, optional ``event``): 202 with the entry;
- ``GET /api/analyses``, ``GET /api/analyses/{id}``, ``DELETE /api/analyses/{id}``;
- ``GET /api/analyses/{id}/progress``: server-sent events ``progress`` until it is done;
- ``GET /api/analyses/{id}/video|json|thumbnail``: the results, and
  ``GET /api/analyses/{id}/hls/index.m3u8`` the video as HLS (its segments beside it);
- ``/console/analyses``: the page.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse

from scas_lib.analysis.annotate import HLS_PLAYLIST, write_hls
from scas_lib.analysis.folders import RECORD, analyses_root, operator_folder
from scas_lib.analysis.records import Analysis, AnalysisProgress
from scas_lib.analysis.stage import AnalysisRefused, analyze_file, event_gallery, probe_upload
from scas_lib.deploy.api import AirflowApi
from scas_lib.errors import ScasError
from scas_lib.faces.engine import FaceEngine
from scas_lib.run.analyses import ANALYSIS_DAG_ID
from scas_lib.run.records import AnalysisRun
from scas_lib.storage import keys
from scas_lib.storage.keys import analysis_prefix
from scas_lib.web.airflow import AirflowLink, configured_airflow
from scas_lib.web.analyses_airflow import AirflowAnalysis
from scas_lib.web.auth import Context
from scas_lib.web.context import WebContext
from scas_lib.web.errors import ApiError
from scas_lib.web.rendering import render, request_language, script_json
from scas_lib.web.screen import feed_response, live_feed
from scas_lib.web.texts import page_texts
from scas_lib.web.uploads import form_file, form_text, multipart_body, read_form

log = logging.getLogger(__name__)

ResultKind = Literal["video", "json", "thumbnail"]
_RESULT_FILES: dict[ResultKind, tuple[str, str]] = {
    "video": (".annotated.mp4", "video/mp4"),
    "json": (".analysis.json", "application/json"),
    "thumbnail": (".jpg", "image/jpeg"),
}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class AnalysisEntry:
    """One analysis in an operator's history."""

    id: str
    name: str
    created_at: datetime
    event_id: str | None
    progress: AnalysisProgress
    people: list[str]
    duration_s: float | None


def operator_name(operator: object) -> str:
    """Who the operator is: the token operator's name, or an Airflow user's.

    >>> operator_name("operator")
    'operator'
    """
    if isinstance(operator, str):
        return operator
    get_name = getattr(operator, "get_name", None)
    return str(get_name()) if callable(get_name) else str(getattr(operator, "username", "operator"))


class AnalysisJobs:
    """The web app's analyses: their folders, and the one worker thread that runs them (on
    an engine of their own, made for the first, as segment recognition sets it up)."""

    def __init__(self, context: WebContext) -> None:
        self._context = context
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="analysis")
        self._engine: FaceEngine | None = None
        #: The progress of the analyses queued or running (the others' is in their record).
        self._live: dict[str, AnalysisProgress] = {}

    @property
    def root(self) -> Path:
        return analyses_root(self._context.settings.data_dir)

    def engine(self) -> FaceEngine:
        if self._engine is None:  # only the worker thread comes here
            from scas_lib.recognition.pipeline import footage_engine

            # The pack of the app's own engine (the kiosk's), set up as for footage.
            pack = self._context.engine.pack.directory
            provider = self._context.settings.onnx_provider
            self._engine = footage_engine(pack, provider=provider)
        return self._engine

    def _folder(self, operator: str, analysis_id: str | None = None) -> Path:
        own = operator_folder(self.root, operator)
        if analysis_id is None:
            return own
        if not analysis_id.isalnum():
            raise ApiError(404, "not_found", "there is no such analysis")
        return own / analysis_id

    def submit(
        self,
        operator: str,
        name: str,
        upload: BinaryIO,
        max_bytes: int,
        event_id: str | None,
        airflow: AirflowApi | None = None,
    ) -> AnalysisEntry:
        """Keep the upload (refused past ``max_bytes``, 413; refused if it is no video or
        is cut short, 422) and queue its analysis (a long one on ``airflow``, when given
        and it has the analysis DAG)."""
        analysis_id = uuid.uuid4().hex[:16]
        folder = self._folder(operator, analysis_id)
        folder.mkdir(parents=True)
        suffix = "".join(c for c in Path(name).suffix[:8] if c.isalnum() or c == ".") or ".mp4"
        source = folder / f"source{suffix}"
        size = 0
        with open(source, "wb") as kept:
            while chunk := upload.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    kept.close()
                    shutil.rmtree(folder)
                    raise ApiError(413, "too_large", f"the video is over {max_bytes >> 20} MB")
                kept.write(chunk)
        try:
            # Refused at once, with nothing kept: a history entry is for a video.
            probe_upload(source, shown_as=Path(name).name or source.name)
        except AnalysisRefused as refused:
            shutil.rmtree(folder)
            raise ApiError(422, "not_a_video", str(refused)) from None
        entry = AnalysisEntry(
            analysis_id, Path(name).name[:200] or source.name, datetime.now(UTC), event_id,
            AnalysisProgress("queued", 0.0, 0, 0), [], None,
        )  # fmt: skip
        self._save(folder, entry)
        self._live[analysis_id] = entry.progress
        self._worker.submit(self._run, folder, entry, source, airflow)
        return entry

    def _analyse(
        self, folder: Path, entry: AnalysisEntry, source: Path, airflow: AirflowApi | None
    ) -> Analysis:
        """Analyse ``source`` into ``folder``, here or on Airflow; the analysis."""

        def report(progress: AnalysisProgress) -> None:
            # "done" is told by the saved record (with the people found), not before it.
            if progress.phase != "done":
                self._live[entry.id] = progress

        settings = self._context.settings
        piece_s = settings.analysis_piece_s
        if airflow is not None and probe_upload(source).duration > 1.5 * piece_s:
            remote = AirflowAnalysis(airflow, self._context.services)
            if remote.available():
                key = f"{analysis_prefix(entry.id)}{source.name}"
                remote.run(AnalysisRun(entry.id, key, entry.event_id), source, folder, report)
                record = json.loads((folder / f"{source.stem}.analysis.json").read_text())
                return Analysis(record["source"], record["duration_s"], tuple(record["people"]), ())
            log.warning("analysis %s: Airflow has no %s DAG, analysed here", entry.id,
                        ANALYSIS_DAG_ID)  # fmt: skip
        engine = self.engine()
        gallery, names = event_gallery(self._context.services, engine, entry.event_id)
        outcome = analyze_file(
            source, folder, engine, gallery, names, piece_s=piece_s, progress=report
        )
        return outcome.analysis

    def _run(
        self, folder: Path, entry: AnalysisEntry, source: Path, airflow: AirflowApi | None
    ) -> None:
        try:
            analysis = self._analyse(folder, entry, source, airflow)
            write_hls(folder / f"{source.stem}.annotated.mp4", folder / "hls")
        except ScasError as error:
            failed = AnalysisProgress(
                "failed", self._live[entry.id].percent, 0, 0, None, str(error)
            )
            self._finish(folder, replace(entry, progress=failed))
            return
        except Exception as error:  # one bad video never stops the worker
            log.exception("analysis %s failed", entry.id)
            failed = AnalysisProgress("failed", 0.0, 0, 0, None, f"internal error: {error}")
            self._finish(folder, replace(entry, progress=failed))
            return
        last = self._live[entry.id]
        done = replace(
            entry,
            progress=replace(last, phase="done", percent=100.0, eta_s=None),
            people=list(analysis.people),
            duration_s=analysis.duration_s,
        )
        self._finish(folder, done)

    def _finish(self, folder: Path, entry: AnalysisEntry) -> None:
        if folder.exists():  # deleted while it ran: nothing to keep
            self._save(folder, entry)
        self._live.pop(entry.id, None)

    def _save(self, folder: Path, entry: AnalysisEntry) -> None:
        record = asdict(entry) | {"created_at": entry.created_at.isoformat()}
        (folder / RECORD).write_text(json.dumps(record, ensure_ascii=False))

    def _load(self, folder: Path) -> AnalysisEntry:
        record: dict[str, Any] = json.loads((folder / RECORD).read_text())
        entry = AnalysisEntry(
            record["id"], record["name"], datetime.fromisoformat(record["created_at"]),
            record["event_id"], AnalysisProgress(**record["progress"]), record["people"],
            record["duration_s"],
        )  # fmt: skip
        live = self._live.get(entry.id)
        return replace(entry, progress=live) if live is not None else entry

    def history(self, operator: str) -> list[AnalysisEntry]:
        own = self._folder(operator)
        entries = (
            [self._load(f) for f in own.iterdir() if (f / RECORD).exists()] if own.exists() else []
        )
        return sorted(entries, key=lambda entry: entry.created_at, reverse=True)

    def get(self, operator: str, analysis_id: str) -> AnalysisEntry:
        folder = self._folder(operator, analysis_id)
        if not (folder / RECORD).exists():
            raise ApiError(404, "not_found", "there is no such analysis")
        return self._load(folder)

    def result(self, operator: str, analysis_id: str, kind: ResultKind) -> tuple[Path, str]:
        entry = self.get(operator, analysis_id)
        ending, media_type = _RESULT_FILES[kind]
        path = self._folder(operator, analysis_id) / f"source{ending}"
        if entry.progress.phase != "done" or not path.exists():
            raise ApiError(409, "not_ready", "the analysis is not done")
        return path, media_type

    def hls(self, operator: str, analysis_id: str, name: str) -> tuple[Path, str]:
        """A file of the analysis' HLS copy: its playlist or one of its segments."""
        if name != HLS_PLAYLIST and not re.fullmatch(r"segment\d{3,6}\.ts", name):
            raise ApiError(404, "not_found", "there is no such file")
        self.result(operator, analysis_id, "video")  # done, and the operator's own
        path = self._folder(operator, analysis_id) / "hls" / name
        if not path.exists():
            raise ApiError(404, "not_found", "there is no such file")
        return path, "application/vnd.apple.mpegurl" if name == HLS_PLAYLIST else "video/mp2t"

    def delete(self, operator: str, analysis_id: str) -> None:
        self.get(operator, analysis_id)
        shutil.rmtree(self._folder(operator, analysis_id))
        self._live.pop(analysis_id, None)


def analysis_jobs(request: Request) -> AnalysisJobs:
    """The app's analyses (a FastAPI dependency; :func:`~scas_lib.web.app.create_app` makes
    them)."""
    jobs: AnalysisJobs = request.app.state.analyses
    return jobs


Jobs = Annotated[AnalysisJobs, Depends(analysis_jobs)]


def analyses_router(operator: Callable[..., Any], airflow: AirflowLink | None = None) -> APIRouter:
    """The analyses' API and page, each behind the ``operator`` dependency; ``airflow``:
    the Airflow that analyses long uploads (default: the configured one, if any)."""
    router = APIRouter()
    link = airflow or configured_airflow
    # A default, not an Annotated alias: the annotations are strings FastAPI resolves in
    # this module's globals, where a local alias is not.
    signed_in = Depends(operator)

    @router.post(
        "/api/analyses",
        status_code=202,
        tags=["analyses"],
        openapi_extra=multipart_body(
            fields={"event": "Name this event's enrolled visitors."},
            files={"file": "A recorded video (any file ffmpeg reads)."},
            required=["file"],
        ),
    )
    async def upload(
        request: Request, context: Context, jobs: Jobs, who: Any = signed_in
    ) -> AnalysisEntry:
        """Upload a video to analyse (multipart ``file``, optional ``event``); its progress
        is at ``/api/analyses/{id}/progress``. The form is read only once the operator is
        known, and never past the limit (:mod:`scas_lib.web.uploads`)."""
        form = await read_form(request)
        try:
            file, event = form_file(form, "file"), form_text(form, "event")
            if file is None:
                raise ApiError(422, "invalid_request", "file: a video file is required")
            if event:
                keys.validate_id(event, "event id")
            max_bytes = context.settings.analysis_max_mb << 20
            return await run_in_threadpool(
                jobs.submit,
                operator_name(who), file.filename or "video.mp4", file.file, max_bytes,
                event or None, link(request, context),
            )  # fmt: skip
        finally:
            await form.close()

    @router.get("/api/analyses", tags=["analyses"])
    def history(jobs: Jobs, who: Any = signed_in) -> list[AnalysisEntry]:
        """The operator's analyses, newest first."""
        return jobs.history(operator_name(who))

    @router.get("/api/analyses/{analysis_id}", tags=["analyses"])
    def one(analysis_id: str, jobs: Jobs, who: Any = signed_in) -> AnalysisEntry:
        return jobs.get(operator_name(who), analysis_id)

    @router.delete("/api/analyses/{analysis_id}", tags=["analyses"])
    def delete(analysis_id: str, jobs: Jobs, who: Any = signed_in) -> dict[str, str]:
        """Delete the analysis: the upload, its results and its record."""
        jobs.delete(operator_name(who), analysis_id)
        return {"deleted": analysis_id}

    @router.get("/api/analyses/{analysis_id}/progress", tags=["analyses"])
    async def progress(
        analysis_id: str, request: Request, jobs: Jobs, who: Any = signed_in
    ) -> StreamingResponse:
        """Server-sent events ``progress`` (percent, frames done, faces so far, ETA) each
        time it changes; the last says ``done`` or ``failed``."""
        name = operator_name(who)
        await run_in_threadpool(jobs.get, name, analysis_id)
        return feed_response(
            live_feed(
                "progress", lambda: jobs.get(name, analysis_id).progress, request.is_disconnected
            )
        )

    @router.get("/api/analyses/{analysis_id}/hls/{name}", tags=["analyses"])
    def hls(analysis_id: str, name: str, jobs: Jobs, who: Any = signed_in) -> FileResponse:
        """The annotated video as HLS: ``index.m3u8``, then the segments it lists."""
        path, media_type = jobs.hls(operator_name(who), analysis_id, name)
        return FileResponse(path, media_type=media_type)

    @router.get("/api/analyses/{analysis_id}/{kind}", tags=["analyses"])
    def result(
        analysis_id: str, kind: ResultKind, jobs: Jobs, who: Any = signed_in
    ) -> FileResponse:
        """The annotated video (MP4), the per-second JSON or the thumbnail (JPEG)."""
        path, media_type = jobs.result(operator_name(who), analysis_id, kind)
        entry = jobs.get(operator_name(who), analysis_id)
        download = f"{Path(entry.name).stem}{_RESULT_FILES[kind][0]}"
        return FileResponse(path, media_type=media_type, filename=download)

    @router.get("/console/analyses", include_in_schema=False)
    def page(request: Request, context: Context, who: Any = signed_in) -> HTMLResponse:
        """The analyses page: upload, progress, the player and the history."""
        language = request_language(request)
        return render(
            request,
            "analyses.html",
            language=language,
            texts_json=script_json(page_texts(language)),
            max_mb=context.settings.analysis_max_mb,
        )

    return router
