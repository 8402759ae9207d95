"""Every page checked like a product (issue 29, item 4), in the real Chromium at a phone's
size (390x844) and a desktop's (1920x1080), each page once its data is there:

- axe-core (npm's ``axe-core``, pinned by sha256 like the models and photos from PyPI) finds
  no serious or critical violation;
- nothing scrolls sideways;
- the page's own JS and CSS weigh under 100 KB;
- its first paint and first contentful paint are measured and reported (not asserted: a
  time on a shared test machine says little), with the figures of every page in one table.

Each page and size is also saved as a screenshot, ``<page>-phone`` and ``<page>-desktop``.
One browser per size visits every page (a Chromium start costs seconds): the problems of
all pages are collected and reported together, so one failing page hides no other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.catalog.records import Consent, Event, Output, Visitor
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.provisioning.registry import PinnedUrl, extract_member, fetch_url
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.simulation.generate import GeneratedEvent
from scas_lib.storage import keys

from .conftest import (
    EVENT,
    OPERATOR_TOKEN,
    PHONE_SIZE,
    WebServer,
    portrait,
    push_footage,
    wait_for,
)

Browser = Callable[..., WebDriver]
Screenshots = Callable[[WebDriver, str], Path]

AXE_CORE = PinnedUrl(
    url="https://registry.npmjs.org/axe-core/-/axe-core-4.14.1.tgz",
    filename="axe-core-4.14.1.tgz",
    sha256="e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745",
)
SIZES = {"phone": PHONE_SIZE, "desktop": (1920, 1080)}
#: The impacts that fail a page (axe's others: "minor" and "moderate").
BLOCKING_IMPACTS = ("serious", "critical")
#: The budget of a page's own JS and CSS, in bytes as served (uncompressed).
OWN_CODE_BUDGET = 100 * 1024

#: axe's run, its violations as plain lists: rule id, impact, the nodes' selectors.
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(
  (results) => done(results.violations.map((v) => [v.id, v.impact, v.help,
                                                   v.nodes.map((n) => n.target.join(' '))])),
  (error) => done([['axe-error', 'critical', String(error), []]]),
);
"""
#: The page's own code: the same-origin scripts and style sheets it loaded (the resource
#: timing entries, which also list what a script loaded later), and its inline ones.
OWN_CODE = """
const own = (url) => new URL(url, location.href).origin === location.origin;
const files = new Set(performance.getEntriesByType('resource').map((e) => e.name)
  .filter((name) => own(name) && /\\.(js|css)(\\?|$)/.test(new URL(name).pathname)));
document.querySelectorAll('script[src], link[rel=stylesheet]').forEach((e) => {
  const url = e.src || e.href; if (own(url)) files.add(new URL(url, location.href).href);
});
const inline = [...document.querySelectorAll('script:not([src]), style')]
  .reduce((sum, e) => sum + new TextEncoder().encode(e.textContent).length, 0);
return [[...files], inline];
"""
PAINTS = """
return Object.fromEntries(performance.getEntriesByType('paint')
  .map((e) => [e.name, e.startTime]));
"""


@dataclass(frozen=True)
class Page:
    """A page to check: ``path`` under the app, ``ready`` a script true once its data is
    there (its ``return`` expression)."""

    name: str
    path: str
    ready: str


@dataclass(frozen=True)
class PageFigures:
    """What one page at one size measured."""

    page: str
    size: str
    first_paint_ms: float | None
    first_contentful_paint_ms: float | None
    own_code_bytes: int
    problems: tuple[str, ...]


@pytest.fixture(scope="session")
def axe_source(asset_cache: Path) -> str:
    """axe.min.js of the pinned axe-core, from the npm registry (cached)."""
    archive = fetch_url(AXE_CORE, asset_cache / "downloads")
    script = extract_member(
        archive, "package/axe.min.js", asset_cache / "axe-core" / "4.14.1" / "axe.min.js"
    )
    return script.read_text(encoding="utf-8")


def axe_problems(driver: WebDriver, axe_source: str) -> list[str]:
    """axe's serious and critical violations on the page, one readable line each."""
    driver.execute_script(axe_source)
    violations = driver.execute_async_script(RUN_AXE)
    return [
        f"axe {rule} ({impact}): {help_text} at {', '.join(nodes)}"
        for rule, impact, help_text, nodes in violations
        if impact in BLOCKING_IMPACTS
    ]


def own_code_bytes(driver: WebDriver) -> int:
    """The bytes of the page's own JS and CSS: each same-origin file as the server sends
    it (asked again here: a cached file has no size in the resource timing), and the
    inline scripts and styles."""
    files, inline = driver.execute_script(OWN_CODE)
    return inline + sum(len(requests.get(url, timeout=10).content) for url in files)


def sideways_overflow(driver: WebDriver) -> int:
    """How many pixels the page is wider than the window (0 when nothing scrolls sideways)."""
    return int(
        driver.execute_script("return document.scrollingElement.scrollWidth - window.innerWidth")
    )


def check_page(
    driver: WebDriver, base: str, page: Page, size: str, axe_source: str, screenshots: Screenshots
) -> PageFigures:
    """Open ``page``, wait for its data, save its screenshot and measure it."""
    driver.get(base + page.path)
    problems = []
    try:
        wait_for(driver, "return document.readyState === 'complete'")
        wait_for(driver, page.ready, 30)
    except TimeoutException:  # checked as it is: the screenshot shows what it shows
        problems.append(f"not ready in 30 s ({page.ready})")
    screenshots(driver, f"{page.name}-{size}")
    problems += axe_problems(driver, axe_source)
    overflow = sideways_overflow(driver)
    if overflow > 0:
        problems.append(f"scrolls sideways by {overflow} px")
    weight = own_code_bytes(driver)
    if weight >= OWN_CODE_BUDGET:
        problems.append(f"its own JS and CSS weigh {weight} bytes, over {OWN_CODE_BUDGET}")
    paints = driver.execute_script(PAINTS)
    return PageFigures(
        page.name, size, paints.get("first-paint"), paints.get("first-contentful-paint"),
        weight, tuple(f"{page.name} at {size}: {p}" for p in problems),
    )  # fmt: skip


# The data the pages show. ------------------------------------------------------------------


def visitor_with_video(web: WebServer, photo: SamplePhoto, folder: Path) -> str:
    """A visitor whose video is done (a real two-second H.264 video of their photo, its
    poster that photo); their page's token."""
    video = folder / "highlight.mp4"
    run_ffmpeg(
        ["-y", "-loop", "1", "-i", str(photo.path), "-t", "2", "-r", "25",
         "-vf", "scale=720:-2", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video)],
        "the accessibility test's video",
    )  # fmt: skip
    store, bucket = web.services.object_store(), web.services.settings.bucket_highlights
    video_key, poster_key = keys.highlight_key(EVENT, "v-ana"), keys.poster_key(EVENT, "v-ana")
    store.put_file(bucket, video_key, video, content_type="video/mp4")
    store.put_file(bucket, poster_key, photo.path, content_type="image/jpeg")
    with web.services.catalog() as catalog:
        consent = Consent("scas-2026-11", "en", datetime.now(UTC))
        catalog.visitors.upsert(Visitor(EVENT, "v-ana", "Ana", consent))
        catalog.outputs.upsert(
            Output(EVENT, "v-ana", "done", video_key, poster_key=poster_key, duration_s=2.0)
        )
        return catalog.visitor_pages.issue(EVENT, "v-ana").token


def waiting_visitor(web: WebServer) -> str:
    """A visitor whose video is not made yet; their page's token."""
    with web.services.catalog() as catalog:
        consent = Consent("scas-2026-11", "zh", datetime.now(UTC))
        catalog.visitors.upsert(Visitor(EVENT, "v-bo", "波", consent))
        return catalog.visitor_pages.issue(EVENT, "v-bo").token


def footage_span(web: WebServer, event: GeneratedEvent) -> tuple[str, dict[str, str]]:
    """The generated event's footage pushed as `scas ingest` pushes it; its first camera
    and the span of that camera's segments."""
    push_footage(web.services, event)
    camera = sorted(s.camera_id for s in event.segments)[0]
    mine = [s for s in event.segments if s.camera_id == camera and not s.corrupt]
    begin = datetime.fromisoformat(mine[0].start_time)
    end = datetime.fromisoformat(mine[-1].start_time) + timedelta(seconds=mine[-1].duration_s)
    return camera, {"start": begin.isoformat(), "end": end.isoformat()}


def live_camera(events_dir: Path, event: GeneratedEvent) -> str:
    """A camera of the test event that sends video: a generated segment, looped (a
    ``file:`` source, as the event file allows); its id."""
    clip = event.directory / event.segments[0].path
    (events_dir / f"{EVENT}.yaml").write_text(
        f"id: {EVENT}\nname: Expo 2026 (web test)\n"
        f"cameras: [{{id: cam1}}, {{id: cam2, url: 'file:{clip}'}}, {{id: cam3}}]\n"
    )
    return "cam2"


def report(figures: list[PageFigures], target: Path) -> str:
    """Write every page's figures to ``target`` (JSON); a Markdown table of them."""
    target.write_text(json.dumps([asdict(f) for f in figures], indent=2, ensure_ascii=False))
    rows = [
        "| page | size | first paint (ms) | first contentful paint (ms) | own JS+CSS (KB) |",
        "|---|---|---:|---:|---:|",
    ]
    for f in figures:
        rows.append(
            f"| {f.page} | {f.size} | {_ms(f.first_paint_ms)} | "
            f"{_ms(f.first_contentful_paint_ms)} | {f.own_code_bytes / 1024:.1f} |"
        )
    return "\n".join(rows)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def test_every_page_passes_axe_fits_a_phone_and_keeps_its_code_small(
    web: WebServer, browser: Browser, screenshots: Screenshots, axe_source: str,
    photos: dict[str, SamplePhoto], event: GeneratedEvent, events_dir: Path, tmp_path: Path,
) -> None:  # fmt: skip
    with web.services.catalog() as catalog:
        catalog.events.upsert(Event(id=EVENT, name="Expo 2026"))
        catalog.events.set_status(EVENT, "running")
        catalog.events.upsert(Event(id="fair-2025", name="Fair 2025"))
        catalog.events.set_status("fair-2025", "done")
    ready_token = visitor_with_video(web, portrait(photos), tmp_path)
    waiting_token = waiting_visitor(web)
    camera, span = footage_span(web, event)
    live = live_camera(events_dir, event)
    loaded = "return document.readyState === 'complete'"
    # Anyone's pages, then (signed in) the operators'. The kiosk is paired on the way.
    visitors_pages = [
        Page("home", "/?lang=en", loaded),
        Page("code", "/v/", loaded),
        Page("visitor-waiting", f"/v/{waiting_token}?lang=zh",
             "return document.getElementById('state') !== null"),
        Page("visitor-ready", f"/v/{ready_token}?lang=en",
             "return document.getElementById('video').readyState >= 1"),
        Page("error-not-found", f"/v/{'x' * 43}", "return document.getElementById('error')"),
        Page("error-kiosk-not-paired", f"/kiosk/{EVENT}",
             "return document.getElementById('error')"),
    ]  # fmt: skip
    kiosk = Page("kiosk", f"/kiosk/{EVENT}", "return document.getElementById('submit') !== null")
    operators_pages = [
        Page("home-operator", "/?lang=en",
             "return document.querySelector('#events tbody tr') !== null"),
        Page("console", f"/console/{EVENT}?lang=en",
             "return document.querySelector('#cameras [data-camera]') !== null"),
        Page("playback", f"/playback/{EVENT}/{camera}?{urlencode({**span, 'lang': 'en'})}",
             "return document.getElementById('video').readyState >= 2"),
        Page("live", f"/console/live/{live}?event={EVENT}&lang=en",
             "return window.scasLiveStats && window.scasLiveStats.drawn > 5"),
        Page("analyses", "/console/analyses?lang=en",
             "return performance.getEntriesByType('resource')"
             ".some((e) => e.name.includes('/api/analyses'))"),
        Page("screen", f"/screen/{EVENT}?lang=en",
             "return !document.getElementById('idle').hidden"
             " || document.getElementById('video').readyState >= 2"),
    ]  # fmt: skip
    figures: list[PageFigures] = []
    for size, dimensions in SIZES.items():
        driver = browser(dimensions)
        for page in visitors_pages:
            figures.append(check_page(driver, web.url, page, size, axe_source, screenshots))
        driver.get(web.pairing_url())
        figures.append(check_page(driver, web.url, kiosk, size, axe_source, screenshots))
        driver.get(f"{web.url}/sign-in?{urlencode({'token': OPERATOR_TOKEN, 'next': '/'})}")
        for page in operators_pages:
            figures.append(check_page(driver, web.url, page, size, axe_source, screenshots))
    table = report(figures, tmp_path / "pages.json")
    print(f"\npages at {urlsplit(web.url).hostname} (loopback):\n{table}")
    problems = [problem for f in figures for problem in f.problems]
    assert not problems, "\n".join(problems)
