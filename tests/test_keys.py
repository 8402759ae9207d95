"""The object key layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from scas_lib.storage import keys

START = datetime(2026, 11, 22, 5, 44, 45, 250000, tzinfo=UTC)


def test_segment_key_round_trips() -> None:
    key = keys.segment_key("expo", "cam-1", START)
    assert key == "expo/cam-1/20261122T054445.250000Z.mp4"
    parsed = keys.parse_segment_key(key)
    assert parsed == keys.SegmentKey("expo", "cam-1", START, "mp4")


def test_segment_times_are_written_in_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    local = START.astimezone(beijing)
    assert keys.segment_key("expo", "cam1", local) == keys.segment_key("expo", "cam1", START)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        keys.segment_key("expo", "cam1", datetime(2026, 1, 1))


def test_segment_keys_sort_in_recording_order() -> None:
    times = [START + timedelta(seconds=s) for s in (0, 0.5, 10, 100, 3600)]
    made = [keys.segment_key("expo", "cam1", t) for t in times]
    assert sorted(made) == made


@pytest.mark.parametrize("bad", ["", "Expo", "_control", "a/b", "x" * 64, "café"])
def test_invalid_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        keys.segment_key("expo", bad, START)


def test_control_markers_are_not_segments() -> None:
    marker = keys.control_marker_key("expo", "end")
    assert marker == "expo/_control/end"
    assert keys.parse_segment_key(marker) is None
    assert keys.parse_segment_key("expo/cam1/notatime.mp4") is None


def test_visitor_keys() -> None:
    assert keys.enrollment_photo_key("expo", "v1", 0) == "expo/v1/0.jpg"
    assert keys.visitor_enrollment_prefix("expo", "v1") == "expo/v1/"
    assert keys.highlight_key("expo", "v1") == "expo/v1.mp4"
    assert keys.poster_key("expo", "v1") == "expo/v1.jpg"
