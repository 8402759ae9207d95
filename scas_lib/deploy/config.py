"""The Airflow settings of a deployment, from one source: ``scas_lib/deploy/airflow.env``.

docker-compose.yaml hands that file to every Airflow service (``env_file``); the loopback
deployment (:mod:`scas_lib.deploy.loopback`) reads it here. Both make the connections and
the pool with :mod:`scas_lib.deploy.airflow_init` and start their Celery workers with
:mod:`scas_lib.deploy.worker`, so queues, concurrency, pool and connections cannot differ.

Also here: the environment of an Airflow process that reads this checkout's ``dags/`` and
``plugins/`` (tests and benchmarks make a throwaway home with it), and the SCAS
connections as Airflow expects them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg2.extensions import parse_dsn

from scas_lib.errors import ConfigurationError
from scas_lib.storage import S3Config

#: The shared settings file (package data: it travels with scas_lib into the image).
ENV_FILE = Path(__file__).with_name("airflow.env")
#: The checkout whose dags/ and plugins/ Airflow reads by default.
REPOSITORY = Path(__file__).resolve().parents[2]
#: The two Celery workers of the deployment, by name.
WORKERS = ("default", "gpu")


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """``KEY=value`` lines of an env file (comments and blank lines skipped), as compose
    reads them when the values have no quotes or ``${...}`` (airflow.env has none)."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"{path}:{number}: not KEY=value: {line!r}")
        values[key.strip()] = value.strip()
    return values


@dataclass(frozen=True)
class WorkerSpec:
    """One Celery worker: its name, the queues it serves, the tasks it runs at once."""

    name: str
    queues: tuple[str, ...]
    concurrency: int

    def airflow_args(self) -> list[str]:
        """The ``airflow`` command line of this worker. Its Celery node name is
        ``<name>@<host>``, and so is the hostname its tasks report (:mod:`.hostname`)."""
        return [
            "celery", "worker",
            "--queues", ",".join(self.queues),
            "--concurrency", str(self.concurrency),
            "--celery-hostname", f"{self.name}@%h",
        ]  # fmt: skip


def worker_spec(name: str, env: Mapping[str, str] | None = None) -> WorkerSpec:
    """Worker ``name`` as the settings describe it (``SCAS_WORKER_<NAME>_QUEUES`` and
    ``_CONCURRENCY``), from ``env`` or else the shared file."""
    values = read_env_file() if env is None else env
    prefix = f"SCAS_WORKER_{name.upper()}_"
    try:
        queues = tuple(q.strip() for q in values[prefix + "QUEUES"].split(",") if q.strip())
        concurrency = int(values[prefix + "CONCURRENCY"])
    except (KeyError, ValueError) as error:
        raise ConfigurationError(f"worker {name!r}: {prefix}QUEUES/CONCURRENCY: {error}") from None
    if not queues or concurrency < 1:
        raise ConfigurationError(f"worker {name!r} needs a queue and a concurrency >= 1")
    return WorkerSpec(name, queues, concurrency)


def gpu_pool_slots(env: Mapping[str, str] | None = None) -> int:
    """Slots of the pool ``gpu`` (``SCAS_GPU_POOL_SLOTS``)."""
    values = read_env_file() if env is None else env
    return int(values["SCAS_GPU_POOL_SLOTS"])


def airflow_environment(
    home: Path, root: Path = REPOSITORY, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of an Airflow process that reads ``root``'s dags/ and plugins/,
    with its home (and, unless ``base`` names another, a SQLite metadata database) in
    ``home``. ``base`` defaults to this process's environment."""
    environment = dict(os.environ if base is None else base)
    if not {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"} & set(
        environment
    ):
        environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    environment.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONPATH": os.pathsep.join(
                [str(root), str(root / "plugins"), environment.get("PYTHONPATH", "")]
            ).rstrip(os.pathsep),
        }
    )
    environment.setdefault("SCAS_EVENTS_DIR", str(root / "config" / "events"))
    return environment


def scas_connections(database_url: str, s3: S3Config) -> dict[str, dict[str, Any]]:
    """The Airflow connections ``scas_postgres`` and ``scas_s3`` for a catalog and an
    object store (the fields plugins/scas_airflow/connections.py reads), in the format of
    ``airflow connections import``."""
    dsn = parse_dsn(database_url)
    return {
        "scas_postgres": {
            "conn_type": "postgres",
            "host": dsn.get("host", "127.0.0.1"),
            "port": int(dsn.get("port", 5432)),
            "login": dsn.get("user"),
            "password": dsn.get("password"),
            "schema": dsn["dbname"],
        },
        "scas_s3": {
            "conn_type": "aws",
            "login": s3.access_key,
            "password": s3.secret_key,
            "extra": {"endpoint_url": s3.endpoint, "region_name": s3.region},
        },
    }


def connection_variables(database_url: str, s3: S3Config) -> dict[str, str]:
    """The same connections as ``AIRFLOW_CONN_*`` variables (for ``dag.test()`` runs)."""
    return {
        f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(fields)
        for conn_id, fields in scas_connections(database_url, s3).items()
    }
