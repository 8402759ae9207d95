"""Time to highlight: seconds from an event's end marker to its last published video.

Generates an event (default 4 cameras x 2 minutes, 25 fps, 10 enrolled visitors from
../shared/faces), enrolls its visitors, then replays it to the recordings bucket live, at
real-time pace, while the event's DAG runs: ``dag.test()`` in this process, one wave after
another, exactly as the scheduler would run them one after another (tasks of one wave run
one at a time). The clock starts when the end marker is uploaded and stops when the run
that publishes the event has finished.

Everything runs on the embedded defaults (or the servers the SCAS settings name), in a
fresh database and fresh buckets, so runs never see each other's segments. Needs Airflow
(``pip install -e '.[airflow]'``).

    .venv/bin/python benchmarks/time_to_highlight.py [--json] [--event-dir DIR]
        [--cameras 4] [--duration 120] [--visitors 10] [--faces ../shared/faces]

``--event-dir`` keeps the generated event and reuses it next time (generating 8
camera-minutes takes about 10 minutes on 2 cores). Goal: <= 60 s on the 2-core machine.

JSON: ``seconds_after_end``, ``videos``, ``visitors_seen`` and the details of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
EVENT_ID = "tth"
GOAL_S = 60.0


def _airflow_home() -> Path:
    """A throwaway Airflow home (SQLite metadata), set up before Airflow is imported."""
    home = Path(tempfile.mkdtemp(prefix="scas-tth-airflow-"))
    (home / "events").mkdir()
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "SCAS_EVENTS_DIR": str(home / "events"),
        }
    )
    sys.path.insert(0, str(ROOT / "plugins"))
    return home


def _photos(faces: Path | None, visitors: int, settings):  # type: ignore[no-untyped-def]
    """Source photos with exactly ``visitors`` people who have two or more photos (the
    generator makes those visitors); further people keep one photo and are strangers."""
    from scas_lib.simulation.people import folder_photos, sample_photos

    photos = (
        folder_photos(faces)
        if faces
        else sample_photos(settings.data_dir / "samples", settings.package_index_url)
    )
    by_person = defaultdict(list)
    for photo in photos:
        by_person[photo.identity].append(photo)
    chosen, kept = 0, []
    for person in sorted(by_person):
        group = by_person[person]
        if len(group) >= 2 and chosen < visitors:
            chosen += 1
            kept += group
        else:
            kept.append(group[0])
    if chosen < visitors:
        print(f"only {chosen} people have two photos: {chosen} visitors", file=sys.stderr)
    return kept


def _event(args: argparse.Namespace, settings, engine):  # type: ignore[no-untyped-def]
    from scas_lib.simulation.generate import generate_event
    from scas_lib.simulation.plan import SimulationConfig

    directory = args.event_dir or Path(tempfile.mkdtemp(prefix="scas-tth-")) / "event"
    photos = _photos(args.faces, args.visitors, settings)
    per_person = defaultdict(int)
    for photo in photos:
        per_person[photo.identity] += 1
    singles = sum(1 for n in per_person.values() if n == 1)
    config = SimulationConfig(
        event_id=EVENT_ID,
        cameras=args.cameras,
        duration_s=args.duration,
        segment_s=10.0,
        # No more strangers than people with one photo: else the generator makes strangers
        # of some visitors.
        strangers=min(args.strangers, singles) if args.faces else args.strangers,
        seed=args.seed,
    )
    stamp = directory / "benchmark-config.json"
    wanted = json.dumps({**vars(config), "visitors": args.visitors}, sort_keys=True)
    if not (stamp.exists() and stamp.read_text() == wanted):
        started = time.monotonic()
        generate_event(directory, config, START, engine, photos)
        stamp.write_text(wanted)
        print(f"generated in {time.monotonic() - started:.0f} s: {directory}", file=sys.stderr)
    return directory


def _fresh_servers(services):  # type: ignore[no-untyped-def]
    """A new database and new buckets on the same servers, migrated and created."""
    import psycopg2
    import psycopg2.extensions

    from scas_lib.services.runtime import Services, prepare
    from scas_lib.settings import Settings

    run = uuid.uuid4().hex[:8]
    admin = psycopg2.connect(services.database_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "tth_{run}"')
    admin.close()
    url = psycopg2.extensions.make_dsn(services.database_url, dbname=f"tth_{run}")
    buckets = {f"bucket_{part}": f"tth-{run}-{part}" for part in ("recordings", "enrollments")}
    buckets["bucket_highlights"] = f"tth-{run}-highlights"
    for name, value in buckets.items():
        os.environ[f"SCAS_{name.upper()}"] = value
    fresh = Services(settings=Settings(**buckets), database_url=url, s3=services.s3)
    prepare(fresh)
    return fresh


def _connections(services) -> None:  # type: ignore[no-untyped-def]
    from psycopg2.extensions import parse_dsn

    dsn = parse_dsn(services.database_url)
    os.environ["AIRFLOW_CONN_SCAS_POSTGRES"] = json.dumps(
        {
            "conn_type": "postgres",
            "host": dsn.get("host", "127.0.0.1"),
            "port": int(dsn.get("port", 5432)),
            "login": dsn.get("user"),
            "password": dsn.get("password"),
            "schema": dsn["dbname"],
        }
    )
    os.environ["AIRFLOW_CONN_SCAS_S3"] = json.dumps(
        {
            "conn_type": "aws",
            "login": services.s3.access_key,
            "password": services.s3.secret_key,
            "extra": {"endpoint_url": services.s3.endpoint, "region_name": services.s3.region},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of footage")
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--strangers", type=int, default=6)
    parser.add_argument("--faces", type=Path, default=ROOT.parent / "shared" / "faces")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--event-dir", type=Path, help="reuse or keep the generated event here")
    parser.add_argument("--max-waves", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.faces and not args.faces.is_dir():
        args.faces = None
    # Airflow logs to stdout: keep stdout for the result alone, send the rest to stderr.
    result_out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    _airflow_home()
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.pool import Pool
    from airflow.utils.db import initdb
    from airflow.utils.session import create_session

    from scas_lib.events import ConsentText
    from scas_lib.faces.engine import FaceEngine
    from scas_lib.provisioning.install import install_default_pack
    from scas_lib.services.runtime import open_services
    from scas_lib.settings import Settings
    from scas_lib.simulation.replay import Upload, replay_event
    from scas_lib.storage import keys
    from scas_lib.visitors.stage import enroll_visitor

    consent = ConsentText().agreed("en", datetime.now(UTC))

    settings = Settings()
    pack = install_default_pack(settings.models_path, download_dir=settings.downloads_path)
    engine = FaceEngine.load(pack.directory, provider=settings.onnx_provider)
    event_dir = _event(args, settings, engine)
    record = json.loads((event_dir / "event.json").read_text())

    initdb()
    Pool.create_or_update_pool("gpu", slots=1, description="GPU", include_deferred=False)
    (Path(os.environ["SCAS_EVENTS_DIR"]) / f"{EVENT_ID}.yaml").write_text(
        f"id: {EVENT_ID}\nname: Time to highlight\npoll_interval_s: 1\nretry_delay_s: 1\n"
        "recognize_retries: 1\n"
    )

    with open_services(settings) as base:
        services = _fresh_servers(base)
        _connections(services)
        enrolled = []
        for person in record["people"]:
            if person["role"] != "visitor":
                continue
            photos = [(event_dir / photo).read_bytes() for photo in person["enrollment_photos"]]
            enroll_visitor(
                services,
                engine,
                consent=consent,
                event_id=EVENT_ID,
                display_name=person["identity"],
                photos=photos,
                visitor_id=person["id"],
            )
            enrolled.append(person["id"])
        dag = DagBag(str(ROOT / "dags")).dags[f"scas_{EVENT_ID}"]

        end_marker = keys.control_marker_key(EVENT_ID, "end")
        ended_at: list[float] = []

        def uploaded(upload: Upload) -> None:
            if upload.key == end_marker:
                ended_at.append(time.monotonic())

        replay = threading.Thread(
            target=replay_event,
            args=(event_dir, services.object_store(), services.settings.bucket_recordings),
            kwargs={"speed": 1.0, "on_upload": uploaded},
            daemon=True,
        )
        replay.start()
        waves, published, failed_segments = 0, False, 0
        while not published and waves < args.max_waves:
            run = dag.test(run_conf={"event_id": EVENT_ID})
            waves += 1
            with create_session() as session:
                tis = run.get_task_instances(session=session)
                states = {(ti.task_id, ti.map_index): str(ti.state) for ti in tis}
                busy: dict[str, float] = defaultdict(float)
                for ti in tis:
                    if ti.start_date and ti.end_date:
                        busy[ti.task_id] += (ti.end_date - ti.start_date).total_seconds()
            failed_segments += sum(
                1
                for (task, _), state in states.items()
                if task == "recognize" and state == "failed"
            )
            published = states.get(("publish", -1)) == "success"
            if str(run.state) == "failed" and not published:
                raise SystemExit(f"wave {waves} failed: {states}")
        finished = time.monotonic()
        replay.join()
        with services.catalog() as catalog:
            outputs = catalog.list_outputs(EVENT_ID)

    result = {
        "seconds_after_end": round(finished - ended_at[0], 1) if ended_at else None,
        "videos": sum(1 for o in outputs if o.status == "done"),
        "visitors_seen": sum(1 for o in outputs if o.status not in ("not_seen",)),
        "visitors_enrolled": len(enrolled),
        "cameras": len({s["camera_id"] for s in record["segments"]}),
        "footage_s": args.duration,
        "segments": len(record["segments"]),
        "failed_segments": failed_segments,
        "waves": waves,
        "published": published,
        "last_wave_task_seconds": {task: round(s, 1) for task, s in sorted(busy.items())},
        "goal_s": GOAL_S,
        "cpu_count": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result, indent=2), file=result_out)
        return
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}", file=result_out)


if __name__ == "__main__":
    main()
