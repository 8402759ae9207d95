"""The web app on a real server for the web tests: uvicorn on loopback, on the test catalog,
object store and models, with an event file and a paired kiosk."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import pytest
import uvicorn
from pydantic import SecretStr

from scas_lib.catalog.records import KioskPairing
from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.enrollment import NoFace, enroll_photo
from scas_lib.ingest.health import record_push
from scas_lib.ingest.spool import SpooledSegment
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.services import Services
from scas_lib.simulation.generate import GeneratedEvent
from scas_lib.simulation.replay import replay_event
from scas_lib.web.app import URL_PREFIX, standalone_app
from scas_lib.web.context import WebContext

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

EVENT = "expo"
#: The operator token of the test server (not a secret: made for the tests).
OPERATOR_TOKEN = "test-operator-" + "x" * 24
EVENT_FILE = """\
id: expo
name: Expo 2026 (web test)
cameras: [{id: cam1}, {id: cam2}, {id: cam3}]
"""


@dataclass(frozen=True)
class WebServer:
    """The app as a browser reaches it: ``url`` is ``http://127.0.0.1:PORT/scas``."""

    url: str
    services: Services
    kiosk: KioskPairing

    def api(self, path: str) -> str:
        return f"{self.url}/api{path}"

    def pairing_url(self) -> str:
        return f"{self.url}/kiosk/{self.kiosk.kiosk.event_id}?pair={self.kiosk.token}"


@pytest.fixture
def events_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "events"
    directory.mkdir()
    (directory / f"{EVENT}.yaml").write_text(EVENT_FILE)
    monkeypatch.setenv("SCAS_EVENTS_DIR", str(directory))
    return directory


@contextmanager
def run_uvicorn(app: object) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def web(services: Services, engine: FaceEngine, events_dir: Path) -> Iterator[WebServer]:
    """`scas serve`'s app on the test servers, with a kiosk paired with the test event."""
    settings = services.settings.model_copy(update={"operator_token": SecretStr(OPERATOR_TOKEN)})
    services = dataclasses.replace(services, settings=settings)
    with services.catalog() as catalog:
        kiosk = catalog.kiosks.pair(EVENT, label="entrance", per_minute=120, burst=30)
    context = WebContext.ready(settings, services, engine)
    with run_uvicorn(standalone_app(context)) as base:
        yield WebServer(base + URL_PREFIX, services, kiosk)


def push_footage(services: Services, event: GeneratedEvent) -> None:
    """The generated event's footage arrives as `scas ingest` pushes it: stored, each
    segment's push recorded, and the event ends (the replay writes its end marker last)."""
    replay_event(event.directory, services.object_store(), services.settings.bucket_recordings,
                 speed=0)  # fmt: skip
    with services.catalog() as catalog:
        for segment in event.segments:
            record_push(catalog, SpooledSegment(
                EVENT, segment.camera_id, datetime.fromisoformat(segment.start_time),
                segment.duration_s, event.directory / segment.path,
            ))  # fmt: skip


def portrait(photos: dict[str, SamplePhoto]) -> SamplePhoto:
    """A sample photo of one person (a real face)."""
    return next(p for p in sorted(photos.values(), key=lambda p: p.name) if p.group_size == 1)


def no_face_photo(photo: SamplePhoto, engine: FaceEngine, target: Path) -> Path:
    """A real photo with no face: the lower part of a portrait (shirt, background),
    checked to be refused with NoFace by the enrollment gates themselves."""
    image = cv2.imread(str(photo.path))
    height = image.shape[0]
    crop = image[int(height * 0.72) :, :]
    crop = cv2.resize(crop, (crop.shape[1] * 2, crop.shape[0] * 2))
    cv2.imwrite(str(target), crop)
    with pytest.raises(NoFace):
        enroll_photo(engine, target.read_bytes())
    return target


# A real browser: Debian's chromium, driven by selenium through Debian's chromedriver. ------

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: A portrait advertising screen, a tablet held sideways, and a phone.
KIOSK_SIZE = (1080, 1920)
TABLET_SIZE = (1280, 800)
PHONE_SIZE = (390, 844)


def fake_camera_video(photo: Path, target: Path) -> Path:
    """A two-second y4m video of a still photo, for chromium's fake camera."""
    run_ffmpeg(
        ["-y", "-loop", "1", "-i", str(photo), "-t", "2", "-r", "15",
         "-vf", "scale=640:-2", "-pix_fmt", "yuv420p", str(target)],
        "fake camera video",
    )  # fmt: skip
    return target


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Callable[..., WebDriver]]:
    """Open chromium (headless, fresh profile, nothing fetched from the network); with
    ``camera=<y4m>`` its camera is that video, permission granted."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("chromium and chromium-driver are missing: run `make system-deps`")
    opened: list[WebDriver] = []

    def open_browser(size: tuple[int, int], camera: Path | None = None) -> WebDriver:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        profile = tmp_path / f"chromium-profile-{len(opened)}"
        for flag in (
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
            "--autoplay-policy=no-user-gesture-required",
        ):  # fmt: skip
            options.add_argument(flag)
        if camera is not None:
            options.add_argument("--use-fake-ui-for-media-stream")
            options.add_argument("--use-fake-device-for-media-stream")
            options.add_argument(f"--use-file-for-fake-video-capture={camera}")
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
        opened.append(driver)
        # The page's own size, whatever the (headless) window's frame takes.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": size[0], "height": size[1], "deviceScaleFactor": 1,
             "mobile": size == PHONE_SIZE},
        )  # fmt: skip
        return driver

    yield open_browser
    for driver in opened:
        driver.quit()


def wait_for(driver: WebDriver, script: str, timeout_s: float = 30.0, *args: object) -> object:
    """Wait until ``script`` (a JavaScript expression's ``return``) is truthy; its value."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout_s, poll_frequency=0.1).until(
        lambda d: d.execute_script(script, *args)
    )


@pytest.fixture
def screenshots(tmp_path: Path) -> Callable[[WebDriver, str], Path]:
    """Save a page's screenshot: into ``SCAS_SCREENSHOTS_DIR`` when set (the README's come
    from ``SCAS_SCREENSHOTS_DIR=docs/screenshots``), else into the test's temporary folder."""
    folder = Path(os.environ.get("SCAS_SCREENSHOTS_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def save(driver: WebDriver, name: str) -> Path:
        target = folder / f"{name}.png"
        assert driver.save_screenshot(str(target)), name
        return target

    return save
