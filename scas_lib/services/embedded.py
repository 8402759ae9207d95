"""Lifecycle shared by the embedded servers: start once, share, stop when nobody needs them.

An embedded server lives under ``<data_dir>/<name>/`` with:

- ``settings.json`` (mode 0600): ports and credentials chosen at first start and reused, so
  the addresses and keys stay the same across ``scas down`` / ``scas up``;
- ``state.json``: the running server's pid, whether ``scas up`` owns it (``persistent``),
  and the pids of commands that started or joined it for themselves (``users``);
- ``server.log`` and the server's data.

The data directory and every home are 0700 and their files 0600 (:mod:`.private`): a
kiosk photo or an embedding is readable by SCAS's user only.

A command that needs a server *acquires* it: it joins a running one, or starts one. When it
*releases* it, the server is stopped only if ``scas up`` did not ask for it and no other live
command still uses it. ``scas up`` acquires persistently; ``scas down`` stops it regardless.
A file lock serialises these steps across processes.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import signal
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from scas_lib.services.private import make_private, private_dir


@dataclass
class RunState:
    pid: int
    persistent: bool
    users: list[int] = field(default_factory=list)


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct TCP ports that are free on ``host`` right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if a server could listen on ``port`` (connections in TIME_WAIT don't count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def new_secret() -> str:
    """A random credential safe in URLs and command lines."""
    return secrets.token_urlsafe(24)


def terminate(pid: int, timeout_s: float) -> None:
    """Stop a server process: SIGTERM, up to ``timeout_s`` to exit, then SIGKILL (a process
    already gone is stopped too)."""
    try:
        process = psutil.Process(pid)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout_s)
    except psutil.TimeoutExpired:
        process.kill()
        process.wait(5)
    except psutil.NoSuchProcess:
        pass


class EmbeddedService(ABC):
    """One embedded server under ``<data_dir>/<name>``."""

    #: Directory name under the data directory, also used in messages.
    name: str

    def __init__(self, data_dir: Path) -> None:
        self.home = Path(data_dir) / self.name
        self.log_path = self.home / "server.log"
        self._state_path = self.home / "state.json"
        self._settings_path = self.home / "settings.json"
        self._lock_path = self.home / ".lock"

    # what each server defines -------------------------------------------------------------

    @abstractmethod
    def _start(self) -> int:
        """Start the server detached from this process; return its pid once it serves."""

    @abstractmethod
    def _stop(self, pid: int) -> None:
        """Stop the server with this pid and wait until it has exited."""

    @abstractmethod
    def _is_our_process(self, process: psutil.Process) -> bool:
        """True if ``process`` is this server (guards against a recycled pid)."""

    @abstractmethod
    def address(self) -> str:
        """Where clients reach it, without secrets."""

    # shared lifecycle ---------------------------------------------------------------------

    def acquire(self, *, persistent: bool) -> bool:
        """Make sure the server runs and register this process as a user of it.

        Returns True if this call started it.
        """
        with self._locked():
            state = self._live_state()
            started = state is None
            if state is None:
                make_private(self.home)
                state = RunState(pid=self._start(), persistent=persistent)
            state.persistent = state.persistent or persistent
            if not persistent and os.getpid() not in state.users:
                state.users.append(os.getpid())
            self._write_state(state)
            return started

    def release(self) -> bool:
        """Unregister this process; stop the server if nobody needs it. True if stopped."""
        with self._locked():
            state = self._live_state()
            if state is None:
                return False
            state.users = [pid for pid in state.users if pid != os.getpid()]
            if state.persistent or state.users:
                self._write_state(state)
                return False
            self._stop(state.pid)
            self._state_path.unlink(missing_ok=True)
            return True

    def stop(self) -> bool:
        """Stop the server whoever started it (``scas down``). True if it was running."""
        with self._locked():
            state = self._live_state()
            if state is not None:
                self._stop(state.pid)
            self._state_path.unlink(missing_ok=True)
            return state is not None

    def running_pid(self) -> int | None:
        """The server's pid if it is running, without changing anything."""
        state = self._read_state()
        return state.pid if state and self._alive(state.pid) else None

    @contextmanager
    def running(self) -> Iterator[EmbeddedService]:
        """Use the server for the duration of a block (joining or starting it)."""
        self.acquire(persistent=False)
        try:
            yield self
        finally:
            self.release()

    # persisted settings ---------------------------------------------------------------------

    def _load_settings(self, defaults: dict[str, Any]) -> dict[str, Any]:
        """Settings chosen at first start, created from ``defaults`` the first time."""
        if self._settings_path.exists():
            saved: dict[str, Any] = json.loads(self._settings_path.read_text())
            return saved
        self._save_settings(defaults)
        return defaults

    def _save_settings(self, values: dict[str, Any]) -> None:
        private_dir(self.home)
        temporary = self._settings_path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(values, file, indent=2)
        temporary.replace(self._settings_path)

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # internals ------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        private_dir(self.home.parent)
        private_dir(self.home)
        fd = os.open(self._lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _read_state(self) -> RunState | None:
        if not self._state_path.exists():
            return None
        try:
            return RunState(**json.loads(self._state_path.read_text()))
        except (ValueError, TypeError):
            return None

    def _write_state(self, state: RunState) -> None:
        temporary = self._state_path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(asdict(state), file)
        temporary.replace(self._state_path)

    def _live_state(self) -> RunState | None:
        """The state of a running server, users pruned to live processes; else None."""
        state = self._read_state()
        if state is None or not self._alive(state.pid):
            return None
        state.users = [pid for pid in state.users if psutil.pid_exists(pid)]
        return state

    def _alive(self, pid: int) -> bool:
        try:
            process = psutil.Process(pid)
            return process.status() != psutil.STATUS_ZOMBIE and self._is_our_process(process)
        except psutil.Error:
            return False
