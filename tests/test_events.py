"""Event files and the run's step functions the DAG tasks call (no Airflow needed)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scas_lib.catalog import Catalog, Output, Visitor
from scas_lib.errors import ConfigurationError, ScasError
from scas_lib.event_files import (
    find_event,
    load_event_configs,
    read_event_config,
    read_event_configs,
)
from scas_lib.events import EventConfig
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.lease import LeaseKeeper
from scas_lib.run import parameters, publishing, recognition, records, waves
from scas_lib.services import Services
from scas_lib.settings import Settings
from scas_lib.storage import ObjectStore, keys

ROOT = Path(__file__).parents[1]


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_the_example_event_files_are_valid() -> None:
    events = ROOT / "config" / "events"
    configs = load_event_configs(events, strict=True)
    assert [config.id for config in configs] == ["demo"]
    configs += load_event_configs(events / "examples", strict=True)
    by_id = {config.id: config for config in configs}
    assert {"demo", "expo-2026", "night-show"} <= set(by_id)
    expo = by_id["expo-2026"]
    assert expo.starts_at is not None and expo.starts_at.utcoffset() == timedelta(hours=1)
    assert expo.template_overrides == {"target_length_s": 45}
    assert expo.recognition_config().analysis_fps == 5
    assert by_id["night-show"].recurring


def test_the_id_defaults_to_the_file_name(tmp_path: Path) -> None:
    config = read_event_config(_write(tmp_path, "gala.yaml", "cameras: [{id: cam1}]\n"))
    assert (config.id, config.dag_id, config.display_name) == ("gala", "scas_gala", "gala")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("gpu_slot: 2\n", "gpu_slot: Extra inputs are not permitted"),
        ("cameras: [{id: Cam 1}]\n", "cameras.0.id"),
        ("cameras: [{id: a}, {id: a}]\n", "camera ids repeat"),
        ("timezone: Mars/Olympus\n", "unknown time zone"),
        ("schedule: '0 20 * * *'\nstarts_at: 2026-01-01T10:00:00\n", "either a cron"),
        ("schedule: 'every friday'\n", "5-field cron"),
        ("recognition: {analysis_fsp: 4}\n", "unknown recognition settings"),
        ("recognition: {analysis_fps: -5}\n", "analysis_fps must be a number from 0.1 to 60"),
        ("recognition: {detector_long_side: big}\n", "detector_long_side must be a whole"),
        ("recognition: {fast_detector: 'no'}\n", "fast_detector must be true or false"),
        ("segment_s: -1\n", "segment_s: Input should be greater than 0"),
        ("template: sunset\n", "no template 'sunset' (templates: default)"),
        ("template: ../../../tmp/x\n", "no template '../../../tmp/x'"),
        ("template_overrides: {width: big}\n", "width: Input should be a valid integer"),
        ("starts_at: 2026-01-01T10:00:00\nends_at: 2026-01-01T09:00:00\n", "after starts_at"),
        ("- just\n- a list\n", "expected a mapping"),
        ("id: [unclosed\n", "cannot read it"),
    ],
)
def test_a_bad_file_names_itself_and_the_problem(tmp_path: Path, text: str, complaint: str) -> None:
    path = _write(tmp_path, "bad.yaml", text)
    with pytest.raises(ConfigurationError) as raised:
        read_event_config(path)
    assert str(path) in str(raised.value) and complaint in str(raised.value)


def test_one_bad_file_hides_no_other_event(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", "name: A\n")
    _write(tmp_path, "b.yaml", "gpu_slots: 0\n")
    _write(tmp_path, "c.yml", "name: C\n")
    _write(tmp_path, "d.yaml", "id: a\n")  # the same id as a.yaml
    _write(tmp_path, "notes.txt", "not an event\n")

    configs, errors = read_event_configs(tmp_path)

    assert [c.id for c in configs] == ["a", "c"]
    assert [e.path.name for e in errors] == ["b.yaml", "d.yaml"]
    assert "already defined" in errors[1].message
    assert [c.id for c in load_event_configs(tmp_path)] == ["a", "c"]
    with pytest.raises(ConfigurationError, match=r"b\.yaml.*d\.yaml"):
        load_event_configs(tmp_path, strict=True)
    assert read_event_configs(tmp_path / "missing") == ([], [])


def test_each_show_of_a_recurring_event_is_its_own_event() -> None:
    show = EventConfig.model_validate(
        {"id": "night", "timezone": "Europe/Berlin", "schedule": "0 20 * * 5"}
    )
    assert show.occurrence_id(datetime(2026, 11, 27, 19, 0, tzinfo=UTC)) == "night-20261127-2000"
    once = EventConfig.model_validate({"id": "expo"})
    assert once.occurrence_id(datetime(2026, 11, 27, 19, 0, tzinfo=UTC)) == "expo"


# run params ----------------------------------------------------------------------------------


CONFIG = EventConfig.model_validate(
    {
        "id": "expo",
        "cameras": [{"id": "cam1"}, {"id": "cam2"}],
        "template": "default",
        "template_overrides": {"target_length_s": 30},
    }
)


def test_params_choose_the_mode_of_a_run(tmp_path: Path) -> None:
    _write(tmp_path, "sunset.yaml", "text_color: orange\n")  # the venue's own template
    live = parameters.run_request(CONFIG, {"visitor": None, "camera": None, "template": None})
    assert (live.mode, live.wait, live.template_overrides) == (
        "live",
        True,
        {"target_length_s": 30},
    )
    one = parameters.run_request(CONFIG, {"visitor": "v-1"})
    assert (one.mode, one.visitor, one.wait) == ("render", "v-1", False)
    other = parameters.run_request(CONFIG, {"template": "sunset"}, templates_dir=tmp_path)
    assert (other.mode, other.template, other.template_overrides) == ("render", "sunset", {})
    camera = parameters.run_request(CONFIG, {"camera": "cam2", "template": " "})
    assert (camera.mode, camera.camera, camera.template) == ("camera", "cam2", "default")
    assert parameters.run_request(CONFIG, {"event_id": "expo"}).event_id == "expo"
    assert records.RunRequest.from_dict(camera.to_dict()) == camera


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({"camera": "cam9"}, "has no camera 'cam9'"),
        ({"visitor": "v1", "camera": "cam1"}, "not both"),
        ({"visitor": "Bad Id"}, "invalid visitor id"),
        ({"event_id": "gala"}, "event_id 'gala' is not event expo"),
        ({"event_id": "expo-20261122-1000"}, "is not event expo"),  # expo is no recurring show
        ({"template": "sunset"}, "no template 'sunset'"),
        ({"template": "/etc/passwd"}, "no template '/etc/passwd'"),
        ({"template": "../templates/default"}, "no template '../templates/default'"),
    ],
)
def test_bad_params_are_refused(params: dict, complaint: str) -> None:
    with pytest.raises(ScasError, match=re.escape(complaint)):
        parameters.run_request(CONFIG, params)


def test_a_recurring_event_takes_its_shows_and_templates_from_beside_its_file(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "night.yaml", "schedule: '0 20 * * 5'\ntemplate: neon\n")
    (tmp_path / "templates").mkdir()
    _write(tmp_path / "templates", "neon.yaml", "text_color: cyan\nintro_s: 2\n")

    show = parameters.resolve_run("night-20261127-2000", {"template": "neon"}, directory=tmp_path)

    assert show.from_file and show.config.id == "night" and show.config.template == "neon"
    assert (show.request.event_id, show.request.template) == ("night-20261127-2000", "neon")
    assert parameters.run_request(show.config, {"event_id": "night-20261204-2000"}, templates_dir=
                            tmp_path / "templates").event_id == "night-20261204-2000"  # fmt: skip
    with pytest.raises(ScasError, match="is not event night"):
        parameters.run_request(show.config, {"event_id": "nightly"})
    assert not parameters.resolve_run("night-20261399-2000", directory=tmp_path).from_file
    # The DAG's render time limit covers the longest video a run may choose; a broken
    # template fails only the run that chooses it, never the DAG file.
    _write(tmp_path / "templates", "long.yaml", "target_length_s: 120\n")
    _write(tmp_path / "templates", "broken.yaml", "width: big\n")
    limits = parameters.task_timeouts(show.config, tmp_path / "templates")
    assert limits["render"] == 300 + 20 * 120
    with pytest.raises(ScasError, match="broken"):
        parameters.run_request(
            show.config, {"template": "broken"}, templates_dir=tmp_path / "templates"
        )


# one run by hand: the event file's settings --------------------------------------------------


def test_an_event_file_is_found_by_id_with_either_suffix(tmp_path: Path) -> None:
    _write(tmp_path, "gala.yml", "cameras: [{id: cam1}]\nrecognition: {analysis_fps: 2}\n")
    _write(tmp_path, "expo.yaml", "template: default\nrecognize_retries: 4\n")

    gala = parameters.resolve_run("gala", directory=tmp_path)
    expo = parameters.resolve_run("expo", {"visitor": "v1"}, directory=tmp_path)
    walk_in = parameters.resolve_run("walk-in", directory=tmp_path)

    assert gala.from_file and gala.config.recognition == {"analysis_fps": 2}
    assert (expo.request.mode, expo.request.template, expo.request.max_attempts) == (
        "render",
        "default",
        5,
    )
    assert not walk_in.from_file and walk_in.config == EventConfig(id="walk-in")
    _write(tmp_path, "gala.yaml", "name: Gala\n")
    with pytest.raises(ConfigurationError, match="two files"):
        parameters.resolve_run("gala", directory=tmp_path)
    with pytest.raises(ScasError, match="invalid event id"):
        parameters.resolve_run("../etc", directory=tmp_path)


def test_an_event_file_is_parsed_once_per_change_and_its_consent_loads_no_template(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "gala.yaml", "template: missing\nconsent: {version: v1}\n")

    first = find_event("gala", tmp_path)  # the kiosk's lookup: no template is loaded
    again = find_event("gala", tmp_path)

    assert first.from_file and first.config.consent.version == "v1"
    assert again.config is first.config  # not parsed again
    with pytest.raises(ConfigurationError, match="missing"):  # a run loads it, and refuses
        parameters.resolve_run("gala", directory=tmp_path)
    path.write_text("template: missing\nconsent: {version: v2-changed}\n", encoding="utf-8")
    assert find_event("gala", tmp_path).config.consent.version == "v2-changed"
    show = find_event("gala-20261127-2000", tmp_path)  # not a recurring event: no show of it
    assert not show.from_file and show.config == EventConfig(id="gala-20261127-2000")


def test_recognition_settings_come_from_the_event_file_then_scas_onnx_threads() -> None:
    settings = Settings(onnx_threads=3)
    assert recognition.recognition_config(EventConfig(id="a"), settings).onnx_threads == 3
    own = EventConfig(id="a", recognition={"onnx_threads": 2, "analysis_fps": 4})
    assert recognition.recognition_config(own, settings) == RecognitionConfig(
        onnx_threads=2, analysis_fps=4
    )
    assert recognition.recognition_config(EventConfig(id="a"), Settings()) == RecognitionConfig()


# sensing on the real servers ------------------------------------------------------------------

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _segment(store: ObjectStore, bucket: str, camera: str, k: int) -> str:
    key = keys.segment_key("expo", camera, START + timedelta(seconds=10 * k))
    store.put_bytes(bucket, key, b"not decoded here")
    return key


def test_pending_segments_and_the_end_marker(
    services: Services, store: ObjectStore, catalog: Catalog
) -> None:
    bucket = services.settings.bucket_recordings
    assert waves.look(services, "expo", max_attempts=3) == records.Wave("expo", [], False)
    done, failed, stuck, dead, new = (_segment(store, bucket, "cam1", k) for k in range(5))
    store.put_bytes(bucket, keys.control_marker_key("expo", "start"), b"")
    catalog.events.ensure("expo")
    catalog.events.ensure_camera("expo", "cam1")
    rows = {
        key: catalog.segments.register("expo", "cam1", key, START)
        for key in (done, failed, stuck, dead)
    }
    catalog.segments.save_tracks(rows[done].id, [])
    catalog.segments.mark_failed(rows[failed].id, "truncated")
    catalog.segments.mark_processing(rows[stuck].id)  # a worker died once
    for _ in range(3):
        catalog.segments.mark_processing(rows[dead].id)  # ... and three times: given up

    wave = waves.look(services, "expo", max_attempts=3)

    assert wave == records.Wave("expo", [stuck, new], False) and wave.ready
    store.put_bytes(bucket, keys.control_marker_key("expo", "end"), b"")
    assert waves.look(services, "expo", max_attempts=3).ended
    assert waves.segment_keys(services, "expo", "cam1") == [done, failed, stuck, dead, new]
    assert waves.segment_keys(services, "expo", "cam2") == []
    request = parameters.run_request(CONFIG, {})
    assert waves.next_step(services, request) == "next_wave"  # two segments still to do
    for key in (stuck, new):
        row = catalog.segments.register("expo", "cam1", key, START)
        catalog.segments.save_tracks(row.id, [])
    assert waves.next_step(services, request) == "highlights"
    assert catalog.events.get("expo").status == "ended"
    camera = parameters.run_request(CONFIG, {"camera": "cam1"})
    assert waves.segments_to_recognize(services, camera, None) == waves.segment_keys(
        services, "expo", "cam1"
    )
    assert (
        waves.segments_to_recognize(
            services, parameters.run_request(CONFIG, {"visitor": "v"}), None
        )
        == []
    )
    # By hand (no wave): what a live wave would take now; `again`: every segment.
    live = parameters.run_request(CONFIG, {})
    assert waves.segments_to_recognize(services, live, None) == []  # finished or given up
    assert waves.segments_to_recognize(services, live, None, again=True) == [
        done,
        failed,
        stuck,
        dead,
        new,
    ]


def test_a_new_run_re_uploads_and_late_segments_are_not_missed(
    services: Services, store: ObjectStore, catalog: Catalog
) -> None:
    """The markers and ETags a wave goes by (on the real store: its clock, its ETags)."""
    bucket = services.settings.bucket_recordings
    start, end = (keys.control_marker_key("expo", name) for name in ("start", "end"))
    store.put_bytes(bucket, start, b"")
    first = _segment(store, bucket, "cam1", 0)
    store.put_bytes(bucket, end, b"")  # the same second as the start marker: it ends the run
    catalog.events.ensure("expo")
    catalog.events.ensure_camera("expo", "cam1")
    etag = store.stat(bucket, first).etag
    row = catalog.segments.register("expo", "cam1", first, START, etag=etag)
    catalog.segments.save_tracks(row.id, [])
    wave = waves.look(services, "expo", max_attempts=3)
    assert (wave.keys, wave.ended, wave.closed, wave.ready) == ([], True, False, True)
    publishing.publish(
        services, parameters.run_request(CONFIG, {})
    )  # the videos: this run is closed
    closed = waves.look(services, "expo", max_attempts=3)
    assert (closed.ended, closed.closed, closed.ready) == (True, True, False)

    # A late segment, after the end was published: recognized, then the event renders again.
    late = _segment(store, bucket, "cam1", 1)
    wave = waves.look(services, "expo", max_attempts=3)
    assert (wave.keys, wave.ready) == ([late], True)
    late_row = catalog.segments.register("expo", "cam1", late, START)
    catalog.segments.save_tracks(late_row.id, [])
    assert waves.next_step(services, parameters.run_request(CONFIG, {})) == "highlights"

    # The same key uploaded again with other content is recognized again, from attempt 0.
    store.put_bytes(bucket, first, b"other footage, same key")
    assert waves.look(services, "expo", max_attempts=3).keys == [first]
    again = catalog.segments.register(
        "expo", "cam1", first, START, etag=store.stat(bucket, first).etag
    )
    assert (again.id, again.attempts, again.status) == (row.id, 0, "done")
    catalog.segments.save_tracks(again.id, [])
    assert waves.look(services, "expo", max_attempts=3).keys == []

    # A new run: its start marker, newer than the end marker, opens it; only a newer end
    # marker ends it (S3 times are whole seconds: wait for the next one).
    time.sleep(1.1)
    store.put_bytes(bucket, start, b"")
    wave = waves.look(services, "expo", max_attempts=3)
    assert (wave.ended, wave.ready) == (False, False)
    assert waves.next_step(services, parameters.run_request(CONFIG, {})) == "next_wave"
    time.sleep(1.1)
    store.put_bytes(bucket, end, b"")
    wave = waves.look(services, "expo", max_attempts=3)
    assert (wave.ended, wave.closed, wave.ready) == (True, False, True)


def test_a_segment_whose_worker_died_is_reclaimed_after_the_lease(
    services: Services, store: ObjectStore, catalog: Catalog
) -> None:
    bucket = services.settings.bucket_recordings
    once, thrice = (_segment(store, bucket, "cam1", k) for k in range(2))
    catalog.events.ensure("expo")
    catalog.events.ensure_camera("expo", "cam1")
    rows = {key: catalog.segments.register("expo", "cam1", key, START) for key in (once, thrice)}
    catalog.segments.mark_processing(rows[once].id)
    for _ in range(3):
        catalog.segments.mark_processing(rows[thrice].id)

    # Within the lease a processing row may still have its worker: left alone.
    assert waves.pending_segments(services, "expo", 3, lease_s=600) == [once]
    assert {s.status for s in catalog.segments.for_event("expo")} == {"processing"}
    time.sleep(0.3)
    assert waves.pending_segments(services, "expo", 3, lease_s=0.2) == [once]

    found = {s.object_key: s for s in catalog.segments.for_event("expo")}
    assert (found[once].status, found[thrice].status) == ("pending", "failed")
    assert found[thrice].error == "given up: its worker stopped during each of 3 attempts"


def test_a_working_worker_renews_its_lease_and_a_stopped_one_loses_it(
    services: Services, store: ObjectStore, catalog: Catalog
) -> None:
    """While its worker recognizes, a segment's short lease is renewed on a connection of
    the keeper's own; once renewals stop (the worker died), the next look takes it back."""
    bucket = services.settings.bucket_recordings
    key = _segment(store, bucket, "cam1", 0)
    catalog.events.ensure("expo")
    catalog.events.ensure_camera("expo", "cam1")
    segment = catalog.segments.register("expo", "cam1", key, START)
    catalog.segments.mark_processing(segment.id)

    with LeaseKeeper(services, segment.id, renew_s=0.1) as keeper:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:  # three times the lease, each look finds it kept
            waves.pending_segments(services, "expo", 3, lease_s=1.0)
            assert [s.status for s in catalog.segments.for_event("expo")] == ["processing"]
            time.sleep(0.1)
    assert keeper.renewals >= 10

    time.sleep(1.1)
    assert waves.pending_segments(services, "expo", 3, lease_s=1.0) == [key]
    (reclaimed,) = catalog.segments.for_event("expo")
    assert reclaimed.status == "pending"
    assert not catalog.segments.renew_lease(segment.id)  # no longer its worker's


def test_an_output_whose_render_died_is_failed_after_the_lease(catalog: Catalog) -> None:
    from scas_lib.events import ConsentText

    catalog.events.ensure("expo")
    consent = ConsentText().agreed("en", START)
    for visitor in ("v1", "v2"):
        catalog.visitors.upsert(Visitor("expo", visitor, visitor.upper(), consent))
    catalog.outputs.upsert(Output("expo", "v1", "rendering"))  # its render was killed
    catalog.outputs.upsert(Output("expo", "v2", "done", "expo/v2.mp4"))

    assert catalog.outputs.reclaim_stale("expo", lease_s=600) == []
    time.sleep(0.3)
    assert catalog.outputs.reclaim_stale("expo", lease_s=0.2) == ["v1"]

    outputs = {o.visitor_id: o for o in catalog.outputs.for_event("expo")}
    assert (outputs["v1"].status, outputs["v2"].status) == ("failed", "done")
    assert "stopped without finishing" in (outputs["v1"].error or "")
