"""The object store and the catalog from Airflow connections, else from the SCAS settings.

- ``scas_s3`` (type ``aws``): access key as login, secret key as password, and
  ``{"endpoint_url": "http://minio:9000"}`` in the extra (``region_name`` optional);
- ``scas_postgres`` (type ``postgres``): host, port, login, password, schema = database.

A connection that is not defined leaves that part to the ``SCAS_*`` settings (a configured
server, else the embedded default that ``scas up`` runs). No secret is ever in a DAG file.

Airflow itself is imported only where a connection is read (turning a connection's fields
into settings needs no Airflow, so it can be checked without one), and the settings only
when they are made (the DAG file imports this module on every parse).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from scas_lib.errors import ScasError

if TYPE_CHECKING:
    from scas_lib.settings import Settings

#: Airflow connection ids the DAGs read the object store and the catalog from, if defined.
S3_CONNECTION_ID = "scas_s3"
POSTGRES_CONNECTION_ID = "scas_postgres"


@dataclass(frozen=True)
class ConnectionFields:
    """The fields of an Airflow connection that SCAS reads (no Airflow type here)."""

    conn_type: str | None = None
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def postgres_url(conn: ConnectionFields) -> str:
    """A ``postgresql://`` URL from a Postgres connection (extras become URL parameters).

    >>> postgres_url(ConnectionFields(host="db", login="scas", password="p@ss", schema="scas"))
    'postgresql://scas:p%40ss@db:5432/scas'
    """
    if not conn.host:
        raise ScasError("the Postgres connection has no host")
    auth = ""
    if conn.login:
        auth = quote(conn.login, safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        auth += "@"
    query = {k: str(v) for k, v in conn.extra.items() if isinstance(v, str | int | float)}
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{auth}{conn.host}:{conn.port or 5432}/{conn.schema or 'scas'}{suffix}"


def s3_settings(conn: ConnectionFields) -> dict[str, Any]:
    """:class:`Settings` fields from an S3 connection: an ``aws`` connection with
    ``endpoint_url`` in its extra (the amazon provider's convention), keys as login and
    password.

    >>> found = s3_settings(ConnectionFields(login="k", password="s",
    ...     extra={"endpoint_url": "http://minio:9000", "region_name": "eu-west-1"}))
    >>> found["s3_endpoint"], found["s3_access_key"], found["s3_region"]
    ('http://minio:9000', 'k', 'eu-west-1')
    """
    extra = dict(conn.extra)
    endpoint = extra.get("endpoint_url") or extra.get("host")
    if not endpoint and conn.host:
        scheme = "" if "://" in conn.host else "http://"
        endpoint = f"{scheme}{conn.host}" + (f":{conn.port}" if conn.port else "")
    if not endpoint:
        raise ScasError("the S3 connection needs endpoint_url in its extra (or a host)")
    access = conn.login or extra.get("aws_access_key_id")
    secret = conn.password or extra.get("aws_secret_access_key")
    if not access or not secret:
        raise ScasError("the S3 connection needs the access key as login, the secret as password")
    found: dict[str, Any] = {
        "s3_endpoint": endpoint,
        "s3_access_key": access,
        "s3_secret_key": secret,
    }
    region = extra.get("region_name")
    if region:
        found["s3_region"] = region
    return found


def settings_from_connections(
    postgres: ConnectionFields | None = None, s3: ConnectionFields | None = None
) -> Settings:
    """The SCAS settings, with the catalog and object store taken from the connections
    given; a part whose connection is None comes from the ``SCAS_*`` settings as usual
    (a configured server, else the embedded default)."""
    from scas_lib.settings import Settings  # pydantic-settings: not at DAG parse time

    overrides: dict[str, Any] = {}
    if postgres is not None:
        overrides["database_url"] = postgres_url(postgres)
    if s3 is not None:
        overrides.update(s3_settings(s3))
    return Settings(**overrides)


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
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return _fields(BaseHook.get_connection(conn_id))
    except AirflowNotFoundException:
        return None


async def aconnection_fields(conn_id: str) -> ConnectionFields | None:
    """:func:`connection_fields` for the triggerer's event loop."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

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
