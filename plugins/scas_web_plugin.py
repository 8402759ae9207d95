"""The SCAS web app inside Airflow's API server: mounted at ``/scas`` and linked from the UI.

Plugin web apps get no authentication of their own in Airflow 3, so the operator's routes
are given Airflow's ``get_user`` (the bearer JWT, else the UI's cookie: a page opened from
the Airflow UI is already signed in); the kiosk and visitor routes check their own tokens.
The catalog and object store come from the ``scas_s3`` / ``scas_postgres`` connections, as
for the DAGs, read at the app's first request (the API server imports plugins at start).
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.api_fastapi.core_api.security import get_user
from airflow.plugins_manager import AirflowPlugin
from scas_airflow.connections import scas_settings

from scas_lib.web.airflow import same_airflow
from scas_lib.web.app import URL_PREFIX, create_app
from scas_lib.web.context import WebContext

# The console triggers DAG runs on this same API server, with the operator's own login.
scas_app = create_app(
    WebContext(settings_factory=scas_settings), operator=get_user, airflow=same_airflow
)


class ScasWebPlugin(AirflowPlugin):
    name = "scas_web"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": scas_app, "url_prefix": URL_PREFIX, "name": "SCAS"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "SCAS",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "scas",
            "category": "browse",
        }
    ]
