"""A visitor page's moments never read the same (issue 42): two clips filmed in the same
minute show their seconds. A real two-second H.264 video of a real photo, its edit plan
stored beside it as a render stores it; the page in real chromium."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.catalog.records import Consent, Output, Visitor
from scas_lib.highlights.records import EditPlan, PlanLimits, PlannedClip
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.storage import keys

from .conftest import EVENT, PHONE_SIZE, WebServer, portrait

Browser = Callable[..., WebDriver]


def test_moments_filmed_in_the_same_minute_show_their_seconds(
    web: WebServer, browser: Browser, photos: dict[str, SamplePhoto], tmp_path: Path
) -> None:
    video = tmp_path / "highlight.mp4"
    run_ffmpeg(
        ["-y", "-loop", "1", "-i", str(portrait(photos).path), "-t", "2", "-r", "25",
         "-vf", "scale=720:-2", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video)],
        "the moments test's video",
    )  # fmt: skip
    store, bucket = web.services.object_store(), web.services.settings.bucket_highlights
    video_key = keys.highlight_key(EVENT, "v-ana")
    store.put_file(bucket, video_key, video, content_type="video/mp4")
    t0 = datetime(2026, 11, 22, 10, 4, 5, tzinfo=UTC)
    clips = (
        PlannedClip("cam1", t0, t0 + timedelta(seconds=3), 0.9),
        PlannedClip("cam2", t0 + timedelta(seconds=40), t0 + timedelta(seconds=43), 0.8),
        PlannedClip("cam1", t0 + timedelta(minutes=30), t0 + timedelta(minutes=30, seconds=3), 0.7),
    )
    plan = EditPlan(EVENT, "v-ana", clips, PlanLimits(60, 2, 8, 0.5, 2, 2))
    store.put_bytes(bucket, keys.edit_plan_key(EVENT, "v-ana"), plan.to_json().encode())
    with web.services.catalog() as catalog:
        catalog.events.ensure(EVENT)
        catalog.events.set_status(EVENT, "done")
        consent = Consent("scas-2026-11", "en", datetime.now(UTC))
        catalog.visitors.upsert(Visitor(EVENT, "v-ana", "Ana", consent))
        catalog.outputs.upsert(Output(EVENT, "v-ana", "done", video_key, duration_s=2.0))
        token = catalog.visitor_pages.issue(EVENT, "v-ana").token

    driver = browser(PHONE_SIZE)
    driver.get(f"{web.url}/v/{token}?lang=en")
    times = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#moments .moment")]
    # UTC: the test event's file names no time zone.
    assert times == ["10:04:05", "10:04:45", "10:34"], times
