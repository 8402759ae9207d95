"""The front door ``/scas/`` in the real Chromium (issue 29, item 0): a visitor's code box
and a sign-in for anyone, the events with their links for a signed-in operator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.catalog.records import Consent, Event, Visitor
from scas_lib.catalog.tokens import format_code

from .conftest import EVENT, OPERATOR_TOKEN, PHONE_SIZE, WebServer, wait_for

Browser = Callable[..., WebDriver]
Screenshots = Callable[[WebDriver, str], Path]
DESKTOP_SIZE = (1920, 1080)


def test_anyone_gets_the_code_box_and_a_sign_in_an_operator_gets_the_events(
    web: WebServer, browser: Browser, screenshots: Screenshots
) -> None:
    with web.services.catalog() as catalog:
        catalog.events.upsert(Event(id=EVENT, name="Expo 2026"))
        catalog.events.upsert(Event(id="fair-2025", name="Fair 2025"))
        catalog.events.set_status(EVENT, "running")
        catalog.events.set_status("fair-2025", "done")
        consent = Consent("scas-2026-11", "en", datetime.now(UTC))
        catalog.visitors.upsert(Visitor(EVENT, "v-ana", "Ana", consent))
        issued = catalog.visitor_pages.issue(EVENT, "v-ana")
    # The server's own root leads to the front door, which asks for no credential.
    root = requests.get(web.url.removesuffix("/scas") + "/", timeout=10)
    assert root.status_code == 200 and root.url == f"{web.url}/"

    visitor = browser(PHONE_SIZE)
    visitor.get(f"{web.url}/?lang=en")
    assert visitor.find_element(By.ID, "visitor-code").is_displayed()
    assert visitor.find_element(By.ID, "token").get_attribute("type") == "password"
    wait_for(visitor, "return document.readyState === 'complete'")
    assert not visitor.find_element(By.ID, "operator-events").is_displayed()
    assert visitor.execute_script(
        "return document.scrollingElement.scrollWidth <= window.innerWidth"
    )
    screenshots(visitor, "home-phone")
    visitor.find_element(By.ID, "code").send_keys(format_code(issued.code))
    visitor.find_element(By.CSS_SELECTOR, "#visitor-code button").click()
    wait_for(visitor, "return document.getElementById('display-name') !== null")
    assert visitor.find_element(By.ID, "display-name").text == "Ana"

    operator = browser(DESKTOP_SIZE)
    operator.get(f"{web.url}/?lang=en")
    wrong = operator.find_element(By.ID, "token")
    wrong.send_keys("not-the-token")
    wrong.submit()
    wait_for(operator, "return document.body.innerText.includes('not valid')", 10)
    operator.get(f"{web.url}/?lang=en")
    operator.find_element(By.ID, "token").send_keys(OPERATOR_TOKEN)
    operator.find_element(By.ID, "token").submit()
    wait_for(operator, "return !document.getElementById('operator-events').hidden")

    assert OPERATOR_TOKEN not in operator.current_url
    assert not operator.find_element(By.ID, "sign-in").is_displayed()
    rows = {
        row.get_attribute("data-event"): row
        for row in operator.find_elements(By.CSS_SELECTOR, "#events tbody tr")
    }
    assert set(rows) == {EVENT, "fair-2025"}
    assert rows[EVENT].find_element(By.CSS_SELECTOR, ".badge").text == "running"
    assert rows["fair-2025"].find_element(By.CSS_SELECTOR, ".badge").text == "done"
    links = {
        a.get_attribute("class"): a.get_attribute("href")
        for a in rows[EVENT].find_elements(By.TAG_NAME, "a")
    }
    assert links == {
        "console": f"{web.url}/console/{EVENT}?lang=en",
        "kiosks": f"{web.url}/console/{EVENT}?lang=en#kiosks",
        "screen": f"{web.url}/screen/{EVENT}?lang=en",
        "playback": f"{web.url}/console/{EVENT}?lang=en#cameras",
    }
    screenshots(operator, "home-operator")
    operator.get(links["console"])
    wait_for(operator, "return document.getElementById('cameras') !== null")
