"""Returning visitors (issue 27, item 4) on the real catalog, object store and face models,
with real photos: known again at a later event only with the second consent, linked only
when they accept, and forgotten in every event at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from scas_lib.catalog.records import Output
from scas_lib.cli import app
from scas_lib.errors import ScasError
from scas_lib.faces.engine import FaceEngine
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.services import Services
from scas_lib.storage import keys
from scas_lib.storage.object_store import ObjectStore
from scas_lib.visitors.returning import (
    earlier_visits,
    every_visit,
    forget_everywhere,
    link_earlier_visits,
)
from scas_lib.visitors.stage import enroll_visitor

from .conftest import CONSENT, use_test_servers

EARLIER, LATER = "fair-2025", "expo-2026"


def enroll(
    services: Services, engine: FaceEngine, photo: SamplePhoto, event_id: str, visitor_id: str,
    *, remember: bool,
) -> None:  # fmt: skip
    enroll_visitor(
        services, engine, consent=CONSENT, event_id=event_id, display_name=photo.name,
        photos=[photo.path.read_bytes()], visitor_id=visitor_id, remember=remember,
    )  # fmt: skip


def test_a_returning_visitor_who_consented_is_offered_linked_and_forgotten_everywhere(
    services: Services, engine: FaceEngine, photos: dict[str, SamplePhoto], store: ObjectStore
) -> None:
    # The earlier event: Jacinda Ardern and Barack Obama asked to be remembered, Emmanuel
    # Macron did not; each has a video.
    enroll(services, engine, photos["ardern1"], EARLIER, "v-ardern", remember=True)
    enroll(services, engine, photos["obama"], EARLIER, "v-obama", remember=True)
    enroll(services, engine, photos["macron1"], EARLIER, "v-macron", remember=False)
    bucket = services.settings.bucket_highlights
    for visitor in ("v-ardern", "v-obama"):
        store.put_bytes(bucket, keys.highlight_key(EARLIER, visitor), b"video")
        with services.catalog() as catalog:
            catalog.outputs.upsert(
                Output(EARLIER, visitor, "done", keys.highlight_key(EARLIER, visitor))
            )
    # She comes back to a later event, with another photo of her, and asks again.
    enroll(services, engine, photos["ardern2"], LATER, "v-jacinda", remember=True)

    (offered,) = earlier_visits(services, engine, LATER, "v-jacinda")
    assert (offered.event_id, offered.visitor_id) == (EARLIER, "v-ardern")
    assert offered.similarity >= engine.pack.manifest.thresholds.match
    # Nothing is linked until she accepts, and only what was offered is linked.
    assert every_visit(services, LATER, "v-jacinda") == [(LATER, "v-jacinda")]
    assert link_earlier_visits(services, engine, LATER, "v-jacinda", ["no-such-event"]) == []
    (linked,) = link_earlier_visits(services, engine, LATER, "v-jacinda", [EARLIER])
    assert linked.visitor_id == "v-ardern"
    assert every_visit(services, LATER, "v-jacinda") == [
        (EARLIER, "v-ardern"),
        (LATER, "v-jacinda"),
    ]
    assert every_visit(services, EARLIER, "v-ardern") == every_visit(services, LATER, "v-jacinda")
    assert earlier_visits(services, engine, LATER, "v-jacinda") == []  # linked already

    results = forget_everywhere(services, LATER, "v-jacinda")

    assert [(r.event_id, r.visitor_id, r.catalog_rows) for r in results] == [
        (EARLIER, "v-ardern", True),
        (LATER, "v-jacinda", True),
    ]
    assert results[0].objects_deleted == 2  # her photo and her video of the earlier event
    with services.catalog() as catalog:
        assert [v.id for v in catalog.visitors.for_event(EARLIER)] == ["v-macron", "v-obama"]
        assert catalog.visitors.for_event(LATER) == []
    remaining = {o.key for o in store.list(bucket)}
    assert remaining == {
        f"{EARLIER}/v-obama/0.jpg",
        f"{EARLIER}/v-macron/0.jpg",
        keys.highlight_key(EARLIER, "v-obama"),
    }


@pytest.mark.parametrize("who_consented", ["earlier only", "later only", "neither"])
def test_without_the_second_consent_nothing_links_two_events(
    services: Services, engine: FaceEngine, photos: dict[str, SamplePhoto], who_consented: str
) -> None:
    enroll(services, engine, photos["ardern1"], EARLIER, "v-ardern",
           remember=who_consented == "earlier only")  # fmt: skip
    enroll(services, engine, photos["ardern2"], LATER, "v-jacinda",
           remember=who_consented == "later only")  # fmt: skip

    assert earlier_visits(services, engine, LATER, "v-jacinda") == []
    assert earlier_visits(services, engine, EARLIER, "v-ardern") == []
    if who_consented == "later only":
        assert link_earlier_visits(services, engine, LATER, "v-jacinda", [EARLIER]) == []
    else:
        with pytest.raises(ScasError, match="did not consent to be remembered"):
            link_earlier_visits(services, engine, LATER, "v-jacinda", [EARLIER])
    with services.catalog() as catalog:
        # Not even the catalog's own method links a visitor without the consent.
        catalog.people.link(EARLIER, "v-ardern", [(LATER, "v-jacinda")])
        catalog.people.link(LATER, "v-jacinda", [(EARLIER, "v-ardern")])
    assert every_visit(services, LATER, "v-jacinda") == [(LATER, "v-jacinda")]
    assert every_visit(services, EARLIER, "v-ardern") == [(EARLIER, "v-ardern")]


def test_the_commands_enroll_with_remember_offer_link_and_forget_everywhere(
    services: Services, engine: FaceEngine, photos: dict[str, SamplePhoto],
    model_pack_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    use_test_servers(monkeypatch, services, model_pack_dir, tmp_path / "scas-data")
    enroll(services, engine, photos["ardern1"], EARLIER, "v-ardern", remember=True)
    scas = CliRunner()
    enrolled = scas.invoke(app, [
        "enroll", "--event", LATER, "--name", "Jacinda", "--consent", "en", "--remember",
        "--visitor-id", "v-jacinda", str(photos["ardern2"].path),
    ])  # fmt: skip
    assert enrolled.exit_code == 0, enrolled.output
    assert f"may be ardern1 (v-ardern) of {EARLIER}" in enrolled.output

    wrong = scas.invoke(app, ["link", "v-jacinda", "--event", LATER, "--to", "no-such-event"])
    assert wrong.exit_code == 1 and "is offered" in wrong.output
    linked = scas.invoke(app, ["link", "v-jacinda", "--event", LATER, "--to", EARLIER])
    assert linked.exit_code == 0, linked.output
    assert f"linked v-jacinda of {LATER} to v-ardern of {EARLIER}" in linked.output

    forgot = scas.invoke(app, ["forget", "v-jacinda", "--event", LATER, "--everywhere"])

    assert forgot.exit_code == 0, forgot.output
    assert f"forgot v-ardern of {EARLIER}: 1 objects deleted" in forgot.output
    assert f"forgot v-jacinda of {LATER}: 1 objects deleted" in forgot.output
    with services.catalog() as catalog:
        assert catalog.visitors.for_event(EARLIER) == catalog.visitors.for_event(LATER) == []
