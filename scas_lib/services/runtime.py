"""Where the catalog and the object store are: configured servers or the embedded defaults.

Every command that needs them goes through :func:`open_services`, which yields the
endpoints and, for each part left unconfigured, joins the embedded server that ``scas up``
keeps running or starts one for the duration of the block. A command that started a server
for itself stops it on the way out, so nothing is left running.

Example::

    with open_services(Settings()) as services, services.catalog() as catalog:
        catalog.events.upsert(Event(id="expo", name="Expo 2026"))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from scas_lib.catalog import Catalog, describe_url, migrate
from scas_lib.errors import ConfigurationError
from scas_lib.services.embedded import EmbeddedService
from scas_lib.services.postgres import EmbeddedPostgres
from scas_lib.services.seaweedfs import EmbeddedSeaweedFS, SeaweedMaster
from scas_lib.settings import Settings
from scas_lib.storage import ObjectStore, S3Config


@dataclass(frozen=True)
class Services:
    """The endpoints one command works against."""

    settings: Settings
    database_url: str = field(repr=False)
    s3: S3Config
    #: The embedded SeaweedFS master, whose volumes must be compacted after a deletion
    #: (:func:`~scas_lib.services.seaweedfs.vacuum`); None for another S3 server.
    seaweed_master: SeaweedMaster | None = None

    def catalog(self) -> Catalog:
        return Catalog.connect(self.database_url, timeout_s=self.settings.connect_timeout_s)

    def object_store(self) -> ObjectStore:
        return ObjectStore(self.s3)

    @property
    def buckets(self) -> tuple[str, ...]:
        """Every bucket SCAS writes (one name may stand for several)."""
        names = (
            self.settings.bucket_recordings,
            self.settings.bucket_enrollments,
            self.settings.bucket_highlights,
            self.settings.bucket_analyses,
        )
        return tuple(dict.fromkeys(names))


def embedded_postgres(settings: Settings) -> EmbeddedPostgres | None:
    """The embedded PostgreSQL, or None when ``SCAS_DATABASE_URL`` names a server."""
    return None if settings.database_url else EmbeddedPostgres(settings.data_dir)


def embedded_s3(settings: Settings) -> EmbeddedSeaweedFS | None:
    """The embedded SeaweedFS, or None when ``SCAS_S3_ENDPOINT`` names a server."""
    return None if settings.s3_endpoint else EmbeddedSeaweedFS(settings.data_dir)


def embedded_services(settings: Settings) -> list[EmbeddedService]:
    return [svc for svc in (embedded_postgres(settings), embedded_s3(settings)) if svc]


def resolve(settings: Settings) -> Services:
    """The endpoints the settings select (embedded ones need not be running yet)."""
    postgres = embedded_postgres(settings)
    if postgres is not None:
        database_url = postgres.url()
    else:
        assert settings.database_url is not None  # no embedded server: the URL names one
        database_url = settings.database_url.get_secret_value()
    seaweed = embedded_s3(settings)
    if seaweed:
        s3 = seaweed.s3_config(timeout_s=settings.connect_timeout_s)
    else:
        if not settings.s3_access_key or not settings.s3_secret_key:
            raise ConfigurationError(
                "SCAS_S3_ENDPOINT is set but SCAS_S3_ACCESS_KEY or SCAS_S3_SECRET_KEY is not"
            )
        assert settings.s3_endpoint is not None  # no embedded server: the endpoint names one
        s3 = S3Config(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            region=settings.s3_region,
            timeout_s=settings.connect_timeout_s,
        )
    return Services(
        settings=settings,
        database_url=database_url,
        s3=s3,
        seaweed_master=seaweed.master() if seaweed else None,
    )


@contextmanager
def open_services(settings: Settings) -> Iterator[Services]:
    """The endpoints, with the embedded servers running for the duration of the block."""
    with ExitStack() as stack:
        for service in embedded_services(settings):
            stack.enter_context(service.running())
        yield resolve(settings)


def prepare(services: Services) -> list[str]:
    """Migrate the catalog and create the buckets; return what was done, for the log."""
    done = []
    with services.catalog() as catalog:
        applied = migrate.upgrade(catalog.connection, pgvector=services.settings.pgvector)
    done += [f"applied migration {m.version:04d}_{m.name}" for m in applied]
    store = services.object_store()
    done += [
        f"created bucket {bucket}" for bucket in services.buckets if store.ensure_bucket(bucket)
    ]
    return done


def up(settings: Settings) -> list[str]:
    """Start the embedded servers to keep running, migrate and create buckets."""
    for service in embedded_services(settings):
        service.acquire(persistent=True)
    return prepare(resolve(settings))


def down(settings: Settings) -> list[str]:
    """Stop the embedded servers; return the names of those that were running."""
    return [service.name for service in embedded_services(settings) if service.stop()]


@dataclass(frozen=True)
class PartStatus:
    part: str
    mode: str
    address: str
    state: str
    detail: str = ""


def status(settings: Settings) -> list[PartStatus]:
    """What runs where, without starting anything."""
    services = resolve(settings)
    postgres, seaweed = embedded_postgres(settings), embedded_s3(settings)
    catalog_address = postgres.address() if postgres else describe_url(services.database_url)
    return [
        _probe("catalog", postgres, catalog_address, lambda: _catalog_detail(services)),
        _probe("object store", seaweed, services.s3.endpoint, lambda: _store_detail(services)),
    ]


def _probe(
    part: str, embedded: EmbeddedService | None, address: str, detail: Callable[[], str]
) -> PartStatus:
    if embedded and embedded.running_pid() is None:
        return PartStatus(part, "embedded", address, "stopped")
    try:
        return PartStatus(part, _mode(embedded), address, "running", detail())
    except Exception as error:  # status reports every failure instead of raising it
        return PartStatus(part, _mode(embedded), address, "unreachable", str(error))


def _catalog_detail(services: Services) -> str:
    with services.catalog() as catalog:
        pending = migrate.pending_migrations(catalog.connection)
        vectors = "pgvector" if catalog.uses_pgvector else "real[] embeddings"
    return f"{len(pending)} migrations pending" if pending else f"schema current, {vectors}"


def _store_detail(services: Services) -> str:
    present = set(services.object_store().list_buckets())
    missing = [bucket for bucket in services.buckets if bucket not in present]
    return f"missing buckets: {', '.join(missing)}" if missing else "buckets present"


def _mode(service: EmbeddedService | None) -> str:
    return "embedded" if service else "external"
