"""``scas ingest``, ``scas upload`` and ``scas event`` on real servers started on loopback:
GStreamer's RTSP server (Debian's, scripts/rtsp-camera.py) serving a real clip made from
vtest.avi, ffmpeg serving MPEG-TS over HTTP with ``-listen 1``, SeaweedFS stopped and
started again, the test PostgreSQL. Segments are 2 s long and outages a few seconds, so
the file stays quick; the behaviour is the same as with 60 s segments and 20-30 s outages,
since nothing in ingest depends on those lengths beyond the back-off cap (2 s here).
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scas_lib.catalog import Catalog
from scas_lib.cli import app
from scas_lib.errors import ScasError
from scas_lib.events import EventConfig
from scas_lib.ingest import stage
from scas_lib.ingest.runner import IngestOptions, IngestReport, ingest_event
from scas_lib.ingest.sources import segment_output_args
from scas_lib.ingest.spool import Spool
from scas_lib.media.ffmpeg import MediaError, run_ffmpeg
from scas_lib.media.probe import probe
from scas_lib.run import waves
from scas_lib.services import EmbeddedSeaweedFS, Services
from scas_lib.services.embedded import free_ports
from scas_lib.settings import Settings
from scas_lib.simulation.rtsp_camera import LoopbackCamera
from scas_lib.storage import ObjectStore, S3Config, keys

# Starts programs of its own (ffmpeg, an RTSP camera, Airflow, the scas command): not fast.
pytestmark = pytest.mark.programs

ROOT = Path(__file__).resolve().parents[1]
VTEST = Path("/usr/local/share/scas/vtest.avi")
SEGMENT_S = 2.0
PASSWORD = "pa:ss@w0rd-7"


# servers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 s of real street footage as a camera sends it: H.264, 25 fps, a keyframe every
    second, no B-frames."""
    if not VTEST.exists():
        pytest.fail(f"{VTEST} is missing: run `make system-deps`")
    path = tmp_path_factory.mktemp("clip") / "street.mp4"
    run_ffmpeg(
        ["-stream_loop", "-1", "-i", str(VTEST), "-t", "40", "-vf", "fps=25,scale=384:288",
         "-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-g", "25",
         "-pix_fmt", "yuv420p", str(path)],
        "test clip",
    )  # fmt: skip
    return path


def camera_url(camera: LoopbackCamera) -> str:
    """The camera's URL as an event file gives it: the password from the environment."""
    return f"rtsp://operator:${{CAM_PASSWORD}}@{camera.address}"


@pytest.fixture
def rtsp_camera(clip: Path) -> Iterator[LoopbackCamera]:
    """The clip on GStreamer's RTSP server; its URL with the credentials ingest expands
    from the environment is ``camera_url(rtsp_camera)``."""
    camera = LoopbackCamera(clip, free_ports(1)[0])
    camera.start()
    yield camera
    camera.stop()


@pytest.fixture
def listening_camera(clip: Path) -> Iterator[Callable[..., str]]:
    """ffmpeg serving the clip at real-time pace as a server a camera reads from
    (``-listen 1``: MPEG-TS or MJPEG over HTTP, FLV over RTMP). It serves one client, so it
    is started again for the next one, as a camera would serve again."""
    serving = threading.Event()
    current: list[subprocess.Popen] = []
    threads = []

    def serve(url: str, muxer: str, codec: tuple[str, ...]) -> None:
        while not serving.is_set():
            process = subprocess.Popen(
                ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-re", "-i", str(clip),
                 *codec, "-f", muxer, "-listen", "1", url],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            current.append(process)
            process.wait()

    def start(scheme: str, muxer: str, codec: tuple[str, ...] = ("-c", "copy")) -> str:
        port = free_ports(1)[0]
        url = f"{scheme}://127.0.0.1:{port}/live/cam"
        threads.append(threading.Thread(target=serve, args=(url, muxer, codec), daemon=True))
        threads[-1].start()
        return url

    yield start
    serving.set()
    for process in current:
        if process.poll() is None:
            process.terminate()
    for thread in threads:
        thread.join(timeout=10)


@pytest.fixture
def ingest_services(services: Services, tmp_path: Path) -> Services:
    """The test servers, with the spool under this test's directory."""
    settings = services.settings.model_copy(update={"data_dir": tmp_path / "data"})
    return Services(settings=settings, database_url=services.database_url, s3=services.s3)


@pytest.fixture(autouse=True)
def _camera_password(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CAM_PASSWORD", PASSWORD)
    yield
    while Ingest.running:
        left = Ingest.running.pop()
        left.stop.set()
        left.thread.join(timeout=60)


# helpers -------------------------------------------------------------------------------------


def event_config(event_id: str, cameras: dict[str, str], **ingest: float) -> EventConfig:
    settings = {"stall_s": 4.0, "backoff_min_s": 0.5, "backoff_max_s": 2.0, **ingest}
    return EventConfig.model_validate(
        {"id": event_id, "segment_s": SEGMENT_S, "poll_interval_s": 0.5, "ingest": settings,
         "cameras": [{"id": c, "url": url} for c, url in cameras.items()]}
    )  # fmt: skip


class Ingest:
    """``ingest_event`` in a thread, with the event file's contents held in memory (each
    one is stopped at the end of its test, also one that failed)."""

    running: list[Ingest] = []  # noqa: RUF012

    def __init__(self, services: Services, config: EventConfig, **options: float) -> None:
        self.config = config
        self.stop = threading.Event()
        self.report: IngestReport | None = None
        self.error: BaseException | None = None
        spool = services.settings.spool_path
        opts = IngestOptions(spool_dir=spool, poll_s=0.5, drain_s=options.get("drain_s", 30.0))

        def run() -> None:
            try:
                self.report = ingest_event(
                    services, config.id, opts, lambda: self.config, environ=os.environ,
                    stop=self.stop,
                )  # fmt: skip
            except BaseException as error:  # reported by finish()
                self.error = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        Ingest.running.append(self)

    def finish(self) -> IngestReport:
        self.stop.set()
        self.thread.join(timeout=90)
        assert not self.thread.is_alive(), "ingest did not stop"
        if self.error:
            raise self.error
        assert self.report is not None
        return self.report


@dataclass(frozen=True)
class Stored:
    key: str
    camera: str
    start: datetime
    duration_s: float
    size: int
    metadata: dict[str, str]

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)


def stored_segments(store: ObjectStore, bucket: str, event_id: str) -> list[Stored]:
    found = []
    for item in store.list(bucket, keys.event_recordings_prefix(event_id)):
        parsed = keys.parse_segment_key(item.key)
        if parsed is None:
            continue
        meta = store.stat(bucket, item.key).metadata
        found.append(Stored(item.key, parsed.camera_id, parsed.start_time,
                            float(meta["duration"]), item.size, meta))  # fmt: skip
    return sorted(found, key=lambda s: (s.camera, s.start))


def decoded_frames(store: ObjectStore, bucket: str, key: str, folder: Path) -> int:
    """Frames ffmpeg decodes from the segment, end to end (an error fails)."""
    path = store.download_file(bucket, key, folder / Path(key).name)
    done = run_ffmpeg(["-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"], "decode")
    return sum(1 for line in done.stdout.decode().splitlines() if not line.startswith("#"))


def assert_contiguous(segments: list[Stored], tolerance_s: float = 0.1) -> None:
    for before, after in itertools.pairwise(segments):
        step = abs((after.start - before.end).total_seconds())
        assert step <= tolerance_s, f"{before.key} -> {after.key}: {step:.3f} s apart"


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def health_of(services: Services, event_id: str) -> dict[str, stage.CameraHealth]:
    return {h.camera_id: h for h in stage.cameras(services, event_id)}


# tests ---------------------------------------------------------------------------------------


def test_rtsp_camera_is_recorded_into_whole_segments_on_the_servers_clock(
    ingest_services: Services,
    store: ObjectStore,
    bucket: str,
    rtsp_camera: LoopbackCamera,
    catalog: Catalog,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = event_config("rtsp", {"cam1": camera_url(rtsp_camera)})
    seen: dict[str, int] = {}
    watching = threading.Event()

    def watch() -> None:  # every object, the moment it is listed, is already whole
        while not watching.is_set():
            for item in store.list(bucket, "rtsp/cam1/"):
                seen.setdefault(item.key, item.size)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    ingest = Ingest(ingest_services, config)
    wait_for(lambda: len(seen) >= 4, 30, "four segments")
    report = ingest.finish()
    watching.set()
    watcher.join()

    segments = stored_segments(store, bucket, "rtsp")
    assert report.pushed == len(segments) >= 4 and report.spooled == 0
    assert {s.key: s.size for s in segments if s.key in seen} == {
        key: size for key, size in seen.items()
    }
    for segment in segments:
        assert segment.metadata["camera"] == "cam1"
        assert datetime.fromisoformat(segment.metadata["start-time"]) == segment.start
    # The first frame the server sent, at the moment it started playing, starts segment 1.
    assert len(rtsp_camera.playing) == 1
    assert abs(segments[0].start.timestamp() - rtsp_camera.playing[0]) < 0.1
    assert_contiguous(segments)
    for segment in segments[:-1]:  # the last one was cut short by the stop
        assert SEGMENT_S - 0.1 <= segment.duration_s <= SEGMENT_S + 1.1
    for segment in segments[1:3]:
        frames = decoded_frames(store, bucket, segment.key, tmp_path)
        assert abs(frames - 25 * segment.duration_s) <= 2
    # Credentials: never in a log line, masked in the catalog.
    assert PASSWORD not in caplog.text and "pa%3Ass%40w0rd-7" not in caplog.text
    health = health_of(ingest_services, "rtsp")["cam1"]
    assert health.source == f"rtsp://operator:***@127.0.0.1:{rtsp_camera.port}/cam"
    assert (health.state, health.reconnects, health.gaps) == ("stopped", 0, 0)
    # Lag: nothing recognized yet, then one segment done.
    assert (health.segments_pushed, health.lag_segments) == (len(segments), len(segments))
    first = catalog.segments.register("rtsp", "cam1", segments[0].key, segments[0].start)
    catalog.connection.cursor().execute(
        "UPDATE segments SET status = 'done' WHERE id = %s", (first.id,)
    )
    catalog.connection.commit()
    after = health_of(ingest_services, "rtsp")["cam1"]
    assert after.lag_segments == len(segments) - 1
    expected_lag = (segments[-1].end - segments[0].end).total_seconds()
    assert after.lag_s == pytest.approx(expected_lag, abs=0.01)


def test_a_camera_that_drops_goes_on_in_new_segments_and_the_outage_is_a_gap(
    ingest_services: Services, store: ObjectStore, bucket: str, rtsp_camera: LoopbackCamera
) -> None:
    config = event_config("drop", {"cam1": camera_url(rtsp_camera)})
    ingest = Ingest(ingest_services, config)
    wait_for(lambda: len(store.list(bucket, "drop/cam1/")) >= 2, 30, "two segments")
    rtsp_camera.stop()
    dropped_at = time.time()
    time.sleep(6.0)  # refused connections meanwhile: retried with back-off
    during = health_of(ingest_services, "drop")["cam1"]
    rtsp_camera.start()
    back_at = time.time()
    wait_for(lambda: len(rtsp_camera.playing) == 2, 20, "the camera to be read again")
    wait_for(
        lambda: any(s.start.timestamp() > back_at for s in stored_segments(store, bucket, "drop")),
        20, "a segment after the outage",
    )  # fmt: skip
    ingest.finish()

    segments = stored_segments(store, bucket, "drop")
    before = [s for s in segments if s.start.timestamp() < dropped_at]
    after = [s for s in segments if s.start.timestamp() > dropped_at]
    assert len(before) >= 2 and len(after) >= 1
    assert_contiguous(before)
    assert_contiguous(after)
    assert abs(after[0].start.timestamp() - rtsp_camera.playing[1]) < 0.1
    assert during.state in ("reconnecting", "offline") and during.reconnects >= 2
    health = health_of(ingest_services, "drop")["cam1"]
    assert health.gaps == 1
    outage = (after[0].start - before[-1].end).total_seconds()
    assert health.gap_s == pytest.approx(outage, abs=0.01)
    assert 5.0 < outage < back_at - dropped_at + 3.0


def test_a_stalled_camera_is_restarted_by_the_watchdog(
    ingest_services: Services, store: ObjectStore, bucket: str, rtsp_camera: LoopbackCamera
) -> None:
    """The server freezes (SIGSTOP): the connection stays open and nothing comes, which
    ffmpeg alone would wait out; the watchdog (stall_s 4 here, 20 by default) restarts the
    recorder, and the camera goes on once the server runs again."""
    ingest = Ingest(ingest_services, event_config("stall", {"cam1": camera_url(rtsp_camera)}))
    wait_for(lambda: len(store.list(bucket, "stall/cam1/")) >= 2, 30, "two segments")
    assert rtsp_camera.process is not None
    os.kill(rtsp_camera.process.pid, signal.SIGSTOP)
    frozen_at = time.time()
    try:
        wait_for(
            lambda: "no data for 4 s" in health_of(ingest_services, "stall")["cam1"].detail,
            20, "the watchdog",
        )  # fmt: skip
        stalled = health_of(ingest_services, "stall")["cam1"]
    finally:
        os.kill(rtsp_camera.process.pid, signal.SIGCONT)
    wait_for(
        lambda: any(s.start.timestamp() > frozen_at + 4
                    for s in stored_segments(store, bucket, "stall")),
        40, "a segment after the freeze",
    )  # fmt: skip
    ingest.finish()
    assert stalled.state == "reconnecting"
    segments = stored_segments(store, bucket, "stall")
    # Everything up to the freeze is kept: the segment it cut short was finished, not lost.
    before = [s for s in segments if s.start.timestamp() < frozen_at]
    assert len(before) >= 3
    assert_contiguous(before)
    assert before[-1].end.timestamp() == pytest.approx(frozen_at, abs=1.0)
    after = health_of(ingest_services, "stall")["cam1"]
    assert after.gaps >= 1 and after.reconnects >= 1


@pytest.fixture
def small_spool_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 300 MiB disk (tmpfs) for the spool, so that it can be filled. Mounting needs
    root, which this project's machines have; elsewhere the test is skipped, saying why."""
    mount_point = tmp_path / "spool-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=300m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"a small disk for the spool cannot be mounted here: {mounted.stderr}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill_disk(filler: Path) -> None:
    """Write to ``filler`` until the disk refuses (ENOSPC)."""
    chunk = b"\0" * 2**20
    with filler.open("wb") as out:
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC, error


def test_a_full_spool_pauses_the_camera_and_it_records_again_once_there_is_room(
    ingest_services: Services,
    store: ObjectStore,
    bucket: str,
    rtsp_camera: LoopbackCamera,
    small_spool_disk: Path,
) -> None:
    """The spool's disk fills up (another program's file): the camera goes offline saying
    so, what was recorded before is uploaded, and once the file is removed the camera
    records again by itself (before: it stopped for good, until ``scas ingest`` restarted)."""
    settings = ingest_services.settings.model_copy(update={"ingest_spool_dir": small_spool_disk})
    services = Services(settings=settings, database_url=ingest_services.database_url,
                        s3=ingest_services.s3)  # fmt: skip
    ingest = Ingest(services, event_config("full", {"cam1": camera_url(rtsp_camera)}))
    wait_for(lambda: len(store.list(bucket, "full/cam1/")) >= 2, 30, "two segments")
    filled_at = time.time()
    filler = small_spool_disk / "someone-elses-file"
    fill_disk(filler)
    wait_for(lambda: health_of(services, "full")["cam1"].state == "offline", 30, "offline")
    full = health_of(services, "full")["cam1"]
    time.sleep(3.0)  # still full: the camera stays offline, the recorder alive
    still = health_of(services, "full")["cam1"]
    filler.unlink()
    freed_at = time.time()
    wait_for(
        lambda: any(s.start.timestamp() > freed_at for s in stored_segments(store, bucket, "full")),
        30, "a segment after the disk had room again",
    )  # fmt: skip
    report = ingest.finish()

    assert "is full" in full.detail and "SCAS_INGEST_SPOOL_DIR" in full.detail, full.detail
    assert still.state == "offline"
    assert health_of(services, "full")["cam1"].state == "stopped"
    segments = stored_segments(store, bucket, "full")
    before = [s for s in segments if s.start.timestamp() < filled_at]
    after = [s for s in segments if s.start.timestamp() > freed_at]
    assert len(before) >= 2 and after
    assert_contiguous(before)
    assert_contiguous(after)
    assert report.spooled == 0
    for segment in [before[0], after[0]]:
        assert decoded_frames(store, bucket, segment.key, small_spool_disk) >= 40


def test_the_segment_being_closed_when_the_disk_fills_is_dropped_not_uploaded(
    small_spool_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """ffmpeg lists the segment it was closing when the disk filled, though it could not
    write its index (the MP4's moov): unreadable. The spool drops it, saying so, and hands
    on the whole ones (before: it was uploaded, and recognition failed on it: a short
    soak's CI run lost three segments so)."""
    spool = Spool(small_spool_disk, "full")
    run = spool.new_run("cam1")
    Spool.write_start(run, time.time())
    # Room for about two and a half of the segments below, then the disk is full.
    room = 2_600_000
    with (small_spool_disk / "someone-elses-file").open("wb") as filler:
        filler.write(b"\0" * (shutil.disk_usage(small_spool_disk).free - room))
    recording = ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-t", "12",
                 *segment_output_args(2, str(run), copy=False)]  # fmt: skip
    with pytest.raises(MediaError, match="No space left"):
        run_ffmpeg(recording, "record into a disk that fills")
    listed = (run / "segments.csv").read_text().splitlines()
    (small_spool_disk / "someone-elses-file").unlink()

    with caplog.at_level(logging.WARNING, logger="scas_lib.ingest.spool"):
        moved = spool.close_run("cam1", run)

    assert len(listed) >= 2 and len(moved) == len(listed) - 1, (listed, moved)
    for segment in moved:
        assert probe(segment.path).duration == pytest.approx(2.0, abs=0.05)
    assert [s.path for s in spool.ready()] == [s.path for s in moved]
    assert "is unreadable" in caplog.text and "are a gap" in caplog.text, caplog.text


def test_http_rtmp_and_mjpeg_cameras_and_cameras_added_and_removed_while_ingesting(
    ingest_services: Services,
    store: ObjectStore,
    bucket: str,
    listening_camera: Callable[..., str],
    clip: Path,
    tmp_path: Path,
) -> None:
    http = listening_camera("http", "mpegts")
    rtmp = listening_camera("rtmp", "flv")
    # MJPEG cannot be copied into the segments: it is encoded to H.264 (found out from
    # what ffmpeg says of the stream, then recorded again).
    mjpeg = listening_camera("http", "mpjpeg", ("-c:v", "mjpeg", "-q:v", "5"))
    cameras = {"http1": http, "robot1": rtmp, "mjpeg1": mjpeg}
    ingest = Ingest(ingest_services, event_config("hall", cameras))
    wait_for(lambda: len(store.list(bucket, "hall/http1/")) >= 2, 30, "two HTTP segments")
    # A looped file joins the event file; within a poll it is recorded.
    ingest.config = event_config("hall", {**cameras, "loop1": f"file:{clip}"})
    wait_for(lambda: len(store.list(bucket, "hall/loop1/")) >= 2, 30, "two looped segments")
    # The HTTP camera leaves the event file: it stops cleanly, its last segment uploaded.
    del cameras["http1"]
    ingest.config = event_config("hall", {**cameras, "loop1": f"file:{clip}"})
    wait_for(lambda: health_of(ingest_services, "hall")["http1"].state == "stopped", 15,
             "the removed camera to stop")  # fmt: skip
    removed_at = time.time()
    time.sleep(1.0)
    ingest.finish()

    segments = stored_segments(store, bucket, "hall")
    names = ("http1", "robot1", "mjpeg1", "loop1")
    by_camera = {c: [s for s in segments if s.camera == c] for c in names}
    assert len(by_camera["http1"]) >= 3 and len(by_camera["loop1"]) >= 2
    assert len(by_camera["robot1"]) >= 4 and len(by_camera["mjpeg1"]) >= 3
    for recorded in by_camera.values():
        assert_contiguous(recorded)
    assert by_camera["http1"][-1].end.timestamp() < removed_at
    for camera in ("http1", "robot1", "mjpeg1"):
        # Every frame of a full segment decodes. (How many frames a segment of 2 s holds
        # depends on these test servers keeping real time under load, which `-re` does not
        # promise: the RTSP test checks that against the server's clock.)
        key = by_camera[camera][-2].key
        frames = decoded_frames(store, bucket, key, tmp_path)
        stored = probe(tmp_path / Path(key).name, packets=True)
        assert stored.codec == "h264" and frames == stored.frames > 0
    health = health_of(ingest_services, "hall")
    assert {camera: health[camera].state for camera in by_camera} == dict.fromkeys(
        by_camera, "stopped"
    )
    for segment in by_camera["mjpeg1"]:  # none copied as MJPEG, not even the first
        store.download_file(bucket, segment.key, tmp_path / "mjpeg.mp4")
        assert probe(tmp_path / "mjpeg.mp4").codec == "h264"


def test_segments_wait_in_the_spool_while_s3_is_down_and_arrive_in_order_once(
    database_url: str, catalog: Catalog, rtsp_camera: LoopbackCamera, tmp_path: Path
) -> None:
    server = EmbeddedSeaweedFS(tmp_path / "s3")
    server.acquire(persistent=True)
    try:
        s3: S3Config = server.s3_config(timeout_s=1.0)
        bucket = "recordings"
        ObjectStore(s3).ensure_bucket(bucket)
        settings = Settings(bucket_recordings=bucket, data_dir=tmp_path / "data")
        services = Services(settings=settings, database_url=database_url, s3=s3)
        config = event_config("spool", {"cam1": camera_url(rtsp_camera)})
        store = ObjectStore(s3)
        ingest = Ingest(services, config, drain_s=1.0)
        wait_for(lambda: len(store.list(bucket, "spool/")) >= 2, 30, "two segments")
        server.stop()  # S3 gone for 8 s (the behaviour is the same for 30 s)
        time.sleep(8.0)
        spooled = list((settings.spool_path / "spool" / "ready" / "cam1").glob("*.mp4"))
        assert len(spooled) >= 2
        ingest.finish()  # while S3 is still down: the spool keeps them over the restart
        left = len(list((settings.spool_path / "spool" / "ready" / "cam1").glob("*.mp4")))
        assert left >= len(spooled)
        server.acquire(persistent=True)
        first_run_stored = len(store.list(bucket, "spool/"))
        again = Ingest(services, config)
        wait_for(lambda: not any((settings.spool_path / "spool" / "ready").glob("*/*.mp4")),
                 30, "the spool to empty")  # fmt: skip
        # The spool may empty before the second run has finished a segment of its own.
        wait_for(lambda: len(store.list(bucket, "spool/")) > first_run_stored + left,
                 30, "a segment of the second run")  # fmt: skip
        again.finish()
        segments = stored_segments(store, bucket, "spool")
        with catalog.connection.cursor() as cur:
            cur.execute(
                "SELECT object_key FROM pushed_segments WHERE event_id = 'spool' "
                "ORDER BY pushed_at, object_key"
            )
            pushed = [row[0] for row in cur.fetchall()]
    finally:
        server.stop()
    # Every segment once, uploaded oldest first; one recording across the S3 outage, the
    # second run's recording after a gap (the camera was not read in between).
    assert pushed == [s.key for s in segments]
    assert len(segments) >= 2 + left
    first_run_end = next(i for i, (a, b) in enumerate(itertools.pairwise(segments))
                         if (b.start - a.end).total_seconds() > 0.1)  # fmt: skip
    assert_contiguous(segments[: first_run_end + 1])
    assert first_run_end + 1 >= 2 + left
    assert_contiguous(segments[first_run_end + 1 :])


@pytest.fixture
def two_minute_recording(tmp_path: Path) -> tuple[Path, datetime]:
    """A 2-minute H.264 recording with its creation time tag, as a camera leaves it."""
    created = datetime(2026, 11, 22, 10, 15, 30, tzinfo=UTC)
    path = tmp_path / "bullet-time.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=120",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p",
         "-metadata", "creation_time=2026-11-22T10:15:30.000000Z", str(path)],
        "2-minute recording",
    )  # fmt: skip
    return path, created


def _cli_env(monkeypatch: pytest.MonkeyPatch, services: Services, tmp_path: Path) -> None:
    bucket = services.settings.bucket_recordings
    for name, value in {
        "SCAS_BUCKET_RECORDINGS": bucket, "SCAS_BUCKET_ENROLLMENTS": bucket,
        "SCAS_BUCKET_HIGHLIGHTS": bucket, "SCAS_DATA_DIR": str(tmp_path / "cli-data"),
        "SCAS_DATABASE_URL": services.database_url, "SCAS_S3_ENDPOINT": services.s3.endpoint,
        "SCAS_S3_ACCESS_KEY": services.s3.access_key,
        "SCAS_S3_SECRET_KEY": services.s3.secret_key,
        "SCAS_EVENTS_DIR": str(tmp_path / "no-events"),
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)


def test_upload_cuts_a_recorded_file_into_segments_with_their_start_times(
    services: Services,
    store: ObjectStore,
    bucket: str,
    two_minute_recording: tuple[Path, datetime],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, created = two_minute_recording
    _cli_env(monkeypatch, services, tmp_path)
    result = CliRunner().invoke(
        app, ["upload", str(path), "--event", "show", "--camera", "bullet", "--segment", "10"]
    )
    assert result.exit_code == 0, result.output
    segments = stored_segments(store, bucket, "show")
    assert len(segments) == 12
    for index, segment in enumerate(segments):
        assert segment.start == created + timedelta(seconds=10 * index)
        assert segment.duration_s == pytest.approx(10.0, abs=0.05)
    assert_contiguous(segments, 0.01)
    assert "published" not in result.output
    # The event's videos are published; then --start wins over the tag; the same file again
    # under another camera, and the operator is told a run must pick the segments up.
    store.put_bytes(bucket, keys.control_marker_key("show", "end"), b"")
    with services.catalog() as catalog:
        catalog.events.ensure("show")
        catalog.events.close_run("show", waves.marker_times(services, "show")["end"])
    moment = "2026-11-22T11:00:00+01:00"
    result = CliRunner().invoke(app, ["upload", str(path), "--event", "show", "--camera",
                                      "studio", "--segment", "60", "--start", moment])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "videos were published before these segments came: trigger its DAG" in " ".join(
        result.output.split()
    )
    studio = [s for s in stored_segments(store, bucket, "show") if s.camera == "studio"]
    assert [s.start for s in studio] == [datetime(2026, 11, 22, 10, tzinfo=UTC),
                                         datetime(2026, 11, 22, 10, 1, tzinfo=UTC)]  # fmt: skip


def test_upload_of_bad_files_is_one_clear_line_and_uploads_nothing(
    services: Services,
    store: ObjectStore,
    bucket: str,
    two_minute_recording: tuple[Path, datetime],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _cli_env(monkeypatch, services, tmp_path)
    text = tmp_path / "notes.mp4"
    text.write_text("these are the show notes, not a video\n")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    untagged = tmp_path / "untagged.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1",
                "-c:v", "libx264", "-preset", "ultrafast", str(untagged)], "untagged")  # fmt: skip
    good = two_minute_recording[0]
    for bad, words in ((text, "not a video"), (empty, "empty file"),
                       (untagged, "no creation_time")):  # fmt: skip
        result = CliRunner().invoke(
            app, ["upload", str(good), str(bad), "--event", "bad", "--camera", "c1"]
        )
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(bad) in lines[0]
        assert words in lines[0]
    assert store.list(bucket, "bad/") == []


def test_event_end_waits_for_ingest_then_refuses_to_run_twice(
    ingest_services: Services, store: ObjectStore, bucket: str, clip: Path
) -> None:
    event_id = f"gala-{uuid.uuid4().hex[:6]}"
    assert stage.start_event(ingest_services, event_id) is None
    assert stage.start_event(ingest_services, event_id) is not None  # already running
    ingest = Ingest(ingest_services, event_config(event_id, {"cam1": f"file:{clip}"}))
    wait_for(lambda: len(store.list(bucket, f"{event_id}/cam1/")) >= 1, 30, "a segment")
    waited: list[list[str]] = []
    result = stage.end_event(
        ingest_services, event_id, wait_s=30, poll_s=0.2,
        on_wait=lambda busy: waited.append([h.camera_id for h in busy]),
    )  # fmt: skip
    report = ingest.finish()
    assert report.reason == "end requested" and report.spooled == 0
    assert result.still_ingesting == [] and waited and waited[0] == ["cam1"]
    objects = {item.key: item for item in store.list(bucket, f"{event_id}/")}
    end = objects.pop(keys.control_marker_key(event_id, "end"))
    objects.pop(keys.control_marker_key(event_id, "start"))
    assert objects and all(item.last_modified <= end.last_modified for item in objects.values())
    with pytest.raises(ScasError, match="already ended"):
        stage.end_event(ingest_services, event_id, wait_s=0)
    with pytest.raises(ScasError, match="has already ended"):
        stage.open_for_ingest(ingest_services, event_id)
    time.sleep(1.1)  # marker times have whole seconds: a start in the end's second ends
    assert stage.start_event(ingest_services, event_id) is None  # a new run
    assert stage.open_for_ingest(ingest_services, event_id) is False


def test_cameras_command_shows_health_without_secrets(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cli_env(monkeypatch, services, tmp_path)
    with services.catalog() as catalog:
        from scas_lib.ingest import health

        health.record_state(catalog, "expo", "cam1", "reconnecting",
                            source="rtsp://operator:***@10.0.0.21/s1", detail="refused",
                            reconnects=3)  # fmt: skip
    result = CliRunner().invoke(app, ["cameras", "--event", "expo"])
    assert result.exit_code == 0, result.output
    assert "reconnecting" in result.output and "operator:***@" in result.output
    assert json.dumps(result.output).count("cam1") == 1


def test_ingest_with_an_unset_camera_variable_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (events / "gate.yaml").write_text(
        "cameras:\n  - {id: cam1, url: 'rtsp://admin:${GATE_PASSWORD}@10.0.0.21/s1'}\n"
    )
    monkeypatch.setenv("SCAS_EVENTS_DIR", str(events))
    monkeypatch.setenv("SCAS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GATE_PASSWORD", raising=False)
    result = CliRunner().invoke(app, ["ingest", "--event", "gate"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: camera cam1: camera url needs the environment variable(s) GATE_PASSWORD, not set"
    ]
    result = CliRunner().invoke(app, ["ingest", "--event", "gate", "--camera", "cam9"])
    assert result.output.strip() == "error: event gate has no camera cam9"
