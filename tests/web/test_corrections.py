""" "Not this person" from the console's API, on real footage, real recognition and real
renders: the moment leaves the visitor's new edit plan, and the correction outlives a
re-recognition of the footage. The console's moments, in a real browser, draw how the
visitor looked through each (the expressions of their described faces)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.faces.engine import FaceEngine
from scas_lib.highlights.stage import plan_highlights, render_highlight
from scas_lib.highlights.templates import load_template
from scas_lib.recognition.stage import recognize_segment
from scas_lib.services import Services
from scas_lib.simulation.generate import GeneratedEvent
from scas_lib.simulation.replay import replay_event
from scas_lib.storage import keys
from scas_lib.tracks import EXPRESSIONS, FaceTrack

from ..conftest import enroll_event_visitors
from .conftest import EVENT, OPERATOR_TOKEN, WebServer, wait_for
from .test_screen import BEARER


def _covers(clip: dict, camera: str, moment: datetime) -> bool:
    """Whether a clip of an edit plan (its JSON) shows ``camera`` at ``moment``."""
    return clip["camera_id"] == camera and datetime.fromisoformat(
        clip["start"]
    ) <= moment <= datetime.fromisoformat(clip["end"])


def _a_track_with_others_apart(services: Services, seen: list[str]) -> tuple[str, FaceTrack]:
    """A seen visitor and one of their tracks, long enough that its middle is further from
    its ends than an appearance's margins (0.5 s), that no other track of theirs on its
    camera overlaps (say the same walk in the next segment): taking it away leaves them a
    video whose plan must not show its middle."""
    with services.catalog() as catalog:
        for visitor in seen:
            tracks = catalog.tracks.identified(EVENT, visitor)
            for track in sorted(tracks, key=lambda t: t.end_time - t.start_time, reverse=True):
                others = [t for t in tracks if t is not track]
                apart = all(
                    o.camera_id != track.camera_id
                    or o.end_time <= track.start_time
                    or o.start_time >= track.end_time
                    for o in others
                )
                if others and apart and track.end_time - track.start_time > timedelta(seconds=1.5):
                    return visitor, track
    raise AssertionError("no visitor has a track apart from their others")


def test_not_this_person_removes_the_moment_and_survives_a_re_recognition(
    web: WebServer, event: GeneratedEvent, engine: FaceEngine, footage: FaceEngine,
    browser: Callable[..., WebDriver], screenshots: Callable[[WebDriver, str], Path],
) -> None:  # fmt: skip
    services = web.services
    store = services.object_store()
    enroll_event_visitors(services, event, engine)
    replay_event(event.directory, store, services.settings.bucket_recordings, speed=0)
    for segment in event.segments:
        recognize_segment(services, footage, segment.key)
    template = load_template("default", {"vertical": False})
    seen = plan_highlights(services, EVENT, template)
    visitor, wrong = _a_track_with_others_apart(services, seen)
    camera, start, end = wrong.camera_id, wrong.start_time, wrong.end_time
    middle = start + (end - start) / 2
    assert render_highlight(services, EVENT, visitor, template).status == "done"
    plan_key = keys.edit_plan_key(EVENT, visitor)
    before = json.loads(store.get_bytes(services.settings.bucket_highlights, plan_key))
    assert any(_covers(c, camera, middle) for c in before["clips"])
    moments = requests.get(
        web.api(f"/events/{EVENT}/visitors/{visitor}/moments"), headers=BEARER, timeout=10
    ).json()
    assert any(m["camera_id"] == camera for m in moments)
    # Each moment shows how the visitor looked through it: their described faces, in order.
    timeline = [seen for m in moments for seen in m["expressions"]]
    assert timeline, "no moment has a described face"
    for m in moments:
        times = [datetime.fromisoformat(seen["time"]) for seen in m["expressions"]]
        assert times == sorted(times)
        first, last = (datetime.fromisoformat(m[side]) for side in ("start_time", "end_time"))
        assert all(first <= time <= last for time in times)
    assert {seen["expression"] for seen in timeline} <= set(EXPRESSIONS)
    # The console draws that timeline: a mark per described face, and the smile share.
    driver = browser((1280, 1000))
    driver.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/{EVENT}")
    row = f"#visitors [data-visitor='{visitor}']"
    wait_for(driver, f'return document.querySelector("{row}")', 20)
    driver.find_element(By.CSS_SELECTOR, f"{row} .menu summary").click()
    driver.find_element(By.CSS_SELECTOR, f"{row} .moments").click()
    wait_for(driver, f'return document.querySelector("{row} .expression")', 20)
    marks = driver.find_elements(By.CSS_SELECTOR, f"{row} .moment-list .expression")
    assert len(marks) == len(timeline)
    assert all(mark.get_attribute("title") for mark in marks)
    assert driver.find_element(By.CSS_SELECTOR, f"{row} .smile-share").text.endswith("%")
    # Each moment is a thumbnail of its footage (issue 42): shown loaded, in view.
    driver.execute_script(f'document.querySelector("{row} .moment-list").scrollIntoView()')
    wait_for(driver, "return [...document.querySelectorAll(arguments[0])].every("
             "(v) => v.readyState >= 2)", 20, f"{row} .moment-clip")  # fmt: skip
    screenshots(driver, "console-moments")

    # The operator marks that part of the moment (the track's span) as someone else.
    body = {"camera_id": camera, "start": start.isoformat(), "end": end.isoformat()}
    answer = requests.post(
        web.api(f"/events/{EVENT}/visitors/{visitor}/not-this-person"),
        headers=BEARER, json=body, timeout=300,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "done"
    after = json.loads(store.get_bytes(services.settings.bucket_highlights, plan_key))
    assert after["clips"] and not any(_covers(c, camera, middle) for c in after["clips"])

    # Recognized again: the tracks come back to the visitor, the correction keeps them out.
    for segment in event.segments:
        recognize_segment(services, footage, segment.key)
    with services.catalog() as catalog:
        tracks = catalog.tracks.identified(EVENT, visitor)
    assert any(t.camera_id == camera and t.start_time < end and t.end_time > start for t in tracks)
    assert visitor in plan_highlights(services, EVENT, template)
    with services.catalog() as catalog:
        kept = catalog.outputs.appearances(EVENT, visitor)
    assert kept and not any(
        a.camera_id == camera and a.start_time <= middle <= a.end_time for a in kept
    )

    refused = requests.post(
        web.api(f"/events/{EVENT}/visitors/{visitor}/not-this-person"), json=body, timeout=10
    )
    assert refused.status_code == 401
