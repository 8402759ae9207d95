"""Retention on the real catalog and object store: each kind of personal data is deleted
when the event's policy says, everywhere it is kept, and nothing else is."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from scas_lib.analysis.folders import RECORD, analyses_root, operator_folder
from scas_lib.catalog import Camera, Catalog, Output
from scas_lib.cli import app
from scas_lib.faces import FaceEngine
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.retention.policy import RetentionPolicy
from scas_lib.retention.stage import purge_event
from scas_lib.run import retention
from scas_lib.services import Services
from scas_lib.storage import ObjectStore, keys
from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity
from scas_lib.visitors.stage import enroll_visitor

from .conftest import CONSENT, EVENT_START, use_test_servers

SEGMENT_KEY = keys.segment_key("expo", "cam1", EVENT_START)


def _track(index: int, visitor: str | None) -> FaceTrack:
    samples = (FaceSample(0.0, (10.0, 10.0, 60.0, 70.0), 0.9, 0.5),)
    identity = TrackIdentity(visitor, 0.7, np.ones(4, np.float32) / 2)
    return FaceTrack("cam1", EVENT_START, index, samples, (1920, 1080), "default", identity)


@pytest.fixture
def done_event(
    services: Services, engine: FaceEngine, photos: dict[str, SamplePhoto], store: ObjectStore
) -> datetime:
    """An event with one visitor (photo, embedding, a track, a video) and one bystander
    track, a segment and its end marker, marked done; returns its ``done_at``."""
    enroll_visitor(
        services, engine, consent=CONSENT, event_id="expo", display_name="Jacinda",
        photos=[photos["ardern1"].path.read_bytes()], visitor_id="v1",
    )  # fmt: skip
    bucket = services.settings.bucket_recordings  # the three buckets are one in the tests
    store.put_bytes(bucket, SEGMENT_KEY, b"footage")
    store.put_bytes(bucket, keys.control_marker_key("expo", "end"), b"")
    for key in keys.highlight_keys("expo", "v1"):
        store.put_bytes(bucket, key, b"video")
    with services.catalog() as catalog:
        catalog.events.upsert_camera(Camera("expo", "cam1", "Entrance"))
        segment = catalog.segments.register("expo", "cam1", SEGMENT_KEY, EVENT_START)
        catalog.segments.save_tracks(segment.id, [_track(0, "v1"), _track(1, None)])
        catalog.outputs.upsert(Output("expo", "v1", "done", keys.highlight_key("expo", "v1")))
        catalog.events.set_status("expo", "done")
        event = catalog.events.get("expo")
    assert event is not None and event.done_at is not None
    return event.done_at


def _centroids(catalog: Catalog) -> dict[str | None, bool]:
    (segment,) = catalog.segments.for_event("expo")
    tracks = catalog.tracks.of_segment(segment.id)
    return {t.visitor_id: t.identity.centroid is not None for t in tracks}


def _kinds(store: ObjectStore, bucket: str) -> list[str | None]:
    return sorted({str(keys.key_kind(item.key)) for item in store.list(bucket, "expo/")})


def test_each_kind_of_data_goes_when_its_time_comes(
    services: Services, done_event: datetime, store: ObjectStore, catalog: Catalog
) -> None:
    policy = RetentionPolicy()
    bucket = services.settings.bucket_recordings

    before = purge_event(services, "expo", policy, done_event - timedelta(minutes=1))
    assert before.steps == () and before.deleted == 0

    hour = purge_event(services, "expo", policy, done_event + timedelta(hours=1))
    assert hour.steps == ("bystander_embeddings",) and hour.rows == {"bystander_embeddings": 1}
    assert _centroids(catalog) == {"v1": True, None: False}
    assert _kinds(store, bucket) == ["enrollment", "highlight", "recording"]

    week = purge_event(services, "expo", policy, done_event + timedelta(days=8))
    assert week.objects["enrollments"] == 1
    assert catalog.visitors.enrollments("expo", "default") == []
    assert _centroids(catalog) == {"v1": False, None: False}
    assert _kinds(store, bucket) == ["highlight", "recording"]

    month = purge_event(services, "expo", policy, done_event + timedelta(days=31))
    assert month.objects["recordings"] == 2  # the segment and the end marker
    assert _kinds(store, bucket) == ["highlight"]
    assert [s.object_key for s in catalog.segments.for_event("expo")] == [SEGMENT_KEY]

    quarter = purge_event(services, "expo", policy, done_event + timedelta(days=91))
    # Every highlight object (the fixture writes each of keys.highlight_keys: five since
    # the frame record joined them).
    assert quarter.objects["highlights"] == 5 and quarter.rows["highlights"] == 1
    assert store.list(bucket, "expo/") == []
    assert catalog.visitors.for_event("expo") == [] and catalog.outputs.for_event("expo") == []

    again = purge_event(services, "expo", policy, done_event + timedelta(days=91))
    assert again.deleted == 0


def test_a_remembered_visitors_embedding_stays_as_long_as_they_do_but_not_their_photo(
    services: Services, done_event: datetime, store: ObjectStore, catalog: Catalog,
    engine: FaceEngine, photos: dict[str, SamplePhoto],
) -> None:  # fmt: skip
    enroll_visitor(
        services, engine, consent=CONSENT, event_id="expo", display_name="Barack",
        photos=[photos["obama"].path.read_bytes()], visitor_id="v-remembered", remember=True,
    )  # fmt: skip
    bucket = services.settings.bucket_enrollments

    purge_event(services, "expo", RetentionPolicy(), done_event + timedelta(days=8))

    kept = catalog.visitors.enrollments("expo", "default")
    assert [e.visitor_id for e in kept] == ["v-remembered"]  # v1's went
    assert store.list(bucket, keys.visitor_enrollment_prefix("expo", "v-remembered")) == []
    purge_event(services, "expo", RetentionPolicy(), done_event + timedelta(days=91))
    assert catalog.visitors.enrollments("expo", "default") == []
    assert catalog.visitors.for_event("expo") == []


def test_an_event_not_done_keeps_everything(
    services: Services, done_event: datetime, store: ObjectStore, catalog: Catalog
) -> None:
    catalog.events.set_status("expo", "running")
    with catalog.connection, catalog.connection.cursor() as cur:
        cur.execute("UPDATE events SET done_at = NULL")
    report = purge_event(services, "expo", RetentionPolicy(), done_event + timedelta(days=999))
    assert report.deleted == 0
    assert len(store.list(services.settings.bucket_recordings, "expo/")) == 8


def test_the_event_file_sets_the_policy_and_scas_purge_applies_it(
    services: Services,
    done_event: datetime,
    store: ObjectStore,
    catalog: Catalog,
    model_pack_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (events / "expo.yml").write_text("cameras: [{id: cam1}]\nretention: {recordings_days: 0}\n")
    monkeypatch.setenv("SCAS_EVENTS_DIR", str(events))
    use_test_servers(monkeypatch, services, model_pack_dir, tmp_path / "scas-data")
    # Two of the console's analyses: one past the 30 days analyses are kept, one not.
    analyses = analyses_root(tmp_path / "scas-data")
    for name, age_days in (("old", 31), ("recent", 29)):
        made = datetime.now(UTC) - timedelta(days=age_days)
        folder = operator_folder(analyses, "operator") / name
        folder.mkdir(parents=True)
        (folder / RECORD).write_text(json.dumps({"created_at": made.isoformat()}))

    result = CliRunner().invoke(app, ["purge"])

    assert result.exit_code == 0, result.output
    assert "bystander_embeddings, recordings" in result.output
    assert [p.name for p in operator_folder(analyses, "operator").iterdir()] == ["recent"]
    assert _kinds(store, services.settings.bucket_recordings) == ["enrollment", "highlight"]
    (report,) = retention.purge(services, datetime.now(UTC))
    assert report.steps == ("bystander_embeddings", "recordings") and report.deleted == 0
