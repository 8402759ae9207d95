"""`scas serve` and `scas kiosk pair / list / revoke`, as an operator runs them: the real
command in its own process, on the test servers through ``SCAS_*`` settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from scas_lib.services import Services

from ..conftest import use_test_servers
from .conftest import EVENT

# Starts programs of its own (ffmpeg, an RTSP camera, Airflow, the scas command): not fast.
pytestmark = pytest.mark.programs

ROOT = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scas(*args: str) -> str:
    """Run the `scas` command; its output (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", "scas_lib.cli", *args], capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_scas_serve_serves_the_kiosk_that_scas_kiosk_pair_pairs_and_revoke_stops(
    services: Services, model_pack_dir: Path, events_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    use_test_servers(monkeypatch, services, model_pack_dir, tmp_path / "scas-data")
    port = free_port()
    monkeypatch.setenv("SCAS_PUBLIC_URL", f"http://127.0.0.1:{port}/scas")
    paired = scas("kiosk", "pair", "--event", EVENT, "--label", "entrance")
    link = next(line for line in paired.splitlines() if "?pair=" in line).strip()
    kiosk_id = paired.split()[1]
    assert link.startswith(f"http://127.0.0.1:{port}/scas/kiosk/{EVENT}?pair=scask_")

    server = subprocess.Popen(
        [sys.executable, "-m", "scas_lib.cli", "serve", "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "scas serve did not answer"
            try:
                if requests.get(f"http://127.0.0.1:{port}/scas/docs", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        # Only this machine, unless told otherwise (--host).
        listening = [
            c.laddr for c in psutil.Process(server.pid).net_connections("inet")
            if c.status == psutil.CONN_LISTEN
        ]  # fmt: skip
        assert listening and {address.ip for address in listening} == {"127.0.0.1"}
        kiosk = requests.Session()
        page = kiosk.get(link, timeout=10)
        assert page.status_code == 200 and page.url.endswith(f"/scas/kiosk/{EVENT}")
        assert 'id="kiosk-config"' in page.text
        assert "entrance" in scas("kiosk", "list", "--event", EVENT)

        assert f"kiosk {kiosk_id} revoked" in scas("kiosk", "revoke", kiosk_id)
        assert kiosk.get(page.url, timeout=10).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
