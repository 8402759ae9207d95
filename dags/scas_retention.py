"""The DAG ``scas_retention``: once a day, every event's retention policy is applied (its
event file's ``retention:``, else the defaults of scas_lib/retention/policy.py). The task
logs what it deleted per event; the work is ``scas_lib.run.retention.purge``, the same as
``scas purge``. Beside it, Airflow's own history past ``SCAS_AIRFLOW_KEEP_DAYS`` (30) is
deleted: its metadata rows of runs and the task log files (plugins/scas_airflow/
housekeeping.py), so a venue's Airflow does not grow with every day of events.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, task
from scas_airflow import housekeeping
from scas_airflow.connections import scas_settings

from scas_lib.run import parameters, retention

with DAG(
    dag_id="scas_retention",
    description="SCAS: delete personal data past each event's retention policy",
    doc_md=__doc__,
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["scas"],
    default_args={"owner": "scas", "retries": 2, "retry_delay": timedelta(minutes=10)},
) as dag:

    @task(execution_timeout=timedelta(hours=1))
    def purge() -> list[dict[str, Any]]:
        with parameters.event_services(scas_settings()) as services:
            reports = retention.purge(services, datetime.now(UTC))
        # Counts only: no names, keys or links in XCom.
        return [
            {
                "event_id": report.event_id,
                "steps": list(report.steps),
                "objects": sum(report.objects.values()),
                "rows": sum(report.rows.values()),
            }
            for report in reports
        ]

    # Airflow's own rows and logs, which grow with every task of every event.
    @task(execution_timeout=timedelta(hours=1))
    def airflow_history() -> dict[str, Any]:
        before = datetime.now(UTC) - timedelta(days=scas_settings().airflow_keep_days)
        housekeeping.clean_metadata(before)
        return {"before": before.isoformat(), "log_files": housekeeping.clean_logs(
            housekeeping.log_folder(), before
        )}  # fmt: skip

    purge()
    airflow_history()
