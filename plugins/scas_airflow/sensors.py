"""The sensor of an event's DAG: look once in the worker, else defer to the triggerer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from scas_airflow.connections import POSTGRES_CONNECTION_ID, S3_CONNECTION_ID, scas_settings
from scas_airflow.triggers import SegmentTrigger
from scas_lib.run.parameters import event_services
from scas_lib.run.records import RunRequest
from scas_lib.run.waves import look


class WaitForSegments(BaseOperator):
    """Wait for the next wave of an event's segments, or its end marker; return the wave
    (``{"event_id", "keys", "ended"}``) as its XCom.

    The run's :class:`~scas_lib.run.records.RunRequest` comes from the XCom of
    ``request_task_id``, and with it how many tries a segment gets; runs that do not wait
    (re-render, re-process one camera) return None at once. Otherwise the sensor looks
    once, and if there is nothing to do yet it defers to
    :class:`~scas_airflow.triggers.SegmentTrigger`, holding no worker slot.
    """

    ui_color = "#d8ecf3"

    def __init__(
        self,
        *,
        request_task_id: str = "start",
        poll_interval: float = 5.0,
        wait_timeout: timedelta = timedelta(hours=24),
        postgres_conn_id: str = POSTGRES_CONNECTION_ID,
        s3_conn_id: str = S3_CONNECTION_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.request_task_id = request_task_id
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout
        self.postgres_conn_id = postgres_conn_id
        self.s3_conn_id = s3_conn_id

    template_fields: Sequence[str] = ()

    def execute(self, context: Any) -> dict[str, Any] | None:
        request = RunRequest.from_dict(context["ti"].xcom_pull(task_ids=self.request_task_id))
        if not request.wait:
            self.log.info("%s: %s run, no waiting", request.event_id, request.mode)
            return None
        settings = scas_settings(self.postgres_conn_id, self.s3_conn_id)
        with event_services(settings) as services:
            wave = look(services, request.event_id, request.max_attempts, request.lease_s)
        if wave.ready:
            self.log.info(
                "%s: %d segments to recognize, end marker %s",
                wave.event_id,
                len(wave.keys),
                "seen" if wave.ended else "not seen",
            )
            return wave.to_dict()
        self.log.info("%s: nothing new yet; waiting in the triggerer", request.event_id)
        self.defer(
            trigger=SegmentTrigger(
                event_id=request.event_id,
                poll_interval=self.poll_interval,
                max_attempts=request.max_attempts,
                lease_s=request.lease_s,
                postgres_conn_id=self.postgres_conn_id,
                s3_conn_id=self.s3_conn_id,
            ),
            method_name="execute_complete",
            timeout=self.wait_timeout,
        )
        return None  # not reached: defer raises

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") != "ok":
            raise AirflowException(f"segment trigger failed: {event}")
        wave = event["wave"]
        self.log.info(
            "%s: %d segments to recognize, end marker %s",
            wave["event_id"],
            len(wave["keys"]),
            "seen" if wave["ended"] else "not seen",
        )
        return wave
