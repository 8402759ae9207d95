"""Live replay: push a generated event's segments to the recordings bucket as cameras would.

A camera uploads a segment when it has finished recording it, so segment ``k`` of every
camera goes up ``(k + 1) * segment_s`` seconds after the replay starts (divided by
``speed``). The start marker goes first, the end marker last, after every segment. Each
segment carries its camera and UTC start time as object metadata.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scas_lib.storage import ObjectStore, keys
from scas_lib.storage.control import put_control_marker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    key: str
    at_s: float  # seconds after the replay started, at the requested speed


def replay_event(
    event_dir: Path,
    store: ObjectStore,
    bucket: str,
    *,
    speed: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_upload: Callable[[Upload], None] | None = None,
) -> list[Upload]:
    """Upload the event in ``event_dir`` at ``speed`` times real time; return the uploads
    in the order made. ``speed`` 0 uploads everything at once."""
    record = json.loads((event_dir / "event.json").read_text())
    event_id = record["event_id"]
    event_start = datetime.fromisoformat(record["start_time"])
    store.ensure_bucket(bucket)
    started = clock()
    uploads: list[Upload] = []

    def upload(key: str, due_s: float, send: Callable[[], object]) -> None:
        if speed > 0:
            wait = started + due_s / speed - clock()
            if wait > 0:
                sleep(wait)
        send()
        done = Upload(key, clock() - started)
        uploads.append(done)
        log.info("uploaded %s at %.1f s", key, done.at_s)
        if on_upload:
            on_upload(done)

    start_marker = keys.control_marker_key(event_id, "start")
    upload(start_marker, 0.0, lambda: put_control_marker(store, bucket, event_id, "start"))
    segments = sorted(
        record["segments"],
        key=lambda s: (datetime.fromisoformat(s["start_time"]), s["camera_id"]),
    )
    for segment in segments:
        start = datetime.fromisoformat(segment["start_time"])
        due = (start - event_start).total_seconds() + segment["duration_s"]
        path = event_dir / segment["path"]
        metadata = {
            "camera": segment["camera_id"],
            "start-time": start.isoformat(),
            "duration": str(segment["duration_s"]),
        }
        upload(
            segment["key"],
            due,
            functools.partial(
                store.put_file,
                bucket,
                segment["key"],
                path,
                content_type="video/mp4",
                metadata=metadata,
            ),
        )
    end_marker = keys.control_marker_key(event_id, "end")
    end_due = (datetime.fromisoformat(record["end_time"]) - event_start).total_seconds()
    upload(end_marker, end_due, lambda: put_control_marker(store, bucket, event_id, "end"))
    return uploads
