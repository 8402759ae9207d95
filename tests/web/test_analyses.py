"""Analysing a video from the console: the API (upload, live progress over server-sent
events, results, history, delete) and the page in a real browser, on real photos, real
recognition and real ffmpeg."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.analysis.folders import analyses_root
from scas_lib.events import ConsentText
from scas_lib.faces.engine import FaceEngine
from scas_lib.media.probe import probe
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.visitors.stage import enroll_visitor, forget_visitor

from ..test_analysis import _scenes_video
from .conftest import EVENT, OPERATOR_TOKEN, WebServer, wait_for
from .test_screen import BEARER


@pytest.fixture(scope="module")
def scenes(photos: dict[str, SamplePhoto], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _scenes_video(photos, tmp_path_factory.mktemp("analyses") / "lobby.mp4")


def _events(response: requests.Response) -> Iterator[dict[str, object]]:
    """The ``progress`` events of a server-sent event stream, as they come."""
    event = None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: ") and event == "progress":
            yield json.loads(line[len("data: ") :])


def _upload(web: WebServer, path: Path) -> dict[str, object]:
    with open(path, "rb") as file:
        answer = requests.post(
            web.api("/analyses"), headers=BEARER, files={"file": (path.name, file)}, timeout=30
        )
    assert answer.status_code == 202, answer.text
    entry: dict[str, object] = answer.json()
    return entry


def test_an_uploaded_video_is_analysed_with_live_progress_and_its_results_kept(
    web: WebServer, scenes: Path, tmp_path: Path
) -> None:
    entry = _upload(web, scenes)
    assert entry["name"] == "lobby.mp4" and entry["progress"]["phase"] == "queued"  # type: ignore[index]
    stream = requests.get(
        web.api(f"/analyses/{entry['id']}/progress"), headers=BEARER, stream=True, timeout=120
    )
    assert stream.headers["content-type"].startswith("text/event-stream")
    seen = []
    for progress in _events(stream):
        seen.append(progress)
        if progress["phase"] in ("done", "failed"):
            break
    stream.close()
    assert seen[-1]["phase"] == "done", seen[-1]
    percents = [float(p["percent"]) for p in seen]  # type: ignore[arg-type]
    assert percents == sorted(percents) and percents[-1] == 100.0
    # (A poll every half second: a short video's phases may pass between two of them.)
    assert {p["phase"] for p in seen} <= {"queued", "recognizing", "annotating", "done"}
    assert int(seen[-1]["faces_found"]) > 0  # type: ignore[call-overload]

    video = requests.get(web.api(f"/analyses/{entry['id']}/video"), headers=BEARER, timeout=30)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert "lobby.annotated.mp4" in video.headers["content-disposition"]
    (tmp_path / "got.mp4").write_bytes(video.content)
    assert probe(tmp_path / "got.mp4", packets=True).frames == probe(scenes, packets=True).frames
    # The same video as HLS: a playlist of segments that together hold every frame.
    hls = web.api(f"/analyses/{entry['id']}/hls")
    playlist = requests.get(f"{hls}/index.m3u8", headers=BEARER, timeout=30)
    assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
    segments = [line for line in playlist.text.splitlines() if line.endswith(".ts")]
    assert segments and "#EXT-X-ENDLIST" in playlist.text
    joined = tmp_path / "joined.ts"
    joined.write_bytes(b"".join(
        requests.get(f"{hls}/{name}", headers=BEARER, timeout=30).content for name in segments
    ))  # fmt: skip
    assert probe(joined, packets=True).frames == probe(scenes, packets=True).frames
    assert requests.get(f"{hls}/..%2Fsource.mp4", headers=BEARER, timeout=10).status_code == 404
    record = requests.get(web.api(f"/analyses/{entry['id']}/json"), headers=BEARER, timeout=30)
    assert record.json()["people"] == ["unknown #1", "unknown #2"]
    thumbnail = requests.get(
        web.api(f"/analyses/{entry['id']}/thumbnail"), headers=BEARER, timeout=30
    )
    assert (
        thumbnail.headers["content-type"] == "image/jpeg" and thumbnail.content[:2] == b"\xff\xd8"
    )

    # A file that is no video fails with its reason, and the next analysis still runs.
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    failed = _upload(web, bad)
    again = _upload(web, scenes)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        history = requests.get(web.api("/analyses"), headers=BEARER, timeout=10).json()
        phases = {item["id"]: item["progress"]["phase"] for item in history}
        if phases[again["id"]] in ("done", "failed"):  # type: ignore[index]
            break
        time.sleep(0.5)
    assert [item["id"] for item in history] == [again["id"], failed["id"], entry["id"]]
    assert phases == {entry["id"]: "done", failed["id"]: "failed", again["id"]: "done"}
    reason = next(item for item in history if item["id"] == failed["id"])["progress"]["error"]
    assert "not a video file" in reason and "\n" not in reason

    # Without the operator's token nothing is there; deleted, it is gone.
    assert requests.get(web.api("/analyses"), timeout=10).status_code == 401
    assert requests.get(web.api(f"/analyses/{entry['id']}/video"), timeout=10).status_code == 401
    deleted = requests.delete(web.api(f"/analyses/{entry['id']}"), headers=BEARER, timeout=10)
    assert deleted.status_code == 200
    gone = requests.get(web.api(f"/analyses/{entry['id']}/video"), headers=BEARER, timeout=10)
    assert gone.status_code == 404
    remaining = requests.get(web.api("/analyses"), headers=BEARER, timeout=10).json()
    assert entry["id"] not in {item["id"] for item in remaining}


def test_the_analyses_page_uploads_shows_progress_plays_and_deletes(
    web: WebServer, scenes: Path, browser: Callable[..., WebDriver],
    screenshots: Callable[[WebDriver, str], Path],
) -> None:  # fmt: skip
    driver = browser((1280, 1000))
    driver.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/analyses")
    wait_for(driver, "return document.getElementById('upload') !== null", 20)
    driver.find_element(By.ID, "file").send_keys(str(scenes))
    driver.find_element(By.CSS_SELECTOR, "#upload button[type=submit]").click()
    wait_for(
        driver, "return document.getElementById('progress-text').dataset.phase === 'done'", 120
    )
    assert "100%" in driver.find_element(By.ID, "progress-text").text
    # The annotated video plays in the page, and both downloads are offered.
    wait_for(driver, "return document.getElementById('player').readyState >= 2", 30)
    driver.execute_script("document.getElementById('player').muted = true;"
                          "return document.getElementById('player').play();")  # fmt: skip
    wait_for(driver, "return document.getElementById('player').currentTime > 0.5", 20)
    # Played as HLS: Chromium plays it natively.
    played = driver.execute_script("return document.getElementById('player').currentSrc;")
    assert played.endswith("/hls/index.m3u8"), played
    assert driver.find_element(By.ID, "download-json").get_attribute("href").endswith("/json")
    newest = "#history li:first-child"
    wait_for(driver, f"return document.querySelector(\"{newest}\")?.dataset.phase === 'done'", 20)
    wait_for(driver, f'return document.querySelector("{newest} .thumbnail").naturalWidth > 0', 20)
    assert "unknown #1" in driver.find_element(By.CSS_SELECTOR, f"{newest} .label").text
    screenshots(driver, "analyses")
    # Deleted (after the confirmation), it leaves the history.
    analysis = driver.find_element(By.CSS_SELECTOR, newest).get_attribute("data-analysis")
    driver.execute_script("window.confirm = () => true;")
    driver.find_element(By.CSS_SELECTOR, f"{newest} .delete").click()
    gone = f"return !document.querySelector(\"#history li[data-analysis='{analysis}']\")"
    wait_for(driver, gone, 20)
    listed = requests.get(web.api("/analyses"), headers=BEARER, timeout=10).json()
    assert analysis not in {entry["id"] for entry in listed}


def test_forgetting_a_visitor_deletes_the_analyses_that_named_them(
    web: WebServer, scenes: Path, engine: FaceEngine, photos: dict[str, SamplePhoto]
) -> None:
    services = web.services
    with services.catalog() as catalog:
        catalog.events.ensure(EVENT)
    consent = ConsentText().agreed("en", datetime.now(UTC))
    enrolled = enroll_visitor(
        services, engine, event_id=EVENT, display_name="Jacinda", consent=consent,
        photos=[photos["ardern2"].path.read_bytes()],
    )  # fmt: skip
    visitor = enrolled.visitor.id
    with open(scenes, "rb") as file:
        answer = requests.post(
            web.api("/analyses"), headers=BEARER, files={"file": ("named.mp4", file)},
            data={"event": EVENT}, timeout=30,
        )  # fmt: skip
    named = answer.json()
    anonymous = _upload(web, scenes)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = {
            item["id"]: item
            for item in requests.get(web.api("/analyses"), headers=BEARER, timeout=10).json()
        }
        if all(states[a["id"]]["progress"]["phase"] == "done" for a in (named, anonymous)):
            break
        time.sleep(0.5)
    assert states[named["id"]]["people"] == ["unknown #1", "Jacinda"]
    assert states[anonymous["id"]]["people"] == ["unknown #1", "unknown #2"]

    forget_visitor(services, EVENT, visitor)
    gone = requests.get(web.api(f"/analyses/{named['id']}"), headers=BEARER, timeout=10)
    assert gone.status_code == 404
    kept = requests.get(web.api(f"/analyses/{anonymous['id']}"), headers=BEARER, timeout=10)
    assert kept.status_code == 200
    on_disk = analyses_root(services.settings.data_dir)
    assert not [p for p in on_disk.rglob("*") if named["id"] in str(p)]
