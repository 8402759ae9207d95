"""Analysing a video from the console: the API (upload, live progress over server-sent
events, results, history, delete) and the page in a real browser, on real photos, real
recognition and real ffmpeg."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from pydantic import SecretStr
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.analysis.folders import analyses_root
from scas_lib.events import ConsentText
from scas_lib.faces.engine import FaceEngine
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.media.probe import probe
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.services.runtime import Services
from scas_lib.visitors.stage import enroll_visitor, forget_visitor
from scas_lib.web.app import URL_PREFIX, standalone_app
from scas_lib.web.context import WebContext

from ..test_analysis import _scenes_video
from .conftest import EVENT, OPERATOR_TOKEN, WebServer, run_uvicorn, wait_for
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

    # A file that is no video is refused at once (see the bad-upload test), and the next
    # analysis still runs.
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with open(bad, "rb") as file:
        refused = requests.post(
            web.api("/analyses"), headers=BEARER, files={"file": (bad.name, file)}, timeout=30
        )
    assert refused.status_code == 422 and "not a video file" in refused.json()["message"]
    again = _upload(web, scenes)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        history = requests.get(web.api("/analyses"), headers=BEARER, timeout=10).json()
        phases = {item["id"]: item["progress"]["phase"] for item in history}
        if phases[again["id"]] in ("done", "failed"):  # type: ignore[index]
            break
        time.sleep(0.5)
    assert [item["id"] for item in history] == [again["id"], entry["id"]]
    assert phases == {entry["id"]: "done", again["id"]: "done"}

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


def _ten_hours_cut_short(target: Path) -> Path:
    """A real ten-hour video (64x64, a frame a second) whose upload stopped halfway: its
    header (written first, faststart) still says ten hours."""
    whole = target.with_name("ten-hours.mp4")
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", "color=c=gray:s=64x64:r=1", "-t", "36000",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "600", "-movflags", "+faststart",
         str(whole)],
        "ten-hour video",
    )  # fmt: skip
    data = whole.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    assert probe(target).duration == pytest.approx(36000, abs=1)
    return target


def _raw_upload(base: str, path: Path, share: float) -> bytes:
    """Send an upload of ``path`` by hand: the request's headers promise the whole body,
    ``share`` of it is sent, and the connection is closed; the server's first answer
    line (none when the upload was cut)."""
    boundary = "scas-cut-upload"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"'
        "\r\nContent-Type: video/mp4\r\n\r\n"
    ).encode()
    body = head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    url = urlsplit(base)
    request = (
        f"POST {url.path}/api/analyses HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: {BEARER['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(request + body[: round(len(body) * share)])
        if share < 1:
            time.sleep(0.5)
            return b""
        return connection.makefile("rb").readline()


def test_bad_uploads_are_one_clear_line_each_and_leave_nothing(
    services: Services, engine: FaceEngine, events_dir: Path, scenes: Path, tmp_path: Path
) -> None:
    limit_mb = 1
    settings = services.settings.model_copy(
        update={"operator_token": SecretStr(OPERATOR_TOKEN), "analysis_max_mb": limit_mb}
    )
    context = WebContext.ready(settings, replace(services, settings=settings), engine)
    text = tmp_path / "notes.mp4"
    text.write_text("a shopping list, not a video\n")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    cut = _ten_hours_cut_short(tmp_path / "cut.mp4")
    big = tmp_path / "big.mp4"
    big.write_bytes(scenes.read_bytes() * (1 + (limit_mb << 20) // scenes.stat().st_size))
    expected = {
        text: (422, "notes.mp4: not a video file"),
        empty: (422, "empty.mp4: not a video file"),
        cut: (422, "cut.mp4: the file is cut short: its header says 10:00:00"),
        big: (413, f"the video is over {limit_mb} MB"),
    }
    root = analyses_root(settings.data_dir)
    with run_uvicorn(standalone_app(context)) as base:
        api = f"{base}{URL_PREFIX}/api/analyses"
        history = requests.get(api, headers=BEARER, timeout=10).json()
        files = {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()
        for path, (status, message) in expected.items():
            with open(path, "rb") as file:
                answer = requests.post(
                    api, headers=BEARER, files={"file": (path.name, file)}, timeout=60
                )
            assert answer.status_code == status, (path.name, answer.text)
            said = answer.json()["message"]
            assert said.startswith(message) and "\n" not in said, said
        assert _raw_upload(base + URL_PREFIX, scenes, 0.5) == b""
        time.sleep(1.0)
        # The history is unchanged and nothing of any upload is kept.
        assert requests.get(api, headers=BEARER, timeout=10).json() == history
        assert {p for p in root.rglob("*") if p.is_file()} == files
        # The same upload sent whole is taken: the cut one failed for being cut.
        assert _raw_upload(base + URL_PREFIX, scenes, 1.0).startswith(b"HTTP/1.1 202")
        now = requests.get(api, headers=BEARER, timeout=10).json()
        assert [item["name"] for item in now] == [scenes.name] + [i["name"] for i in history]
