"""docker-compose.yaml agrees with the code (no Docker engine is needed to check that)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from scas_lib.settings import setting_names

ROOT = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def _environments() -> list[dict[str, str]]:
    found = []
    for service in COMPOSE["services"].values():
        environment = service.get("environment", {})
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        found.append(environment)
    return found


def test_every_scas_variable_is_a_real_setting() -> None:
    used = {name for env in _environments() for name in env if name.startswith("SCAS_")}
    assert used, "the compose file sets no SCAS_* variable"
    assert used - set(setting_names()) == set()


def test_the_app_gets_a_catalog_and_an_object_store() -> None:
    (scas_env,) = [env for env in _environments() if "SCAS_DATABASE_URL" in env]
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
        if re.search(r"(PASSWORD|SECRET)[A-Z_]*:\s*\S", line):
            assert "${" in line, f"literal secret in: {line.strip()}"


def test_every_variable_the_file_needs_is_in_env_example() -> None:
    needed = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "docker-compose.yaml").read_text()))
    example = (ROOT / ".env.example").read_text()
    assert {name for name in needed if f"{name}=" not in example} == set()
