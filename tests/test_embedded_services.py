"""`scas up` / `down` / `status` and the embedded servers' lifecycle, through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from scas_lib.catalog import Event
from scas_lib.services import resolve
from scas_lib.services.embedded import free_ports
from scas_lib.settings import Settings, setting_names

# Starts programs of its own (ffmpeg, an RTSP camera, Airflow, the scas command): not fast.
pytestmark = pytest.mark.programs


def scas(data_dir: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in setting_names()}
    env.update(SCAS_DATA_DIR=str(data_dir), SCAS_CONFIG_FILE="/nonexistent/scas.yaml", **extra_env)
    return subprocess.run(
        [sys.executable, "-m", "scas_lib.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def servers_running_under(data_dir: Path) -> list[str]:
    """Live (non-zombie) processes whose command line mentions ``data_dir``."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(data_dir) in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(cmdline)
    return found


def embedded_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url=None, s3_endpoint=None)


@pytest.fixture
def data_dir(tmp_path: Path):
    yield tmp_path
    scas(tmp_path, "down")  # never leave servers behind, even when a test fails


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = scas(tmp_path, "--help")
    assert result.returncode == 0
    for command in ("up", "down", "status", "db", "store"):
        assert command in result.stdout


def test_data_survives_down_and_up(data_dir: Path) -> None:
    up = scas(data_dir, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "applied migration 0001_initial" in up.stdout
    assert up.stdout.count("running") == 2
    assert servers_running_under(data_dir)

    services = resolve(embedded_settings(data_dir))
    with services.catalog() as catalog:
        catalog.events.upsert(Event(id="expo", name="Expo 2026"))
    services.object_store().put_bytes("recordings", "expo/_control/start", b"")

    down = scas(data_dir, "down")
    assert down.returncode == 0 and "postgres" in down.stdout and "seaweedfs" in down.stdout
    assert servers_running_under(data_dir) == []
    assert scas(data_dir, "status").stdout.count("stopped") == 2

    again = scas(data_dir, "up")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "applied migration" not in again.stdout
    services = resolve(embedded_settings(data_dir))
    with services.catalog() as catalog:
        event = catalog.events.get("expo")
        assert event is not None and event.name == "Expo 2026"
    assert services.object_store().exists("recordings", "expo/_control/start")


def test_a_command_that_starts_the_servers_stops_them(data_dir: Path) -> None:
    result = scas(data_dir, "db", "upgrade")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "applied 0001_initial" in result.stdout
    assert servers_running_under(data_dir) == []


def test_a_command_leaves_servers_started_by_up_running(data_dir: Path) -> None:
    assert scas(data_dir, "up").returncode == 0
    assert scas(data_dir, "store", "init").returncode == 0
    assert scas(data_dir, "status").stdout.count("running") == 2


def test_errors_are_one_clear_line(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    result = scas(
        tmp_path,
        "store", "init",
        SCAS_S3_ENDPOINT=f"http://127.0.0.1:{port}",
        SCAS_S3_ACCESS_KEY="key",
        SCAS_S3_SECRET_KEY="secret",
        SCAS_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
        SCAS_CONNECT_TIMEOUT_S="1",
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert f"error: cannot reach the object store at http://127.0.0.1:{port}" in result.stdout


def test_external_s3_without_keys_is_a_configuration_error(tmp_path: Path) -> None:
    result = scas(tmp_path, "store", "init", SCAS_S3_ENDPOINT="http://127.0.0.1:9000")
    assert result.returncode == 1
    assert "SCAS_S3_ACCESS_KEY" in result.stdout
