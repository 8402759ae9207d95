"""The operator console in a real browser, live: a camera recorded by a real `scas ingest`
(GStreamer's RTSP server on loopback, the fixtures of tests/test_ingest.py) shows as
recording, its lag warns that recognition is behind, and once the camera stops it shows as
offline within 15 s, all without a reload (the console's server-sent events); a kiosk is
paired from the console by its QR code, and revoked. Chinese page texts throughout.

Footage that arrived (real segments in the object store) shows in the camera grid as the
newest segment's picture, with its health in words; the progress bars are the catalog's
numbers, with an estimate of the time left once a rate was measured; the clock ticks in
the event's time zone; the visitors are cards with their video's poster and one menu."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.catalog.records import Consent, Event, Output, Visitor
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.services import Services
from scas_lib.simulation.rtsp_camera import LoopbackCamera
from scas_lib.storage import keys
from scas_lib.web.texts import page_texts

from .. import test_ingest
from ..test_ingest import Ingest, camera_url, event_config
from .conftest import EVENT, OPERATOR_TOKEN, PHONE_SIZE, WebServer, portrait, wait_for
from .test_browser import read_qr

# The RTSP camera of the ingest tests, with its clip and its password variable.
clip = test_ingest.clip
rtsp_camera = test_ingest.rtsp_camera
_camera_password = test_ingest._camera_password

Browser = Callable[..., WebDriver]
Screenshots = Callable[[WebDriver, str], Path]
#: The issue's bound: a camera that stops shows as offline within this.
OFFLINE_S = 15.0
SEGMENT_S = 2.0
BEARER = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def camera_state(driver: WebDriver, camera: str) -> str | None:
    return driver.execute_script(
        "const tile = document.querySelector(`#cameras [data-camera='${arguments[0]}']`);"
        "return tile ? tile.dataset.state : null;",
        camera,
    )


def test_the_console_shows_a_live_camera_its_lag_and_its_going_offline_and_pairs_a_kiosk(
    web: WebServer, browser: Browser, screenshots: Screenshots, rtsp_camera: LoopbackCamera,
    events_dir: Path, tmp_path: Path,
) -> None:  # fmt: skip
    # 2 s segments in the event file too: the console's "behind" is in segments of it.
    event_file = events_dir / f"{EVENT}.yaml"
    event_file.write_text(event_file.read_text() + f"segment_s: {SEGMENT_S}\n")
    settings = web.services.settings.model_copy(update={"data_dir": tmp_path / "ingest"})
    services = Services(settings=settings, database_url=web.services.database_url,
                        s3=web.services.s3)  # fmt: skip
    with web.services.catalog() as catalog:
        catalog.events.ensure(EVENT)
    zh = page_texts("zh")

    driver = browser((1280, 1000))
    driver.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/{EVENT}?lang=zh")
    wait_for(driver, "return document.getElementById('live').dataset.live === '1'", 20)
    assert driver.find_element(By.ID, "start").text == zh["console_start"]
    assert driver.find_element(By.ID, "no-cameras").is_displayed()

    ingest = Ingest(services, event_config(EVENT, {"cam1": camera_url(rtsp_camera)}))
    # Recording, segments arriving, nothing recognizing them: the lag grows past two
    # segments and the console warns, live.
    wait_for(driver, "return document.querySelector(\"#cameras [data-behind='1']\")", 40)
    assert camera_state(driver, "cam1") == "recording"
    row = "#cameras [data-camera='cam1']"
    assert driver.find_element(By.CSS_SELECTOR, f"{row} .state").text == zh["camera_recording"]
    assert driver.find_element(By.CSS_SELECTOR, f"{row} .last").text != "\u2013"
    # Amber, the reason in words: behind.
    assert driver.find_element(By.CSS_SELECTOR, row).get_attribute("data-level") == "warn"
    health = driver.find_element(By.CSS_SELECTOR, f"{row} .health").text
    assert health.startswith(zh["console_health_behind"].split("{")[0]), health
    screenshots(driver, "console-cameras")

    rtsp_camera.stop()
    stopped = time.monotonic()
    while camera_state(driver, "cam1") != "offline":
        assert time.monotonic() - stopped < OFFLINE_S, camera_state(driver, "cam1")
        time.sleep(0.1)
    took = time.monotonic() - stopped
    print(f"the console showed cam1 offline {took:.1f} s after the camera stopped")
    assert driver.find_element(By.CSS_SELECTOR, f"{row} .state").text == zh["camera_offline"]
    # Red, and for how long no segment came, counted live.
    assert driver.find_element(By.CSS_SELECTOR, row).get_attribute("data-level") == "bad"
    offline = zh["console_health_offline"].split("{")[0]
    assert driver.find_element(By.CSS_SELECTOR, f"{row} .health").text.startswith(offline)
    ingest.finish()

    # A kiosk paired from the console: its QR code is the pairing link, which pairs.
    driver.find_element(By.ID, "kiosk-label").send_keys("出口")
    driver.find_element(By.ID, "pair").click()
    wait_for(driver, "return !document.getElementById('pairing').hidden", 10)
    # (Below the camera grid and the visitor cards: in sight first, to be read whole.)
    driver.execute_script("document.getElementById('pairing').scrollIntoView({block: 'center'})")
    link = read_qr(driver, "pairing-qr")
    assert link.startswith(f"{web.url}/kiosk/{EVENT}?pair=")
    token = link.split("pair=")[1]
    kiosk = {"Authorization": f"Bearer {token}"}
    session = requests.get(web.api("/kiosk/session"), headers=kiosk, timeout=10)
    assert session.status_code == 200 and session.json()["event_id"] == EVENT
    paired = requests.get(link, allow_redirects=False, timeout=10)
    assert paired.status_code == 303 and paired.cookies.get("scas_kiosk") == token
    item = "#kiosks li[data-kiosk='" + session.json()["kiosk_id"] + "']"
    wait_for(driver, f'return document.querySelector("{item}") !== null', 10)
    assert "出口" in driver.find_element(By.CSS_SELECTOR, item).text
    screenshots(driver, "console-kiosk")
    driver.find_element(By.CSS_SELECTOR, f"{item} .revoke").click()
    wait_for(driver, f'return document.querySelector("{item} .revoke").hidden', 10)
    assert zh["console_revoked"] in driver.find_element(By.CSS_SELECTOR, item).text
    refused = requests.get(web.api("/kiosk/session"), headers=kiosk, timeout=10)
    assert refused.status_code == 401


def test_the_camera_table_shows_footage_that_arrived_without_ingest_and_a_camera_that_sent_none(
    web: WebServer, browser: Browser, screenshots: Screenshots
) -> None:
    # A replay or an upload: segments in the catalog, no report from `scas ingest`; two of
    # cam1's three recognized, cam3 configured and silent.
    start = datetime(2026, 12, 6, 10, tzinfo=UTC)
    with web.services.catalog() as catalog:
        catalog.events.ensure(EVENT)
        for camera in ("cam1", "cam3"):
            catalog.events.ensure_camera(EVENT, camera)
        for index in range(3):
            begins = start + timedelta(seconds=4 * index)
            key = keys.segment_key(EVENT, "cam1", begins)
            segment = catalog.segments.register(EVENT, "cam1", key, begins, duration_s=4.0)
            if index < 2:
                catalog.segments.save_tracks(segment.id, [], duration_s=4.0)

    driver = browser((1280, 1000))
    driver.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/{EVENT}?lang=en")
    wait_for(driver, "return document.querySelector(\"#cameras [data-camera='cam3']\")", 20)

    assert camera_state(driver, "cam1") == "uploaded" and camera_state(driver, "cam3") == "never"
    cam1 = driver.find_element(By.CSS_SELECTOR, "#cameras [data-camera='cam1']")
    cam3 = driver.find_element(By.CSS_SELECTOR, "#cameras [data-camera='cam3']")
    assert cam1.find_element(By.CSS_SELECTOR, ".arrived").text == "2 / 3 recognized"
    assert cam1.find_element(By.CSS_SELECTOR, ".lag").text.startswith("1 segments · 4 s")
    assert cam1.find_element(By.CSS_SELECTOR, ".last").text != "\u2013"
    playback = cam1.find_element(By.CSS_SELECTOR, ".playback")
    assert playback.is_displayed()
    assert f"/playback/{EVENT}/cam1?start=" in playback.get_attribute("href")
    assert cam3.find_element(By.CSS_SELECTOR, ".state").text == "no footage"
    assert cam3.find_element(By.CSS_SELECTOR, ".arrived").text == "0 / 0 recognized"
    assert not cam3.find_element(By.CSS_SELECTOR, ".playback").is_displayed()
    screenshots(driver, "console-uploaded-footage")

    # On a phone the grid fits: no sideways scroll, cam1's playback link inside its tile.
    # (Mobile emulation widens the window to a page that overflows, so widths are compared
    # with the phone's and the tile's, not with innerWidth.)
    phone = browser(PHONE_SIZE)
    phone.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/{EVENT}?lang=en")
    wait_for(phone, "return document.querySelector(\"#cameras [data-camera='cam3']\")", 20)
    page_width, table_over, link_over = phone.execute_script(
        "const grid = document.getElementById('cameras'), section = grid.parentElement;"
        "const tile = grid.querySelector(\"[data-camera='cam1']\");"
        "const link = tile.querySelector('.playback');"
        "return [document.scrollingElement.scrollWidth, grid.scrollWidth - section.clientWidth,"
        " link.getBoundingClientRect().right - tile.getBoundingClientRect().right];"
    )
    assert page_width <= PHONE_SIZE[0] and table_over <= 0 and link_over <= 0, (
        page_width,
        table_over,
        link_over,
    )
    screenshots(phone, "console-uploaded-footage-phone")


def camera_segment(photo: Path, target: Path) -> Path:
    """A real four-second camera segment (H.264 in MP4) of a still photo."""
    run_ffmpeg(
        ["-y", "-loop", "1", "-i", str(photo), "-t", "4", "-r", "10", "-vf", "scale=640:-2",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(target)],
        "test camera segment",
    )  # fmt: skip
    return target


def picture_loaded(selector: str) -> str:
    """A script that says whether the image at ``selector`` loaded (it has pixels)."""
    return f'const img = document.querySelector("{selector}");' \
        "return Boolean(img && img.complete && img.naturalWidth > 0);"  # fmt: skip


def progress_bar(driver: WebDriver, kind: str) -> tuple[float, float, str]:
    """A progress bar's value, its maximum and the estimate of the time left beside it."""
    value, maximum, eta = driver.execute_script(
        "const bar = document.getElementById('progress-' + arguments[0]);"
        "const eta = document.querySelector('#row-' + arguments[0] + ' .eta');"
        "return [bar.value, bar.max, eta.textContent];",
        kind,
    )
    return value, maximum, eta


def test_the_console_shows_pictures_health_progress_a_ticking_clock_and_visitor_cards(
    web: WebServer, browser: Browser, screenshots: Screenshots, events_dir: Path,
    photos: dict[str, SamplePhoto], tmp_path: Path,
) -> None:  # fmt: skip
    # The event in Shanghai's time; cam1 replayed three real segments (the newest ended
    # about two minutes ago), one of them recognized; cam3 configured and silent.
    zone = "Asia/Shanghai"
    event_file = events_dir / f"{EVENT}.yaml"
    event_file.write_text(event_file.read_text() + f"timezone: {zone}\n")
    store, settings = web.services.object_store(), web.services.settings
    photo = portrait(photos).path
    segment_file = camera_segment(photo, tmp_path / "segment.mp4")
    newest = datetime.now(UTC) - timedelta(seconds=130)
    segments = []
    with web.services.catalog() as catalog:
        catalog.events.upsert(Event(EVENT, "Expo 2026 (web test)", timezone=zone))
        for camera in ("cam1", "cam3"):
            catalog.events.ensure_camera(EVENT, camera)
        for index in range(3):
            begins = newest - timedelta(seconds=4 * (2 - index))
            key = keys.segment_key(EVENT, "cam1", begins)
            store.put_file(settings.bucket_recordings, key, segment_file, content_type="video/mp4")
            segments.append(catalog.segments.register(EVENT, "cam1", key, begins, duration_s=4.0))
        catalog.segments.save_tracks(segments[0].id, [], duration_s=4.0)
        # Ana's video is out (its poster a real JPEG); Ben's is being made.
        consent = Consent("scas-2026-11", "en", newest)
        for visitor, name in (("ana", "Ana"), ("ben", "Ben")):
            catalog.visitors.upsert(Visitor(EVENT, visitor, name, consent))
        poster = keys.poster_key(EVENT, "ana")
        run_ffmpeg(["-y", "-i", str(photo), "-vf", "scale=640:-2", str(tmp_path / "poster.jpg")],
                   "test poster")  # fmt: skip
        store.put_file(settings.bucket_highlights, poster, tmp_path / "poster.jpg",
                       content_type="image/jpeg")  # fmt: skip
        catalog.outputs.upsert(Output(EVENT, "ana", "done", keys.highlight_key(EVENT, "ana"),
                                      poster, plan_digest="d1"))  # fmt: skip
        catalog.outputs.upsert(Output(EVENT, "ben", "rendering"))
        counted = catalog.segments.recognition_progress(EVENT)
    assert (counted.arrived, counted.recognized) == (3, 1)

    driver = browser((1920, 1080))
    driver.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/{EVENT}?lang=en")
    cam1, cam3 = "#cameras [data-camera='cam1']", "#cameras [data-camera='cam3']"
    wait_for(driver, picture_loaded(f"{cam1} .thumbnail"), 30)

    # The grid: cam1's newest segment as a picture that loaded, cam3 marked as without
    # footage; the colour and the reason in words.
    width = driver.execute_script(
        f'return document.querySelector("{cam1} .thumbnail").naturalWidth'
    )
    assert width == 320
    assert driver.find_element(By.CSS_SELECTOR, f"{cam1} .health").text == (
        "footage uploaded · 2 waiting"
    )
    assert driver.find_element(By.CSS_SELECTOR, f"{cam3} .state").text == "no footage"
    assert not driver.find_element(By.CSS_SELECTOR, f"{cam3} .thumbnail").is_displayed()
    assert driver.find_element(By.CSS_SELECTOR, f"{cam3} .no-thumbnail").is_displayed()
    assert driver.find_element(By.CSS_SELECTOR, f"{cam3} .health").text == (
        "no footage from this camera"
    )
    # Its newest segment, two minutes ago, in words.
    assert driver.find_element(By.CSS_SELECTOR, f"{cam1} .last-ago").text == "2 min ago"
    # The picture is the newest segment's, asked for by its key, and kept by the browser.
    thumbnail = web.api(f"/events/{EVENT}/cameras/cam1/thumbnail")
    newest_key = {"segment": segments[2].object_key}
    answer = requests.get(thumbnail, params=newest_key, headers=BEARER, timeout=30)
    assert answer.status_code == 200 and answer.content.startswith(b"\xff\xd8")
    assert answer.headers["X-Segment-Key"] == segments[2].object_key
    assert "max-age" in answer.headers["Cache-Control"]
    assert requests.get(thumbnail, params=newest_key, timeout=10).status_code == 401
    silent = web.api(f"/events/{EVENT}/cameras/cam3/thumbnail")
    assert requests.get(silent, headers=BEARER, timeout=10).status_code == 404

    # Progress: the catalog's numbers; no estimate before a rate was measured.
    assert progress_bar(driver, "recognition") == (1, 3, "—")
    assert progress_bar(driver, "videos") == (1, 2, "—")
    assert driver.find_element(By.CSS_SELECTOR, "#row-videos .done-of").text == "1 of 2 videos"

    # The clock ticks, in the event's time zone.
    first = driver.find_element(By.ID, "clock").text
    wait_for(
        driver, "return document.getElementById('clock').textContent !== arguments[0]", 3, first
    )
    second = driver.find_element(By.ID, "clock").text
    assert first != second
    shanghai = datetime.now(ZoneInfo(zone))
    near = {(shanghai + timedelta(seconds=d)).strftime("%H:%M:%S") for d in range(-3, 2)}
    assert second in near, (second, near)
    assert driver.find_element(By.ID, "clock-zone").text == f"({zone})"

    # Visitor cards: Ana's poster loaded, Ben's says there is none yet; one menu each.
    ana, ben = "#visitors [data-visitor='ana']", "#visitors [data-visitor='ben']"
    wait_for(driver, picture_loaded(f"{ana} .poster"), 20)
    assert driver.find_element(By.CSS_SELECTOR, f"{ana} .state").text == "ready"
    assert not driver.find_element(By.CSS_SELECTOR, f"{ben} .poster").is_displayed()
    assert driver.find_element(By.CSS_SELECTOR, f"{ben} .no-poster").is_displayed()
    items = f"{ana} .menu-items button"
    assert not driver.find_element(By.CSS_SELECTOR, items).is_displayed()
    summary = driver.find_element(By.CSS_SELECTOR, f"{ana} .menu summary")
    summary.send_keys(Keys.ENTER)  # the keyboard opens it
    shown_items = [b.text for b in driver.find_elements(By.CSS_SELECTOR, items) if b.is_displayed()]
    assert shown_items == ["Moments", "Re-render", "Delete"]
    screenshots(driver, "console")
    driver.find_element(By.CSS_SELECTOR, items).send_keys(Keys.ESCAPE)  # and closes it
    assert not driver.find_element(By.CSS_SELECTOR, f"{ana} .menu").get_attribute("open")

    # Recognition goes on: its rate is measured, and the time left estimated from it.
    time.sleep(6)
    with web.services.catalog() as catalog:
        catalog.segments.save_tracks(segments[1].id, [], duration_s=4.0)
    wait_for(driver, "return document.getElementById('progress-recognition').value === 2", 20)
    value, maximum, eta = progress_bar(driver, "recognition")
    assert (value, maximum) == (2, 3)
    assert re.fullmatch(r"\d+ s", eta), eta
    with web.services.catalog() as catalog:
        catalog.segments.save_tracks(segments[2].id, [], duration_s=4.0)
    wait_for(driver, "return document.getElementById('progress-recognition').value === 3", 20)
    assert progress_bar(driver, "recognition") == (3, 3, "all done")

    # On a phone, in Chinese: nothing scrolls sideways, relative times in Chinese.
    phone = browser(PHONE_SIZE)
    phone.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/{EVENT}?lang=zh")
    wait_for(phone, picture_loaded(f"{cam1} .thumbnail"), 30)
    wait_for(phone, picture_loaded(f"{ana} .poster"), 20)
    assert re.fullmatch(r"\d分钟前", phone.find_element(By.CSS_SELECTOR, f"{cam1} .last-ago").text)
    page_width = phone.execute_script("return document.scrollingElement.scrollWidth")
    assert page_width <= PHONE_SIZE[0], page_width
    screenshots(phone, "console-phone-zh")
