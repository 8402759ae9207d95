"""Writing an event's control markers: the one place that starts and ends an event's run
(the replay, the operator console and `scas event start|end` all call it)."""

from __future__ import annotations

from scas_lib.storage import keys
from scas_lib.storage.keys import ControlMarker
from scas_lib.storage.object_store import ObjectStore


def put_control_marker(
    store: ObjectStore, bucket: str, event_id: str, marker: ControlMarker
) -> str:
    """Upload the event's empty ``start`` or ``end`` marker to the recordings bucket (its
    time is the store's clock, which :func:`scas_lib.run.waves.run_state` compares);
    the key written."""
    key = keys.control_marker_key(keys.validate_id(event_id, "event id"), marker)
    store.put_bytes(bucket, key, b"")
    return key
