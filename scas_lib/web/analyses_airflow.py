"""A long upload of the console analysed by Airflow: the ``scas_analysis`` DAG's mapped
recognition tasks (:mod:`scas_lib.run.analyses`), on the queue and workers of the events'.

The upload goes to the analyses bucket, a run is triggered through Airflow's REST API
(:class:`~scas_lib.deploy.api.AirflowApi`), and its progress is read from the bucket, which
every executor's workers write to: pieces stored, then the tracks of each, then the results,
which are fetched into the analysis' folder. The bucket's copy is deleted at the end,
whatever happened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scas_lib.analysis.records import AnalysisProgress
from scas_lib.deploy.api import FINISHED_RUN_STATES, AirflowApi
from scas_lib.errors import ScasError
from scas_lib.run.analyses import ANALYSIS_DAG_ID, RESULT
from scas_lib.run.records import AnalysisRun
from scas_lib.services.runtime import Services
from scas_lib.storage import keys

log = logging.getLogger(__name__)

#: How often the bucket and the run are looked at.
POLL_S = 1.0
#: After this, a run that has not finished is given up (its results are not waited for).
GIVE_UP_S = 6 * 3600.0
#: The results, as the stage names them after the upload's stem ``source``.
RESULT_FILES = ("source.annotated.mp4", "source.analysis.json", "source.jpg")


class AnalysisRunFailed(ScasError):
    """The Airflow run of an analysis failed, or never finished."""


@dataclass(frozen=True)
class AirflowAnalysis:
    """Where one analysis runs: the Airflow to trigger and the bucket the tasks share."""

    api: AirflowApi
    services: Services

    def available(self) -> bool:
        """Whether that Airflow has the analysis DAG (a deployment of this version)."""
        return self.api.dag_exists(ANALYSIS_DAG_ID)

    def run(
        self,
        run: AnalysisRun,
        source: Path,
        folder: Path,
        report: Callable[[AnalysisProgress], None],
    ) -> None:
        """Analyse ``source`` as ``run`` says, its results fetched into ``folder``."""
        bucket = self.services.settings.bucket_analyses
        store = self.services.object_store()
        prefix = keys.analysis_prefix(run.analysis_id)
        store.ensure_bucket(bucket)
        try:
            store.put_file(bucket, run.source_key, source)
            triggered = self.api.trigger(ANALYSIS_DAG_ID, run.to_dict())
            log.info("analysis %s: Airflow run %s", run.analysis_id, triggered.run_id)
            started = time.monotonic()
            done = f"{prefix}{RESULT}{RESULT_FILES[1]}"  # the JSON: written after the video
            while not store.exists(bucket, done):
                state = self.api.run(ANALYSIS_DAG_ID, triggered.run_id).state
                if state in FINISHED_RUN_STATES and not store.exists(bucket, done):
                    ended = state if state != "success" else "ended without results"
                    raise AnalysisRunFailed(f"the Airflow run {triggered.run_id} {ended}")
                if time.monotonic() - started > GIVE_UP_S:
                    raise AnalysisRunFailed(f"the Airflow run {triggered.run_id} is still {state}")
                report(self._progress(bucket, prefix, started))
                time.sleep(POLL_S)
            for name in RESULT_FILES:
                store.download_file(bucket, f"{prefix}{RESULT}{name}", folder / name)
        finally:
            store.remove_prefix(bucket, prefix)

    def _progress(self, bucket: str, prefix: str, started: float) -> AnalysisProgress:
        """Pieces recognised of pieces stored: the recognition's 60 %; then annotating."""
        store = self.services.object_store()
        pieces = len(store.list(bucket, f"{prefix}pieces/"))
        recognised = len(store.list(bucket, f"{prefix}tracks/"))
        if pieces and recognised >= pieces:
            return AnalysisProgress("annotating", 60.0, 0, 0)
        percent = 60.0 * recognised / pieces if pieces else 0.0
        elapsed = time.monotonic() - started
        eta = elapsed * (100 - percent) / percent if percent > 1 else None
        return AnalysisProgress("recognizing", round(percent, 1), 0, 0, eta)
