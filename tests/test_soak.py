"""The short soak (issue 28): ``benchmarks/soak.py`` with 4 cameras for 5 minutes on the
loopback deployment, each fault once: the S3 server, PostgreSQL, the gpu Celery worker
mid-task and the Airflow scheduler killed and started again, one camera's RTSP server
killed and started again, the spool's disk filled once; a kiosk enrolls the visitors
throughout. Nothing the cameras sent may be lost or stored twice, and every visitor gets
their video. The 30-minute, 24-camera figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def soak() -> Iterator[ModuleType]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import soak

        yield soak
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


@pytest.mark.timeout(2400)
def test_a_short_soak_with_every_fault_loses_nothing_and_stores_nothing_twice(
    soak: ModuleType, model_pack_dir: Path, tmp_path: Path
) -> None:
    plan = soak.SoakPlan(cameras=4, minutes=5.0, seed=1)
    report = soak.run_soak(plan, tmp_path, model_pack_dir.parent, log=print)
    print(report.to_json())

    assert report.drained, "the videos were not published 90 min after the end"
    made = {fault.name: fault for fault in report.faults}
    assert set(made) == set(soak.FAULTS), "a fault was left out (the spool's disk: not root?)"
    assert made["gpu_worker"].detail == "mid-task"
    # The cameras were on for 4 x 5 min: the outages of the faults aside, it was recorded.
    assert report.camera_time_covered > 0.8, report.camera_time_covered
    assert report.segments_expected >= 0.8 * 4 * 5 * 60 / soak.SEGMENT_S
    assert report.segments_lost == 0, report.failed_reasons
    assert report.duplicate_rows == 0
    assert report.enrollment_errors == []
    assert report.enrollments == report.videos_expected > 0
    assert report.videos_published == report.videos_expected
