"""A long video analysed by the ``scas_analysis`` DAG's mapped recognition tasks, with
``dag.test()`` against the real PostgreSQL and S3 test servers (the Airflow set-up of
test_airflow.py), and uploaded through the console in Airflow's own API server."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from scas_lib.analysis.stage import analyze_file, event_gallery
from scas_lib.faces.engine import FaceEngine
from scas_lib.services import Services
from scas_lib.storage import keys

from .test_airflow import _dag, _serialize_dags, _states, airflow_db, dag_env  # noqa: F401
from .test_analysis import long_scenes, scenes  # noqa: F401

PIECE_S = 4  # the 12 s video: pieces at 0, 4 and 8 s


def _labels_by_frame(seconds: list[dict[str, Any]]) -> dict[float, list[str]]:
    return {
        round(frame["offset_s"], 3): sorted(face["label"] for face in frame["faces"])
        for second in seconds
        for frame in second["frames"]
    }


@pytest.fixture
def analysed_here(footage: FaceEngine, long_scenes: Path, tmp_path: Path) -> dict[str, Any]:  # noqa: F811
    """The video analysed whole in this process: what the DAG's pieces must add up to."""
    gallery, names = event_gallery(None, footage, None)
    outcome = analyze_file(long_scenes, tmp_path / "here", footage, gallery, names, piece_s=60)
    record: dict[str, Any] = json.loads(outcome.json.read_text())
    return record


def test_the_dag_recognises_each_piece_in_a_mapped_gpu_task_and_annotates_the_whole(
    airflow_db: None,  # noqa: F811
    dag_env: Services,  # noqa: F811
    long_scenes: Path,  # noqa: F811
    analysed_here: dict[str, Any],
) -> None:
    store, bucket = dag_env.object_store(), dag_env.settings.bucket_analyses
    analysis_id = uuid.uuid4().hex[:16]
    source_key = f"{keys.analysis_prefix(analysis_id)}source.mp4"
    store.put_file(bucket, source_key, long_scenes)
    conf = {"analysis_id": analysis_id, "source_key": source_key, "event_id": None,
            "piece_s": PIECE_S}  # fmt: skip

    dag = _dag("scas_analysis")
    assert (dag.get_task("recognize").queue, dag.get_task("recognize").pool) == ("gpu", "gpu")
    run = dag.test(run_conf=conf)

    assert str(run.state) == "success"
    states = _states(run)
    assert {k: v for k, v in states.items() if k[0] == "recognize"} == {
        ("recognize", index): "success" for index in range(3)
    }
    prefix = keys.analysis_prefix(analysis_id)
    left = sorted(o.key.removeprefix(prefix) for o in store.list(bucket, prefix))
    assert left == ["result/source.analysis.json", "result/source.annotated.mp4",
                    "result/source.jpg", "source.mp4"]  # fmt: skip
    record = json.loads(store.get_bytes(bucket, f"{prefix}result/source.analysis.json"))
    assert record["people"] == analysed_here["people"] == ["unknown #1", "unknown #2"]
    assert _labels_by_frame(record["seconds"]) == _labels_by_frame(analysed_here["seconds"])

    # Run again (a retried run): the same results, nothing more.
    again = dag.test(run_conf=conf)
    assert str(again.state) == "success"
    assert sorted(o.key.removeprefix(prefix) for o in store.list(bucket, prefix)) == left
    store.remove_prefix(bucket, prefix)


def test_a_long_upload_in_the_console_inside_airflow_is_analysed_by_the_dag(
    airflow_db: None,  # noqa: F811
    dag_env: Services,  # noqa: F811
    long_scenes: Path,  # noqa: F811
    analysed_here: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The console of Airflow's API server (the ``scas_web`` plugin) triggers a run of
    ``scas_analysis`` for an upload longer than 1.5 pieces, through that server's REST
    API. No scheduler runs here: the test plays its part, running the triggered run's conf
    with ``dag.test()`` (the real tasks); the console follows the bucket, fetches the
    results and deletes the bucket's copy."""
    import requests
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.plugins_manager import get_fastapi_plugins

    from .web.conftest import run_uvicorn

    monkeypatch.setenv("SCAS_ANALYSIS_PIECE_S", str(PIECE_S))
    # The plugin builds its app once per process, at its first request: an earlier test's
    # request built it with that test's settings and servers, so it is built anew here.
    (scas_app,) = [app["app"] for app in get_fastapi_plugins()[0] if app["name"] == "SCAS"]
    monkeypatch.setattr(scas_app, "_app", None)
    _serialize_dags()
    jwt = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    signed_in = {"Authorization": f"Bearer {jwt}"}
    runs_url = "/api/v2/dags/scas_analysis/dagRuns"
    with run_uvicorn(create_app()) as base:

        def runs() -> list[dict[str, Any]]:
            reply = requests.get(f"{base}{runs_url}", headers=signed_in, timeout=10)
            listed: list[dict[str, Any]] = reply.json()["dag_runs"]
            return listed

        before = {run["dag_run_id"] for run in runs()}
        with open(long_scenes, "rb") as video:
            uploaded = requests.post(
                f"{base}/scas/api/analyses", headers=signed_in,
                files={"file": ("long.mp4", video, "video/mp4")}, timeout=60,
            )  # fmt: skip
        assert uploaded.status_code == 202, uploaded.text
        analysis_id = uploaded.json()["id"]
        deadline = time.monotonic() + 120
        while not (triggered := [r for r in runs() if r["dag_run_id"] not in before]):
            assert time.monotonic() < deadline, "the console triggered no run"
            time.sleep(0.5)
        (run,) = triggered
        assert run["conf"]["analysis_id"] == analysis_id

        # The scheduler's part: the run's tasks, as a worker runs them.
        assert str(_dag("scas_analysis").test(run_conf=run["conf"]).state) == "success"

        entry_url = f"{base}/scas/api/analyses/{analysis_id}"
        while (entry := requests.get(entry_url, headers=signed_in, timeout=10).json())["progress"][
            "phase"
        ] not in ("done", "failed"):
            assert time.monotonic() < deadline + 300, entry
            time.sleep(0.5)
        assert entry["progress"]["phase"] == "done", entry
        assert entry["people"] == analysed_here["people"]
        downloaded = requests.get(f"{entry_url}/json", headers=signed_in, timeout=10).json()
        assert _labels_by_frame(downloaded["seconds"]) == _labels_by_frame(analysed_here["seconds"])
        video = requests.get(f"{entry_url}/hls/index.m3u8", headers=signed_in, timeout=10)
        assert video.status_code == 200 and "#EXTM3U" in video.text
        # Nothing of it is left in the bucket.
        bucket = dag_env.settings.bucket_analyses
        assert dag_env.object_store().list(bucket, keys.analysis_prefix(analysis_id)) == []
        # The triggered run, which no scheduler will run, is failed through the API.
        failed = requests.patch(f"{base}{runs_url}/{run['dag_run_id']}", json={"state": "failed"},
                                headers=signed_in, timeout=10)  # fmt: skip
        assert failed.status_code == 200, failed.text
