"""The catalog on a real PostgreSQL: migrations, idempotent writes, privacy cascades."""

from __future__ import annotations

import dataclasses
import os
import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg2
import psycopg2.extras
import pytest

from scas_lib.catalog import (
    Appearance,
    Camera,
    Catalog,
    Consent,
    Enrollment,
    Event,
    Output,
    Visitor,
    available_migrations,
    connect,
    pending_migrations,
    upgrade,
)
from scas_lib.errors import CatalogUnavailable
from scas_lib.services.embedded import free_ports
from scas_lib.storage import keys
from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _count(catalog: Catalog, table: str) -> int:
    with catalog.connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        return cur.fetchone()[0]


def _require_pgvector(catalog: Catalog) -> None:
    """Skip on a configured server without pgvector; the embedded server ships it, so there
    its absence is a failure, not a silent skip."""
    with catalog.connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        if cur.fetchone() is not None:
            return
    if os.environ.get("SCAS_DATABASE_URL"):
        pytest.skip("the configured PostgreSQL server (SCAS_DATABASE_URL) has no pgvector")
    pytest.fail("the embedded PostgreSQL server has no pgvector extension")


def _seed(catalog: Catalog) -> None:
    catalog.events.upsert(Event(id="expo", name="Expo 2026", starts_at=T0))
    catalog.events.upsert_camera(Camera("expo", "cam1", "Entrance"))
    catalog.visitors.upsert(Visitor("expo", "v1", "Lin Wei", Consent("scas-2026-11", "zh", T0)))
    catalog.visitors.upsert(Visitor("expo", "v2", "Ana", Consent("scas-2026-11", "en", T0)))


def _track(index: int, visitor: str | None, start_s: float = 0.0) -> FaceTrack:
    """A track of three samples over 2 s (values exact in float32, so that they come back
    equal from ``real`` columns)."""
    samples = tuple(
        FaceSample(start_s + dt, (10.0 + 5 * dt, 20.0, 74.5 + 5 * dt, 84.0), 0.875, quality)
        for dt, quality in [(0.0, 0.5), (1.0, 0.75), (2.0, 0.625)]
    )
    identity = TrackIdentity(
        visitor, 0.75 if visitor else None, np.array([0.25, -0.5, 1.0], np.float32)
    )
    return FaceTrack("cam1", T0, index, samples, (1920, 1080), "default", identity)


# migrations ---------------------------------------------------------------------------------


def test_upgrade_twice_applies_each_migration_once(database_url: str) -> None:
    with Catalog.connect(database_url) as catalog:
        first = upgrade(catalog.connection)
        second = upgrade(catalog.connection)

        assert [m.version for m in first] == [m.version for m in available_migrations()]
        assert second == []
        assert pending_migrations(catalog.connection) == []
        assert _count(catalog, "schema_migrations") == len(available_migrations())


def test_concurrent_upgrades_apply_each_migration_once(database_url: str) -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Catalog.connect(database_url) as catalog:
                results.append(len(upgrade(catalog.connection)))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    # Each migration was applied by exactly one of the three callers.
    assert sum(results) == len(available_migrations())
    with Catalog.connect(database_url) as catalog:
        assert _count(catalog, "schema_migrations") == len(available_migrations())


@pytest.mark.parametrize("pgvector", [True, False], ids=["pgvector", "real-arrays"])
def test_embeddings_round_trip_with_and_without_pgvector(database_url: str, pgvector: bool) -> None:
    with Catalog.connect(database_url) as catalog:
        upgrade(catalog.connection, pgvector=pgvector)
        if pgvector:
            _require_pgvector(catalog)
        assert catalog.uses_pgvector is pgvector
        _seed(catalog)
        embedding = (0.125, -0.5, 0.75, 1.0)
        catalog.visitors.upsert_enrollment(
            Enrollment("expo", "v1", "expo/v1/0.jpg", "sface", embedding, 0.9)
        )

        (stored,) = catalog.visitors.enrollments("expo", "sface")
        assert stored.embedding == pytest.approx(embedding)
        segment = catalog.segments.register("expo", "cam1", "expo/cam1/a.mp4", T0)
        catalog.segments.save_tracks(segment.id, [_track(0, "v1")])
        centroid = catalog.tracks.of_segment(segment.id)[0].identity.centroid
        assert centroid is not None and centroid.tolist() == pytest.approx([0.25, -0.5, 1.0])


@pytest.mark.parametrize("pgvector", [True, False], ids=["pgvector", "real-arrays"])
def test_earlier_visits_are_the_same_nearest_neighbours_with_and_without_pgvector(
    database_url: str, pgvector: bool
) -> None:
    with Catalog.connect(database_url) as catalog:
        upgrade(catalog.connection, pgvector=pgvector)
        if pgvector:
            _require_pgvector(catalog)
        consent = Consent("scas-2026-11", "en", T0)
        people = {  # (event, visitor): (embedding, remember)
            ("fair", "near"): ((1.0, 0.1, 0.0), True),
            ("fair", "nearer"): ((1.0, 0.0, 0.0), True),
            ("fair", "far"): ((0.0, 1.0, 0.0), True),
            ("fair", "not-asked"): ((1.0, 0.0, 0.0), False),
            ("expo", "v1"): ((1.0, 0.0, 0.0), True),
        }
        for (event, visitor), (embedding, remember) in people.items():
            catalog.events.ensure(event)
            catalog.visitors.upsert(Visitor(event, visitor, visitor, consent, remember))
            catalog.visitors.upsert_enrollment(
                Enrollment(event, visitor, f"{event}/{visitor}/0.jpg", "sface", embedding, 0.9)
            )

        offered = catalog.people.earlier_visits("expo", "v1", "sface", threshold=0.9)

        assert [(v.visitor_id, round(v.similarity, 3)) for v in offered] == [
            ("nearer", 1.0),
            ("near", 0.995),
        ]
        assert catalog.people.earlier_visits("expo", "v1", "other-pack", threshold=0.9) == []
        person = catalog.people.link("expo", "v1", [("fair", "nearer"), ("fair", "not-asked")])
        assert person is not None
        # Oldest first: the fair's visitor was enrolled first (the events have no start).
        assert catalog.people.linked("expo", "v1") == [("fair", "nearer"), ("expo", "v1")]
        assert [
            v.visitor_id for v in catalog.people.earlier_visits("expo", "v1", "sface", 0.9)
        ] == ["near"]
        # Withdrawing the second consent undoes the link it allowed.
        catalog.visitors.upsert(Visitor("fair", "nearer", "nearer", consent, remember=False))
        assert catalog.people.linked("expo", "v1") == [("expo", "v1")]


# idempotent writes --------------------------------------------------------------------------


def test_registering_a_segment_twice_keeps_one_row(catalog: Catalog) -> None:
    _seed(catalog)
    first = catalog.segments.register("expo", "cam1", "expo/cam1/a.mp4", T0)
    second = catalog.segments.register("expo", "cam1", "expo/cam1/a.mp4", T0, duration_s=10.0)

    assert first.id == second.id
    assert second.duration_s == 10.0
    assert _count(catalog, "segments") == 1


def test_saving_a_segments_tracks_twice_leaves_one_set(catalog: Catalog) -> None:
    _seed(catalog)
    segment = catalog.segments.register("expo", "cam1", "expo/cam1/a.mp4", T0)
    tracks = [_track(0, "v1"), _track(1, None, 3.0), _track(2, "v2", 5.0)]

    catalog.segments.mark_processing(segment.id)
    catalog.segments.save_tracks(segment.id, tracks, duration_s=10.0)
    catalog.segments.mark_processing(segment.id)  # a retry of the same task
    catalog.segments.save_tracks(segment.id, tracks, duration_s=10.0)

    assert catalog.tracks.of_segment(segment.id) == tracks
    assert _count(catalog, "tracks") == 3
    stored = catalog.tracks.of_segment(segment.id)[2]
    assert (stored.start_time, stored.end_time) == (
        T0 + timedelta(seconds=5),
        T0 + timedelta(seconds=7),
    )
    assert stored.quality == 0.75 and stored.best_sample.offset_s == 6.0
    done = catalog.segments.get(segment.id)
    assert done is not None and done.status == "done" and done.attempts == 2


def test_identified_tracks_come_with_their_camera_and_face_path(catalog: Catalog) -> None:
    _seed(catalog)
    segment = catalog.segments.register("expo", "cam1", "expo/cam1/a.mp4", T0)
    catalog.segments.save_tracks(segment.id, [_track(0, "v1"), _track(1, None), _track(2, "v2")])

    assert [(t.camera_id, t.visitor_id) for t in catalog.tracks.identified("expo")] == [
        ("cam1", "v1"), ("cam1", "v2"),
    ]  # fmt: skip
    (only,) = catalog.tracks.identified("expo", "v2")
    assert only.samples == _track(2, "v2").samples and only.frame_size == (1920, 1080)


def test_a_track_of_another_camera_is_refused(catalog: Catalog) -> None:
    _seed(catalog)
    catalog.events.upsert_camera(Camera("expo", "cam2", "Stage"))
    segment = catalog.segments.register("expo", "cam2", "expo/cam2/a.mp4", T0)
    with pytest.raises(ValueError, match="camera 'cam1'"):
        catalog.segments.save_tracks(segment.id, [_track(0, "v1")])
    assert _count(catalog, "tracks") == 0


def test_tracks_stored_before_the_face_path_column_keep_their_path(database_url: str) -> None:
    """Migration 0003 turns the old best_box document into the path columns."""
    with Catalog.connect(database_url) as catalog:
        old = [m for m in available_migrations() if m.version < 3]
        with catalog.connection, catalog.connection.cursor() as cur:
            for migration in old:
                cur.execute(migration.sql)
            cur.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT "
                "NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for migration in old:
                cur.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
        with catalog.connection, catalog.connection.cursor() as cur:
            cur.execute("INSERT INTO events (id, name) VALUES ('expo', 'Expo')")
            cur.execute("INSERT INTO cameras (event_id, id, name) VALUES ('expo', 'cam1', 'A')")
            cur.execute(
                "INSERT INTO visitors (event_id, id, display_name, consent_at) "
                "VALUES ('expo', 'v1', 'Lin Wei', %s)",
                (T0,),
            )
            cur.execute(  # the segments table as it was then
                """INSERT INTO segments (event_id, camera_id, object_key, start_time)
                   VALUES ('expo', 'cam1', 'expo/cam1/a.mp4', %s) RETURNING id""",
                (T0,),
            )
            (segment_id,) = cur.fetchone()
        best_box = {
            "t": 3.5, "x": 100, "y": 50, "w": 40, "h": 60, "frame": [1280, 720],
            "path": [[0.0, 120.0, 80.0], [0.5, 130.0, 80.0]],
        }  # fmt: skip
        with catalog.connection, catalog.connection.cursor() as cur:
            cur.execute(
                """INSERT INTO tracks (segment_id, track_index, event_id, visitor_id,
                       start_time, end_time, similarity, quality, model_pack, best_box)
                   VALUES (%s, 0, 'expo', 'v1', %s, %s, 0.75, 0.5, 'default', %s)""",
                (segment_id, T0 + timedelta(seconds=3), T0 + timedelta(seconds=3.5),
                 psycopg2.extras.Json(best_box)),
            )  # fmt: skip

        newer = [m.version for m in available_migrations() if m.version >= 3]
        assert [m.version for m in upgrade(catalog.connection)] == newer

        (track,) = catalog.tracks.of_segment(segment_id)
        assert track.frame_size == (1280, 720) and track.visitor_id == "v1"
        assert [(s.offset_s, s.box) for s in track.samples] == [
            (3.0, (100.0, 50.0, 140.0, 110.0)), (3.5, (110.0, 50.0, 150.0, 110.0)),
        ]  # fmt: skip
        assert (track.start_time, track.end_time) == (
            T0 + timedelta(seconds=3), T0 + timedelta(seconds=3.5),
        )  # fmt: skip
        # Visitors enrolled before consent was recorded say so (migration 0004).
        visitor = catalog.visitors.get("expo", "v1")
        assert visitor is not None
        assert (visitor.consent.version, visitor.consent.language) == ("implied-before-0004", "und")


def test_failed_segment_keeps_its_reason(catalog: Catalog) -> None:
    _seed(catalog)
    segment = catalog.segments.register("expo", "cam1", "expo/cam1/bad.mp4", T0)
    catalog.segments.mark_processing(segment.id)
    catalog.segments.mark_failed(segment.id, "moov atom not found")

    (failed,) = catalog.segments.for_event("expo", status="failed")
    assert failed.error == "moov atom not found"
    assert catalog.segments.for_event("expo", status="done") == []


def test_other_writes_are_idempotent(catalog: Catalog) -> None:
    for _ in range(2):
        _seed(catalog)
        catalog.visitors.upsert_enrollment(
            Enrollment("expo", "v1", "expo/v1/0.jpg", "sface", (1.0,), 0.9)
        )
        catalog.outputs.replace_appearances(
            "expo", "v1", [Appearance("v1", "cam1", T0, T0 + timedelta(seconds=4), 0.8)]
        )
        catalog.outputs.upsert(Output("expo", "v1", "done", "expo/v1.mp4", "expo/v1.jpg", 30.0))

    for table, rows in [
        ("events", 1), ("cameras", 1), ("visitors", 2), ("enrollments", 1),
        ("appearances", 1), ("outputs", 1),
    ]:  # fmt: skip
        assert _count(catalog, table) == rows, table


def test_templates_of_different_packs_are_kept_apart(catalog: Catalog) -> None:
    _seed(catalog)
    catalog.visitors.upsert_enrollment(
        Enrollment("expo", "v1", "expo/v1/0.jpg", "sface", (1.0,) * 4, 0.9)
    )
    catalog.visitors.upsert_enrollment(
        Enrollment("expo", "v1", "expo/v1/0.jpg", "buffalo_l", (0.5,) * 8, 0.9)
    )

    assert [len(e.embedding) for e in catalog.visitors.enrollments("expo", "sface")] == [4]
    assert [len(e.embedding) for e in catalog.visitors.enrollments("expo", "buffalo_l")] == [8]


def test_a_visitor_belongs_to_its_event(catalog: Catalog) -> None:
    _seed(catalog)
    with pytest.raises(psycopg2.errors.ForeignKeyViolation):
        catalog.outputs.upsert(Output("expo", "nobody", "not_seen"))


# privacy ------------------------------------------------------------------------------------


def test_deleting_a_visitor_removes_their_rows_everywhere(catalog: Catalog) -> None:
    _seed(catalog)
    catalog.visitors.upsert_enrollment(
        Enrollment("expo", "v1", "expo/v1/0.jpg", "sface", (1.0,), 0.9)
    )
    segment = catalog.segments.register("expo", "cam1", "expo/cam1/a.mp4", T0)
    catalog.segments.save_tracks(segment.id, [_track(0, "v1"), _track(1, None), _track(2, "v2")])
    catalog.outputs.replace_appearances("expo", "v1", [Appearance("v1", "cam1", T0, T0, 0.5)])
    catalog.outputs.upsert(Output("expo", "v1", "done", "expo/v1.mp4"))

    assert catalog.visitors.delete("expo", "v1") is True

    assert [v.id for v in catalog.visitors.for_event("expo")] == ["v2"]
    assert catalog.visitors.enrollments("expo", "sface") == []
    assert catalog.outputs.appearances("expo", "v1") == []
    assert catalog.outputs.for_event("expo") == []
    assert [t.visitor_id for t in catalog.tracks.of_segment(segment.id)] == [None, "v2"]
    assert catalog.visitors.delete("expo", "v1") is False


# connection errors --------------------------------------------------------------------------


def test_unreachable_server_gives_a_clear_error() -> None:
    (port,) = free_ports(1)
    with pytest.raises(CatalogUnavailable, match=f"cannot connect to the catalog at .*:{port}"):
        connect(f"postgresql://scas:pw@127.0.0.1:{port}/scas", timeout_s=1)


def test_wrong_password_gives_a_clear_error_without_the_password(database_url: str) -> None:
    wrong = psycopg2.extensions.make_dsn(database_url, password="not-the-password")
    with pytest.raises(CatalogUnavailable) as raised:
        connect(wrong)
    assert "not-the-password" not in str(raised.value)
    assert "authentication failed" in str(raised.value)


def test_the_arrivals_lock_is_seen_taken_from_another_connection_while_held(
    catalog: Catalog, database_url: str
) -> None:
    """The wave's deliver (another process) sees whether a recognize task takes arrivals."""
    with Catalog.connect(database_url) as recognizer:
        assert not catalog.segments.arrivals_taken("expo")
        with recognizer.segments.arrivals_lock("expo"):
            assert catalog.segments.arrivals_taken("expo")
            assert not catalog.segments.arrivals_taken("other")
        assert not catalog.segments.arrivals_taken("expo")  # released, and looking took no lock
        with recognizer.segments.arrivals_lock("expo"):
            assert catalog.segments.arrivals_taken("expo")


# The per-camera counts the catalog keeps (migration 0016_camera_arrivals). ---------------


def _camera_counts(catalog: Catalog) -> list[tuple[object, ...]]:
    with catalog.connection.cursor() as cur:
        cur.execute(
            """SELECT camera_id, arrived, first_start, arrived_end, recognized, recognized_end
               FROM camera_arrivals WHERE event_id = 'expo' ORDER BY camera_id"""
        )
        rows = cur.fetchall()
    catalog.connection.commit()
    return rows


def _counted_from_scratch(catalog: Catalog) -> list[tuple[object, ...]]:
    """The same rows counted afresh from the segments and push records (the recount the
    migration backfills with), kept in the table as the triggers keep it."""
    with catalog.connection.cursor() as cur:
        cur.execute("SELECT camera_arrivals_recount('expo', NULL)")
    catalog.connection.commit()
    return _camera_counts(catalog)


def _push(catalog: Catalog, camera: str, start: datetime) -> str:
    """Record a 10 s segment as ingest does once it is in the bucket; its object key."""
    from pathlib import Path

    from scas_lib.ingest.health import record_push
    from scas_lib.ingest.spool import SpooledSegment

    segment = SpooledSegment("expo", camera, start, 10.0, Path("spooled.mp4"))
    record_push(catalog, segment)
    return segment.key


def _recognize(catalog: Catalog, segment_id: int, failure: str | None = None) -> None:
    catalog.segments.mark_processing(segment_id)
    catalog.segments.save_tracks(segment_id, [], duration_s=10.0, failure=failure)


def test_the_camera_counts_follow_pushes_registrations_progress_and_deletes(
    catalog: Catalog,
) -> None:
    """Every way a segment arrives, progresses, moves or goes: the counts the triggers
    keep are the counts from scratch, and they say what the camera table shows."""
    _seed(catalog)
    catalog.events.upsert_camera(Camera("expo", "cam2", "Hall"))
    at = [T0 + timedelta(seconds=10 * n) for n in range(8)]
    # Pushed, then registered by the sensor; registered (no duration yet), then pushed.
    first = catalog.segments.register("expo", "cam1", _push(catalog, "cam1", at[0]), at[0])
    second = catalog.segments.register(
        "expo", "cam1", keys.segment_key("expo", "cam1", at[1]), at[1]
    )
    assert _push(catalog, "cam1", at[1]) == second.object_key
    # Uploaded (never pushed) to cam2: one done, one failed, one still pending.
    done = catalog.segments.register("expo", "cam2", "expo/cam2/2.mp4", at[2], duration_s=10.0)
    failed = catalog.segments.register("expo", "cam2", "expo/cam2/3.mp4", at[3])
    catalog.segments.register("expo", "cam2", "expo/cam2/4.mp4", at[4])
    _recognize(catalog, done.id)
    _recognize(catalog, failed.id, failure="moov atom not found")
    _recognize(catalog, first.id)
    kept = _camera_counts(catalog)
    assert kept == _counted_from_scratch(catalog)
    end = timedelta(seconds=10)
    assert kept == [
        ("cam1", 2, at[0], at[1] + end, 1, at[0] + end),
        ("cam2", 3, at[2], at[4], 2, at[3] + end),
    ]

    # A segment with an invalid camera id counts nowhere; a re-upload moves one to cam2.
    catalog.segments.reject("expo", "expo/cam9/5.mp4", at[5], "no camera cam9")
    catalog.segments.register("expo", "cam1", "expo/cam2/6.mp4", at[6])
    catalog.segments.register("expo", "cam2", "expo/cam2/6.mp4", at[6], etag="second")
    kept = _camera_counts(catalog)
    assert kept == _counted_from_scratch(catalog)
    assert kept[1] == ("cam2", 4, at[2], at[6], 2, at[3] + end)
    assert catalog.segments.recognition_progress("expo").arrived == 6
    assert _count(catalog, "segments") == 7

    # A retention sweep of cam2's recognized segments, and a push record removed.
    with catalog.connection.cursor() as cur:
        cur.execute("DELETE FROM segments WHERE id IN (%s, %s)", (done.id, failed.id))
        cur.execute("DELETE FROM pushed_segments WHERE object_key = %s", (second.object_key,))
    catalog.connection.commit()
    kept = _camera_counts(catalog)
    assert kept == _counted_from_scratch(catalog)
    assert [row[1] for row in kept] == [2, 2]
    assert [row[4] for row in kept] == [1, 0]


def test_a_push_and_a_registration_of_one_segment_committing_together_count_it_once(
    catalog: Catalog, database_url: str
) -> None:
    """Ingest's push record and the sensor's registration of the same segment, from two
    connections at once: the second waits for the first's commit and sees it."""
    _seed(catalog)
    key = "expo/cam1/race.mp4"
    with Catalog.connect(database_url) as sensor:
        with catalog.connection.cursor() as cur:  # ingest's push, not committed yet
            cur.execute(
                """INSERT INTO pushed_segments (object_key, event_id, camera_id, start_time,
                       duration_s) VALUES (%s, 'expo', 'cam1', %s, 10)""",
                (key, T0),
            )
        registered = threading.Event()

        def register() -> None:
            sensor.segments.register("expo", "cam1", key, T0)
            registered.set()

        thread = threading.Thread(target=register)
        thread.start()
        assert not registered.wait(1.0), "the registration waits for the push to commit"
        catalog.connection.commit()
        thread.join(timeout=30)
        assert registered.is_set()

    assert [row[1] for row in _camera_counts(catalog)] == [1]
    assert _camera_counts(catalog) == _counted_from_scratch(catalog)


def _sightings_from_scratch(catalog: Catalog) -> dict[str, tuple[object, ...]]:
    """Each visitor's tracks counted from the tracks and their segments (the query the
    kept rows replace)."""
    with catalog.connection.cursor() as cur:
        cur.execute(
            """SELECT t.visitor_id, count(*), array_agg(DISTINCT s.camera_id ORDER BY s.camera_id),
                      min(s.start_time), max(s.start_time)
               FROM tracks t JOIN segments s ON s.id = t.segment_id
               WHERE t.event_id = 'expo' AND t.visitor_id IS NOT NULL GROUP BY t.visitor_id"""
        )
        rows = cur.fetchall()
    catalog.connection.commit()
    return {row[0]: tuple(row) for row in rows}


def _sightings(catalog: Catalog) -> dict[str, tuple[object, ...]]:
    return {
        visitor: (seen.visitor_id, seen.tracks, seen.cameras, seen.first_seen, seen.last_seen)
        for visitor, seen in catalog.tracks.sightings("expo").items()
    }


def test_sightings_follow_tracks_saved_again_visitors_forgotten_and_segments_removed(
    catalog: Catalog,
) -> None:
    _seed(catalog)
    catalog.events.upsert_camera(Camera("expo", "cam2", "Hall"))
    at = [T0 + timedelta(seconds=10 * n) for n in range(3)]
    segments = [
        catalog.segments.register("expo", camera, f"expo/{camera}/{n}.mp4", at[n])
        for n, camera in enumerate(["cam1", "cam2", "cam1"])
    ]
    for segment, visitors in zip(segments, [["v1", "v2"], ["v1", None], ["v1"]], strict=True):
        catalog.segments.mark_processing(segment.id)
        tracks = [
            dataclasses.replace(
                _track(n, v, 2.0 * n),
                camera_id=segment.camera_id,
                segment_start=segment.start_time,
            )
            for n, v in enumerate(visitors)
        ]
        catalog.segments.save_tracks(segment.id, tracks, duration_s=10.0)
    assert (
        _sightings(catalog)
        == _sightings_from_scratch(catalog)
        == {
            "v1": ("v1", 3, ["cam1", "cam2"], at[0], at[2]),
            "v2": ("v2", 1, ["cam1"], at[0], at[0]),
        }
    )

    # A retry of the last segment finds nobody this time; v2 is forgotten; cam2's segment
    # goes (retention).
    nobody = dataclasses.replace(_track(0, None), segment_start=at[2])
    catalog.segments.save_tracks(segments[2].id, [nobody], duration_s=10.0)
    assert _sightings(catalog) == _sightings_from_scratch(catalog)
    assert _sightings(catalog)["v1"] == ("v1", 2, ["cam1", "cam2"], at[0], at[1])
    catalog.visitors.delete("expo", "v2")
    with catalog.connection.cursor() as cur:
        cur.execute("DELETE FROM segments WHERE id = %s", (segments[1].id,))
    catalog.connection.commit()
    assert (
        _sightings(catalog)
        == _sightings_from_scratch(catalog)
        == {
            "v1": ("v1", 1, ["cam1"], at[0], at[0]),
        }
    )
