"""The event DAGs, run with ``dag.test()`` against the real PostgreSQL and S3 test servers.

Airflow keeps its own metadata in a throwaway SQLite database under a temporary
AIRFLOW_HOME; the SCAS catalog and object store are the test servers of conftest.py, given
to the DAG as the Airflow connections ``scas_postgres`` and ``scas_s3`` (environment
variables), as a deployment would. Airflow comes with the test extras
(``pip install -e '.[airflow,test]'``, which ``make test`` runs).
"""

from __future__ import annotations

import doctest
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog.testing

from scas_lib.deploy.config import airflow_environment, connection_variables

ROOT = Path(__file__).parents[1]
# Airflow reads its configuration when first imported: set it up before that (the same
# throwaway home as the benchmarks', with SQLite metadata).
_HOME = Path(tempfile.mkdtemp(prefix="scas-airflow-home-"))
_EVENTS = _HOME / "events"
_EVENTS.mkdir()
os.environ.update(
    airflow_environment(
        _HOME,
        ROOT,
        base={"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "SCAS_EVENTS_DIR": str(_EVENTS)},
    )
)
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
if str(ROOT / "plugins") not in sys.path:
    sys.path.insert(0, str(ROOT / "plugins"))

from airflow.dag_processing.dagbag import DagBag  # noqa: E402
from scas_airflow import connections  # noqa: E402
from scas_airflow.connections import ConnectionFields, settings_from_connections  # noqa: E402

from scas_lib.catalog import Catalog  # noqa: E402
from scas_lib.errors import ScasError  # noqa: E402
from scas_lib.faces.engine import FaceEngine  # noqa: E402
from scas_lib.services import Services  # noqa: E402
from scas_lib.simulation.generate import GeneratedEvent, generate_event  # noqa: E402
from scas_lib.simulation.people import SourcePhoto, with_visitors  # noqa: E402
from scas_lib.simulation.plan import SimulationConfig  # noqa: E402
from scas_lib.simulation.replay import replay_event  # noqa: E402
from scas_lib.storage import ObjectStore, keys  # noqa: E402

from .conftest import EVENT_START, enroll_event_visitors, use_test_servers  # noqa: E402

TEST_EVENT = """\
id: expo
name: Expo (test)
cameras: [{id: cam1}, {id: cam2}, {id: cam3}]
poll_interval_s: 0.5
recognize_retries: 1
retry_delay_s: 0
gpu_slots: 2
wave_s: 0
"""
# (wave_s 0: a wave recognizes what it listed, so each dag.test() call is one wave; the
# test of segments arriving during a wave sets it.)


@pytest.fixture(scope="module")
def airflow_db() -> None:
    """A migrated Airflow metadata database, and the ``gpu`` pool the init service makes."""
    from airflow.models.pool import Pool
    from airflow.utils.db import initdb

    initdb()
    Pool.create_or_update_pool(
        "gpu", slots=2, description="GPU recognition", include_deferred=False
    )


@pytest.fixture
def event_file() -> Iterator[Path]:
    path = _EVENTS / "expo.yaml"
    path.write_text(TEST_EVENT)
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def dag_env(
    services: Services, model_pack_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Services:
    """The test servers as Airflow connections, the test bucket and model pack as settings."""
    for name, value in connection_variables(services.database_url, services.s3).items():
        monkeypatch.setenv(name, value)
    use_test_servers(monkeypatch, services, model_pack_dir, tmp_path / "scas-data", servers=False)
    return services


def _dag(dag_id: str = "scas_expo") -> Any:
    bag = DagBag(str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def _states(run: Any) -> dict[tuple[str, int], str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {
            (ti.task_id, ti.map_index): str(ti.state)
            for ti in run.get_task_instances(session=session)
        }


def _xcom_text(run: Any) -> str:
    """Every XCom value of a run, as stored."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.run_id == run.run_id).all()
        assert rows
        return "\n".join(json.dumps(row.value) for row in rows)


# the DAG folder --------------------------------------------------------------------------


def test_the_dag_folder_imports_one_dag_per_event_file() -> None:
    from scas_lib.event_files import read_event_configs

    configs, errors = read_event_configs(ROOT / "config" / "events")
    assert configs and errors == []
    os.environ["SCAS_EVENTS_DIR"] = str(ROOT / "config" / "events")
    try:
        bag = DagBag(str(ROOT / "dags"))
    finally:
        os.environ["SCAS_EVENTS_DIR"] = str(_EVENTS)
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {config.dag_id for config in configs} | {
        "scas_retention",
        "scas_analysis",
    }
    dag = bag.dags["scas_demo"]
    recognize = dag.get_task("recognize")
    assert (recognize.queue, recognize.pool, recognize.retries) == ("gpu", "gpu", 2)
    assert dag.get_task("wait_for_segments").__class__.__name__ == "WaitForSegments"
    limits = {task.task_id: task.execution_timeout for task in dag.tasks}
    assert all(limits.values()), limits
    # Its start, then a fifth of real time for a batch of 8 segments of 60 s and one that
    # arrives as the wave_s (60 s) of arrivals ends, and those 60 s.
    assert limits["recognize"] == timedelta(seconds=300 + 5 * 60 * (8 + 1) + 60)
    assert limits["render"] == timedelta(minutes=15)  # 30 s 1080p videos
    assert {"visitor", "template", "camera", "event_id"} <= set(dag.params)
    assert dag.max_active_runs == 1


def test_a_new_event_file_is_a_new_dag_and_a_bad_one_hides_nothing(event_file: Path) -> None:
    assert _dag("scas_expo") is not None
    (_EVENTS / "gala.yaml").write_text("name: Gala\ncameras: [{id: cam1}]\n")
    (_EVENTS / "broken.yaml").write_text("id: broken\ncameras: [{id: Cam 1}]\ngpu_slot: 2\n")
    try:
        bag = DagBag(str(ROOT / "dags"))
        assert bag.import_errors == {}
        assert {"scas_expo", "scas_gala"} <= set(bag.dag_ids)
        assert "scas_broken" not in bag.dag_ids
        (warned,) = bag.captured_warnings.values()
        assert any("broken.yaml" in line and "gpu_slot" in line for line in warned)
    finally:
        (_EVENTS / "gala.yaml").unlink()
        (_EVENTS / "broken.yaml").unlink()


@pytest.mark.programs
def test_parsing_the_dag_folder_loads_no_model_runtime_decoder_or_opencv() -> None:
    """The dag-processor parses the folder every few seconds: onnxruntime, OpenCV and PyAV
    load only inside the tasks. A fresh interpreter, so other tests' imports do not count."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from dag_parse import HEAVY_MODULES, parse_once
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    environment = airflow_environment(_HOME, ROOT)
    environment["SCAS_EVENTS_DIR"] = str(ROOT / "config" / "events")

    parsed = parse_once(environment)

    assert (parsed["dags"], parsed["errors"]) == (3, 0)  # scas_demo, _retention, _analysis
    assert parsed["heavy"] == [], f"{parsed['heavy']} loaded (of {HEAVY_MODULES})"


_TASK_PLUGINS = """
import json, sys
from airflow.sdk.listener import get_listener_manager
get_listener_manager()  # what a task's process does first: it loads every plugin
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[1:])))
"""


@pytest.mark.programs
def test_a_task_process_loading_the_plugins_loads_no_web_app_or_model_runtime() -> None:
    """Every task's process loads the plugins (its listeners come from them): the SCAS web
    app is built at its first request in the API server, not there, so a task pays for
    FastAPI, the web app and the model runtime only if it uses them. A fresh interpreter."""
    environment = airflow_environment(_HOME, ROOT)
    heavy = ["fastapi", "onnxruntime", "cv2", "av"]
    done = subprocess.run(
        [sys.executable, "-c", _TASK_PLUGINS, "scas_web_plugin", "scas_lib", *heavy],
        cwd=ROOT, env=environment, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "scas_web_plugin" in loaded  # the plugin is loaded, and yet:
    assert [m for m in loaded if m.split(".")[0] in heavy or m.startswith("scas_lib.web")] == []


# connections -> settings -----------------------------------------------------------------


def test_connections_become_settings() -> None:
    settings = settings_from_connections(
        ConnectionFields(host="db", port=5433, login="scas", password="p w", schema="cat"),
        ConnectionFields(
            conn_type="aws", login="key", password="secret", extra={"endpoint_url": "http://m:9000"}
        ),
    )
    assert settings.database_url.get_secret_value() == "postgresql://scas:p%20w@db:5433/cat"
    assert (settings.s3_endpoint, settings.s3_access_key) == ("http://m:9000", "key")
    assert settings.s3_secret_key.get_secret_value() == "secret"
    assert "secret" not in repr(ConnectionFields(password="secret"))
    # pytest collects doctests from scas_lib only (plugins import Airflow): run these here.
    assert doctest.testmod(connections).failed == 0


def test_without_connections_the_scas_settings_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCAS_S3_ENDPOINT", "http://s3.example:9000")
    monkeypatch.setenv("SCAS_S3_ACCESS_KEY", "k")
    settings = settings_from_connections(None, None)
    assert settings.s3_endpoint == "http://s3.example:9000" and settings.database_url is None
    with pytest.raises(ScasError, match="endpoint_url"):
        settings_from_connections(None, ConnectionFields(login="k", password="s"))


# waves: recognition while the event runs -----------------------------------------------


def test_a_wave_recognizes_the_segments_so_far_and_queues_the_next(
    airflow_db: None,
    event_file: Path,
    dag_env: Services,
    event: GeneratedEvent,
    engine: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from airflow.models.dagrun import DagRun

    caplog.set_level(logging.INFO)

    services = dag_env
    enroll_event_visitors(services, event, engine)
    bucket = services.settings.bucket_recordings
    first = [s for s in event.segments if s.start_time == event.segments[0].start_time]
    for segment in first:  # the first segment of every camera, no end marker yet
        store.put_file(
            bucket,
            segment.key,
            event.directory / segment.path,
            metadata={"camera": segment.camera_id, "start-time": segment.start_time},
        )
    dag = _dag()

    run = dag.test()

    states = _states(run)
    assert str(run.state) == "success", states
    # Three segments, two gpu slots: two batches, each one task on the gpu queue.
    assert _task_value(run, "segments") == [sorted(s.key for s in first)[:2],
                                           sorted(s.key for s in first)[2:]]  # fmt: skip
    assert [v for (task, _), v in states.items() if task == "recognize"] == ["success"] * 2
    assert states[("next_wave", -1)] == "success"
    assert states[("highlights", -1)] == "skipped"
    done = {s.object_key for s in catalog.segments.for_event("expo", status="done")}
    assert done == {s.key for s in first}
    queued = [r for r in DagRun.find(dag_id="scas_expo") if r.run_id != run.run_id]
    assert queued and queued[-1].conf == {"event_id": "expo"}

    # The next wave finds nothing new: it waits in the trigger (no worker slot) while the
    # cameras upload the rest live (3 s from now, then at real-time pace). Runs go on, one
    # wave each, until the end marker is there and every segment is done.
    rest = [s for s in event.segments if s not in first]
    capfd.readouterr()
    uploader = threading.Timer(3.0, replay_event, (event.directory, store, bucket), {"speed": 1})
    uploader.start()
    started = time.monotonic()
    waves = [dag.test(run_conf={"event_id": "expo"})]
    uploader.join()
    assert time.monotonic() - started > 3.0
    # The sensor deferred: dag.test() ran its trigger (Airflow logs to stdout or, once its
    # logging is configured by an earlier test, through the logging module).
    assert "running trigger in line" in capfd.readouterr().out + caplog.text
    while _states(waves[-1])[("next_wave", -1)] == "success" and len(waves) < 5:
        waves.append(dag.test(run_conf={"event_id": "expo"}))
    last = _states(waves[-1])
    assert last[("next_wave", -1)] == "skipped" and last[("highlights", -1)] != "skipped"
    recognized = [
        state for run in waves for (task, _), state in _states(run).items() if task == "recognize"
    ]
    assert recognized and set(recognized) == {"success"}
    batches = [batch for run in waves for batch in _task_value(run, "segments")]
    assert sorted(key for batch in batches for key in batch) == sorted(s.key for s in rest)
    assert {s.object_key for s in catalog.segments.for_event("expo", status="done")} == {
        s.key for s in event.segments
    }


def _published(
    services: Services, event: GeneratedEvent, engine: FaceEngine, store: ObjectStore
) -> Any:
    """The event's visitors enrolled, its recordings uploaded at once and one run of its
    DAG through to the published videos; the DAG."""
    enroll_event_visitors(services, event, engine)
    replay_event(event.directory, store, services.settings.bucket_recordings, speed=0)
    dag = _dag()
    assert str(dag.test().state) == "success"
    return dag


def _waves(dag: Any, limit: int = 6) -> list[Any]:
    """Live runs of the DAG, one wave each, until one renders (or ``limit`` runs)."""
    waves = [dag.test(run_conf={"event_id": "expo"})]
    while _states(waves[-1])[("next_wave", -1)] == "success" and len(waves) < limit:
        waves.append(dag.test(run_conf={"event_id": "expo"}))
    return waves


def _upload_run(store: ObjectStore, bucket: str, event: GeneratedEvent, shift: timedelta) -> None:
    """Another run of the event, as a camera would upload it: the start marker, the
    generated segments ``shift`` later (new keys), one earlier key with new content (a
    re-upload), and the end marker a second later than all that."""
    store.put_bytes(bucket, keys.control_marker_key("expo", "start"), b"")
    for segment in event.segments:
        start = datetime.fromisoformat(segment.start_time) + shift
        metadata = {"camera": segment.camera_id, "start-time": start.isoformat()}
        key = keys.segment_key("expo", segment.camera_id, start)
        store.put_file(bucket, key, event.directory / segment.path, metadata=metadata)
    reused, other = [s for s in event.segments if s.camera_id == "cam1"][:2]
    metadata = {"camera": "cam1", "start-time": reused.start_time}
    store.put_file(bucket, reused.key, event.directory / other.path, metadata=metadata)
    time.sleep(1.1)  # S3 times are whole seconds
    store.put_bytes(bucket, keys.control_marker_key("expo", "end"), b"")


def test_late_segments_and_a_new_run_of_the_event_are_recognized_and_rendered(
    airflow_db: None,
    event_file: Path,
    dag_env: Services,
    event: GeneratedEvent,
    engine: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
) -> None:
    services = dag_env
    bucket = services.settings.bucket_recordings
    dag = _published(services, event, engine, store)
    ended_at = catalog.events.get("expo").closed_end_at
    assert ended_at is not None

    # A segment arrives after the event was published: a later run recognizes it and
    # renders the visitors it shows again.
    shown = max(
        catalog.segments.for_event("expo"),
        key=lambda s: sum(t.duration_s for t in catalog.tracks.of_segment(s.id) if t.visitor_id),
    )
    source = next(s for s in event.segments if s.key == shown.object_key)
    late_start = datetime.fromisoformat(event.segments[-1].start_time) + timedelta(minutes=5)
    late = keys.segment_key("expo", source.camera_id, late_start)
    metadata = {"camera": source.camera_id, "start-time": late_start.isoformat()}
    store.put_file(bucket, late, event.directory / source.path, metadata=metadata)

    (run,) = _waves(dag)

    states = _states(run)
    assert [v for k, v in states.items() if k[0] == "recognize"] == ["success"], states
    assert states[("publish", -1)] == "success", states
    (late_row,) = [s for s in catalog.segments.for_event("expo") if s.object_key == late]
    assert late_row.status == "done"
    visitors = {t.visitor_id for t in catalog.tracks.of_segment(late_row.id) if t.visitor_id}
    assert visitors
    # A visitor recognized there for a moment (at least a second, as in the test of the
    # whole event below) has an appearance there and a video.
    late_seconds: dict[str, float] = {}
    for track in catalog.tracks.of_segment(late_row.id):
        if visitor := track.visitor_id:
            late_seconds[visitor] = late_seconds.get(visitor, 0.0) + track.duration_s
    shown_late = {visitor for visitor, seconds in late_seconds.items() if seconds >= 1.0}
    for visitor in shown_late:
        appearances = catalog.outputs.appearances("expo", visitor)
        # (its pre-roll may start before the segment does)
        assert any(a.end_time > late_start for a in appearances), visitor
    assert shown_late, visitors
    with_video = {o.visitor_id for o in catalog.outputs.for_event("expo") if o.status == "done"}
    assert shown_late <= with_video
    # Rendered again: the visitors whose video changed with the late segment (a clip of
    # theirs is in it now), and only those: the others' videos are up to date.
    renders = [v for k, v in states.items() if k[0] == "render"]
    rendered = set(_task_value(run, "highlights"))
    assert renders == ["success"] * len(rendered)
    assert rendered <= visitors
    assert {v for v in shown_late if _clip_after(catalog, v, late_start)} <= rendered

    # The event runs again under the same id (docs/operating.md: trigger, then replay): the first
    # wave is not fooled by the earlier run's end marker; it waits for the new footage.
    uploader = threading.Timer(3.0, _upload_run, (store, bucket, event, timedelta(hours=1)))
    uploader.start()
    waves = _waves(dag)
    uploader.join()

    first = _states(waves[0])
    assert any(state == "success" for (task, _), state in first.items() if task == "recognize")
    assert _states(waves[-1])[("publish", -1)] == "success"
    rows = catalog.segments.for_event("expo")
    assert len(rows) == 2 * len(event.segments) + 1 and {s.status for s in rows} == {"done"}
    reused_key = next(s.key for s in event.segments if s.camera_id == "cam1")
    (reused,) = [s for s in rows if s.object_key == reused_key]
    assert reused.etag == store.stat(bucket, reused.object_key).etag and reused.attempts == 1
    assert catalog.events.get("expo").closed_end_at > ended_at


def _task_value(run: Any, task_id: str) -> Any:
    """What one task of a run returned (unmapped, or mapped over one)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
            .one()
        )
        return row.value


def _try_numbers(run: Any, task_id: str) -> dict[int, int]:
    """The try number of each task instance of ``task_id`` in a run, by map index."""
    from airflow.utils.session import create_session

    with create_session() as session:
        return {
            ti.map_index: ti.try_number
            for ti in run.get_task_instances(session=session)
            if ti.task_id == task_id
        }


def _clip_after(catalog: Catalog, visitor_id: str, moment: datetime) -> bool:
    """Whether the visitor's edit plan has a clip that ends after ``moment``."""
    from scas_lib.highlights.stage import edit_plan
    from scas_lib.highlights.templates import load_template

    plan = edit_plan(catalog, "expo", visitor_id, load_template("default"))
    return any(clip.end > moment for clip in plan.clips)


@pytest.fixture(scope="module")
def leaving_event(
    tmp_path_factory: pytest.TempPathFactory, engine: FaceEngine, source_photos: list[SourcePhoto]
) -> GeneratedEvent:
    """One camera, 12 s in three segments, two visitors: one leaves early, one leaves and
    comes back (the generator's presence windows)."""
    config = SimulationConfig(
        event_id="expo", cameras=1, duration_s=12.0, segment_s=4.0, strangers=1, seed=9,
        early_leavers=1, returners=1,
    )  # fmt: skip
    directory = tmp_path_factory.mktemp("leaving") / "expo"
    return generate_event(directory, config, EVENT_START, engine, with_visitors(source_photos, 2))


def test_visitors_who_leave_get_their_video_before_the_end_and_again_if_they_come_back(
    airflow_db: None,
    event_file: Path,
    dag_env: Services,
    leaving_event: GeneratedEvent,
    engine: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
) -> None:
    from scas_lib.run.delivery import deliver_departed
    from scas_lib.visitors.page import video_state

    event = leaving_event
    plan = event.plan
    (leaver,) = [w.person_id for w in plan.presence if w.start_s == 0.0 and
                 len(plan.windows(w.person_id)) == 1]  # fmt: skip
    (returner,) = {w.person_id for w in plan.presence if w.start_s > 0.0}
    back_at = max(w.start_s for w in plan.presence if w.person_id == returner)
    # Segments of 4 s: a visitor unseen for 2 s of recognized footage has left.
    event_file.write_text(TEST_EVENT + "leave_after_s: 2\n")
    services = dag_env
    bucket = services.settings.bucket_recordings
    highlights = services.settings.bucket_highlights
    enroll_event_visitors(services, event, engine)
    segments = sorted(event.segments, key=lambda s: s.start_time)
    assert len(segments) == 3 and plan.windows(leaver)[0][1] < 8.0 - 2.0
    dag = _dag()
    waves = []
    # The camera uploads 0-4 s, 4-8 s, then 8-12 s: a wave each. A wave's deliver starts
    # beside its recognition, so it goes by the footage the waves before recognized: the
    # third wave's by 8 s, before it recognizes that the returner is back.
    for segment in segments:
        store.put_file(
            bucket, segment.key, event.directory / segment.path,
            metadata={"camera": segment.camera_id, "start-time": segment.start_time},
        )  # fmt: skip
        waves.append(dag.test(run_conf={"event_id": "expo"}))
        assert _states(waves[-1])[("deliver", -1)] == "success"

    # Before the end marker: both have left (by 8 s of footage recognized), both have their
    # video, and the big screen and their pages show it.
    early = {o.visitor_id: o for o in catalog.outputs.for_event("expo")}
    assert {leaver, returner} <= {v for v, o in early.items() if o.status == "done"}, early
    assert catalog.events.get("expo").status != "done"
    on_screen = {entry.visitor_id for entry in catalog.outputs.published("expo")}
    assert {leaver, returner} <= on_screen
    for visitor in (leaver, returner):
        assert store.exists(highlights, keys.highlight_key("expo", visitor))
        status = catalog.events.get("expo").status
        assert video_state(status, early[visitor].status) == "ready"
    # A retried delivery renders nothing again and adds no row.
    before = _row_counts(catalog)
    assert deliver_departed(services, _request_of(waves[-1])) == []
    assert _row_counts(catalog) == before

    # The returner was seen again in the last segment; then the end marker.
    time.sleep(1.1)  # S3 times are whole seconds: the end marker comes after the segment
    store.put_bytes(bucket, keys.control_marker_key("expo", "end"), b"")
    waves += _waves(dag)

    states = _states(waves[-1])
    assert states[("publish", -1)] == "success", states
    # After the end only the visitor still there is rendered: the returner, once.
    assert _task_value(waves[-1], "highlights") == [returner]
    assert [v for k, v in states.items() if k[0] == "render"] == ["success"]
    final = {o.visitor_id: o for o in catalog.outputs.for_event("expo")}
    assert len(final) == len(early)  # one row per visitor
    assert final[leaver] == early[leaver]  # not rendered again
    assert final[returner].status == "done"
    assert final[returner].plan_digest != early[returner].plan_digest
    assert _clip_after(catalog, returner, _at(event, back_at))
    videos = [
        o.key
        for o in store.list(highlights, "expo/")
        if o.key.endswith(".mp4") and o.key.count("/") == 1
    ]  # (not the recordings)
    assert sorted(videos) == sorted(keys.highlight_key("expo", v) for v in final
                                    if final[v].status == "done")  # fmt: skip


def test_segments_that_arrive_while_a_wave_runs_are_recognized_by_it_and_an_end_marker_ends_it(
    airflow_db: None,
    event_file: Path,
    dag_env: Services,
    leaving_event: GeneratedEvent,
    engine: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
) -> None:
    """A camera uploads its segments one by one while the wave recognizes: the wave's
    first recognize task takes each as it comes (``wave_s``), and the end marker that
    comes after them ends the event in that same run: no other run starts, and the videos
    are published. (dag.test() runs one task at a time: deliver looks for its ``wave_s``
    before recognition starts; deployed, they run side by side.)"""
    event = leaving_event
    event_file.write_text(TEST_EVENT.replace("wave_s: 0", "wave_s: 20"))
    services = dag_env
    bucket = services.settings.bucket_recordings
    enroll_event_visitors(services, event, engine)
    first, *later = sorted(event.segments, key=lambda s: s.start_time)

    def upload(segment: Any) -> None:
        store.put_file(
            bucket, segment.key, event.directory / segment.path,
            metadata={"camera": segment.camera_id, "start-time": segment.start_time},
        )  # fmt: skip

    def camera() -> None:
        """Each next segment once the one before is being recognized, then the end marker."""
        with services.catalog() as own:
            for before, segment in zip([first, *later], later, strict=False):
                while before.key not in {r.object_key for r in own.segments.for_event("expo")}:
                    time.sleep(0.1)
                upload(segment)
        time.sleep(1.1)  # S3 times are whole seconds: the end marker comes after them
        store.put_bytes(bucket, keys.control_marker_key("expo", "end"), b"")

    upload(first)
    uploader = threading.Thread(target=camera, daemon=True)
    uploader.start()
    run = _dag().test(run_conf={"event_id": "expo"})
    uploader.join(timeout=5)

    states = _states(run)
    assert states[("publish", -1)] == "success", states
    assert states[("next_wave", -1)] == "skipped"
    assert [k for k in states if k[0] == "recognize"] == [("recognize", 0)]
    batch = _task_value(run, "recognize")
    recognized = [outcome["key"] for outcome in batch["outcomes"]]
    assert recognized == [s.key for s in [first, *later]]  # in the order they came
    assert {row.object_key for row in catalog.segments.for_event("expo", status="done")} == set(
        recognized
    )
    outputs = catalog.outputs.for_event("expo")
    assert outputs and all(o.status == "done" for o in outputs), outputs


def test_after_the_end_videos_are_made_while_the_last_segments_wait_and_again_if_they_change(
    airflow_db: None,
    event_file: Path,
    dag_env: Services,
    leaving_event: GeneratedEvent,
    engine: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
) -> None:
    """Two waves recognize 0-8 s; then the last segment (the returner is back in it) and
    the end marker arrive. While that segment waits, both visitors' videos are made from
    what is recognized; the end's highlights then render only the returner's again."""
    from scas_lib.run import delivery, parameters

    event = leaving_event
    plan = event.plan
    (returner,) = {w.person_id for w in plan.presence if w.start_s > 0.0}
    event_file.write_text(TEST_EVENT + "leave_after_s: null\n")  # no video before the end
    services = dag_env
    bucket = services.settings.bucket_recordings
    enroll_event_visitors(services, event, engine)
    dag = _dag()
    *recognized, last = sorted(event.segments, key=lambda s: s.start_time)
    for segment in [*recognized, last]:
        store.put_file(
            bucket, segment.key, event.directory / segment.path,
            metadata={"camera": segment.camera_id, "start-time": segment.start_time},
        )  # fmt: skip
        if segment is not last:
            dag.test(run_conf={"event_id": "expo"})
    request = parameters.resolve_run("expo").request
    assert delivery.render_before_the_last_segments(services, request) == []  # no end yet
    time.sleep(1.1)  # S3 times are whole seconds: the end marker comes after the segment
    store.put_bytes(bucket, keys.control_marker_key("expo", "end"), b"")
    assert catalog.outputs.for_event("expo") == []

    early = delivery.render_before_the_last_segments(services, request)
    assert len(early) == 2 and all(o.status == "done" for o in early), early
    waves = _waves(dag)
    assert _states(waves[-1])[("publish", -1)] == "success"
    assert _task_value(waves[-1], "highlights") == [returner]
    final = {o.visitor_id: o for o in catalog.outputs.for_event("expo")}
    assert {v: o for v, o in final.items() if v != returner} == {
        o.visitor_id: o for o in early if o.visitor_id != returner
    }
    before = {o.visitor_id: o for o in early}
    assert final[returner].plan_digest != before[returner].plan_digest


def _request_of(run: Any) -> Any:
    from scas_lib.run.records import RunRequest

    return RunRequest.from_dict(_task_value(run, "start"))


def _at(event: GeneratedEvent, seconds: float) -> datetime:
    """The UTC time ``seconds`` into a generated event."""
    start = min(datetime.fromisoformat(s.start_time) for s in event.segments)
    return start + timedelta(seconds=seconds)


# end to end ------------------------------------------------------------------------------


def _corrupt(store: ObjectStore, bucket: str, event: GeneratedEvent, tmp_path: Path) -> str:
    bad = [s for s in event.segments if s.camera_id == "cam2"][1]
    data = (event.directory / bad.path).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 5])
    store.put_file(bucket, bad.key, cut, metadata={"camera": "cam2", "start-time": bad.start_time})
    return bad.key


def _identified_seconds(catalog: Catalog) -> dict[str, float]:
    """Seconds of identified tracks per visitor, over all the event's segments."""
    seconds: dict[str, float] = {}
    for segment in catalog.segments.for_event("expo"):
        for track in catalog.tracks.of_segment(segment.id):
            if track.visitor_id:
                span = (track.end_time - track.start_time).total_seconds()
                seconds[track.visitor_id] = seconds.get(track.visitor_id, 0.0) + span
    return seconds


def _row_counts(catalog: Catalog) -> dict[str, int]:
    counts = {}
    with catalog.connection.cursor() as cur:
        for table in ("events", "cameras", "segments", "tracks", "appearances", "outputs"):
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    return counts


def test_an_event_end_to_end_with_a_corrupt_segment_and_run_twice(
    airflow_db: None,
    event_file: Path,
    dag_env: Services,
    event: GeneratedEvent,
    engine: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from scas_lib.media.probe import probe

    caplog.set_level(logging.INFO)
    services = dag_env
    bucket = services.settings.bucket_recordings
    # Display names unlike the ids (the generated event's ids are its people's names).
    enrolled = enroll_event_visitors(services, event, engine, name_suffix=" Shown-Name")
    replay_event(event.directory, store, bucket, speed=0)
    bad_key = _corrupt(store, bucket, event, tmp_path)
    keys_in_order = sorted(s.key for s in event.segments)
    dag = _dag()

    run = dag.test()

    states = _states(run)
    assert str(run.state) == "success", states
    # The segments in batches (two gpu slots: two), one task each. The damaged segment's
    # task recognized the rest of its batch, then failed with its reason, without a retry
    # (the same bytes again); the other task succeeded.
    batches = _task_value(run, "segments")
    assert sorted(key for batch in batches for key in batch) == keys_in_order
    assert len(batches) == 2
    (bad_index,) = [index for index, batch in enumerate(batches) if bad_key in batch]
    assert len(batches[bad_index]) > 1
    recognize = {index: v for (task, index), v in states.items() if task == "recognize"}
    assert recognize == {i: "failed" if i == bad_index else "success" for i in range(2)}
    assert _try_numbers(run, "recognize") == {0: 1, 1: 1}
    rows = {s.object_key: s for s in catalog.segments.for_event("expo")}
    assert {key for key, row in rows.items() if row.status != "done"} == {bad_key}
    assert rows[bad_key].status == "failed" and "truncated" in rows[bad_key].error
    (reason,) = [line for line in caplog.text.splitlines()
                 if "1 of" in line and "segments failed" in line]  # fmt: skip
    assert bad_key in reason and "truncated" in reason
    assert states[("publish", -1)] == "success"

    outputs = {o.visitor_id: o for o in catalog.outputs.for_event("expo")}
    identified = _identified_seconds(catalog)
    with_video = {v for v, o in outputs.items() if o.status == "done"}
    # A video for every visitor recognized for a moment (a glimpse under AppearanceRules'
    # min_length_s of 0.4 s is a blip, not a moment), and for nobody never recognized.
    moments = {visitor for visitor, seconds in identified.items() if seconds >= 1.0}
    assert moments <= with_video <= set(identified), (identified, outputs)
    assert with_video <= {visitor for visitor in enrolled if event.truth.get(visitor)}
    assert {v for v, o in outputs.items() if o.status == "not_seen"} == set(enrolled) - with_video
    for visitor in with_video:
        assert outputs[visitor].object_key == keys.highlight_key("expo", visitor)
        local = store.download_file(
            services.settings.bucket_highlights,
            outputs[visitor].object_key,
            tmp_path / f"{visitor}.mp4",
        )
        info = probe(local)
        assert info.duration > 1 and info.width > 0
    assert catalog.events.get("expo").status == "done"
    # Nothing that would outlive a visitor's forget in Airflow: no name, no link.
    names = [f"{p.identity} Shown-Name" for p in event.plan.people if p.role == "visitor"]
    kept = _xcom_text(run) + caplog.text
    assert "published" in caplog.text  # the tasks' log records are in there
    assert [name for name in names if name in kept] == []
    assert "X-Amz-" not in kept

    # Running it again (a live run now waits for a new run of the event: re-process a
    # camera instead) duplicates nothing.
    before = _row_counts(catalog)
    stored_before = [o.key for o in store.list(bucket, "expo/")]
    again = dag.test(run_conf={"camera": "cam1"})
    assert str(again.state) == "success"
    assert _row_counts(catalog) == before
    assert [o.key for o in store.list(bucket, "expo/")] == stored_before


def test_a_failed_render_keeps_no_one_else_from_being_published(
    airflow_db: None,
    event_file: Path,
    dag_env: Services,
    event: GeneratedEvent,
    engine: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import psycopg2

    caplog.set_level(logging.INFO)
    services = dag_env
    dag = _published(services, event, engine, store)
    seen = sorted(o.visitor_id for o in catalog.outputs.for_event("expo") if o.status == "done")
    assert len(seen) >= 2
    # A real fault for one visitor only: another session holds their lock (as a forget
    # does) and the catalog gives up waiting for a lock after a second.
    stuck = seen[0]
    database = _database(catalog)
    with catalog.connection, catalog.connection.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{database}" SET lock_timeout = 1000')
    holder = psycopg2.connect(services.database_url)
    try:
        with holder, holder.cursor() as cur:
            cur.execute(
                "SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"scas-visitor:expo/{stuck}",)
            )
        caplog.clear()

        run = dag.test(run_conf={"template": "default"})
    finally:
        holder.close()
        with catalog.connection, catalog.connection.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{database}" RESET lock_timeout')

    states = _states(run)
    renders = [state for (task, _), state in states.items() if task == "render"]
    assert sorted(renders) == ["failed"] + ["success"] * (len(seen) - 1), states
    assert states[("publish", -1)] == "failed" and str(run.state) == "failed"
    rows = {o.visitor_id: o.status for o in catalog.outputs.for_event("expo")}
    assert rows[stuck] != "done" and all(rows[v] == "done" for v in seen if v != stuck)
    assert caplog.text.count(f"{stuck}: not published: its render") == 1
    assert f"published {len(rows)} outputs" in caplog.text
    assert caplog.text.count("[DAG TEST] starting task_id=render map_index=") == len(seen) + 1


def _database(catalog: Catalog) -> str:
    with catalog.connection, catalog.connection.cursor() as cur:
        cur.execute("SELECT current_database()")
        return cur.fetchone()[0]


def test_after_a_failed_wave_the_next_wave_starts_and_the_trigger_waits_out_catalog_errors(
    airflow_db: None,
    event_file: Path,
    dag_env: Services,
    event: GeneratedEvent,
    store: ObjectStore,
    catalog: Catalog,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    import psycopg2
    from airflow.models.dagrun import DagRun
    from scas_airflow.triggers import SegmentTrigger

    caplog.set_level(logging.INFO)
    services = dag_env
    bucket = services.settings.bucket_recordings
    first = [s for s in event.segments if s.start_time == event.segments[0].start_time]
    for segment in first:
        store.put_file(bucket, segment.key, event.directory / segment.path)
    # A real catalog fault: another session holds the segments table, and every new
    # session gives up on a statement after 0.3 s (psycopg2's QueryCanceled).
    database = _database(catalog)
    with catalog.connection, catalog.connection.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{database}" SET statement_timeout = 300')
    locker = psycopg2.connect(services.database_url)
    with locker.cursor() as cur:
        cur.execute("LOCK TABLE segments IN ACCESS EXCLUSIVE MODE")
    try:
        dag = _dag()
        run = dag.test()

        states = _states(run)
        assert states[("wait_for_segments", -1)] == "failed", states
        assert states[("decide", -1)] == "success" and states[("next_wave", -1)] == "success"
        queued = [r for r in DagRun.find(dag_id="scas_expo") if r.run_id != run.run_id]
        assert queued and queued[-1].conf == {"event_id": "expo"}

        # The trigger of the next wave logs one line per look and keeps waiting meanwhile.
        async def fire() -> dict[str, Any]:
            trigger = SegmentTrigger("expo", max_attempts=2, poll_interval=0.2)
            async for found in trigger.run():
                return found.payload
            raise AssertionError("the trigger stopped without an event")

        threading.Timer(2.0, locker.rollback).start()  # the lock goes after 2 s
        payload = asyncio.run(asyncio.wait_for(fire(), timeout=60))
    finally:
        locker.close()
        with catalog.connection, catalog.connection.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{database}" RESET statement_timeout')
    assert sorted(payload["wave"]["keys"]) == sorted(s.key for s in first)
    # (Airflow logs to stdout or, once an earlier test configured it, to the logging module)
    captured = capfd.readouterr()
    logged = captured.out + captured.err + caplog.text
    waits = [line for line in logged.splitlines() if "expo: cannot look yet" in line]
    assert waits and all("QueryCanceled" in line and "statement timeout" in line for line in waits)


def test_params_re_render_one_visitor_with_another_template(
    airflow_db: None,
    event_file: Path,
    dag_env: Services,
    event: GeneratedEvent,
    engine: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
) -> None:
    services = dag_env
    dag = _published(services, event, engine, store)
    visitor = next(o.visitor_id for o in catalog.outputs.for_event("expo") if o.status == "done")

    run = dag.test(run_conf={"visitor": visitor})

    states = _states(run)
    assert str(run.state) == "success", states
    assert states[("recognize", -1)] == "skipped"
    assert [k for k in states if k[0] == "render"] == [("render", 0)]


def test_the_daily_retention_dag_deletes_what_is_past_its_time(
    airflow_db: None, dag_env: Services, store: ObjectStore, catalog: Catalog
) -> None:
    """An event done 31 days ago: its recordings go (30 days), its videos stay (90)."""
    services = dag_env
    bucket = services.settings.bucket_recordings
    segment = keys.segment_key("expo", "cam1", datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    store.put_bytes(bucket, segment, b"footage")
    store.put_bytes(bucket, keys.highlight_key("expo", "v1"), b"video")
    catalog.events.ensure("expo")
    catalog.events.set_status("expo", "done")
    with catalog.connection, catalog.connection.cursor() as cur:
        cur.execute("UPDATE events SET done_at = now() - interval '31 days'")

    run = _dag("scas_retention").test()

    assert str(run.state) == "success"
    assert [item.key for item in store.list(bucket, "expo/")] == ["expo/v1.mp4"]


def test_the_daily_dag_deletes_airflows_history_and_logs_past_their_time(
    airflow_db: None, dag_env: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run 40 days old and its task instances, and a task log file as old, go (by
    ``airflow db clean``, run by the task); today's run and log stay."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from scas_airflow.housekeeping import log_folder

    monkeypatch.setenv("SCAS_AIRFLOW_KEEP_DAYS", "30")
    dag = _dag("scas_retention")
    old = dag.test()
    long_ago = datetime.now(UTC) - timedelta(days=40)
    with create_session() as session:
        session.query(DagRun).filter(DagRun.run_id == old.run_id).update(
            {DagRun.start_date: long_ago}
        )
        session.query(TaskInstance).filter(TaskInstance.run_id == old.run_id).update(
            {TaskInstance.start_date: long_ago}
        )
    folder = log_folder()
    stale, fresh = folder / "dag_id=old" / "attempt=1.log", folder / "dag_id=new" / "today.log"
    for path in (stale, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a task's log")
    os.utime(stale, (long_ago.timestamp(), long_ago.timestamp()))

    run = dag.test()

    assert str(run.state) == "success"
    assert _states(run)[("airflow_history", -1)] == "success"
    with create_session() as session:
        runs = {r.run_id for r in session.query(DagRun).filter(DagRun.dag_id == dag.dag_id)}
        old_tasks = session.query(TaskInstance).filter(TaskInstance.run_id == old.run_id).count()
    assert old.run_id not in runs and run.run_id in runs
    assert old_tasks == 0
    assert not stale.exists() and not stale.parent.exists() and fresh.exists()


# the web app inside Airflow's API server ---------------------------------------------------


def test_the_web_app_in_airflows_api_server_needs_an_airflow_login_and_its_console_runs_the_dag(
    airflow_db: None, dag_env: Services, event_file: Path, photos: dict[str, Any]
) -> None:
    """Airflow's own API server app, with the plugins folder's ``scas_web`` plugin, on
    uvicorn on loopback; the catalog and object store from the Airflow connections. The
    console's start and end trigger the event's DAG run on that server
    (:func:`_console_starts_and_ends_the_event`)."""
    import requests
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    from .web.conftest import portrait, run_uvicorn

    jwt = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    signed_in = {"Authorization": f"Bearer {jwt}"}
    with run_uvicorn(create_app()) as base:
        api = f"{base}/scas/api"
        # Operator routes: nobody without an Airflow login, the UI's cookie is one.
        anonymous = requests.get(f"{api}/events", timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.json() == {"code": "not_authenticated", "message": "Not authenticated"}
        # The front door is open to anyone; it offers Airflow's sign-in, not a token form.
        home = requests.get(f"{base}/scas/", timeout=10)
        assert home.status_code == 200 and 'id="sign-in-link"' in home.text
        assert 'id="token"' not in home.text
        paired = requests.post(f"{api}/events/expo/kiosks", headers=signed_in, timeout=10)
        assert paired.status_code == 201, paired.text
        # The kiosk's own token, not an Airflow login, enrolls.
        photo = portrait(photos).path.read_bytes()
        form = {"name": "王小明", "language": "zh", "consent": "true",
                "consent_version": "scas-2026-11"}  # fmt: skip
        files = {"photo": ("selfie.jpg", photo, "image/jpeg")}
        refused = requests.post(f"{api}/kiosk/enroll", data=form, files=files, headers=signed_in,
                                timeout=60)  # fmt: skip
        assert refused.status_code == 401 and refused.json()["code"] == "kiosk_not_paired"
        kiosk = {"Authorization": f"Bearer {paired.json()['token']}"}
        enrolled = requests.post(f"{api}/kiosk/enroll", data=form, files=files, headers=kiosk,
                                 timeout=60)  # fmt: skip
        assert enrolled.status_code == 201, enrolled.text
        assert enrolled.json()["page_url"].startswith(f"{base}/scas/v/")
        page_url = enrolled.json()["page_url"]
        with structlog.testing.capture_logs() as logged:
            page = requests.get(page_url, timeout=10)
            pairing = requests.get(f"{base}/scas{paired.json()['pairing_path']}", timeout=10)
        assert page.status_code == 200 and "王小明" in page.text
        assert pairing.status_code == 200
        # Airflow's access log: the requests, without the page's and the kiosk's tokens.
        access = {(e["method"], e["path"], e["query"]) for e in logged
                  if e.get("event") == "request finished"}  # fmt: skip
        assert ("GET", "/scas/v/***", "") in access
        assert any(path == "/scas/kiosk/expo" and "pair=" in query for _, path, query in access)
        for credential in (page_url.rsplit("/v/", 1)[1], paired.json()["token"]):
            assert credential not in repr(logged)
        visitors = requests.get(f"{api}/events/expo/visitors", headers=signed_in, timeout=10)
        assert [v["display_name"] for v in visitors.json()] == ["王小明"]
        assert requests.get(f"{base}/scas/docs", timeout=10).status_code == 200
        # Linked from the Airflow UI.
        plugins = requests.get(f"{base}/api/v2/plugins", headers=signed_in, timeout=10).json()
        (scas,) = [p for p in plugins["plugins"] if p["name"] == "scas_web"]
        assert scas["external_views"][0]["href"] == "/scas/"
        assert scas["fastapi_apps"][0]["url_prefix"] == "/scas"
        # (the plugin does not import the app to know its prefix: task processes load it)
        from scas_web_plugin import URL_PREFIX

        from scas_lib.web.app import URL_PREFIX as APP_PREFIX

        assert URL_PREFIX == APP_PREFIX

        _serialize_dags()
        _console_starts_and_ends_the_event(base, jwt, dag_env)


def _serialize_dags() -> None:
    """The DAG folder in the metadata database, as the dag-processor leaves it (what the
    REST API triggers runs of); `airflow dags reserialize` does the same."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        bundle.initialize()
        bag = BundleDagBag(bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, None)


def _console_starts_and_ends_the_event(base: str, jwt: str, services: Services) -> None:
    """Start and End of the console, in Airflow's API server with an operator's login:
    the markers are written (End as `scas event end`: it asks ingest to finish first) and
    the event's DAG gets one run, through the REST API of that same server."""
    import requests

    from scas_lib.ingest import health
    from scas_lib.run import waves

    signed_in = {"Authorization": f"Bearer {jwt}"}
    console = f"{base}/scas/api/events/expo"
    runs = f"{base}/api/v2/dags/scas_expo/dagRuns"

    def run_ids() -> set[str]:  # the module's other tests leave finished runs
        listed = requests.get(runs, headers=signed_in, timeout=10).json()["dag_runs"]
        return {item["dag_run_id"] for item in listed}

    # Runs the module's other tests left queued (a wave queues the next one; dag.test()
    # runs only its own) are failed first, through the API, so the event has none active.
    listed = requests.get(runs, headers=signed_in, timeout=10).json()["dag_runs"]
    for item in listed:
        if item["state"] in ("queued", "running"):
            failed = requests.patch(f"{runs}/{item['dag_run_id']}", json={"state": "failed"},
                                    headers=signed_in, timeout=10)  # fmt: skip
            assert failed.status_code == 200, failed.text
            print(f"failed the run {item['dag_run_id']} left {item['state']}")
    before = run_ids()
    assert requests.post(f"{console}/start", timeout=10).status_code == 401
    started = requests.post(f"{console}/start", headers=signed_in, timeout=30)
    assert started.status_code == 200, started.text
    answer = started.json()
    assert answer["dag_run_triggered"] is True, answer
    assert run_ids() - before == {answer["dag_run_id"]}
    run = requests.get(f"{runs}/{answer['dag_run_id']}", headers=signed_in, timeout=10).json()
    assert run["conf"] == {"event_id": "expo"} and run["state"] in ("queued", "running")
    assert waves.marker_times(services, "expo")["start"] is not None

    time.sleep(1.1)  # the store's clock has seconds: the end marker is the newer one
    # The UI's cookie is a login too (a console opened from the Airflow UI).
    ended = requests.post(f"{console}/end", cookies={"_token": jwt}, timeout=30)
    assert ended.status_code == 200, ended.text
    assert waves.end_marker_seen(services, "expo")
    with services.catalog() as catalog:
        assert health.end_requested_at(catalog, "expo") is not None
    # The run queued at the start acts on the end marker: no second run.
    assert ended.json()["dag_run_triggered"] is False
    assert ended.json()["dag_run_id"] == run["dag_run_id"]
    assert run_ids() - before == {run["dag_run_id"]}
    again = requests.post(f"{console}/end", headers=signed_in, timeout=30)
    assert again.status_code == 400 and "already ended" in again.json()["message"]
