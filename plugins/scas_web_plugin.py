"""The SCAS web app inside Airflow's API server: mounted at ``/scas`` and linked from the UI.

Plugin web apps get no authentication of their own in Airflow 3, so the operator's routes
are given Airflow's ``get_user`` (the bearer JWT, else the UI's cookie: a page opened from
the Airflow UI is already signed in); the kiosk and visitor routes check their own tokens.
The catalog and object store come from the ``scas_s3`` / ``scas_postgres`` connections, as
for the DAGs, read at the app's first request (the API server imports plugins at start).
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

#: Where the app is mounted: scas_lib.web.app.URL_PREFIX, under which its pages link (not
#: imported from there: see LazyWebApp; tests/test_airflow.py checks they agree).
URL_PREFIX = "/scas"


class LazyWebApp:
    """The SCAS web app as an ASGI app that is built at its first request.

    Every Airflow process loads the plugins, every task's process too (its listeners come
    from them): building the app here would import FastAPI, the web app and what it imports
    (the face engine, the decoders) into each task before its first line, about 0.6 s of a
    recognize task's start on two cores (docs/benchmarks-history.md, issue 17 item 6). Only the API
    server serves it, so only the API server builds it, once.
    """

    def __init__(self) -> None:
        self._app: Any = None

    def app(self) -> Any:
        """The FastAPI app (built now if it is not yet)."""
        if self._app is None:
            from airflow.api_fastapi.core_api.security import get_user
            from scas_airflow.connections import scas_settings

            from scas_lib.web.airflow import same_airflow
            from scas_lib.web.app import create_app
            from scas_lib.web.context import WebContext

            # The console triggers DAG runs on this same API server, with the operator's own
            # login.
            self._app = create_app(
                WebContext(settings_factory=scas_settings), operator=get_user, airflow=same_airflow
            )
        return self._app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app()(scope, receive, send)


scas_app = LazyWebApp()


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
