"""Settings: environment over YAML over defaults; secrets never printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from scas_lib.settings import Settings, setting_names


def test_defaults_select_the_embedded_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SCAS_CONFIG_FILE", "/nonexistent/scas.yaml")
    settings = Settings()
    assert settings.database_url is None and settings.s3_endpoint is None
    assert settings.bucket_recordings == "recordings"
    assert settings.data_dir.is_absolute()


def test_environment_overrides_yaml_which_overrides_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "scas.yaml"
    config.write_text("presign_expiry_s: 120\nbucket_highlights: videos\n")
    monkeypatch.setenv("SCAS_CONFIG_FILE", str(config))
    monkeypatch.setenv("SCAS_PRESIGN_EXPIRY_S", "60")

    settings = Settings()

    assert settings.presign_expiry_s == 60  # environment wins
    assert settings.bucket_highlights == "videos"  # from the YAML file
    assert settings.bucket_recordings == "recordings"  # default


def test_unknown_yaml_setting_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "scas.yaml"
    config.write_text("presign_expiry: 120\n")  # misspelt
    monkeypatch.setenv("SCAS_CONFIG_FILE", str(config))
    with pytest.raises(ValidationError, match="presign_expiry"):
        Settings()


def test_bad_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCAS_S3_ENDPOINT", "minio:9000")
    with pytest.raises(ValidationError, match="http://"):
        Settings()


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCAS_DATABASE_URL", "postgresql://scas:hunter2@db/scas")
    monkeypatch.setenv("SCAS_S3_SECRET_KEY", "s3cr3t-value")
    settings = Settings()
    shown = f"{settings!r} {settings} {settings.model_dump_json()}"
    assert "hunter2" not in shown and "s3cr3t-value" not in shown
    assert settings.s3_secret_key is not None
    assert settings.s3_secret_key.get_secret_value() == "s3cr3t-value"


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [name for name in setting_names() if f"`{name}`" not in readme]
    assert missing == []
