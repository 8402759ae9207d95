"""Playback of a camera in a real browser: the camera's stored segments play one after the
other (presigned links, as stored), and the boxes drawn over the video are where the
simulation put the visitors' faces at the time the video shows, with their names."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import requests
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.faces.engine import FaceEngine
from scas_lib.media.probe import probe
from scas_lib.recognition.stage import recognize_segment
from scas_lib.simulation.generate import GeneratedEvent
from scas_lib.simulation.replay import replay_event
from scas_lib.simulation.scene import face_states
from scas_lib.tracks import iou

from ..conftest import EVENT_START, enroll_event_visitors
from .conftest import EVENT, OPERATOR_TOKEN, WebServer, wait_for

Browser = Callable[..., WebDriver]
Screenshots = Callable[[WebDriver, str], Path]
BEARER = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
#: The lags looked at, in frames of the simulation's 25 fps (a second either way).
LAGS_S = [round(k / 25, 2) for k in range(-25, 26)]


def test_playback_plays_a_cameras_segments_with_the_faces_drawn_where_and_when_they_were(
    web: WebServer, browser: Browser, screenshots: Screenshots, event: GeneratedEvent,
    engine: FaceEngine, footage: FaceEngine,
) -> None:  # fmt: skip
    services = web.services
    enroll_event_visitors(services, event, engine, name_suffix=" 访客")
    replay_event(event.directory, services.object_store(), services.settings.bucket_recordings,
                 speed=0)  # fmt: skip
    # The camera on which the visitors' faces are in sight longest (the simulation's truth).
    visitors = {p.id for p in event.plan.people if p.role == "visitor"}
    seen: dict[str, float] = {}
    for person in visitors:
        for cam, spans in event.truth.get(person, {}).items():
            seen[cam] = seen.get(cam, 0.0) + sum(b - a for a, b in spans)
    camera = max(sorted(seen), key=seen.__getitem__)
    mine = [s for s in event.segments if s.camera_id == camera and not s.corrupt]
    results = [recognize_segment(services, footage, s.key) for s in mine]
    assert any(r.identified for r in results), results
    begin = datetime.fromisoformat(mine[0].start_time)
    end = datetime.fromisoformat(mine[-1].start_time) + timedelta(seconds=mine[-1].duration_s)
    span = {"start": begin.isoformat(), "end": end.isoformat()}

    path = f"/events/{EVENT}/cameras/{camera}/playback"
    assert requests.get(web.api(path), params=span, timeout=10).status_code == 401
    playback = requests.get(web.api(path), params=span, headers=BEARER, timeout=30).json()
    assert [s["key"] for s in playback["segments"]] == [s.key for s in mine]
    assert all(s["url"].startswith(services.s3.endpoint) for s in playback["segments"])
    stored = sum(r.tracks for r in results)
    assert sum(len(s["tracks"]) for s in playback["segments"]) == stored
    with services.catalog() as catalog:
        names = {v.id: v.display_name for v in catalog.visitors.for_event(EVENT)}

    driver = browser((1280, 900))
    page = f"/playback/{EVENT}/{camera}?{urlencode(span)}"
    driver.get(f"{web.url}/sign-in?{urlencode({'token': OPERATOR_TOKEN, 'next': page})}")
    wait_for(driver, "return document.getElementById('video').currentTime > 0.2", 20)
    # Watch the overlay while the segments play. Every track with a face sample at the
    # moment the video shows is drawn; a named box drawn there is that visitor's face where
    # the simulation put it (when it was in sight: a box between two samples is a guess).
    tracks = {s["key"]: {t["index"]: t for t in s["tracks"]} for s in playback["segments"]}
    # The first timestamp of each segment's file (the simulation's cameras do not start at
    # 0): the frame on screen is that far into the segment.
    first_pts = {s.key: probe(event.directory / s.path).start_time for s in mine}
    assert any(pts > 0.5 for pts in first_pts.values()), first_pts
    checked, segments_seen, overlaps, lags = 0, set(), [], []
    deadline = time.monotonic() + sum(s.duration_s for s in mine) + 15
    while time.monotonic() < deadline:
        overlay, ended = driver.execute_script(
            "const v = document.getElementById('video');return [window.scasOverlay, v.ended];"
        )
        segments_seen.add(overlay["segment"])
        if overlay["key"]:
            shown = overlay["mediaTime"] - first_pts[overlay["key"]]
            assert abs(overlay["time"] - shown) < 0.05, (overlay, first_pts)
            drawn_now = {d["track"]: d for d in overlay["boxes"]}
            for index, track in tracks[overlay["key"]].items():
                if any(abs(s["offset_s"] - shown) < 0.05 for s in track["samples"]):
                    assert index in drawn_now, (overlay, index)
            segment = next(s for s in mine if s.key == overlay["key"])
            at = (datetime.fromisoformat(segment.start_time) - EVENT_START).total_seconds()
            truth = face_states(event.plan, camera, at + shown, event.sprite_geometry)
            for drawn in overlay["boxes"]:
                if not drawn["visitor_id"]:
                    continue
                assert drawn["name"] == names[drawn["visitor_id"]]
                person = [s for s in truth if s.person_id == drawn["visitor_id"]]
                assert person, (drawn, shown)  # in front of this camera at that moment
                samples = tracks[overlay["key"]][drawn["track"]]["samples"]
                if not person[0].visible or min(abs(s["offset_s"] - shown) for s in samples) > 0.1:
                    continue
                box = tuple(drawn["box"])
                overlaps.append(iou(person[0].box, box))
                # When in the simulation's time the drawn box fits best: the overlay's lag
                # (of equal fits, the nearest: a face standing still fits at every time).
                fits = {
                    dt: iou(f.box, box)
                    for dt in LAGS_S
                    for f in face_states(event.plan, camera, at + shown + dt, event.sprite_geometry)
                    if f.person_id == drawn["visitor_id"]
                }
                lags.append(max(fits, key=lambda dt: (round(fits[dt], 2), -abs(dt))))
                checked += 1
                if checked == 5:
                    screenshots(driver, "playback")
        if ended and overlay["segment"] == len(mine) - 1:
            break
        time.sleep(0.1)
    assert segments_seen >= set(range(len(mine))), segments_seen  # the playlist went on
    assert checked >= 5, checked
    # In sync: the boxes fit the faces best at the time on screen (a median lag within two
    # frames at 25 fps: the first frame's time is known from the first frame callback,
    # which may come a frame late), and nearly every one overlaps its face there (a
    # detector's box can stray at the frame's edge or behind a pillar).
    lag = statistics.median(lags)
    fitting = sum(o > 0.3 for o in overlaps) / len(overlaps)
    print(
        f"playback: {checked} named boxes on {camera}: median lag {lag:+.2f} s, "
        f"{fitting:.0%} overlap their face (IoU > 0.3), median IoU "
        f"{statistics.median(overlaps):.2f}"
    )
    assert abs(lag) <= 0.08, lags
    assert fitting >= 0.9, overlaps
