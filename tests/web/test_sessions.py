"""The operator's browser holds a session of its own, not the operator token (issue 44,
item 8): it expires (12 hours by default), *Sign out* is on every operator page and ends
it, and an operator page opened signed out shows the sign-in form (item 9). Real server,
real chromium."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from .conftest import EVENT, OPERATOR_TOKEN, WebServer, wait_for

Browser = Callable[..., WebDriver]
Screenshots = Callable[[WebDriver, str], Path]
#: The default session, SCAS_OPERATOR_SESSION_HOURS unset.
SESSION_S = 12 * 3600
SPAN = "start=2026-11-22T10:00:00Z&end=2026-11-22T10:01:00Z"


def sign_in_with_the_form(driver: WebDriver) -> None:
    """Type the operator token into the sign-in form the page shows, and send it."""
    driver.find_element(By.CSS_SELECTOR, "form#sign-in-form input#token").send_keys(OPERATOR_TOKEN)
    driver.find_element(By.CSS_SELECTOR, "form#sign-in-form button[type=submit]").click()


def test_an_operator_signs_in_to_a_session_that_expires_and_signs_out_from_every_page(
    web: WebServer, browser: Browser, screenshots: Screenshots, events_dir: Path
) -> None:
    # A camera with an address, so that its live page opens.
    (events_dir / "gala.yaml").write_text(
        "id: gala\nname: Gala\ncameras: [{id: gate, url: 'rtsp://127.0.0.1:9/none'}]\n"
    )
    with web.services.catalog() as catalog:
        catalog.events.ensure(EVENT)
        catalog.events.ensure("gala")

    # Signed out, an operator page is the sign-in form (not a JSON-ish refusal) that comes
    # back to the page asked for.
    driver = browser((1280, 900))
    driver.get(f"{web.url}/console/{EVENT}")
    assert driver.find_element(By.ID, "error").get_attribute("data-code") == "not_authenticated"
    assert "Bearer" not in driver.find_element(By.TAG_NAME, "body").text
    screenshots(driver, "sign-in-needed")
    sign_in_with_the_form(driver)
    wait_for(driver, "return location.pathname.endsWith(arguments[0])", 10, f"/console/{EVENT}")
    assert driver.find_element(By.ID, "event-name").text

    # The cookie is a session's token, not the operator token, and lasts 12 hours.
    cookie = driver.get_cookie("scas_operator")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert OPERATOR_TOKEN not in cookie["value"]
    assert abs(cookie["expiry"] - (time.time() + SESSION_S)) < 120, cookie["expiry"]
    session = cookie["value"]
    raw = requests.get(
        web.api("/events"), cookies={"scas_operator": OPERATOR_TOKEN}, timeout=10
    )  # the old cookie, the operator token itself, no longer opens anything
    assert raw.status_code == 401
    assert requests.get(web.api("/events"), cookies=cookie_of(session), timeout=10).ok

    # *Sign out* on every operator page.
    pages = [
        f"/console/{EVENT}",
        f"/screen/{EVENT}",
        f"/playback/{EVENT}/cam1?{SPAN}",
        "/console/live/gate?event=gala",
        "/console/analyses",
        "/",
    ]
    for page in pages:
        driver.get(web.url + page)
        if page == "/":
            wait_for(driver, "return !document.getElementById('operator-events').hidden", 10)
        button = driver.find_elements(By.CSS_SELECTOR, "form.sign-out button#sign-out")
        assert len(button) == 1, page
    driver.get(f"{web.url}/console/{EVENT}")
    screenshots(driver, "console-sign-out")
    driver.find_element(By.ID, "sign-out").click()
    wait_for(driver, "return location.pathname === arguments[0]", 10, urlsplit(web.url).path + "/")
    assert driver.get_cookie("scas_operator") is None
    # The session is over on the server too: its cookie, kept by someone, opens nothing.
    assert (
        requests.get(web.api("/events"), cookies=cookie_of(session), timeout=10).status_code == 401
    )
    driver.get(f"{web.url}/console/{EVENT}")
    assert driver.find_elements(By.ID, "sign-in-form")

    # A session expires: past its end the same page asks to sign in again.
    sign_in_with_the_form(driver)
    wait_for(driver, "return location.pathname.endsWith(arguments[0])", 10, f"/console/{EVENT}")
    session = driver.get_cookie("scas_operator")["value"]
    with web.services.catalog() as catalog:
        catalog.execute("UPDATE operator_sessions SET expires_at = now() - interval '1 second'")
    assert (
        requests.get(web.api("/events"), cookies=cookie_of(session), timeout=10).status_code == 401
    )
    driver.get(f"{web.url}/screen/{EVENT}")
    assert driver.find_elements(By.ID, "sign-in-form")


def test_a_session_lasts_12_hours_by_default(web: WebServer) -> None:
    signed_in = requests.post(
        f"{web.url}/sign-in?next=/", data={"token": OPERATOR_TOKEN}, allow_redirects=False,
        timeout=10,
    )  # fmt: skip
    assert signed_in.status_code == 303
    assert f"Max-Age={SESSION_S}" in signed_in.headers["set-cookie"]
    assert OPERATOR_TOKEN not in signed_in.headers["set-cookie"]


def cookie_of(session: str) -> dict[str, str]:
    return {"scas_operator": session}
