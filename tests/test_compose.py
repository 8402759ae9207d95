"""docker-compose.yaml agrees with the code (no Docker engine is needed to check that)."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from scas_lib.deploy.config import ENV_FILE, WORKERS, read_env_file, scas_connections, worker_spec
from scas_lib.deploy.loopback import LoopbackDeployment
from scas_lib.events import EVENTS_DIR_VARIABLE
from scas_lib.run import parameters
from scas_lib.settings import Settings, setting_names
from scas_lib.storage import S3Config

ROOT = Path(__file__).parents[1]
# Airflow puts plugins/ on sys.path; scas_airflow.connections imports no Airflow itself.
if str(ROOT / "plugins") not in sys.path:
    sys.path.insert(0, str(ROOT / "plugins"))
from scas_airflow.connections import POSTGRES_CONNECTION_ID, S3_CONNECTION_ID  # noqa: E402

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def _environments() -> list[dict[str, str]]:
    found = []
    for service in COMPOSE["services"].values():
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        found.append(environment)
    return found


SHARED = read_env_file()
#: Deployment variables of airflow.env, read by scas_lib.deploy (not SCAS settings).
DEPLOY_VARIABLES = {"SCAS_GPU_POOL_SLOTS"} | {
    f"SCAS_WORKER_{name.upper()}_{part}" for name in WORKERS for part in ("QUEUES", "CONCURRENCY")
}


def test_every_scas_variable_is_a_real_setting() -> None:
    used = {name for env in _environments() for name in env if name.startswith("SCAS_")}
    assert used, "the compose file sets no SCAS_* variable"
    # SCAS_EVENTS_DIR is read by scas_lib.events, for the DAG file, not a Settings field.
    assert used - set(setting_names()) - {EVENTS_DIR_VARIABLE} == set()
    shared = {name for name in SHARED if name.startswith("SCAS_")}
    assert shared - set(setting_names()) == DEPLOY_VARIABLES


def _scas_envs() -> list[dict[str, str]]:
    """The SCAS settings of the app's own services (scas-init, scas-ingest)."""
    return [
        service["environment"]
        for name, service in COMPOSE["services"].items()
        if name.startswith("scas-") and "SCAS_DATABASE_URL" in service.get("environment", {})
    ]


def test_the_app_gets_a_catalog_and_an_object_store() -> None:
    scas_envs = _scas_envs()
    assert scas_envs  # scas-init and scas-ingest
    for scas_env in scas_envs:
        assert "@postgres:5432/" in scas_env["SCAS_DATABASE_URL"]
        assert scas_env["SCAS_S3_ENDPOINT"] == "http://minio:9000"
        assert {"SCAS_S3_ACCESS_KEY", "SCAS_S3_SECRET_KEY"} <= set(scas_env)


def test_minio_console_is_published_on_9001() -> None:
    minio = COMPOSE["services"]["minio"]
    assert "--console-address" in minio["command"] and ":9001" in minio["command"]
    assert any(str(port).endswith("9001:9001") for port in minio["ports"])


def test_no_secret_is_written_in_the_file() -> None:
    text = (ROOT / "docker-compose.yaml").read_text()
    for line in text.splitlines():
        if re.search(r"(PASSWORD|SECRET)[A-Z_]*:\s*\S", line) and "_CMD:" not in line:
            assert "${" in line, f"literal secret in: {line.strip()}"


def test_every_variable_the_file_needs_is_in_env_example() -> None:
    # $${NAME} is an escaped dollar: the container's shell reads it, not compose.
    text = (ROOT / "docker-compose.yaml").read_text()
    needed = set(re.findall(r"(?<!\$)\$\{([A-Z_]+)", text))
    example = (ROOT / ".env.example").read_text()
    assert {name for name in needed if f"{name}=" not in example} == set()


# Airflow -------------------------------------------------------------------------------------

SERVICES = COMPOSE["services"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _command(service: str) -> str:
    command = SERVICES[service].get("command", "")
    return command if isinstance(command, str) else " ".join(command)


def _worker(service: str) -> str | None:
    """The worker a service starts (``python -m scas_lib.deploy.worker NAME``), if any."""
    found = re.fullmatch(r"python -m scas_lib\.deploy\.worker (\S+)", _command(service))
    return found.group(1) if found else None


def _queues(service: str) -> set[str]:
    return set(worker_spec(_worker(service) or "", SHARED).queues)


def _env(service: str) -> dict[str, str]:
    """What a service's processes see: the env files, then its ``environment``."""
    files = SERVICES[service].get("env_file", [])
    values: dict[str, str] = {}
    for name in [files] if isinstance(files, str) else files:
        values.update(read_env_file(ROOT / name))
    return {**values, **SERVICES[service].get("environment", {})}


def test_the_deployment_has_every_airflow_component() -> None:
    commands = {name: _command(name) for name in SERVICES}
    assert {"postgres", "minio", "redis", "airflow-init", "scas-init"} <= set(SERVICES)
    for command in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert [n for n, c in commands.items() if c == command], f"no service runs {command}"
    workers = [n for n in SERVICES if _worker(n)]
    assert len(workers) >= 2


def test_celery_workers_serve_the_queues_the_dags_use() -> None:
    workers = [n for n in SERVICES if _worker(n)]
    served = {q for n in workers if "profiles" not in SERVICES[n] for q in _queues(n)}
    assert {"default", parameters.GPU_QUEUE} <= served
    (gpu,) = [
        n for n in workers if _queues(n) == {parameters.GPU_QUEUE} and "profiles" not in SERVICES[n]
    ]
    devices = SERVICES[gpu]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    assert _env(gpu)["SCAS_ONNX_PROVIDER"] == "cuda"
    for name in workers:
        assert _env(name)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert _env(name)["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")


def test_the_init_services_make_what_the_dags_need() -> None:
    # airflow-init runs what `scas deploy up` runs: migration, connections, pool
    assert "python -m scas_lib.deploy.airflow_init --secrets /opt/airflow/secrets" in _command(
        "airflow-init"
    )
    connections = scas_connections(
        "postgresql://scas:pw@postgres:5432/scas", S3Config("http://minio:9000", "k", "s")
    )
    assert set(connections) == {S3_CONNECTION_ID, POSTGRES_CONNECTION_ID}
    init_env = _env("airflow-init")
    assert init_env["SCAS_S3_ENDPOINT"] == "http://minio:9000"
    assert "@postgres:5432/scas" in init_env["SCAS_DATABASE_URL"]
    assert int(init_env["SCAS_GPU_POOL_SLOTS"]) >= 1
    scas_init = _command("scas-init")
    assert "scas db upgrade" in scas_init and "scas store init" in scas_init


def test_airflow_finds_the_dags_plugins_and_event_files() -> None:
    env = _env("airflow-dag-processor")
    mounts = dict(v.split(":")[:2] for v in SERVICES["airflow-dag-processor"]["volumes"])
    assert mounts["./dags"] == "/opt/airflow/dags"
    assert mounts["./plugins"] == "/opt/airflow/plugins"
    assert env[EVENTS_DIR_VARIABLE] == mounts["./config"] + "/events"


def test_the_image_matches_the_python_and_airflow_pins() -> None:
    extra = PYPROJECT["project"]["optional-dependencies"]["airflow"]
    assert "celery<5.7" in extra
    (airflow_pin,) = [dep for dep in extra if dep.startswith("apache-airflow==")]
    version = airflow_pin.split("==")[1]
    python = re.search(r"3\.\d+", PYPROJECT["project"]["requires-python"]).group(0)
    dockerfile = SERVICES["airflow-scheduler"]["build"]["dockerfile_inline"]
    assert f"FROM apache/airflow:{version}-python{python}" in dockerfile
    assert '"/opt/scas[airflow]"' in dockerfile


# privacy and security ------------------------------------------------------------------------

SECRETS = [
    name
    for name, value in (
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    if "change-me" in value
]


def test_every_image_is_pinned() -> None:
    images = {s["image"] for s in SERVICES.values() if "image" in s}
    images |= set(
        re.findall(r"FROM (\S+)", SERVICES["airflow-scheduler"]["build"]["dockerfile_inline"])
    )
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest" and "/" not in tag, image


def test_every_port_is_published_on_localhost_only() -> None:
    ports = [str(p) for s in SERVICES.values() for p in s.get("ports", [])]
    assert ports
    assert [p for p in ports if not p.startswith("127.0.0.1:")] == []
    makefile = (ROOT / "Makefile").read_text()
    assert "AIRFLOW_API_HOST ?= 127.0.0.1" in makefile
    assert "AIRFLOW__API__HOST=$(AIRFLOW_API_HOST)" in makefile


def test_the_app_uses_its_own_limited_credentials_not_the_root_ones() -> None:
    root_secrets = ("MINIO_ROOT", "POSTGRES_PASSWORD")
    for scas_env in _scas_envs():
        assert scas_env["SCAS_S3_ACCESS_KEY"] == "scas-app"
        assert "MINIO_APP_PASSWORD" in scas_env["SCAS_S3_SECRET_KEY"]
        assert scas_env["SCAS_DATABASE_URL"].startswith("postgresql://scas:${CATALOG_DB_PASSWORD")
    airflow_db = _env("airflow-scheduler")["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "://airflow:${AIRFLOW_DB_PASSWORD" in airflow_db
    # the root credentials reach only the services that set up users, roles and buckets
    for name, service in SERVICES.items():
        env = json.dumps(service.get("environment", {}))
        if any(secret in env for secret in root_secrets):
            assert name in {"postgres", "minio", "db-init", "s3-init", "check-secrets"}, name
    assert _env("airflow-init")["SCAS_S3_ACCESS_KEY"] == "scas-app"
    policy = json.loads((ROOT / "deploy" / "minio-scas-policy.json").read_text())
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert resources - {"arn:aws:s3:::*"} == {
        f"arn:aws:s3:::{bucket}{rest}"
        for bucket in ("recordings", "enrollments", "highlights")
        for rest in ("", "/*")
    }
    listing = [s for s in policy["Statement"] if "arn:aws:s3:::*" in s["Resource"]]
    assert [s["Action"] for s in listing] == [["s3:ListAllMyBuckets"]]
    user_script = (ROOT / "deploy" / "minio-scas-user.sh").read_text()
    assert "mc admin user add root scas-app" in user_script
    assert "mc admin policy attach root scas-app --user scas-app" in user_script
    roles = (ROOT / "deploy" / "postgres-roles.sh").read_text()
    assert "ALTER ROLE scas WITH LOGIN NOSUPERUSER" in roles
    assert "ALTER ROLE airflow WITH LOGIN NOSUPERUSER" in roles


def test_nothing_starts_before_the_secrets_are_checked() -> None:
    check = SERVICES["check-secrets"]
    assert sorted(check["command"]) == sorted(SECRETS)
    assert "/deploy/check-secrets.sh" in check["entrypoint"]
    for name in ("postgres", "minio"):
        condition = SERVICES[name]["depends_on"]["check-secrets"]["condition"]
        assert condition == "service_completed_successfully"


def _check_secrets(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ROOT / "deploy" / "check-secrets.sh"), *SECRETS],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_ingest_service_records_the_event_from_the_event_files() -> None:
    ingest = SERVICES["scas-ingest"]
    assert "scas ingest --event" in _command("scas-ingest")
    assert ingest["environment"][EVENTS_DIR_VARIABLE].startswith("/opt/scas/config")
    assert any(volume.startswith("./config:/opt/scas/config") for volume in ingest["volumes"])
    assert ingest["depends_on"]["scas-init"]["condition"] == "service_completed_successfully"


@pytest.mark.programs
def test_the_secrets_check_refuses_the_placeholders_and_accepts_real_secrets() -> None:
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    refused = _check_secrets(example)
    assert refused.returncode == 1
    assert [name for name in SECRETS if name not in refused.stderr] == []

    real = {name: secrets.token_urlsafe(24) for name in SECRETS}
    accepted = _check_secrets(real)
    assert accepted.returncode == 0, accepted.stderr

    one_short = _check_secrets({**real, "MINIO_APP_PASSWORD": "short"})
    assert one_short.returncode == 1 and "MINIO_APP_PASSWORD" in one_short.stderr
    missing = _check_secrets({k: v for k, v in real.items() if k != "CATALOG_DB_PASSWORD"})
    assert missing.returncode == 1 and "CATALOG_DB_PASSWORD is not set" in missing.stderr


# one source of settings for compose and the loopback deployment ---------------------------


def test_compose_and_the_loopback_deployment_share_the_airflow_settings(tmp_path: Path) -> None:
    airflow = [
        name
        for name, service in SERVICES.items()
        if "AIRFLOW__CORE__EXECUTION_API_SERVER_URL" in service.get("environment", {})
    ]
    assert {"airflow-init", "airflow-scheduler", "airflow-worker"} <= set(airflow)
    for name in airflow:
        assert SERVICES[name]["env_file"] == [str(ENV_FILE.relative_to(ROOT))], name
        # compose sets addresses and secrets on top of the shared file, and overrides nothing
        own = SERVICES[name].get("environment", {})
        assert [k for k in set(SHARED) & set(own) if own[k] != SHARED[k]] == [], name
    assert SHARED["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert worker_spec("gpu", SHARED).queues == (parameters.GPU_QUEUE,)
    assert worker_spec("default", SHARED).queues == (SHARED["AIRFLOW__OPERATORS__DEFAULT_QUEUE"],)
    loopback = LoopbackDeployment(Settings(data_dir=tmp_path), root=ROOT).environment()
    assert {k: loopback[k] for k in SHARED} == SHARED
    # no secret in the loopback processes' environment: they read the files
    assert not [k for k in loopback if k.endswith(("_CONN", "BROKER_URL", "RESULT_BACKEND"))]
