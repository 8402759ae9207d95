"""The DAG ``scas_analysis``: a long video the console was given, analysed by one mapped
recognition task per piece, on the queue and pool of the events' recognition.

    split -> recognize.expand(piece) (queue gpu) -> annotate

The console triggers it (conf: ``analysis_id``, ``source_key``, ``event_id``) and fetches
the results; what each step does is in scas_lib/run/analyses.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from scas_airflow.connections import scas_settings

from scas_lib.errors import ScasError
from scas_lib.run import analyses, parameters, records


def _run() -> records.AnalysisRun:
    params = get_current_context()["params"]
    return records.AnalysisRun(
        params["analysis_id"], params["source_key"], params["event_id"], params["piece_s"]
    )


with DAG(
    dag_id=analyses.ANALYSIS_DAG_ID,
    description="SCAS: analyse a long video from the console in pieces",
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    tags=["scas"],
    default_args={
        "owner": "scas",
        "retries": parameters.TASK_RETRIES,
        "retry_delay": timedelta(seconds=10),
    },
    params={
        "analysis_id": Param("", type="string", description="The console's analysis."),
        "source_key": Param("", type="string", description="The upload, in the analyses bucket."),
        "event_id": Param(None, type=["null", "string"], description="Name this event's visitors."),
        "piece_s": Param(None, type=["null", "number"], description="Empty: the settings'."),
    },
):

    @task(execution_timeout=timedelta(minutes=30))
    def split() -> list[dict[str, Any]]:
        with parameters.event_services(scas_settings()) as services:
            try:
                return [piece.to_dict() for piece in analyses.split(services, _run())]
            except ScasError as error:  # not a video: trying again reads the same bytes
                raise AirflowFailException(str(error)) from None

    @task(
        queue=parameters.GPU_QUEUE,
        pool=parameters.GPU_POOL,
        execution_timeout=timedelta(minutes=30),
    )
    def recognize(piece: dict[str, Any]) -> str:
        with parameters.event_services(scas_settings()) as services:
            return analyses.recognize(services, _run(), records.StoredPiece.from_dict(piece))

    @task(execution_timeout=timedelta(minutes=60))
    def annotate(track_keys: list[str]) -> list[str]:
        with parameters.event_services(scas_settings()) as services:
            return analyses.annotate(services, _run(), list(track_keys))

    annotate(recognize.expand(piece=split()))
