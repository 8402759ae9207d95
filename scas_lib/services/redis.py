"""Redis, the Celery broker of the loopback deployment: Debian's ``redis-server``.

Like the other embedded servers it lives under ``<data_dir>/redis/``, listens on 127.0.0.1
only, on a port chosen at first start and reused, and requires a password generated then
(kept in ``settings.json``, mode 0600; the server reads it from its own 0600 config file,
never from its command line). The broker holds only queued task messages, so nothing is
saved to disk: a restart loses what was queued, and the scheduler queues it again.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from typing import Any

import psutil

from scas_lib.errors import EmbeddedServiceError
from scas_lib.services.embedded import (
    EmbeddedService,
    free_ports,
    new_secret,
    port_is_free,
    terminate,
)

_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 15.0


def redis_binary() -> str:
    """Debian's ``redis-server`` (scripts/install-system-deps.sh installs it)."""
    found = shutil.which("redis-server")
    if found is None:
        raise EmbeddedServiceError(
            "redis-server is missing: run scripts/install-system-deps.sh (apt-get install "
            "redis-server)"
        )
    return found


class EmbeddedRedis(EmbeddedService):
    name = "redis"

    @property
    def _settings(self) -> dict[str, Any]:
        return self._load_settings({"port": free_ports(1)[0], "password": new_secret()})

    def url(self, database: int = 0) -> str:
        """The broker URL (it holds the password)."""
        settings = self._settings
        return f"redis://:{settings['password']}@127.0.0.1:{settings['port']}/{database}"

    def address(self) -> str:
        return f"redis://127.0.0.1:{self._settings['port']}"

    def _start(self) -> int:
        settings = self._settings
        if not port_is_free(settings["port"]):
            settings["port"] = free_ports(1)[0]
            self._save_settings(settings)
        config = self.home / "redis.conf"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(
                f"bind 127.0.0.1\nport {settings['port']}\nrequirepass {settings['password']}\n"
                f'dir "{self.home}"\nsave ""\nappendonly no\ndaemonize no\n'
                'protected-mode yes\nunixsocket ""\n'
            )
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log:
            process = subprocess.Popen(
                [redis_binary(), str(config)],
                cwd=self.home,
                umask=0o077,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C meant for the command stays with it
            )
        self._wait_until_serving(process, settings)
        return process.pid

    def _wait_until_serving(
        self, process: subprocess.Popen[bytes], settings: dict[str, Any]
    ) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise EmbeddedServiceError(
                    f"redis-server exited with code {process.returncode}:\n{self.log_tail()}"
                )
            if _pong(settings["port"], settings["password"]):
                return
            time.sleep(0.1)
        process.kill()
        process.wait()
        raise EmbeddedServiceError(f"redis-server did not answer:\n{self.log_tail()}")

    def _stop(self, pid: int) -> None:
        terminate(pid, _STOP_TIMEOUT_S)

    def _is_our_process(self, process: psutil.Process) -> bool:
        return process.name().startswith("redis-server") and str(self.home) in process.cwd()


def _pong(port: int, password: str) -> bool:
    """True if the server on ``port`` answers PING after AUTH (RESP, no client library)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(
                f"*2\r\n$4\r\nAUTH\r\n${len(password)}\r\n{password}\r\n*1\r\n$4\r\nPING\r\n".encode()
            )
            reply = b""
            while b"PONG" not in reply and len(reply) < 256:
                chunk = sock.recv(256)
                if not chunk:
                    break
                reply += chunk
            return b"+OK" in reply and b"+PONG" in reply
    except OSError:
        return False
