"""Airflow's own house kept small over months of days: its metadata database and its task
logs. Every task run adds rows (runs, task instances and their history, XCom, the audit
log, jobs) and a log file; the daily DAG ``scas_retention`` deletes those older than
``SCAS_AIRFLOW_KEEP_DAYS`` (:func:`clean_metadata`, Airflow's own ``airflow db clean``;
:func:`clean_logs`, the files under ``[logging] base_log_folder`` of the machine it runs on).

A run still queued or running is never deleted: ``db clean`` keeps the latest run of each
DAG, and a live run's files are younger than any cut-off of a day or more.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

#: The tables that grow with every run (``airflow db clean -t``); the DAGs, connections,
#: pools and variables are the deployment's own and stay.
RUN_TABLES = (
    "dag_run", "task_instance", "task_instance_history", "task_reschedule", "xcom", "log",
    "job", "trigger", "celery_taskmeta", "celery_tasksetmeta",
)  # fmt: skip


def clean_metadata(before: datetime) -> None:
    """Delete the metadata rows of :data:`RUN_TABLES` older than ``before`` (no archive
    tables: they would only move the growth). By Airflow's own command, in a process of its
    own: a task of Airflow 3 has no database session, the command has the deployment's."""
    command = [
        sys.executable, "-m", "airflow", "db", "clean", "--clean-before-timestamp",
        before.isoformat(), "--tables", ",".join(RUN_TABLES), "--skip-archive", "--yes",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"airflow db clean failed: {last}")


def clean_logs(folder: Path, before: datetime) -> int:
    """Delete the log files under ``folder`` last written before ``before``, then the
    folders left empty; how many files went."""
    cut = before.timestamp()
    deleted = 0
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if path.stat().st_mtime < cut:
                path.unlink(missing_ok=True)
                deleted += 1
    for root, folders, _ in os.walk(folder, topdown=False):
        for name in folders:
            path = Path(root) / name
            if not any(path.iterdir()):
                path.rmdir()
    return deleted


def log_folder() -> Path:
    """Where this machine's Airflow writes task logs."""
    from airflow.configuration import conf

    return Path(conf.get("logging", "base_log_folder"))
