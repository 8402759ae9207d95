"""The few calls of Airflow's REST API that SCAS makes: sign in, trigger an event's DAG,
follow its runs and read its task instances (the deployment test and the time-to-highlight
benchmark use them; an operator would use the UI).

A token comes from ``POST /auth/token`` (the simple auth manager's users); every other call
sends it as ``Authorization: Bearer``. Standard library only.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from scas_lib.errors import ScasError

#: States after which a DAG run changes no more.
FINISHED_RUN_STATES = ("success", "failed")


class AirflowApiError(ScasError):
    """A REST call that Airflow refused or did not answer."""


@dataclass(frozen=True)
class TaskInstanceRecord:
    """One task instance as the REST API reports it."""

    task_id: str
    map_index: int
    state: str | None
    hostname: str
    queue: str | None
    start_date: datetime | None
    end_date: datetime | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> TaskInstanceRecord:
        return cls(
            task_id=item["task_id"],
            map_index=item["map_index"],
            state=item.get("state"),
            hostname=item.get("hostname") or "",
            queue=item.get("queue"),
            start_date=_time(item.get("start_date")),
            end_date=_time(item.get("end_date")),
        )


@dataclass(frozen=True)
class DagRunRecord:
    """One DAG run as the REST API reports it."""

    run_id: str
    state: str
    conf: dict[str, Any]
    queued_at: datetime | None
    end_date: datetime | None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> DagRunRecord:
        return cls(
            run_id=item["dag_run_id"],
            state=item["state"],
            conf=item.get("conf") or {},
            queued_at=_time(item.get("queued_at")),
            end_date=_time(item.get("end_date")),
        )


class AirflowApi:
    """Airflow's REST API at ``base_url``, signed in as ``username``."""

    def __init__(self, base_url: str, username: str, password: str, timeout_s: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._token = ""
        reply = self._call("POST", "/auth/token", {"username": username, "password": password})
        self._token = reply["access_token"]

    @classmethod
    def with_token(cls, base_url: str, token: str, timeout_s: float = 30.0) -> AirflowApi:
        """The API with a token already in hand: the operator console inside Airflow's API
        server calls it with the operator's own login, so Airflow's permissions apply."""
        api = cls.__new__(cls)
        api.base_url = base_url.rstrip("/")
        api.timeout_s = timeout_s
        api._token = token
        return api

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> DagRunRecord:
        """A new run of ``dag_id`` with ``conf``, now (no logical date, as the UI does)."""
        reply = self._call(
            "POST", f"/api/v2/dags/{quote(dag_id)}/dagRuns", {"logical_date": None, "conf": conf}
        )
        return DagRunRecord.from_api(reply)

    def dag_exists(self, dag_id: str) -> bool:
        try:
            self._call("GET", f"/api/v2/dags/{quote(dag_id)}")
        except AirflowApiError as error:
            if "404" in str(error):
                return False
            raise
        return True

    def runs(self, dag_id: str) -> list[DagRunRecord]:
        """Every run of ``dag_id``, oldest first."""
        reply = self._call("GET", f"/api/v2/dags/{quote(dag_id)}/dagRuns?limit=1000")
        found = [DagRunRecord.from_api(item) for item in reply["dag_runs"]]
        return sorted(found, key=lambda run: (run.queued_at is None, run.queued_at))

    def active_runs(self, dag_id: str) -> list[DagRunRecord]:
        """The runs of ``dag_id`` that are queued or running, oldest first."""
        return [run for run in self.runs(dag_id) if run.state not in FINISHED_RUN_STATES]

    def run(self, dag_id: str, run_id: str) -> DagRunRecord:
        return DagRunRecord.from_api(
            self._call("GET", f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}")
        )

    def wait(self, dag_id: str, run_id: str, timeout_s: float, poll_s: float = 2.0) -> DagRunRecord:
        """The run once it has finished; an error after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            run = self.run(dag_id, run_id)
            if run.state in FINISHED_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                raise AirflowApiError(f"{dag_id} {run_id}: still {run.state} after {timeout_s} s")
            time.sleep(poll_s)

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstanceRecord]:
        path = f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances?limit=1000"
        reply = self._call("GET", path)
        return [TaskInstanceRecord.from_api(item) for item in reply["task_instances"]]

    def task_value(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        """What a task instance returned (its ``return_value`` XCom, as stored); None if
        it returned nothing."""
        path = (
            f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/"
            f"{quote(task_id)}/xcomEntries/return_value?map_index={map_index}"
        )
        try:
            return self._call("GET", path)["value"]
        except AirflowApiError as error:
            if "HTTP 404" in str(error):
                return None
            raise

    def http_status(self, path: str, signed_in: bool = True) -> int:
        """The HTTP status of a GET of ``path`` (e.g. the SCAS web app the API server
        mounts at /scas), with this login or anonymously."""
        request = urllib.request.Request(self.base_url + path)
        if signed_in:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status: int = response.status
                return status
        except urllib.error.HTTPError as error:
            return error.code

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:300]
            raise AirflowApiError(f"{method} {path}: HTTP {error.code}: {detail}") from None
        except OSError as error:
            raise AirflowApiError(f"{method} {path}: {error}") from None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
