"""A day at a venue, compressed: cameras ingested live on the loopback deployment while
visitors enroll at the kiosk and the parts of the system are killed and started again.

One run:

1. generates an event (the registry's sample photos; ``--generated`` cameras of 60 s, each
   looped into one long clip) and serves each of ``--cameras`` cameras from its own RTSP
   server (GStreamer's: ``scas_lib.simulation.rtsp_camera``), the clips shared out in turn;
2. brings up the loopback deployment (``LoopbackDeployment.up``: the embedded PostgreSQL and
   SeaweedFS, Redis, Airflow's scheduler, dag-processor, triggerer, API server and the
   Celery workers of queues ``default`` and ``gpu``), starts the event, triggers its DAG
   through the REST API and runs ``scas ingest`` on the cameras, the spool on a small disk
   of its own (a tmpfs; root only, else the spool fault is left out);
3. for ``--minutes``: a kiosk enrolls each generated visitor through
   ``POST /scas/api/kiosk/enroll``, spread over the first half; and at random times (seeded,
   one fault at a time, each in its own slot) the soak kills with SIGKILL and starts again
   (``up`` again: it starts what has stopped): the S3 server, PostgreSQL (every process of
   it), the gpu Celery worker while it recognizes, the Airflow scheduler, one camera's RTSP
   server; and fills the spool's disk once (a file up to ENOSPC, removed after);
4. ends the event (``scas event end``: ingest finishes and writes the end marker), waits
   until the videos are published (at most ``--drain-minutes``), and reads the catalog and
   the store.

It reports (``--json``): ``segments_expected`` (every segment ingest made: in the bucket or
left in the spool), ``segments_recognized``, ``segments_lost`` (expected, not recognized;
goal 0), ``duplicate_rows`` (footage stored twice: two segments of a camera over the same
time; a visitor stored twice; a second video object for a visitor; goal 0),
``videos_expected`` (visitors enrolled), ``videos_published``, the lag of recognition behind
the cameras (a segment's end to its row's ``done``: p50, p95, max), the RSS of the gpu
worker's processes at start (after its first recognition) and at the end, each fault with
when it happened, and the time the cameras' footage covers against the time they were on.
A run that has not drained when the soak stops waiting says so (``drained`` false): only
failed segments count as lost, the rest as ``segments_pending``.

    .venv/bin/python benchmarks/soak.py [--json] [--cameras 24] [--minutes 30] [--seed 1]
        [--drain-minutes 90] [--keep DIR]

``--keep DIR`` runs in DIR and leaves it (the deployment's logs in ``data/deploy/logs/``,
ingest's in ``ingest.log``).

The short version (4 cameras, 5 minutes, each fault once) is ``tests/test_soak.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from scas_lib.simulation.rtsp_camera import LoopbackCamera

ROOT = Path(__file__).resolve().parents[1]
SEGMENT_S = 10.0
EVENT_ID = "soak"
#: How long a killed part stays down before it is started again.
DOWN_S = 15.0
FAULTS = ("s3", "postgres", "gpu_worker", "scheduler", "camera", "spool_full")


@dataclass(frozen=True)
class SoakPlan:
    cameras: int = 24
    minutes: float = 30.0
    seed: int = 1
    #: Cameras of generated footage; the RTSP cameras share them out in turn.
    generated: int = 4
    faults: tuple[str, ...] = FAULTS
    #: Recognition's frames per second in the soak's event (the event file's setting).
    analysis_fps: float = 2.0
    #: How long after the event's end the soak waits for the videos; a run that has not
    #: drained by then is measured as it stands (``drained`` false, ``segments_pending``).
    drain_minutes: float = 90.0


@dataclass
class FaultRecord:
    """One fault the soak made: what, when (seconds into the run) and how it went."""

    name: str
    at_s: float
    restarted_after_s: float = 0.0
    detail: str = ""


@dataclass
class SoakReport:
    cameras: int
    minutes: float
    seed: int
    segments_expected: int = 0
    segments_recognized: int = 0
    segments_failed: int = 0
    segments_lost: int = 0
    #: Not recognized yet when the soak stopped waiting (0 once it drained).
    segments_pending: int = 0
    drained: bool = False
    duplicate_rows: int = 0
    videos_expected: int = 0
    videos_published: int = 0
    enrollments: int = 0
    enrollment_errors: list[str] = field(default_factory=list)
    lag_s: dict[str, float] = field(default_factory=dict)
    worker_rss_mb: dict[str, float] = field(default_factory=dict)
    camera_time_covered: float = 0.0
    #: Each camera's gaps in its footage: (start s into the run, length s).
    camera_gaps: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    #: Visitors without a published video: their output's status and error.
    videos_missing: dict[str, str] = field(default_factory=dict)
    faults: list[FaultRecord] = field(default_factory=list)
    drain_s: float = 0.0
    failed_reasons: list[str] = field(default_factory=list)
    date: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


# footage -------------------------------------------------------------------------------------


def looped_clips(event_dir: Path, segments: list, seconds: float, work: Path) -> list[Path]:
    """One clip per generated camera: its segments end to end, looped to ``seconds``.

    Each generated segment keeps its own start time, so the segments are encoded once into
    a clip with timestamps from 0 (a camera's stream: 25 fps, a keyframe every 2 s, no
    B-frames); the loop repeats that clip by stream copy."""
    from scas_lib.media.ffmpeg import run_ffmpeg

    clips = []
    for camera in sorted({s.camera_id for s in segments}):
        parts = sorted((s for s in segments if s.camera_id == camera), key=lambda s: s.start_time)
        listing = work / f"{camera}.txt"
        listing.write_text("".join(f"file '{event_dir / s.path}'\n" for s in parts))
        once = work / f"{camera}-once.mp4"
        run_ffmpeg(
            ["-f", "concat", "-safe", "0", "-i", str(listing), "-an",
             "-vf", "setpts=N/(25*TB)", "-r", "25", "-c:v", "libx264", "-preset", "ultrafast",
             "-g", "50", "-bf", "0", "-pix_fmt", "yuv420p", str(once)],
            "one loop of a camera",
        )  # fmt: skip
        loop_s = sum(s.duration_s for s in parts)
        loops = work / f"{camera}-loops.txt"
        loops.write_text(f"file '{once}'\n" * (int(seconds // loop_s) + 1))
        clip = work / f"{camera}-looped.mp4"
        run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(loops), "-c", "copy", str(clip)],
                   "a looped camera clip")  # fmt: skip
        clips.append(clip)
    return clips


# the spool's disk ----------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int) -> Iterator[bool]:
    """A tmpfs of ``size_mb`` at ``path`` (True), or a plain folder where mounting is not
    allowed (False: the spool cannot be filled)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(path)],
        capture_output=True, check=False,
    ).returncode == 0  # fmt: skip
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def fill_disk(filler: Path) -> int:
    """Write ``filler`` until the disk refuses; the bytes written."""
    chunk, written = b"\0" * 2**20, 0
    with filler.open("wb") as out:
        try:
            while True:
                out.write(chunk)
                out.flush()
                written += len(chunk)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    return written


# processes -----------------------------------------------------------------------------------


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every process under it."""
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    family = [parent, *parent.children(recursive=True)]
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(family, timeout=15)


def tree_rss_mb(pid: int) -> float:
    try:
        parent = psutil.Process(pid)
        family = [parent, *parent.children(recursive=True)]
        return sum(p.memory_info().rss for p in family if p.is_running()) / 2**20
    except psutil.NoSuchProcess:
        return 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# the soak ------------------------------------------------------------------------------------


class Soak:
    """One soak run in ``work`` (everything it starts is stopped by :meth:`close`)."""

    def __init__(self, plan: SoakPlan, work: Path, models_dir: Path, log: Callable[[str], None]):
        from scas_lib.deploy.loopback import LoopbackDeployment
        from scas_lib.settings import Settings

        self.plan, self.work, self.log = plan, work, log
        self.spool_dir = work / "spool"
        self.settings = Settings(
            data_dir=work / "data", models_dir=models_dir, onnx_provider="cpu",
            ingest_spool_dir=self.spool_dir,
        )  # fmt: skip
        self.events_dir = work / "events"
        self.events_dir.mkdir(parents=True, exist_ok=True)
        self.deployment = LoopbackDeployment(self.settings, root=ROOT, events_dir=self.events_dir)
        self.cameras: list[LoopbackCamera] = []
        self.ingest: subprocess.Popen[bytes] | None = None
        self.report = SoakReport(plan.cameras, plan.minutes, plan.seed)
        self.started = 0.0
        self.rss_samples: list[float] = []
        self.people: list[tuple[str, bytes]] = []  # (name, kiosk photo)
        self.enrolled: dict[str, str] = {}  # visitor id -> name

    # set-up ----------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        values = {
            "SCAS_DATA_DIR": str(self.settings.data_dir),
            "SCAS_MODELS_DIR": str(self.settings.models_path),
            "SCAS_ONNX_PROVIDER": "cpu",
            "SCAS_EVENTS_DIR": str(self.events_dir),
            "SCAS_INGEST_SPOOL_DIR": str(self.spool_dir),
            "PYTHONPATH": str(ROOT),
        }
        drop = ("SCAS_DATABASE_URL", "SCAS_S3_ENDPOINT", "SCAS_S3_ACCESS_KEY", "SCAS_S3_SECRET_KEY")
        return {**{k: v for k, v in os.environ.items() if k not in drop}, **values}

    def scas(self, *args: str, timeout_s: float = 600) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "scas_lib.cli", *args], env=self.env(), cwd=ROOT,
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"scas {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def prepare_footage(self) -> None:
        from scas_lib.faces.engine import FaceEngine
        from scas_lib.provisioning.install import install_default_pack
        from scas_lib.services.embedded import free_ports
        from scas_lib.simulation.generate import generate_event
        from scas_lib.simulation.people import sample_photos
        from scas_lib.simulation.plan import SimulationConfig
        from scas_lib.simulation.rtsp_camera import LoopbackCamera

        pack = install_default_pack(self.settings.models_path,
                                    download_dir=self.settings.downloads_path)  # fmt: skip
        engine = FaceEngine.load(pack.directory, provider="cpu")
        photos = sample_photos(self.settings.data_dir / "samples", self.settings.package_index_url)
        config = SimulationConfig(
            event_id=EVENT_ID, cameras=self.plan.generated, duration_s=60.0,
            segment_s=SEGMENT_S, strangers=6, seed=self.plan.seed,
        )  # fmt: skip
        self.log(f"generating {self.plan.generated} cameras of 60 s")
        event = generate_event(self.work / "generated", config, datetime.now(UTC), engine, photos)
        for person in event.plan.people:
            if person.role == "visitor":
                photo = event.directory / "enrollments" / person.id / "0.jpg"
                self.people.append((f"{person.identity} ({person.id})", photo.read_bytes()))
        seconds = self.plan.minutes * 60 + 120
        clips = looped_clips(event.directory, list(event.segments), seconds, self.work)
        ports = free_ports(self.plan.cameras)
        self.cameras = [LoopbackCamera(clips[i % len(clips)], port) for i, port in enumerate(ports)]
        cameras = ", ".join(
            f"{{id: cam{i + 1}, url: '{c.url}'}}" for i, c in enumerate(self.cameras)
        )
        (self.events_dir / f"{EVENT_ID}.yaml").write_text(
            f"id: {EVENT_ID}\nname: Soak\ntimezone: UTC\ncameras: [{cameras}]\n"
            f"segment_s: {SEGMENT_S:g}\npoll_interval_s: 2\nretry_delay_s: 5\n"
            f"recognize_retries: 3\nrecognize_batch: 4\n"
            f"recognition: {{analysis_fps: {self.plan.analysis_fps:g}}}\n"
        )

    def bring_up(self) -> None:
        from scas_lib.deploy.api import AirflowApi
        from scas_lib.ingest.stage import start_event
        from scas_lib.services import runtime

        for camera in self.cameras:
            camera.start()
        self.log("deployment up")
        self.deployment.up()
        self.api = AirflowApi(self.deployment.api_url, "admin", self.deployment.admin_password())
        deadline = time.monotonic() + 180
        while not self.api.dag_exists(f"scas_{EVENT_ID}"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"scas_{EVENT_ID} never appeared")
            time.sleep(2)
        services = runtime.resolve(self.settings)
        start_event(services, EVENT_ID)
        with services.catalog() as catalog:
            self.kiosk_token = catalog.kiosks.pair(EVENT_ID, label="soak door",
                                                   per_minute=600, burst=100).token  # fmt: skip
        self.api.trigger(f"scas_{EVENT_ID}", {"event_id": EVENT_ID})
        log = (self.work / "ingest.log").open("ab")
        self.ingest = subprocess.Popen(
            [sys.executable, "-m", "scas_lib.cli", "ingest", "--event", EVENT_ID],
            env=self.env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.started = time.monotonic()
        self.started_epoch = time.time()

    # during ----------------------------------------------------------------------------------

    def at(self) -> float:
        return time.monotonic() - self.started

    def enroll(self, name: str, photo: bytes) -> None:
        import requests

        from scas_lib.events import ConsentText

        for attempt in range(6):  # a kiosk tries again while the servers are down
            try:
                answer = requests.post(
                    f"{self.deployment.api_url}/scas/api/kiosk/enroll",
                    headers={"Authorization": f"Bearer {self.kiosk_token}"},
                    data={"name": name, "language": "en", "consent": "true",
                          "consent_version": ConsentText().version},
                    files={"photo": ("selfie.jpg", photo, "image/jpeg")}, timeout=120,
                )  # fmt: skip
            except requests.RequestException as error:
                reason = f"{type(error).__name__}"
            else:
                if answer.status_code == 201:
                    self.enrolled[answer.json()["visitor_id"]] = name
                    self.report.enrollments += 1
                    return
                reason = f"{answer.status_code} {answer.text[:120]}"
            self.log(f"enrollment of {name}: {reason}; again in 10 s (try {attempt + 1})")
            time.sleep(10)
        self.report.enrollment_errors.append(f"{name}: {reason}")

    def kiosk_loop(self, stop: threading.Event) -> None:
        """Each visitor enrolls at a time spread over the first half of the run."""
        half = self.plan.minutes * 30
        times = sorted(random.Random(self.plan.seed).uniform(0, half) for _ in self.people)
        for when, (name, photo) in zip(times, self.people, strict=True):
            if stop.wait(max(0.0, when - self.at())):
                return
            self.enroll(name, photo)

    def worker_pid(self) -> int | None:
        return self.deployment.component_pid("worker-gpu")

    def recognizing(self) -> bool:
        for run in self.api.active_runs(f"scas_{EVENT_ID}"):
            for ti in self.api.task_instances(f"scas_{EVENT_ID}", run.run_id):
                if ti.task_id == "recognize" and ti.state == "running":
                    return True
        return False

    def counts(self) -> tuple[int, int]:
        """Segments pushed and recognized so far, or (0, 0) while the catalog is down."""
        from scas_lib.services import runtime

        try:
            with (
                runtime.resolve(self.settings).catalog() as catalog,
                catalog.connection.cursor() as cur,
            ):
                cur.execute(
                    """SELECT (SELECT count(*) FROM pushed_segments WHERE event_id = %(e)s),
                              (SELECT count(*) FROM segments WHERE event_id = %(e)s
                                                               AND status = 'done')""",
                    {"e": EVENT_ID},
                )
                pushed, done = cur.fetchone()
                return int(pushed), int(done)
        except Exception:  # the catalog may be down: the soak kills it
            return 0, 0

    def watch(self, stop: threading.Event) -> None:
        """Every 10 s: the gpu worker's RSS (from its first recognized segment on), and the
        run so far in ``progress.json`` (for a long run watched from outside)."""
        while not stop.wait(10):
            pushed, done = self.counts()
            pid = self.worker_pid()
            if pid and done > 0:
                self.rss_samples.append(tree_rss_mb(pid))
            progress = {"at_s": round(self.at()), "pushed": pushed, "recognized": done,
                        "worker_rss_mb": self.rss_samples[-1:], "enrolled": len(self.enrolled),
                        "faults": [asdict(f) for f in self.report.faults]}  # fmt: skip
            (self.work / "progress.json").write_text(json.dumps(progress))

    def fault(self, name: str) -> FaultRecord:
        from scas_lib.services import EmbeddedPostgres, EmbeddedSeaweedFS

        record = FaultRecord(name, round(self.at(), 1))
        data_dir = self.settings.data_dir
        if name == "s3":
            pid = EmbeddedSeaweedFS(data_dir).running_pid()
            assert pid, "SeaweedFS is not running"
            kill_tree(pid)
            time.sleep(DOWN_S)
        elif name == "postgres":
            pid = EmbeddedPostgres(data_dir).running_pid()
            assert pid, "PostgreSQL is not running"
            kill_tree(pid)
            time.sleep(DOWN_S)
        elif name == "gpu_worker":
            deadline = time.monotonic() + 300
            while not self.recognizing() and time.monotonic() < deadline:
                time.sleep(2)
            record.detail = "mid-task" if self.recognizing() else "no task ran in 5 min"
            pid = self.worker_pid()
            assert pid, "the gpu worker is not running"
            os.killpg(pid, signal.SIGKILL)
            kill_tree(pid)
        elif name == "scheduler":
            pid = self.deployment.component_pid("scheduler")
            assert pid, "the scheduler is not running"
            os.killpg(pid, signal.SIGKILL)
            kill_tree(pid)
        elif name == "camera":
            camera = self.cameras[random.Random(self.plan.seed).randrange(len(self.cameras))]
            camera.kill()
            record.detail = camera.url
            time.sleep(DOWN_S)
            camera.start()
        elif name == "spool_full":
            filler = self.spool_dir / "filler"
            written = fill_disk(filler)
            record.detail = f"{written // 2**20} MiB written to fill it"
            time.sleep(DOWN_S)
            filler.unlink()
        started = time.monotonic()
        if name != "camera" and name != "spool_full":
            self.deployment.up()  # starts what has stopped
        record.restarted_after_s = round(time.monotonic() - started, 1)
        self.log(f"{record.at_s:7.1f} s: {name} {record.detail}; back in "
                 f"{record.restarted_after_s} s")  # fmt: skip
        return record

    def fault_times(self, faults: tuple[str, ...]) -> list[tuple[float, str]]:
        """A random time in its own slot for each fault (between 10% and 80% of the run)."""
        rng = random.Random(self.plan.seed)
        order = list(faults)
        rng.shuffle(order)
        span = self.plan.minutes * 60
        start, slot = 0.1 * span, 0.7 * span / max(1, len(order))
        return [
            (start + i * slot + rng.uniform(0, 0.5 * slot), name) for i, name in enumerate(order)
        ]

    def run(self) -> SoakReport:
        faults = self.plan.faults
        with small_disk(self.spool_dir, 320) as mounted:
            if not mounted and "spool_full" in faults:
                self.log("the spool's disk cannot be mounted here: spool_full left out")
                faults = tuple(f for f in faults if f != "spool_full")
            self.prepare_footage()
            self.report.videos_expected = len(self.people)
            self.bring_up()
            stop = threading.Event()
            threads = [
                threading.Thread(target=self.kiosk_loop, args=(stop,), daemon=True),
                threading.Thread(target=self.watch, args=(stop,), daemon=True),
            ]
            for thread in threads:
                thread.start()
            for when, name in self.fault_times(faults):
                time.sleep(max(0.0, when - self.at()))
                self.report.faults.append(self.fault(name))
            time.sleep(max(0.0, self.plan.minutes * 60 - self.at()))
            threads[0].join(timeout=600)  # the last enrollments
            self.log("ending the event")
            self.scas("event", "end", "--event", EVENT_ID, "--wait", "300", timeout_s=400)
            assert self.ingest is not None
            self.ingest.wait(timeout=300)
            ended = time.monotonic()
            self.report.drained = self.wait_until_published(self.plan.drain_minutes * 60)
            self.report.drain_s = round(time.monotonic() - ended, 1)
            stop.set()
            pid = self.worker_pid()
            if pid:
                self.rss_samples.append(tree_rss_mb(pid))
            self.measure()
        return self.report

    def wait_until_published(self, timeout_s: float) -> bool:
        """Until the event is done and its DAG has no active run (True), or ``timeout_s``."""
        from scas_lib.services import runtime

        deadline = time.monotonic() + timeout_s
        dag = f"scas_{EVENT_ID}"
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                with runtime.resolve(self.settings).catalog() as catalog:
                    done = catalog.events.get(EVENT_ID).status == "done"
                if done and not self.api.active_runs(dag):
                    return True
            time.sleep(10)
        self.log(f"not drained {timeout_s:.0f} s after the end: measured as it stands")
        return False

    # after -----------------------------------------------------------------------------------

    def measure(self) -> None:
        from scas_lib.services import runtime
        from scas_lib.storage import keys

        services = runtime.resolve(self.settings)
        with services.catalog() as catalog, catalog.connection.cursor() as cur:
            cur.execute("SELECT object_key FROM pushed_segments WHERE event_id = %s", (EVENT_ID,))
            pushed = {row[0] for row in cur.fetchall()}
            cur.execute(
                """SELECT object_key, status, error, extract(epoch FROM updated_at
                          - (start_time + duration_s * interval '1 second'))
                   FROM segments WHERE event_id = %s""",
                (EVENT_ID,),
            )
            segments = cur.fetchall()
            # Footage stored twice: two segments of a camera over the same time (a spool
            # uploaded again under another start time, say).
            cur.execute(
                """SELECT count(*) FROM (
                       SELECT start_time, lag(start_time + duration_s * interval '1 second')
                              OVER (PARTITION BY camera_id ORDER BY start_time) AS previous_end
                       FROM segments WHERE event_id = %s) ordered
                   WHERE start_time < previous_end - interval '0.5 second'""",
                (EVENT_ID,),
            )
            overlapping_segments = int(cur.fetchone()[0])
            cur.execute(
                """SELECT camera_id, extract(epoch FROM start_time), extract(epoch FROM
                          end_time - start_time)
                   FROM camera_gaps WHERE event_id = %s ORDER BY camera_id, start_time""",
                (EVENT_ID,),
            )
            for camera_id, start, length in cur.fetchall():
                self.report.camera_gaps.setdefault(camera_id, []).append(
                    (round(float(start) - self.started_epoch, 1), round(float(length), 1))
                )
            cur.execute(
                "SELECT count(*) - count(DISTINCT display_name) FROM visitors WHERE event_id = %s",
                (EVENT_ID,),
            )
            duplicate_visitors = int(cur.fetchone()[0])
            cur.execute("SELECT sum(duration_s) FROM pushed_segments WHERE event_id = %s",
                        (EVENT_ID,))  # fmt: skip
            covered_s = float(cur.fetchone()[0] or 0.0)
            outputs = catalog.outputs.for_event(EVENT_ID)
        left_in_spool = list((self.spool_dir / EVENT_ID / "ready").glob("*/*.mp4"))
        expected = pushed | {row[0] for row in segments}
        done = [row for row in segments if row[1] == "done"]
        failed = [row for row in segments if row[1] == "failed"]
        store = services.object_store()
        videos = [item.key for item in store.list(services.settings.bucket_highlights,
                                                  f"{EVENT_ID}/")]  # fmt: skip
        highlight_keys = [k for k in videos if k.endswith(".mp4")]
        published = [
            o for o in outputs
            if o.status == "done" and o.object_key == keys.highlight_key(EVENT_ID, o.visitor_id)
        ]  # fmt: skip
        lags = [float(row[3]) for row in done]
        report = self.report
        report.segments_expected = len(expected) + len(left_in_spool)
        report.segments_recognized = len(done)
        report.segments_failed = len(failed)
        report.failed_reasons = sorted({str(row[2])[:160] for row in failed})
        # Once drained, whatever is not recognized is lost; before, only a failed segment is
        # known lost and the rest still waits.
        unfinished = report.segments_expected - len(done)
        report.segments_lost = unfinished if report.drained else len(failed)
        report.segments_pending = 0 if report.drained else unfinished - len(failed)
        report.duplicate_rows = (
            overlapping_segments
            + duplicate_visitors
            + len(highlight_keys)
            - len(set(highlight_keys))
        )
        report.videos_published = len(published)
        shown = {o.visitor_id for o in published}
        report.videos_missing = {
            f"{self.enrolled.get(o.visitor_id, o.visitor_id)}": f"{o.status}: {o.error or ''}"
            for o in outputs
            if o.visitor_id not in shown
        }
        for visitor_id, name in self.enrolled.items():
            if visitor_id not in {o.visitor_id for o in outputs}:
                report.videos_missing[name] = "no output row"
        if lags:
            report.lag_s = {
                "p50": round(statistics.median(lags), 1),
                "p95": round(percentile(lags, 0.95), 1),
                "max": round(max(lags), 1),
            }
        if self.rss_samples:
            report.worker_rss_mb = {"start": round(self.rss_samples[0], 1),
                                    "end": round(self.rss_samples[-1], 1),
                                    "max": round(max(self.rss_samples), 1)}  # fmt: skip
        report.camera_time_covered = round(
            covered_s / (self.plan.cameras * self.plan.minutes * 60), 3
        )

    def close(self) -> None:
        if self.ingest and self.ingest.poll() is None:
            self.ingest.kill()
        for camera in self.cameras:
            camera.kill()
        with contextlib.suppress(Exception):
            self.deployment.down()


def run_soak(plan: SoakPlan, work: Path, models_dir: Path,
             log: Callable[[str], None] = print) -> SoakReport:  # fmt: skip
    """Run the soak of ``plan`` in ``work``; everything it started is stopped after."""
    soak = Soak(plan, work, models_dir, log)
    try:
        return soak.run()
    finally:
        soak.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON only")
    parser.add_argument("--cameras", type=int, default=24)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-minutes", type=float, default=90.0,
                        help="how long to wait for the videos after the end")  # fmt: skip
    parser.add_argument("--keep", type=Path, help="run in this new folder and keep it (logs)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from scas_lib.settings import Settings

    models_dir = Settings().models_path  # SCAS_MODELS_DIR, else the default
    plan = SoakPlan(cameras=args.cameras, minutes=args.minutes, seed=args.seed,
                    drain_minutes=args.drain_minutes)  # fmt: skip

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
        report = run_soak(plan, args.keep, models_dir, log)
    else:
        with tempfile.TemporaryDirectory(prefix="scas-soak-") as folder:
            report = run_soak(plan, Path(folder), models_dir, log)
    if args.json:
        print(report.to_json())
        return
    print(
        f"{plan.cameras} cameras, {plan.minutes:g} min: segments {report.segments_recognized}"
        f"/{report.segments_expected} recognized, {report.segments_lost} lost, "
        f"{report.duplicate_rows} duplicate rows, videos {report.videos_published}"
        f"/{report.videos_expected}, lag {report.lag_s}, worker RSS {report.worker_rss_mb}"
    )
    for fault in report.faults:
        print(f"  {fault.at_s:7.1f} s  {fault.name:<11} {fault.detail}")


if __name__ == "__main__":
    main()
