"""The object store and the catalog from Airflow connections, else from the SCAS settings.

- ``scas_s3`` (type ``aws``): access key as login, secret key as password, and
  ``{"endpoint_url": "http://minio:9000"}`` in the extra (``region_name`` optional);
- ``scas_postgres`` (type ``postgres``): host, port, login, password, schema = database.

A connection that is not defined leaves that part to the ``SCAS_*`` settings (a configured
server, else the embedded default that ``scas up`` runs). No secret is ever in a DAG file.
"""

from __future__ import annotations

import json
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from scas_lib.orchestration import (
    POSTGRES_CONNECTION_ID,
    S3_CONNECTION_ID,
    ConnectionFields,
    settings_from_connections,
)
from scas_lib.settings import Settings


def _fields(conn: Any) -> ConnectionFields:
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else json.loads(conn.extra or "{}")
    return ConnectionFields(
        conn_type=conn.conn_type,
        host=conn.host,
        port=conn.port,
        login=conn.login,
        password=conn.password,
        schema=conn.schema,
        extra=extra or {},
    )


def connection_fields(conn_id: str) -> ConnectionFields | None:
    """The connection's fields, or None when no connection has that id."""
    try:
        return _fields(BaseHook.get_connection(conn_id))
    except AirflowNotFoundException:
        return None


async def aconnection_fields(conn_id: str) -> ConnectionFields | None:
    """:func:`connection_fields` for the triggerer's event loop."""
    try:
        return _fields(await BaseHook.aget_connection(conn_id))
    except AirflowNotFoundException:
        return None


def scas_settings(
    postgres_conn_id: str = POSTGRES_CONNECTION_ID, s3_conn_id: str = S3_CONNECTION_ID
) -> Settings:
    """The settings a task works with (in a worker)."""
    return settings_from_connections(
        connection_fields(postgres_conn_id), connection_fields(s3_conn_id)
    )


async def ascas_settings(
    postgres_conn_id: str = POSTGRES_CONNECTION_ID, s3_conn_id: str = S3_CONNECTION_ID
) -> Settings:
    """The settings a trigger works with (in the triggerer)."""
    return settings_from_connections(
        await aconnection_fields(postgres_conn_id), await aconnection_fields(s3_conn_id)
    )
