"""The operator console in a real browser, live: a camera recorded by a real `scas ingest`
(GStreamer's RTSP server on loopback, the fixtures of tests/test_ingest.py) shows as
recording, its lag warns that recognition is behind, and once the camera stops it shows as
offline within 15 s, all without a reload (the console's server-sent events); a kiosk is
paired from the console by its QR code, and revoked. Chinese page texts throughout."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.services import Services
from scas_lib.simulation.rtsp_camera import LoopbackCamera
from scas_lib.storage import keys
from scas_lib.web.texts import page_texts

from .. import test_ingest
from ..test_ingest import Ingest, camera_url, event_config
from .conftest import EVENT, OPERATOR_TOKEN, PHONE_SIZE, WebServer, wait_for
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


def camera_state(driver: WebDriver, camera: str) -> str | None:
    return driver.execute_script(
        "const row = document.querySelector(`#cameras tr[data-camera='${arguments[0]}']`);"
        "return row ? row.dataset.state : null;",
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
    wait_for(driver, "return document.querySelector(\"#cameras tr[data-behind='1']\")", 40)
    assert camera_state(driver, "cam1") == "recording"
    row = "#cameras tr[data-camera='cam1']"
    assert driver.find_element(By.CSS_SELECTOR, f"{row} .state").text == zh["camera_recording"]
    assert driver.find_element(By.CSS_SELECTOR, f"{row} .last").text != "\u2013"
    assert zh["console_behind"] in driver.find_element(By.CSS_SELECTOR, f"{row} .lag").text
    screenshots(driver, "console-cameras")

    rtsp_camera.stop()
    stopped = time.monotonic()
    while camera_state(driver, "cam1") != "offline":
        assert time.monotonic() - stopped < OFFLINE_S, camera_state(driver, "cam1")
        time.sleep(0.1)
    took = time.monotonic() - stopped
    print(f"the console showed cam1 offline {took:.1f} s after the camera stopped")
    assert driver.find_element(By.CSS_SELECTOR, f"{row} .state").text == zh["camera_offline"]
    ingest.finish()

    # A kiosk paired from the console: its QR code is the pairing link, which pairs.
    driver.find_element(By.ID, "kiosk-label").send_keys("出口")
    driver.find_element(By.ID, "pair").click()
    wait_for(driver, "return !document.getElementById('pairing').hidden", 10)
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
    wait_for(driver, "return document.querySelector(\"#cameras tr[data-camera='cam3']\")", 20)

    assert camera_state(driver, "cam1") == "uploaded" and camera_state(driver, "cam3") == "never"
    cam1 = driver.find_element(By.CSS_SELECTOR, "#cameras tr[data-camera='cam1']")
    cam3 = driver.find_element(By.CSS_SELECTOR, "#cameras tr[data-camera='cam3']")
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

    # On a phone the table fits: no sideways scroll, cam1's playback link inside its card.
    # (Mobile emulation widens the window to a page that overflows, so widths are compared
    # with the phone's and the card's, not with innerWidth.)
    phone = browser(PHONE_SIZE)
    phone.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/{EVENT}?lang=en")
    wait_for(phone, "return document.querySelector(\"#cameras tr[data-camera='cam3']\")", 20)
    page_width, table_over, link_over = phone.execute_script(
        "const table = document.getElementById('cameras'), card = table.parentElement;"
        "const link = table.querySelector(\"tr[data-camera='cam1'] .playback\");"
        "return [document.scrollingElement.scrollWidth, table.scrollWidth - card.clientWidth,"
        " link.getBoundingClientRect().right - card.getBoundingClientRect().right];"
    )
    assert page_width <= PHONE_SIZE[0] and table_over <= 0 and link_over <= 0, (
        page_width,
        table_over,
        link_over,
    )
    screenshots(phone, "console-uploaded-footage-phone")
