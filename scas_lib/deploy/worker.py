"""Start Celery worker NAME of the deployment as ``scas_lib/deploy/airflow.env`` describes
it (its queues, its concurrency): docker-compose.yaml's worker services and
``scas deploy up`` both run ::

    python -m scas_lib.deploy.worker default|gpu [more options of airflow celery worker]

which becomes ``airflow celery worker --queues ... --concurrency ... --celery-hostname
NAME@%h``. Its tasks report ``NAME@<host>`` as their hostname (:func:`task_hostname`), so
the task instances say which worker ran them even when both workers share a machine.
"""

from __future__ import annotations

import os
import socket
import sys

from scas_lib.deploy.config import WORKERS, worker_spec

#: The variable naming the worker, read by :func:`task_hostname` in its task processes.
WORKER_NAME_VARIABLE = "SCAS_WORKER_NAME"


def task_hostname() -> str:
    """Airflow's ``[core] hostname_callable`` in the workers: ``NAME@<fqdn>``."""
    name = os.environ.get(WORKER_NAME_VARIABLE)
    host = socket.gethostname()  # what Celery's %h is
    return f"{name}@{host}" if name else host


def worker_environment(name: str) -> dict[str, str]:
    """What worker ``name`` adds to the Airflow environment."""
    return {
        WORKER_NAME_VARIABLE: name,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "scas_lib.deploy.worker.task_hostname",
    }


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in WORKERS:
        raise SystemExit(f"usage: python -m scas_lib.deploy.worker {'|'.join(WORKERS)} [ARGS]")
    name, extra = sys.argv[1], sys.argv[2:]  # ARGS: more options of `airflow celery worker`
    spec = worker_spec(name, os.environ)
    os.environ.update(worker_environment(name))
    os.execv(sys.executable, [sys.executable, "-m", "airflow", *spec.airflow_args(), *extra])


if __name__ == "__main__":
    main()
