"""The embedded PostgreSQL 16 (+ pgvector) from the ``pgserver`` wheel.

Only the wheel's binaries are used: ``pgserver``'s own server object stops the server when
the Python process that started it exits, while SCAS wants a server that outlives a command
(``scas up``). The server listens on 127.0.0.1 only, with password authentication; the
password is generated at first start and kept in ``settings.json`` (mode 0600).

PostgreSQL refuses to run as root, so under root the server runs as the system user
``pgserver`` (created if missing, as the ``pgserver`` package itself does).
"""

from __future__ import annotations

import os
import pwd
import subprocess
import warnings
from pathlib import Path
from typing import Any

import psutil
import psycopg2

with warnings.catch_warnings():
    # Importing pgserver looks up an XDG runtime directory SCAS does not use.
    warnings.simplefilter("ignore")
    from pgserver._commands import POSTGRES_BIN_PATH

from scas_lib.errors import EmbeddedServiceError
from scas_lib.services.embedded import EmbeddedService, free_ports, new_secret, port_is_free
from scas_lib.services.private import grant_path, private_dir

DATABASE_NAME = "scas"
SUPERUSER = "postgres"
_SYSTEM_USER_WHEN_ROOT = "pgserver"


class EmbeddedPostgres(EmbeddedService):
    name = "postgres"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.pgdata = self.home / "pgdata"

    @property
    def _settings(self) -> dict[str, Any]:
        return self._load_settings({"port": free_ports(1)[0], "password": new_secret()})

    def url(self, database: str = DATABASE_NAME) -> str:
        """libpq URL of a database on this server (it holds the password)."""
        settings = self._settings
        return (
            f"postgresql://{SUPERUSER}:{settings['password']}@127.0.0.1:{settings['port']}/"
            f"{database}"
        )

    def address(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self._settings['port']}/{DATABASE_NAME}"

    # lifecycle --------------------------------------------------------------------------------

    def _start(self) -> int:
        self.home.mkdir(parents=True, exist_ok=True)
        run_as = _prepare_system_user(self.home)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(run_as)
        settings = self._settings
        if not port_is_free(settings["port"]):
            settings["port"] = free_ports(1)[0]
            self._save_settings(settings)
        self._pg_ctl(
            run_as,
            "-l", str(self.log_path),
            "-w", "-t", "60",
            # A WAL segment no longer needed is deleted, not recycled with its old records
            # in it: a forgotten visitor's name leaves the WAL (catalog.scrub).
            "-o", f"-p {settings['port']} -c wal_recycle=off",
            "start",
        )  # fmt: skip
        pid = _postmaster_pid(self.pgdata)
        if pid is None:
            raise EmbeddedServiceError(f"PostgreSQL did not start:\n{self.log_tail()}")
        self._create_database()
        return pid

    def _stop(self, pid: int) -> None:
        self._pg_ctl(_prepare_system_user(self.home), "-m", "fast", "-w", "-t", "60", "stop")

    def _is_our_process(self, process: psutil.Process) -> bool:
        return process.name() == "postgres" and str(self.pgdata) in " ".join(process.cmdline())

    # helpers ----------------------------------------------------------------------------------

    def _initdb(self, run_as: str | None) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        password_file = self.home / "initdb.pw"
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(self._settings["password"])
        if run_as:
            for path in (self.pgdata, password_file):
                user = pwd.getpwnam(run_as)
                os.chown(path, user.pw_uid, user.pw_gid)
        try:
            _run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D", str(self.pgdata),
                    "-U", SUPERUSER,
                    f"--pwfile={password_file}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-instructions",
                ],
                run_as,
                "initdb",
            )  # fmt: skip
        finally:
            password_file.unlink(missing_ok=True)
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            # TCP on loopback only; no Unix socket, whose path length limit the data
            # directory could exceed.
            conf.write("\n# SCAS embedded server\nlisten_addresses = '127.0.0.1'\n")
            conf.write("unix_socket_directories = ''\n")

    def _pg_ctl(self, run_as: str | None, *args: str) -> None:
        _run([str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), *args], run_as, "pg_ctl")

    def _create_database(self) -> None:
        conn = psycopg2.connect(self.url("postgres"), connect_timeout=10)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        finally:
            conn.close()


def _run(command: list[str], run_as: str | None, what: str) -> None:
    # A new session: the server must not get the Ctrl-C meant for the command that started it.
    result = subprocess.run(
        command,
        user=run_as,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise EmbeddedServiceError(f"{what} failed ({result.returncode}):\n{result.stdout}")


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _prepare_system_user(home: Path) -> str | None:
    """Under root, the user to run PostgreSQL as, with access to ``home`` and the binaries.

    Nothing is widened for other users: ``home`` and the data directory stay 0700, and the
    system user gets pass-through (an ACL entry naming it) on the folders it must cross."""
    if os.geteuid() != 0:
        return None
    from pgserver.utils import ensure_folder_permissions, ensure_user_exists

    user = ensure_user_exists(_SYSTEM_USER_WHEN_ROOT) or pwd.getpwnam(_SYSTEM_USER_WHEN_ROOT)
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    private_dir(home)
    grant_path(home, user.pw_uid, groups)
    grant_path(POSTGRES_BIN_PATH, user.pw_uid, groups)
    # The wheel's own binaries and libraries (no data of SCAS's), readable by the user.
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", 0o044)
    log = home / "server.log"
    log.touch(mode=0o600, exist_ok=True)
    os.chown(log, user.pw_uid, user.pw_gid)
    log.chmod(0o600)
    return _SYSTEM_USER_WHEN_ROOT
