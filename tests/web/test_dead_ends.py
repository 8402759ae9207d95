"""Dead ends people hit, each now a refusal that says why or a page with a way on
(issue 44, item 9): a kiosk of an event that is over, a console or kiosk pairing for an
event that does not exist, "Watch live" for a camera without a url, an error page, the API
docs' policy and a 422 that named a server path. Real server, real chromium."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.web.texts import visitor_error

from .conftest import EVENT, OPERATOR_TOKEN, WebServer, portrait, wait_for

Browser = Callable[..., WebDriver]
Screenshots = Callable[[WebDriver, str], Path]
BEARER = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
#: An absolute path of this machine (a message may say "/" otherwise only in a URL).
SERVER_PATH = re.compile(r"(^|[\s('\"=])/(tmp|home|root|var|usr|work|opt|srv)\b")


def test_a_kiosk_of_an_event_that_is_over_refuses_with_a_sentence(
    web: WebServer, photos: dict[str, SamplePhoto]
) -> None:
    kiosk = {"Authorization": f"Bearer {web.kiosk.token}"}
    consent = requests.get(web.api("/kiosk/session"), headers=kiosk, timeout=10).json()
    form = {"name": "Ana", "language": "en", "consent": "true",
            "consent_version": consent["consent_version"]}  # fmt: skip
    files = {"photo": ("ana.jpg", portrait(photos).path.read_bytes(), "image/jpeg")}
    assert requests.post(web.api(f"/events/{EVENT}/start"), headers=BEARER, timeout=10).ok
    time.sleep(1.1)  # the store's clock has seconds: the end marker is the newer one
    assert requests.post(web.api(f"/events/{EVENT}/end"), headers=BEARER, timeout=10).ok
    refused = requests.post(
        web.api("/kiosk/enroll"), headers=kiosk, data=form, files=files, timeout=60
    )
    assert refused.status_code == 409, refused.text
    assert refused.json() == {"code": "event_ended", "message": visitor_error("event_ended", "en")}
    with web.services.catalog() as catalog:
        assert catalog.visitors.for_event(EVENT) == []  # nobody enrolled


def test_unknown_events_answer_404_and_error_pages_lead_back(
    web: WebServer, browser: Browser, screenshots: Screenshots
) -> None:
    for page in ("/console/nope", "/screen/nope"):
        answer = requests.get(web.url + page, headers=BEARER, timeout=10)
        assert answer.status_code == 404, (page, answer.status_code)
    paired = requests.post(web.api("/events/nope/kiosks?label=x"), headers=BEARER, timeout=10)
    assert paired.status_code == 404 and paired.json()["code"] == "not_found"
    with web.services.catalog() as catalog:
        assert catalog.events.get("nope") is None and catalog.kiosks.all("nope") == []

    driver = browser((1280, 900))
    driver.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/nope")
    assert driver.find_element(By.ID, "error").get_attribute("data-code") == "not_found"
    assert not driver.find_elements(By.ID, "console")  # no empty console reconnecting
    screenshots(driver, "error-page")
    driver.find_element(By.ID, "back").click()  # the way back: the front door
    wait_for(driver, "return document.getElementById('home') !== null", 10)


def test_watch_live_is_offered_only_for_cameras_with_a_url(
    web: WebServer, browser: Browser, events_dir: Path
) -> None:
    (events_dir / "gala.yaml").write_text(
        "id: gala\nname: Gala\ncameras: [{id: gate, url: 'rtsp://127.0.0.1:9/none'}, {id: hall}]\n"
    )
    with web.services.catalog() as catalog:
        catalog.events.ensure("gala")
        catalog.events.ensure_camera("gala", "gate")
        catalog.events.ensure_camera("gala", "hall")
    driver = browser((1280, 900))
    driver.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/gala")
    tile = "#cameras [data-camera='{}'] .live"
    wait_for(driver, f'return document.querySelector("{tile.format("hall")}") !== null', 20)
    live = {
        camera: driver.find_element(By.CSS_SELECTOR, tile.format(camera)).is_displayed()
        for camera in ("gate", "hall")
    }
    assert live == {"gate": True, "hall": False}


def test_the_api_docs_have_a_policy_and_still_work(web: WebServer, browser: Browser) -> None:
    docs = requests.get(f"{web.url}/docs", timeout=10)
    policy = docs.headers["content-security-policy"]
    assert (
        "script-src 'self' 'sha256-" in policy
        and "'unsafe-inline'" not in policy.split("style-src")[0]
    ), policy
    driver = browser((1280, 900))
    driver.get(f"{web.url}/docs")
    # Swagger UI's inline start script ran under the policy: the operations are listed.
    wait_for(driver, "return document.querySelectorAll('.opblock').length > 10", 20)


def test_a_422_names_no_server_path(web: WebServer) -> None:
    junk = {"file": ("clip.mp4", b"not a video at all " * 400, "video/mp4")}
    refused = requests.post(f"{web.url}/api/analyses", headers=BEARER, files=junk, timeout=30)
    assert refused.status_code == 422, refused.text
    message = refused.json()["message"]
    assert "clip.mp4" in message and not SERVER_PATH.search(message), message
