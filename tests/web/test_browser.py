"""The kiosk and the visitor's page in a real browser: Debian's chromium, driven by
selenium, its camera fed with a real photo; the app on uvicorn on the real servers."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import cv2
import numpy as np
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.catalog.records import Event, Output
from scas_lib.faces.engine import FaceEngine
from scas_lib.highlights.records import EditPlan
from scas_lib.highlights.stage import (
    edit_plan,
    plan_highlights,
    publish_event,
    render_highlight,
)
from scas_lib.highlights.templates import load_template
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.recognition.stage import recognize_segment
from scas_lib.simulation.generate import GeneratedEvent
from scas_lib.storage import keys
from scas_lib.visitors.stage import enroll_visitor
from scas_lib.web.media import download_name
from scas_lib.web.texts import PAGE_TEXTS, VISITOR_ERRORS

from ..conftest import CONSENT, enroll_event_visitors
from .conftest import (
    EVENT,
    KIOSK_SIZE,
    PHONE_SIZE,
    TABLET_SIZE,
    WebServer,
    fake_camera_video,
    no_face_photo,
    portrait,
    push_footage,
    wait_for,
)

Browser = Callable[..., WebDriver]
Screenshots = Callable[[WebDriver, str], Path]


def open_kiosk(driver: WebDriver, web: WebServer, event_id: str = EVENT) -> None:
    """Pair the browser (the link `scas kiosk pair` prints) and wait for the page."""
    driver.get(web.pairing_url())
    assert driver.current_url == f"{web.url}/kiosk/{event_id}"  # the token left the address
    wait_for(driver, "return document.getElementById('submit') !== null")


def fill_in(driver: WebDriver, name: str) -> None:
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "consent").click()


def assert_fits_the_screen(driver: WebDriver) -> None:
    """Everything on screen at once: a kiosk cannot be scrolled by a visitor in a hurry."""
    overflow = driver.execute_script(
        "const e = document.scrollingElement;"
        "return [e.scrollHeight - window.innerHeight, e.scrollWidth - window.innerWidth];"
    )
    assert overflow[0] <= 0 and overflow[1] <= 0, overflow
    for element_id in ("submit", "consent", "remember", "name"):
        box = driver.execute_script(
            "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
            "return [r.top, r.bottom, window.innerHeight];", element_id,
        )  # fmt: skip
        assert box[0] >= 0 and box[1] <= box[2], (element_id, box)


def decode_qr(png: bytes) -> str:
    """The text of the QR code in a screenshot; tried again inside a white border,
    black-and-white and enlarged, and with OpenCV's second detector: one detector may miss
    a code cropped to its edge (no quiet zone) or drawn with modules of unequal widths (a
    pixelated image scaled by a fraction)."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    border = max(8, image.shape[0] // 5)
    framed = cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_CONSTANT,
                                value=255)  # fmt: skip
    _, black_white = cv2.threshold(framed, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    enlarged = cv2.resize(black_white, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        for candidate in (image, framed, black_white, enlarged):
            text, _points, _ = detector.detectAndDecode(candidate)
            if text:
                return text
    return ""


def read_qr(driver: WebDriver, element_id: str = "qr", timeout_s: float = 10.0) -> str:
    """What the QR code on the page says, read from a screenshot of it; looked at again for
    a few seconds, as a loaded machine may paint the image a frame after it is shown."""
    deadline = time.monotonic() + timeout_s
    image = driver.find_element(By.ID, element_id)
    wait_for(driver, "const e = arguments[0]; return e.tagName !== 'IMG' || "
             "(e.complete && e.naturalWidth > 0)", timeout_s, image)  # fmt: skip
    while True:
        text = decode_qr(image.screenshot_as_png)
        if text or time.monotonic() > deadline:
            return text
        time.sleep(0.2)


#: The kiosk counts this many seconds down before it takes the photo (pages.kiosk_page).
COUNTDOWN_S = 3


def watch_countdown(driver: WebDriver) -> None:
    """Record each number the kiosk's countdown shows (``window.scasCounted``) and what
    the checking panel shows when it opens (``window.scasChecking``: its step and whether
    its scan line and spinner are moving)."""
    driver.execute_script("""
        const count = document.getElementById('shutter-count');
        const checking = document.getElementById('checking');
        const step = document.getElementById('checking-step');
        window.scasCounted = [];
        window.scasChecking = [];
        new MutationObserver(() => {
          const t = count.textContent, seen = window.scasCounted;
          if (t && seen[seen.length - 1] !== t) seen.push(t);
        }).observe(count, {childList: true, characterData: true, subtree: true});
        const moving = (selector) => checking.querySelector(selector).getAnimations()
          .some((a) => a.playState === 'running');
        new MutationObserver(() => {
          if (!checking.hidden) window.scasChecking.push({
            step: step.textContent, moving: moving('.scan-line') && moving('.spinner')});
        }).observe(checking, {attributes: true, childList: true, characterData: true,
                              subtree: true});
    """)  # fmt: skip


def rect(driver: WebDriver, selector: str) -> dict[str, float]:
    return driver.execute_script(
        "return document.querySelector(arguments[0]).getBoundingClientRect().toJSON()", selector
    )


def test_the_kiosk_enrolls_from_the_camera_and_its_qr_code_opens_the_visitors_page(
    web: WebServer, browser: Browser, screenshots: Screenshots,
    photos: dict[str, SamplePhoto], tmp_path: Path,
) -> None:  # fmt: skip
    camera = fake_camera_video(portrait(photos).path, tmp_path / "camera.y4m")
    driver = browser(KIOSK_SIZE, camera=camera)
    open_kiosk(driver, web)
    wait_for(driver, "return document.getElementById('preview').videoWidth > 0")
    driver.find_element(By.CSS_SELECTOR, "[data-lang=zh]").click()
    assert "我同意本活动" in driver.find_element(By.ID, "consent-text").text
    assert driver.find_element(By.CLASS_NAME, "event-name").text == "Expo 2026 (web test)"
    # The face guide: an oval in the middle of the live preview, taller than wide.
    assert driver.find_element(By.CSS_SELECTOR, "#face-guide .oval").is_displayed()
    frame, oval = rect(driver, ".frame"), rect(driver, "#face-guide .oval")
    assert frame["top"] < oval["top"] and oval["bottom"] < frame["bottom"], (frame, oval)
    assert abs((frame["left"] + frame["right"]) - (oval["left"] + oval["right"])) < 2
    assert oval["height"] > oval["width"] > frame["width"] / 4, oval
    fill_in(driver, "王小明")
    assert_fits_the_screen(driver)
    screenshots(driver, "kiosk-portrait")

    # Take photo: 3, 2, 1, then the photo.
    watch_countdown(driver)
    clicked = time.monotonic()
    driver.find_element(By.ID, "capture").click()
    wait_for(driver, "return document.getElementById('shutter-count').textContent === '2'", 10)
    screenshots(driver, "kiosk-countdown")
    assert driver.find_element(By.ID, "snapshot").get_attribute("hidden") is not None
    wait_for(driver, "return !document.getElementById('snapshot').hidden")
    took = time.monotonic() - clicked
    assert driver.execute_script("return window.scasCounted") == ["3", "2", "1"]
    assert took >= COUNTDOWN_S, took
    assert not driver.find_element(By.ID, "face-guide").is_displayed()
    assert not driver.find_element(By.ID, "shutter").is_displayed()

    # Send: the panel over the photo says what is checked, and moves, until the answer.
    driver.find_element(By.ID, "submit").click()
    screenshots(driver, "kiosk-checking")
    wait_for(driver, "return !document.getElementById('done-step').hidden", 60)
    checking = driver.execute_script("return window.scasChecking")
    assert checking and checking[0] == {"step": PAGE_TEXTS["checking_face"]["zh"], "moving": True}
    assert not driver.find_element(By.ID, "checking").is_displayed()
    # The success screen uses its lower third (what comes next), all of it on screen.
    steps, button = rect(driver, "#next-steps"), rect(driver, "#next")
    height = driver.execute_script("return innerHeight")
    assert steps["bottom"] > height * 2 / 3 and button["bottom"] <= height, (steps, button)
    assert PAGE_TEXTS["next_step_video"]["zh"] in driver.find_element(By.ID, "next-steps").text
    screenshots(driver, "kiosk-success")

    qr = driver.find_element(By.ID, "qr")
    page_url = read_qr(driver)
    assert page_url.startswith(f"{web.url}/v/") and page_url == qr.get_attribute("data-url")
    page = requests.get(page_url, timeout=10)
    assert page.status_code == 200 and "王小明" in page.text
    short_code = driver.find_element(By.ID, "short-code").text
    assert requests.get(f"{web.url}/v/{short_code}", timeout=10).status_code == 200
    with web.services.catalog() as catalog:
        (visitor,) = catalog.visitors.for_event(EVENT)
    assert visitor.display_name == "王小明" and visitor.consent.language == "zh"
    assert not visitor.remember  # the second consent is off unless ticked

    # The next visitor starts from nothing.
    driver.find_element(By.ID, "next").click()
    wait_for(driver, "return !document.getElementById('enroll-step').hidden")
    assert driver.find_element(By.ID, "name").get_attribute("value") == ""
    assert not driver.find_element(By.ID, "consent").is_selected()
    assert not driver.find_element(By.ID, "remember").is_selected()
    assert driver.find_element(By.ID, "qr").get_attribute("src") in (None, "")


def test_a_returning_visitor_ticks_remember_me_and_finds_last_years_video_on_their_page(
    web: WebServer, browser: Browser, screenshots: Screenshots,
    photos: dict[str, SamplePhoto], engine: FaceEngine,
) -> None:  # fmt: skip
    earlier, store = "fair-2025", web.services.object_store()
    enroll_visitor(
        web.services, engine, consent=CONSENT, event_id=earlier, display_name="Jacinda",
        photos=[photos["ardern1"].path.read_bytes()], visitor_id="v-fair", remember=True,
    )  # fmt: skip
    video = keys.highlight_key(earlier, "v-fair")
    store.put_bytes(web.services.settings.bucket_highlights, video, b"last year's video")
    with web.services.catalog() as catalog:
        catalog.events.upsert(Event(id=earlier, name="Fair 2025"))
        catalog.outputs.upsert(Output(earlier, "v-fair", "done", video))

    driver = browser(TABLET_SIZE)
    open_kiosk(driver, web)
    driver.find_element(By.CSS_SELECTOR, "[data-lang=en]").click()
    fill_in(driver, "Jacinda")
    driver.find_element(By.ID, "remember").click()
    assert_fits_the_screen(driver)
    driver.find_element(By.ID, "file").send_keys(str(photos["ardern2"].path))
    driver.find_element(By.ID, "submit").click()
    wait_for(driver, "return !document.getElementById('done-step').hidden", 60)
    page_url = driver.find_element(By.ID, "qr").get_attribute("data-url")

    phone = browser(PHONE_SIZE)
    phone.get(page_url)
    offered = phone.find_element(By.ID, "offered-visits")
    assert "Fair 2025" in offered.text
    screenshots(phone, "visitor-returning-offered")
    offered.find_element(By.CSS_SELECTOR, ".accept-visit").click()
    wait_for(phone, "return document.getElementById('other-visits') !== null", 30)

    other = phone.find_element(By.CSS_SELECTOR, "#other-visits .other-visit")
    assert other.get_attribute("data-event") == earlier and "Fair 2025" in other.text
    assert not phone.find_elements(By.ID, "offered-visits")
    source = other.find_element(By.TAG_NAME, "video").get_attribute("src")
    assert requests.get(source, timeout=30).content == b"last year's video"
    screenshots(phone, "visitor-returning")
    with web.services.catalog() as catalog:
        (today,) = catalog.visitors.for_event(EVENT)
        assert today.remember
        assert catalog.people.linked(EVENT, today.id) == [(earlier, "v-fair"), (EVENT, today.id)]


def test_a_photo_without_a_face_is_refused_kindly_in_chinese_and_in_english(
    web: WebServer, browser: Browser, screenshots: Screenshots,
    photos: dict[str, SamplePhoto], engine: FaceEngine, tmp_path: Path,
) -> None:  # fmt: skip
    no_face = no_face_photo(portrait(photos), engine, tmp_path / "no-face.jpg")
    driver = browser(TABLET_SIZE)  # a tablet without a camera: the file picker
    open_kiosk(driver, web)
    fill_in(driver, "Ana")
    assert_fits_the_screen(driver)
    message = driver.find_element(By.ID, "message")
    for language in ("zh", "en"):
        driver.find_element(By.CSS_SELECTOR, f"[data-lang={language}]").click()
        driver.find_element(By.ID, "file").send_keys(str(no_face))
        driver.find_element(By.ID, "submit").click()
        wait_for(driver, "return arguments[0].dataset.code === 'no_face'", 60, message)
        assert message.text == VISITOR_ERRORS["no_face"][language]
        assert not driver.find_element(By.ID, "checking").is_displayed()
        assert_fits_the_screen(driver)
        if language == "zh":
            screenshots(driver, "kiosk-refusal-tablet")
            driver.execute_script("arguments[0].dataset.code = ''", message)
    # Switching the language translates the refusal in place.
    driver.find_element(By.CSS_SELECTOR, "[data-lang=zh]").click()
    assert message.text == VISITOR_ERRORS["no_face"]["zh"]
    with web.services.catalog() as catalog:
        assert catalog.visitors.for_event(EVENT) == []


def poll_visitor_page(driver: WebDriver, expected_state: str, expected_step: str = "") -> None:
    """Let the page ask for its state now (it asks every 20 s) and wait for what it shows."""
    driver.execute_script("window.scasVisitorPoll()")
    wait_for(driver, "const c = document.getElementById('content');"
             "return c && c.dataset.state === arguments[0] && c.dataset.step === arguments[1]",
             30, expected_state, expected_step)  # fmt: skip


def assert_no_sideways_scroll(driver: WebDriver) -> None:
    overflow = driver.execute_script(
        "return document.scrollingElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, overflow


def image_difference(png: bytes, image: np.ndarray) -> float:
    """Mean absolute difference (0-255) of the top half of a screenshot of the player and
    the same part of ``image`` scaled to it: the player's controls cover its foot."""
    shown = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    scaled = cv2.resize(image, (shown.shape[1], shown.shape[0]))
    half = shown.shape[0] // 2
    return float(np.mean(cv2.absdiff(shown[:half], scaled[:half])))


def test_the_visitors_page_shows_progress_then_plays_shares_and_deletes_them_everywhere(
    web: WebServer, browser: Browser, screenshots: Screenshots, event: GeneratedEvent,
    engine: FaceEngine, footage: FaceEngine, tmp_path: Path,
) -> None:  # fmt: skip
    services = web.services
    store = services.object_store()
    bucket = services.settings.bucket_highlights
    visitors = enroll_event_visitors(services, event, engine, name_suffix=" 访客")
    with services.catalog() as catalog:
        pages = {v: catalog.visitor_pages.issue(EVENT, v) for v in visitors}

    # Before the event: waiting, nothing looked at yet.
    driver = browser(PHONE_SIZE)
    driver.get(f"{web.url}/v/{pages[visitors[0]].token}?lang=en")
    assert driver.find_element(By.ID, "state").get_attribute("data-state") == "waiting"
    assert driver.find_element(By.ID, "state-text").text == PAGE_TEXTS["state_waiting"]["en"]
    assert not driver.find_element(By.ID, "progress-text").is_displayed()

    # The cameras' footage arrives as `scas ingest` pushes it, and the event ends; half of
    # it is recognized.
    push_footage(services, event)
    half = len(event.segments) // 2
    for segment in event.segments[:half]:
        recognize_segment(services, footage, segment.key)
    with services.catalog() as catalog:
        # The catalog does not know yet: it says ended once the last segment is recognized.
        assert catalog.events.get(EVENT).status in ("scheduled", "running")
    poll_visitor_page(driver, "making", "recognizing")
    assert driver.find_element(By.ID, "state-text").text == PAGE_TEXTS["state_recognizing"]["en"]
    progress_text = PAGE_TEXTS["progress_segments"]["en"].format(
        recognized=half, arrived=len(event.segments)
    )
    assert driver.find_element(By.ID, "progress-text").text == progress_text
    bar = driver.find_element(By.ID, "progress")
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == (
        str(half),
        str(len(event.segments)),
    )
    assert_no_sideways_scroll(driver)
    screenshots(driver, "visitor-progress")

    # Everything looked at: the video is being made.
    for segment in event.segments[half:]:
        recognize_segment(services, footage, segment.key)
    poll_visitor_page(driver, "making", "rendering")
    assert driver.find_element(By.ID, "state-text").text == PAGE_TEXTS["state_rendering"]["en"]
    assert not driver.find_element(By.ID, "progress-text").is_displayed()

    template = load_template("default", {"vertical": True})
    seen = plan_highlights(services, EVENT, template)
    with services.catalog() as catalog:  # the visitor with the most moments
        visitor = max(seen, key=lambda v: len(edit_plan(catalog, EVENT, v, template).clips))
    assert render_highlight(services, EVENT, visitor, template).status == "done"
    publish_event(services, EVENT)
    with services.catalog() as catalog:
        assert catalog.outputs.appearances(EVENT, visitor)
        output = catalog.outputs.get(EVENT, visitor)
    plan = EditPlan.from_json(store.get_bytes(bucket, keys.edit_plan_key(EVENT, visitor)).decode())
    moment_keys = sorted(o.key for o in store.list(bucket, keys.moments_prefix(EVENT, visitor)))
    assert moment_keys == [keys.moment_key(EVENT, visitor, i) for i in range(len(plan.clips))]

    driver.get(f"{web.url}/v/{pages[visitor].token}?lang=en")
    state = driver.find_element(By.ID, "state")
    assert state.get_attribute("data-state") == "ready"
    assert driver.find_element(By.ID, "event-name").text == "Expo 2026 (web test)"
    # The footage's day (the event file gives no start): the generated event's.
    assert driver.find_element(By.ID, "event-date").text == "22 November 2026"
    video = driver.find_element(By.ID, "video")
    wait_for(driver, "return arguments[0].readyState >= 1", 60, video)
    assert driver.execute_script("return arguments[0].duration", video) > 5
    # The video is the first thing on the page, and it shows its poster, not a frame of
    # its own (the intro card it starts with).
    assert driver.execute_script("return arguments[0].getBoundingClientRect().top", video) <= 0
    poster_url = video.get_attribute("poster")
    assert poster_url.endswith(f"/api/visitor/{pages[visitor].token}/media/poster")
    poster = cv2.imdecode(np.frombuffer(store.get_bytes(bucket, output.poster_key), np.uint8),
                          cv2.IMREAD_COLOR)  # fmt: skip
    video_file = tmp_path / "highlight.mp4"
    video_file.write_bytes(store.get_bytes(bucket, keys.highlight_key(EVENT, visitor)))
    capture = cv2.VideoCapture(str(video_file))
    ok, first_frame = capture.read()
    capture.release()
    assert ok
    wait_for(driver, "return arguments[0].getBoundingClientRect().height > 100", 10, video)
    time.sleep(0.5)  # the poster is painted a frame after it loads
    shown = video.screenshot_as_png
    assert image_difference(shown, poster) < 20 < image_difference(shown, first_frame)
    assert driver.find_element(By.ID, "download-vertical").is_displayed()

    # The moments: one thumbnail per clip, in the video's order, at the time it was filmed:
    # HH:MM, with the seconds where two share a minute, so that no two read the same
    # (issue 42; the generated footage is short: its clips share a minute).
    moments = driver.find_elements(By.CSS_SELECTOR, "#moments .moment")
    assert len(moments) == len(plan.clips) >= 1
    minutes = [clip.start.strftime("%H:%M") for clip in plan.clips]
    for element, clip in zip(moments, plan.clips, strict=True):
        image = element.find_element(By.TAG_NAME, "img")
        wait_for(driver, "return arguments[0].complete && arguments[0].naturalWidth === 320",
                 10, image)  # fmt: skip
        shared = minutes.count(clip.start.strftime("%H:%M")) > 1
        assert element.text == clip.start.strftime("%H:%M:%S" if shared else "%H:%M")
    times = [element.text for element in moments]
    print(f"moments on the page: {times}")
    assert len(set(times)) == len(times)
    assert_no_sideways_scroll(driver)
    screenshots(driver, "visitor-phone")
    # A moment plays the video from where that clip starts (after the intro card).
    assert plan.clip_output_starts()[-1] > 1
    moments[-1].click()
    wait_for(driver, "return Math.abs(arguments[0].currentTime - arguments[1]) < 1.0", 10,
             video, plan.clip_output_starts()[-1])  # fmt: skip
    driver.execute_script("arguments[0].pause()", video)

    # Share: this Chromium has no Web Share (navigator.share), so the video is downloaded
    # instead, and the visitor is told to share it from there.
    assert driver.execute_script("return typeof navigator.share") == "undefined"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.find_element(By.ID, "share").click()
    message = driver.find_element(By.ID, "share-message")
    assert message.is_displayed() and message.text == PAGE_TEXTS["share_downloading"]["en"]
    stored = store.get_bytes(bucket, keys.highlight_key(EVENT, visitor))
    deadline = time.monotonic() + 30
    while not (done := [f for f in downloads.iterdir() if f.suffix == ".mp4"]):
        assert time.monotonic() < deadline, list(downloads.iterdir())
        time.sleep(0.2)
    # Named after the event and the visitor (issue 42), not "<event>-highlight.mp4".
    with services.catalog() as catalog:
        name = catalog.visitors.get(EVENT, visitor).display_name
    saved_as = download_name("Expo 2026 (web test)", name, "mp4")
    assert saved_as == f"Expo 2026 (web test) - {name}.mp4"
    assert done[0].name == saved_as and done[0].read_bytes() == stored

    download = requests.get(
        driver.find_element(By.ID, "download").get_attribute("href"), timeout=30
    )
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["content-disposition"].endswith("''" + quote(saved_as, safe=""))
    assert download.content == stored
    # A player seeks with ranges: the exact bytes asked for.
    part = requests.get(
        video.get_attribute("src"), headers={"Range": "bytes=1000-1999"}, timeout=10
    )
    assert part.status_code == 206 and part.content == stored[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(stored)}"

    # In the phone's language: a phone set to Chinese gets the page in Chinese; a big
    # screen (a laptop) the same page, wider.
    desktop = browser((1920, 1080))
    desktop.execute_cdp_cmd("Emulation.setUserAgentOverride", {
        "userAgent": desktop.execute_script("return navigator.userAgent"),
        "acceptLanguage": "zh-CN,zh",
    })  # fmt: skip
    desktop.get(f"{web.url}/v/{pages[visitor].token}")
    assert desktop.find_element(By.ID, "share").text == PAGE_TEXTS["share"]["zh"]
    assert desktop.find_element(By.ID, "event-date").text == "2026年11月22日"
    assert (
        desktop.find_element(By.CSS_SELECTOR, "#moments h2").text
        == (PAGE_TEXTS["moments_title"]["zh"])
    )
    # Loaded as far as a page opened unasked loads it (no spinner over the poster).
    wait_for(desktop, "return arguments[0].readyState >= 1 && arguments[0].networkState === 1",
             60, desktop.find_element(By.ID, "video"))  # fmt: skip
    assert_no_sideways_scroll(desktop)
    screenshots(desktop, "visitor-desktop")

    driver.find_element(By.ID, "delete").click()
    assert driver.find_element(By.ID, "confirm").is_displayed()
    driver.find_element(By.ID, "confirm-delete").click()
    wait_for(driver, "return !document.getElementById('deleted').hidden", 60)
    screenshots(driver, "visitor-deleted")

    with services.catalog() as catalog:
        assert catalog.visitors.get(EVENT, visitor) is None
        assert catalog.outputs.get(EVENT, visitor) is None
        assert catalog.outputs.appearances(EVENT, visitor) == []
        enrollments = catalog.visitors.enrollments(EVENT, "default")
        assert not any(e.visitor_id == visitor for e in enrollments)
        tracks = [
            track
            for segment in catalog.segments.for_event(EVENT)
            for track in catalog.tracks.of_segment(segment.id)
        ]
        assert tracks and not any(t.identity.visitor_id == visitor for t in tracks)
    # The video, its poster, plan, vertical version and moments' thumbnails: all gone.
    assert not [o.key for o in store.list(bucket) if visitor in o.key]
    assert requests.get(f"{web.url}/v/{pages[visitor].token}", timeout=10).status_code == 404


def test_pages_refuse_a_missing_wrong_or_revoked_token(
    web: WebServer, browser: Browser, screenshots: Screenshots
) -> None:
    driver = browser(PHONE_SIZE)
    driver.get(f"{web.url}/kiosk/{EVENT}")
    error = driver.find_element(By.ID, "error")
    assert error.get_attribute("data-code") == "kiosk_not_paired"
    driver.get(f"{web.url}/v/{'x' * 43}")
    assert driver.find_element(By.ID, "error").get_attribute("data-code") == "page_not_found"

    open_kiosk(driver, web)
    with web.services.catalog() as catalog:
        assert catalog.kiosks.revoke(web.kiosk.kiosk.id)
    driver.refresh()
    assert driver.find_element(By.ID, "error").get_attribute("data-code") == "kiosk_not_paired"
    screenshots(driver, "kiosk-revoked")

    # A kiosk paired with another event does not open this one.
    with web.services.catalog() as catalog:
        gala = catalog.kiosks.pair("gala")
    open_kiosk(driver, dataclasses.replace(web, kiosk=gala), "gala")
    driver.get(f"{web.url}/kiosk/{EVENT}")
    assert driver.find_element(By.ID, "error").get_attribute("data-code") == "kiosk_not_paired"
