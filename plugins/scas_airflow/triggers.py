"""The deferrable side of sensing: wait in the triggerer for an event's next segments.

:class:`SegmentTrigger` looks at the event's recordings prefix (with the ``minio`` SDK,
through ``scas_lib``; no MinIO-only notification API, so any S3 server works) and at the
catalog every ``poll_interval`` seconds, in a thread so the triggerer's event loop never
blocks. It fires once there are segments not recognized yet, or the end marker with
nothing left: the waiting task holds no worker slot meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg2
from airflow.triggers.base import BaseTrigger, TriggerEvent

from scas_airflow.connections import POSTGRES_CONNECTION_ID, S3_CONNECTION_ID, ascas_settings
from scas_lib.errors import ScasError
from scas_lib.run.waves import look


class SegmentTrigger(BaseTrigger):
    """Fire when the event has new segments to recognize, or has ended."""

    def __init__(
        self,
        event_id: str,
        max_attempts: int,
        poll_interval: float = 5.0,
        postgres_conn_id: str = POSTGRES_CONNECTION_ID,
        s3_conn_id: str = S3_CONNECTION_ID,
        lease_s: float = 0.0,
    ) -> None:
        super().__init__()
        self.event_id = event_id
        self.lease_s = lease_s
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.postgres_conn_id = postgres_conn_id
        self.s3_conn_id = s3_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "event_id": self.event_id,
                "poll_interval": self.poll_interval,
                "max_attempts": self.max_attempts,
                "postgres_conn_id": self.postgres_conn_id,
                "s3_conn_id": self.s3_conn_id,
                "lease_s": self.lease_s,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from scas_lib.services.runtime import resolve

        settings = await ascas_settings(self.postgres_conn_id, self.s3_conn_id)
        looks = 0
        while True:
            looks += 1
            try:
                services = resolve(settings)
                wave = await asyncio.to_thread(
                    look, services, self.event_id, self.max_attempts, self.lease_s
                )
            except (ScasError, psycopg2.Error) as error:
                # A server that restarts, is briefly unreachable or too slow: keep waiting.
                reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
                self.log.warning(
                    "%s: cannot look yet (%s: %s)", self.event_id, type(error).__name__, reason
                )
            else:
                if wave.ready:
                    self.log.info(
                        "%s: %d new segments, end marker %s (look %d)",
                        self.event_id,
                        len(wave.keys),
                        "seen" if wave.ended else "not seen",
                        looks,
                    )
                    yield TriggerEvent({"status": "ok", "wave": wave.to_dict()})
                    return
            await asyncio.sleep(self.poll_interval)
