"""What the web app works with: the catalog and object store, the face models, the settings.

The app is made before any server is reached (Airflow imports the plugin in every process,
and `scas serve` builds the app before uvicorn starts), so each part is opened on first
use and kept: the servers' endpoints once, a catalog connection per request (a
:class:`~scas_lib.catalog.Catalog` is not thread-safe) taken from a pool of open ones
(:class:`PooledServices`), the face models once (onnxruntime sessions may run from several
threads; :func:`serving_engine` says how many at once).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request

from scas_lib.catalog import Catalog
from scas_lib.catalog.pool import CatalogPool
from scas_lib.services.runtime import Services, resolve
from scas_lib.settings import Settings

if TYPE_CHECKING:  # the face models load at the first enrollment, not with the app
    from scas_lib.faces.engine import FaceEngine
    from scas_lib.recognition.stage import PeopleSeenCounter


@dataclass
class WebContext:
    """The app's parts. ``services`` and ``engine`` are made on first use by the factories
    (tests and `scas serve` pass ready ones)."""

    settings_factory: Callable[[], Settings]
    services_factory: Callable[[Settings], Services] | None = None
    engine_factory: Callable[[Settings], FaceEngine] | None = None
    _settings: Settings | None = field(default=None, init=False)
    _services: Services | None = field(default=None, init=False)
    _engine: FaceEngine | None = field(default=None, init=False)
    _people_seen: PeopleSeenCounter | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @classmethod
    def ready(
        cls, settings: Settings, services: Services, engine: FaceEngine | None = None
    ) -> WebContext:
        """A context on servers already running (and models already loaded, if given)."""
        context = cls(lambda: settings, lambda _settings: services)
        context._engine = engine
        return context

    @property
    def settings(self) -> Settings:
        with self._lock:
            if self._settings is None:
                self._settings = self.settings_factory()
            return self._settings

    @property
    def services(self) -> Services:
        settings = self.settings
        with self._lock:
            if self._services is None:
                # By default the configured servers, or the embedded ones `scas up` keeps
                # running: an app inside Airflow never starts servers it could not stop.
                factory = self.services_factory or resolve
                self._services = PooledServices.around(factory(settings))
            return self._services

    @property
    def engine(self) -> FaceEngine:
        settings = self.settings
        with self._lock:
            if self._engine is None:
                self._engine = (self.engine_factory or serving_engine)(settings)
            return self._engine

    @property
    def people_seen(self) -> PeopleSeenCounter:
        """The people the event's cameras saw, counted again only when that can change."""
        from scas_lib.recognition.stage import PeopleSeenCounter

        with self._lock:
            if self._people_seen is None:
                self._people_seen = PeopleSeenCounter()
            return self._people_seen


@dataclass(frozen=True)
class PooledServices(Services):
    """The servers, with catalog connections reused across requests (see
    :mod:`scas_lib.catalog.pool`): a kiosk enrollment opens the catalog five times."""

    pool: CatalogPool | None = field(default=None, repr=False, compare=False)

    @classmethod
    def around(cls, services: Services) -> PooledServices:
        fields = {f.name: getattr(services, f.name) for f in dataclasses.fields(Services)}
        timeout_s = services.settings.connect_timeout_s
        return cls(**fields, pool=CatalogPool(services.database_url, timeout_s=timeout_s))

    def catalog(self) -> Catalog:
        # A copy pointed at another database (dataclasses.replace) must not reuse the pool.
        if self.pool is None or self.pool.url != self.database_url:
            return super().catalog()
        return self.pool.catalog()


def serving_engine(settings: Settings) -> FaceEngine:
    """The face models as the app runs them for concurrent enrollments: one onnxruntime
    thread per model run unless ``SCAS_ONNX_THREADS`` says otherwise, and as many runs at
    once as there are cores for them. onnxruntime's default, a thread per core for each run,
    suits one run alone; several kiosks' runs at once then ask for several threads per core,
    and its spinning threads burn the time the other runs need (measured on 2 cores under
    load: 2.2x the CPU per photo; see docs/benchmarks-history.md, kiosk load)."""
    from scas_lib.faces.engine import FaceEngine

    threads = settings.onnx_threads or 1
    return FaceEngine.load(
        settings.model_pack_dir,
        provider=settings.onnx_provider,
        threads=threads,
        max_parallel=max(1, len(os.sched_getaffinity(0)) // threads),
    )


def web_context(request: Request) -> WebContext:
    """The app's context (a FastAPI dependency)."""
    context: WebContext = request.app.state.scas
    return context
