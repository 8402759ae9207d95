"""The loopback deployment (``scas deploy up|down``): the compose shape on this machine,
run for real. One test, because bringing it up costs about half a minute: up, an event's
DAG triggered through the REST API with a token and a conf, run to the end by the Celery
workers, and down, leaving no process behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from scas_lib.deploy.api import AirflowApi, TaskInstanceRecord
from scas_lib.deploy.loopback import LoopbackDeployment
from scas_lib.events import EventConfig
from scas_lib.faces.engine import FaceEngine
from scas_lib.run.recognition import segment_batches
from scas_lib.services import EmbeddedPostgres, EmbeddedSeaweedFS, runtime
from scas_lib.services.redis import EmbeddedRedis
from scas_lib.settings import Settings
from scas_lib.simulation.generate import GeneratedEvent
from scas_lib.simulation.replay import replay_event
from scas_lib.storage import keys

from .conftest import enroll_event_visitors

# Starts programs of its own (ffmpeg, an RTSP camera, Airflow, the scas command): not fast.
pytestmark = pytest.mark.programs

ROOT = Path(__file__).parents[1]
EVENT_FILE = """\
id: expo
name: Expo (deployment test)
cameras: [{id: cam1}, {id: cam2}, {id: cam3}]
poll_interval_s: 1
retry_delay_s: 1
recognize_batch: 4
"""


def _scas(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scas_lib.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _by_task(instances: list[TaskInstanceRecord], task_id: str) -> list[TaskInstanceRecord]:
    return [ti for ti in instances if ti.task_id == task_id]


def test_the_loopback_deployment_runs_an_event_on_its_celery_workers_and_stops_clean(
    event: GeneratedEvent, engine: FaceEngine, model_pack_dir: Path, tmp_path: Path
) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (events / "expo.yaml").write_text(EVENT_FILE)
    values = {
        "SCAS_DATA_DIR": str(tmp_path / "data"),
        "SCAS_MODELS_DIR": str(model_pack_dir.parent),
        "SCAS_MODEL_PACK": model_pack_dir.name,
        "SCAS_ONNX_PROVIDER": "cpu",
        "SCAS_EVENTS_DIR": str(events),
    }
    env = {**os.environ, **values, "PYTHONPATH": str(ROOT)}
    settings = Settings(
        data_dir=tmp_path / "data",
        models_dir=model_pack_dir.parent,
        model_pack=model_pack_dir.name,
        onnx_provider="cpu",
    )
    deployment = LoopbackDeployment(settings, root=ROOT, events_dir=events)
    timings: dict[str, float] = {}
    started = time.monotonic()
    up = _scas(env, "deploy", "up")
    timings["up"] = time.monotonic() - started
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        servers = [
            EmbeddedPostgres(settings.data_dir).running_pid(),
            EmbeddedSeaweedFS(settings.data_dir).running_pid(),
            EmbeddedRedis(settings.data_dir).running_pid(),
        ]
        assert all(servers), servers
        running = {item.name for item in deployment.status() if item.state == "running"}
        assert {"api-server", "scheduler", "dag-processor", "triggerer"} < running, running
        assert {"worker-default", "worker-gpu"} < running, running
        workers = [" ".join(p.cmdline()) for p in deployment.processes()]
        workers = [name for name in workers if "celery worker" in name]
        assert any("--queues gpu " in n for n in workers), workers
        assert any("--queues default " in n for n in workers), workers

        services = runtime.resolve(settings)
        enroll_event_visitors(services, event, engine)
        replay_event(event.directory, services.object_store(), settings.bucket_recordings, speed=0)
        api = AirflowApi(deployment.api_url, "admin", deployment.admin_password())
        deadline = time.monotonic() + 120
        while not api.dag_exists("scas_expo"):  # the dag-processor's first parse
            assert time.monotonic() < deadline, "scas_expo never appeared"
            time.sleep(1)

        # The SCAS web app inside the deployed API server: operators need the Airflow login.
        assert api.http_status("/scas/api/events") == 200
        assert api.http_status("/scas/api/events", signed_in=False) == 401

        triggered = time.monotonic()
        run = api.trigger("scas_expo", {"event_id": "expo"})
        finished = api.wait("scas_expo", run.run_id, timeout_s=600)
        timings["run"] = time.monotonic() - triggered

        instances = api.task_instances("scas_expo", run.run_id)
        states = {(ti.task_id, ti.map_index): ti.state for ti in instances}
        assert finished.state == "success", states
        assert finished.conf == {"event_id": "expo"}
        # One recognize task per batch of segments (recognize_batch), each on the gpu worker,
        # each with a timing record per segment it recognized.
        recognized = _by_task(instances, "recognize")
        config = EventConfig.model_validate(yaml.safe_load(EVENT_FILE))
        batches = segment_batches([s.key for s in event.segments], config)
        assert 1 < len(recognized) == len(batches) < len(event.segments)
        timed = []
        for ti in recognized:
            assert (ti.state, ti.queue) == ("success", "gpu"), ti
            assert ti.hostname.startswith("gpu@"), ti
            value = api.task_value("scas_expo", run.run_id, "recognize", ti.map_index)
            assert [t["first"] for t in value["timings"]] == [True] + [False] * (
                len(value["timings"]) - 1
            )
            timed += [t["key"] for t in value["timings"]]
        assert sorted(timed) == sorted(s.key for s in event.segments)
        rendered = _by_task(instances, "render")
        assert rendered
        for ti in rendered:
            assert (ti.state, ti.queue) == ("success", "default"), ti
            assert ti.hostname.startswith("default@"), ti
        assert _by_task(instances, "publish")[0].state == "success"

        with services.catalog() as catalog:
            outputs = catalog.outputs.for_event("expo")
            assert catalog.events.get("expo").status == "done"
        with_video = [o for o in outputs if o.status == "done"]
        assert len(with_video) == len(rendered)
        store = services.object_store()
        for output in with_video:
            assert output.object_key == keys.highlight_key("expo", output.visitor_id)
            assert store.stat(settings.bucket_highlights, output.object_key).size > 10_000
    finally:
        family = deployment.processes()
        family += [c for p in family for c in p.children(recursive=True)]
        pids = [
            pid
            for pid in (
                EmbeddedPostgres(settings.data_dir).running_pid(),
                EmbeddedSeaweedFS(settings.data_dir).running_pid(),
                EmbeddedRedis(settings.data_dir).running_pid(),
            )
            if pid
        ]
        stopping = time.monotonic()
        down = _scas(env, "deploy", "down")
        timings["down"] = time.monotonic() - stopping
        print(f"deployment timings (s): {timings}")

    assert down.returncode == 0, down.stdout + down.stderr
    assert "api-server" in down.stdout and "redis" in down.stdout
    assert deployment.processes() == []
    assert [p.pid for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert [pid for pid in pids if psutil.pid_exists(pid)] == []
