"""How the operator console reaches Airflow: when it starts or ends an event, the event's
DAG (``scas_<event>``) gets a run through Airflow's REST API
(:class:`~scas_lib.deploy.api.AirflowApi`, the one client of it in SCAS).

- Inside Airflow's API server (the plugin), :func:`same_airflow`: the server itself, with
  the operator's own Airflow login (the bearer JWT or the UI's ``_token`` cookie that
  ``get_user`` admitted them with), so Airflow's own permissions decide.
- Under ``scas serve``, :func:`configured_airflow`: ``SCAS_AIRFLOW_URL`` with
  ``SCAS_AIRFLOW_USERNAME`` / ``SCAS_AIRFLOW_PASSWORD``; unset, there is no Airflow, and the
  console says so (the marker is still written: a run started later acts on it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from scas_lib.deploy.api import AirflowApi
from scas_lib.errors import ScasError
from scas_lib.run import parameters
from scas_lib.web.context import WebContext

#: Said when the console writes a marker and no Airflow is configured (`scas serve`).
NO_AIRFLOW = (
    "Airflow is not there (SCAS_AIRFLOW_URL is unset): the marker is written; the event's "
    "DAG acts on it at its next run (trigger it in Airflow)"
)
#: How long the console waits for Airflow's API (the operator is waiting for the answer).
AIRFLOW_TIMEOUT_S = 10.0

#: Which Airflow a request of the console reaches (None: none).
AirflowLink = Callable[[Request, WebContext], AirflowApi | None]


@dataclass(frozen=True)
class DagRunNote:
    """What became of the event's DAG run when the console wrote a marker."""

    triggered: bool
    #: The run triggered, or the run already active that acts on the marker.
    run_id: str | None
    note: str


def configured_airflow(request: Request, context: WebContext) -> AirflowApi | None:
    """`scas serve`: the Airflow of the settings, signed in; None when none is set."""
    settings = context.settings
    if not settings.airflow_url or settings.airflow_password is None:
        return None
    return AirflowApi(
        settings.airflow_url,
        settings.airflow_username,
        settings.airflow_password.get_secret_value(),
        timeout_s=AIRFLOW_TIMEOUT_S,
    )


def same_airflow(request: Request, context: WebContext) -> AirflowApi:
    """Inside Airflow's API server: that server, at the address the request reached, with
    the operator's own login."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    token = credentials if scheme.lower() == "bearer" else request.cookies.get("_token", "")
    base = f"{request.url.scheme}://{request.url.netloc}"
    return AirflowApi.with_token(base, token, timeout_s=AIRFLOW_TIMEOUT_S)


def trigger_event_dag(connect: Callable[[], AirflowApi | None], event_id: str) -> DagRunNote:
    """Make sure the event's DAG has a run that acts on the marker just written: a new one
    (conf ``{"event_id": ...}``) unless one is queued or running (``max_active_runs=1``: a
    second would only wait behind it). Never raises: the marker is written either way, and
    the note says what happened. ``connect``: the Airflow to ask (:data:`AirflowLink`)."""
    try:
        run = parameters.resolve_run(event_id)
        dag_id = run.config.dag_id
        api = connect()
        if api is None:
            return DagRunNote(False, None, NO_AIRFLOW)
        if not run.from_file:
            return DagRunNote(False, None, f"no event file for {event_id}: no DAG {dag_id}")
        active = api.active_runs(dag_id)
        if active:
            found = active[-1]
            return DagRunNote(
                False, found.run_id, f"{dag_id}: run {found.run_id} is {found.state}: it acts on it"
            )
        started = api.trigger(dag_id, {"event_id": event_id})
    except ScasError as error:  # Airflow's refusal (AirflowApiError) or the event file's
        return DagRunNote(False, None, f"the marker is written, but no DAG run: {error}")
    return DagRunNote(True, started.run_id, f"{dag_id}: run {started.run_id} triggered")
