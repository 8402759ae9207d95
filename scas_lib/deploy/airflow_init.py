"""What a deployment's Airflow needs before it starts, in one process (``airflow-init`` in
docker-compose.yaml, and ``scas deploy up``):

1. with ``--secrets DIR``: Airflow's shared secrets (JWT, API and Fernet keys), generated
   once into ``DIR`` (0600) and kept, for the ``*_CMD`` settings that read them;
2. the metadata database migrated (``airflow db migrate``);
3. the connections ``scas_postgres`` and ``scas_s3`` from this process's SCAS settings
   (``SCAS_DATABASE_URL``, ``SCAS_S3_*``), replaced if they exist: tasks read the catalog
   and the object store from them (plugins/scas_airflow/connections.py);
4. the pool ``gpu`` with ``SCAS_GPU_POOL_SLOTS`` slots (scas_lib/deploy/airflow.env).

Run it with Airflow's settings in the environment (Airflow reads them at import)::

    python -m scas_lib.deploy.airflow_init [--secrets DIR]

Safe to run again. It prints what it did, never a secret.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from scas_lib.deploy.config import gpu_pool_slots, scas_connections
from scas_lib.errors import ConfigurationError
from scas_lib.run.parameters import GPU_POOL

#: Secret file name -> how to make one. The settings reading them: AIRFLOW__API_AUTH__
#: JWT_SECRET_CMD, AIRFLOW__API__SECRET_KEY_CMD, AIRFLOW__CORE__FERNET_KEY_CMD.
SECRET_FILES = ("jwt_secret", "api_secret_key", "fernet_key")


def write_secrets(directory: Path) -> list[str]:
    """Generate the secrets missing in ``directory``; return the names written."""
    from cryptography.fernet import Fernet

    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    for name in SECRET_FILES:
        path = directory / name
        if path.exists() and path.stat().st_size:
            continue
        value = Fernet.generate_key().decode() if name == "fernet_key" else None
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(value or secrets.token_urlsafe(48))  # no newline: Airflow reads it as is
        written.append(name)
    return written


def set_connections() -> list[str]:
    """Replace the SCAS connections with those of this process's settings."""
    import json

    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    from scas_lib.settings import Settings

    settings = Settings()
    if not (settings.database_url and settings.s3_endpoint and settings.s3_secret_key):
        raise ConfigurationError(
            "airflow_init needs SCAS_DATABASE_URL, SCAS_S3_ENDPOINT, SCAS_S3_ACCESS_KEY and "
            "SCAS_S3_SECRET_KEY: the catalog and object store the tasks will use"
        )
    from scas_lib.storage import S3Config

    s3 = S3Config(
        endpoint=settings.s3_endpoint,
        access_key=settings.s3_access_key or "",
        secret_key=settings.s3_secret_key.get_secret_value(),
        region=settings.s3_region,
    )
    found = scas_connections(settings.database_url.get_secret_value(), s3)
    with create_session() as session:
        for conn_id, fields in found.items():
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()
            extra = fields.get("extra")
            session.add(
                Connection(
                    conn_id=conn_id,
                    **{k: v for k, v in fields.items() if k != "extra"},
                    extra=json.dumps(extra) if extra else None,
                )
            )
    return [f"connection {conn_id}" for conn_id in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=Path, help="generate missing shared secrets here")
    args = parser.parse_args()
    if args.secrets:
        for name in write_secrets(args.secrets):
            print(f"generated {name}")

    from airflow.models.pool import Pool
    from airflow.utils.db import upgradedb

    upgradedb()
    print("Airflow database migrated")
    for done in set_connections():
        print(f"set {done}")
    slots = gpu_pool_slots(os.environ)
    Pool.create_or_update_pool(
        GPU_POOL, slots=slots, description="Recognition on the gpu workers", include_deferred=False
    )
    print(f"set pool {GPU_POOL}: {slots} slots")


if __name__ == "__main__":
    main()
