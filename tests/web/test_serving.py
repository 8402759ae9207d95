"""How the app serves concurrent kiosks: reused catalog connections that carry nothing from
one request to the next, and face models that never run more at once than there are cores."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg2

from scas_lib.catalog import Catalog, Event
from scas_lib.catalog.pool import CatalogPool
from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.enrollment import enroll_photo
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.services import Services
from scas_lib.web.context import PooledServices, serving_engine
from tests.web.conftest import portrait


def _backend_pid(catalog: Catalog) -> int:
    with catalog.connection, catalog.connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def test_a_pooled_connection_is_reused_and_keeps_nothing_of_its_last_use(
    database_url: str, catalog: Catalog
) -> None:
    pool = CatalogPool(database_url)
    first = pool.catalog()
    pid = _backend_pid(first)
    # Left behind by the last request: an uncommitted write and a session-level lock.
    with first.connection.cursor() as cur:
        cur.execute("INSERT INTO events (id, name) VALUES ('left-open', 'not committed')")
    first.close()
    with pool.catalog() as again:
        assert _backend_pid(again) == pid, "the connection was not reused"
        assert again.events.get("left-open") is None, "the open transaction was not rolled back"
        again.connection.cursor().execute(
            "SELECT pg_advisory_lock(hashtextextended('scas-visitor:expo/v-2', 0))"
        )
        again.connection.commit()
    with pool.catalog() as third:
        assert _backend_pid(third) == pid
    # The lock the last user kept is free for another connection.
    with catalog.connection, catalog.connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(hashtextextended('scas-visitor:expo/v-2', 0))")
        assert cur.fetchone()[0] is True
        cur.execute("SELECT pg_advisory_unlock_all()")
    pool.close()


def test_a_pooled_connection_the_server_ended_is_replaced(
    database_url: str, catalog: Catalog
) -> None:
    pool = CatalogPool(database_url)
    with pool.catalog() as used:
        pid = _backend_pid(used)
    with catalog.connection, catalog.connection.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + 10
    while True:  # the backend exits a moment after being told to
        with catalog.connection, catalog.connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
            if cur.fetchone()[0] == 0 or time.monotonic() > deadline:
                break
        time.sleep(0.05)
    with pool.catalog() as replaced:
        assert _backend_pid(replaced) != pid
        replaced.events.upsert(Event(id="after-restart", name="still works"))
    assert catalog.events.get("after-restart") is not None
    pool.close()


def test_the_pool_keeps_at_most_keep_idle_connections(database_url: str) -> None:
    pool = CatalogPool(database_url, keep=2)
    open_at_once = [pool.catalog() for _ in range(4)]
    connections = [c.connection for c in open_at_once]
    for catalog in open_at_once:
        catalog.close()
    assert [conn.closed for conn in connections].count(0) == 2
    pool.close()
    assert all(conn.closed for conn in connections)


def test_the_web_services_pool_only_their_own_database(services: Services) -> None:
    pooled = PooledServices.around(services)
    with pooled.catalog() as one:
        pid = _backend_pid(one)
    with pooled.catalog() as two:
        assert _backend_pid(two) == pid
    elsewhere = dataclasses.replace(pooled, database_url=services.database_url + " ")
    with elsewhere.catalog() as other:
        assert _backend_pid(other) != pid
    assert pooled.pool is not None
    pooled.pool.close()


def test_the_serving_engine_runs_one_thread_per_model_and_one_run_per_core(
    services: Services, model_pack_dir: Path
) -> None:
    settings = services.settings.model_copy(
        update={"models_dir": model_pack_dir.parent, "model_pack": model_pack_dir.name}
    )
    engine = serving_engine(settings)
    for session in (engine.detector.session, engine.recognizer.session):
        assert session.get_session_options().intra_op_num_threads == 1
    assert engine.max_parallel == len(os.sched_getaffinity(0))


def test_the_engine_never_runs_more_models_at_once_than_allowed(
    model_pack_dir: Path, photos: dict[str, SamplePhoto]
) -> None:
    engine = FaceEngine.load(model_pack_dir, provider="cpu", threads=1, max_parallel=2)
    running, most = 0, 0
    lock = threading.Lock()
    detect = engine.detector.detect

    def counting_detect(image: np.ndarray, **options: object) -> list:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.05)  # long enough for the other threads to try to overlap
            return detect(image, **options)  # type: ignore[arg-type]
        finally:
            with lock:
                running -= 1

    engine.detector.detect = counting_detect  # type: ignore[method-assign]
    data = portrait(photos).path.read_bytes()
    results: list[float] = []
    threads = [
        threading.Thread(target=lambda: results.append(enroll_photo(engine, data).quality.score))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 5 and len(set(results)) == 1  # the same photo, the same answer
    assert most == 2


def test_a_closed_connection_given_back_is_dropped(database_url: str) -> None:
    conn = psycopg2.connect(database_url)
    conn.close()
    pool = CatalogPool(database_url)
    pool.give_back(conn)
    with pool.catalog() as fresh:
        assert fresh.connection is not conn and not fresh.connection.closed
    pool.close()


def test_a_photo_keeps_its_place_from_detection_to_embedding(
    model_pack_dir: Path, photos: dict[str, SamplePhoto]
) -> None:
    """With one place, each photo's model runs come together: no other photo's detection
    slips in between a photo's detection and its embedding."""
    engine = FaceEngine.load(model_pack_dir, provider="cpu", threads=1, max_parallel=1)
    calls: list[tuple[str, int]] = []
    detect, embed = engine.detector.detect, engine.recognizer.embed

    def logged(name: str, run: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **options: object) -> object:
            calls.append((name, threading.get_ident()))
            time.sleep(0.02)  # room for another thread to slip in
            return run(*args, **options)

        return call

    engine.detector.detect = logged("detect", detect)  # type: ignore[method-assign]
    engine.recognizer.embed = logged("embed", embed)  # type: ignore[method-assign]
    data = portrait(photos).path.read_bytes()
    threads = [threading.Thread(target=enroll_photo, args=(engine, data)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [name for name, _ in calls] == ["detect", "embed"] * 4
    assert all(calls[i][1] == calls[i + 1][1] for i in range(0, 8, 2))
