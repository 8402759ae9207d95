"""Operator actions cannot be forged from another port of the same host (issue 44, item 5):
a page served by a second real server on another loopback port auto-submits text/plain
forms to the app while the operator is signed in, in a real chromium; every one is
refused and nothing is created, while the same browser's own pages still act."""

from __future__ import annotations

import html
from collections.abc import Callable
from urllib.parse import urlencode

from selenium.webdriver.remote.webdriver import WebDriver
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from scas_lib.run import waves

from .conftest import EVENT, OPERATOR_TOKEN, WebServer, run_uvicorn, wait_for

Browser = Callable[..., WebDriver]


def attacker_app() -> Starlette:
    """Another site on the same host: ``/?target=URL`` is a page that posts a text/plain
    form to ``URL`` as soon as it opens, as an attacker's page would."""

    def page(request: Request) -> HTMLResponse:
        target = html.escape(request.query_params["target"])
        return HTMLResponse(
            f'<!doctype html><form id="f" method="post" enctype="text/plain" action="{target}">'
            '<input name=\'{"camera_id":"cam1","start":"2026-11-22T10:00:00Z","end":"'
            '2026-11-22T10:01:00Z","x":"\' value=\'"}\'></form>'
            "<script>document.getElementById('f').submit();</script>"
        )

    return Starlette(routes=[Route("/", page)])


def test_a_page_on_another_port_cannot_act_for_the_signed_in_operator(
    web: WebServer, browser: Browser
) -> None:
    with web.services.catalog() as catalog:
        catalog.events.ensure(EVENT)
        kiosks_before = len(catalog.kiosks.all(EVENT))
    driver = browser((1280, 900))
    driver.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/{EVENT}")
    assert driver.current_url == f"{web.url}/console/{EVENT}"
    actions = [
        f"/api/events/{EVENT}/kiosks?label=x",
        f"/api/events/{EVENT}/start",
        f"/api/events/{EVENT}/end",
        f"/api/events/{EVENT}/visitors/v-00000000/render",
        f"/api/events/{EVENT}/visitors/v-00000000/not-this-person",
    ]
    with run_uvicorn(attacker_app()) as attacker:
        assert attacker.rsplit(":", 1)[1] != web.url.split(":")[2].split("/")[0]
        for action in actions:
            target = web.url + action
            driver.get(f"{attacker}/?{urlencode({'target': target})}")
            wait_for(driver, "return location.href === arguments[0]", 10, target)
            answer = driver.find_element("tag name", "body").text
            assert '"cross_origin"' in answer, (action, answer)
    with web.services.catalog() as catalog:
        assert len(catalog.kiosks.all(EVENT)) == kiosks_before  # no kiosk was paired
    assert waves.marker_times(web.services, EVENT) == {"start": None, "end": None}

    # The same browser, on the app's own page, still acts: the cookie was good.
    driver.get(f"{web.url}/console/{EVENT}")
    status = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {method: 'POST'}).then((r) => done(r.status));",
        f"{web.url}/api/events/{EVENT}/kiosks?label=own",
    )
    assert status == 201
    with web.services.catalog() as catalog:
        assert [k.label for k in catalog.kiosks.all(EVENT)].count("own") == 1
