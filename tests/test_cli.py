"""The ``scas`` command, run through typer's test runner against the real test servers.

The commands read their settings from ``SCAS_*`` variables, as from a shell: the fixture
points them at the test catalog, bucket and model pack, and at an empty events directory.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scas_lib.catalog import Catalog
from scas_lib.cli import app
from scas_lib.faces.engine import FaceEngine
from scas_lib.services import Services
from scas_lib.simulation.generate import GeneratedEvent, SegmentRecord
from scas_lib.simulation.replay import replay_event
from scas_lib.storage import ObjectStore

from .conftest import EVENT_CONFIG, EVENT_START, enroll_event_visitors, use_test_servers

# Starts programs of its own (ffmpeg, an RTSP camera, Airflow, the scas command): not fast.
pytestmark = pytest.mark.programs

runner = CliRunner()


@pytest.fixture
def cli_env(
    services: Services, model_pack_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The test servers as ``SCAS_*`` settings; returns the (empty) event files directory."""
    use_test_servers(monkeypatch, services, model_pack_dir, tmp_path / "scas-data")
    events = tmp_path / "events"
    events.mkdir()
    monkeypatch.setenv("SCAS_EVENTS_DIR", str(events))
    return events


def _visitor_seconds(event: GeneratedEvent, segment: SegmentRecord) -> float:
    """Seconds of visitors in view in one segment, by the event's ground truth."""
    begin = (datetime.fromisoformat(segment.start_time) - EVENT_START).total_seconds()
    end = begin + EVENT_CONFIG.segment_s
    return sum(
        max(0.0, min(end, stop) - max(begin, start))
        for cameras in event.truth.values()
        for start, stop in cameras.get(segment.camera_id, [])
    )


def _scas(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_status_shows_both_servers_answering(cli_env: Path) -> None:
    code, output = _scas("status")
    assert code == 0, output
    assert "catalog" in output and "object store" in output
    assert output.count("running") == 2 and "hunter" not in output


def test_recognize_follows_the_event_files_recognition_settings(
    cli_env: Path,
    services: Services,
    event: GeneratedEvent,
    engine: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
) -> None:
    enroll_event_visitors(services, event, engine)
    segment = max(event.segments, key=lambda s: _visitor_seconds(event, s))
    store.put_file(
        services.settings.bucket_recordings,
        segment.key,
        event.directory / segment.path,
        metadata={"camera": segment.camera_id, "start-time": segment.start_time},
    )
    # A `.yml` file whose recognition setting leaves every face too small to track.
    (cli_env / "expo.yml").write_text(
        f"name: Expo by hand\ncameras: [{{id: {segment.camera_id}, name: Door}}]\n"
        "recognition: {min_face_px: 5000}\n"
    )

    code, output = _scas("recognize", "--event", "expo")

    assert code == 0, output
    assert f"{segment.key}: done, 0 tracks, no visitor" in output
    assert catalog.events.get("expo").name == "Expo by hand"  # the file was read
    assert [c.name for c in catalog.events.cameras("expo")] == ["Door"]

    # Done segments are left alone; --again does them again, now with the defaults.
    assert "no segment of expo to recognize" in _scas("recognize", "--event", "expo")[1]
    (cli_env / "expo.yml").unlink()
    code, output = _scas("recognize", "--event", "expo", "--again")
    assert code == 0, output
    (row,) = catalog.segments.for_event("expo")
    assert row.status == "done" and catalog.tracks.of_segment(row.id)  # faces tracked now


def test_recognize_then_highlights_make_the_videos(
    cli_env: Path,
    services: Services,
    event: GeneratedEvent,
    engine: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
    tmp_path: Path,
) -> None:
    enroll_event_visitors(services, event, engine)
    replay_event(event.directory, store, services.settings.bucket_recordings, speed=0)
    (cli_env / "expo.yaml").write_text("name: Expo by hand\n")

    code, output = _scas("recognize", "--event", "expo")
    assert code == 0, output
    assert output.count(": done,") == len(event.segments), output

    code, output = _scas("highlights", "--event", "expo", "--download", str(tmp_path / "out"))

    assert code == 0, output
    done = {o.visitor_id for o in catalog.outputs.for_event("expo") if o.status == "done"}
    assert done, output
    assert {p.name for p in (tmp_path / "out").glob("*.mp4")} == {f"{v}.mp4" for v in done}
    assert catalog.events.get("expo").status == "done"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["recognize", "--event", "Bad Id"], "invalid event id"),
        (["highlights", "--event", "broken"], "broken.yaml: gpu_slot"),
        (["forget", "Ana Lee", "--event", "expo"], "invalid visitor id 'Ana Lee'"),
        (["simulate", "--event", "Expo"], "invalid event id 'Expo'"),
        (["highlights", "--event", "../../../../tmp/x"], "invalid event id '../../../../tmp/x'"),
        (["highlights", "--event", "nosuchevent"], "no event nosuchevent: no event file in"),
        (["recognize", "--event", "nosuchevent"], "no event nosuchevent: no event file in"),
        (["highlights", "--event", "demo", "--template", "/tmp/x.yaml"], "no template '/tmp/x"),
    ],
)
def test_bad_input_is_one_line_and_a_failing_exit(
    cli_env: Path, catalog: Catalog, args: list[str], complaint: str
) -> None:
    (cli_env / "broken.yaml").write_text("gpu_slot: 2\n")

    code, output = _scas(*args)

    assert code == 1
    assert output.startswith("error: ") and complaint in output
    assert len(output.strip().splitlines()) == 1, output
    assert catalog.events.get("nosuchevent") is None  # nothing half-stored


def test_event_start_and_end_write_the_markers_the_dag_waits_for(
    cli_env: Path, services: Services
) -> None:
    from scas_lib.run import waves

    code, output = _scas("event", "start", "--event", "gala")
    assert code == 0 and "started gala" in output, output
    assert waves.marker_times(services, "gala")["start"] is not None
    assert not waves.end_marker_seen(services, "gala")
    time.sleep(1.1)  # the store's clock has seconds: the end marker is the newer one
    code, output = _scas("event", "end", "--event", "gala", "--wait", "0")
    assert code == 0 and "ended gala: end marker written" in output, output
    assert waves.end_marker_seen(services, "gala")
    code, output = _scas("event", "end", "--event", "bad id!")
    assert code != 0 and "event id" in output
