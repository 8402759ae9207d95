"""Time to highlight on the deployment: seconds from an event's end marker to its last
published video, with Airflow deployed as in production (``scas deploy up``: CeleryExecutor,
Redis, scheduler, triggerer, a Celery worker for queue ``default`` and one for ``gpu``).

Generates an event (default 4 cameras x 2 minutes, 25 fps, 10 enrolled visitors from
../shared/faces, 4 of whom leave in the first half, as at a real event: the generator's
presence windows; the event file's ``leave_after_s`` is 45 s, for 2 minutes), brings the
loopback deployment up in a fresh data directory (fresh catalog, buckets and Airflow
database), enrolls the visitors, triggers the event's DAG
through the REST API and replays the event into the recordings bucket live, at real-time
pace, while the deployed DAG runs its waves (each wave starts the next, as in production).
The clock starts when the end marker is uploaded and stops when the run that publishes the
event ends (Airflow's end date of that run; same machine, same clock).

Then, on the same deployment and footage, the baseline: ``single_render_s``, the median time
to render one of these visitors' videos alone (``--single-renders`` of them, one after
another, with the same stage function the render task calls, the deployment idle).

    .venv/bin/python benchmarks/time_to_highlight.py [--json] [--event-dir DIR]
        [--cameras 4] [--duration 120] [--visitors 10] [--faces ../shared/faces]

``--event-dir`` keeps the generated event and reuses it next time (generating 8
camera-minutes takes about 10 minutes on 2 cores). Goals: ``seconds_after_end`` <= 60, and
<= 2 x ``single_render_s`` (after the end only about one video's worth of work remains).

JSON: ``seconds_after_end``, ``videos``, ``visitors_seen``, ``videos_before_end`` (videos
published when the end marker was uploaded: progressive delivery), ``early_leavers`` and
``early_leavers_with_video_before_end``, ``single_render_s``, ``ratio_to_single_render``,
``plans_changed_by_last_segment`` (visitors whose edit plan the last 10 s of footage
changed: their renders are left after the end however early the others are made),
``after_end_timeline`` (every task that ended after the end marker: wave, task, start and
end in seconds from the marker) and the details of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
EVENT_ID = "tth"
DAG_ID = f"scas_{EVENT_ID}"
SEGMENT_S = 10.0
GOAL_S = 60.0
GOAL_RATIO = 2.0
EVENT_FILE = (
    f"id: {EVENT_ID}\nname: Time to highlight\npoll_interval_s: 1\nretry_delay_s: 1\n"
    "recognize_retries: 1\nleave_after_s: {leave_after_s}\n"
)


def _photos(faces: Path | None, visitors: int, settings):  # type: ignore[no-untyped-def]
    """Source photos with exactly ``visitors`` people who have two or more photos (the
    generator makes those visitors); further people keep one photo and are strangers."""
    from scas_lib.simulation.people import folder_photos, sample_photos, with_visitors

    photos = (
        folder_photos(faces)
        if faces
        else sample_photos(settings.data_dir / "samples", settings.package_index_url)
    )
    return with_visitors(photos, visitors)


def _event(args: argparse.Namespace, settings, engine):  # type: ignore[no-untyped-def]
    from scas_lib.simulation.generate import generate_event
    from scas_lib.simulation.plan import SimulationConfig

    directory = args.event_dir or Path(tempfile.mkdtemp(prefix="scas-tth-")) / "event"
    photos = _photos(args.faces, args.visitors, settings)
    per_person = defaultdict(int)
    for photo in photos:
        per_person[photo.identity] += 1
    singles = sum(1 for n in per_person.values() if n == 1)
    if (chosen := len(per_person) - singles) < args.visitors:
        print(f"only {chosen} people have two photos: {chosen} visitors", file=sys.stderr)
    config = SimulationConfig(
        event_id=EVENT_ID,
        cameras=args.cameras,
        duration_s=args.duration,
        segment_s=SEGMENT_S,
        # No more strangers than people with one photo: else the generator makes strangers
        # of some visitors.
        strangers=min(args.strangers, singles) if args.faces else args.strangers,
        seed=args.seed,
        # As at a real event, some leave early (their videos are due before the end).
        early_leavers=min(args.early_leavers, args.visitors),
    )
    stamp = directory / "benchmark-config.json"
    wanted = json.dumps({**vars(config), "visitors": args.visitors}, sort_keys=True)
    if not (stamp.exists() and stamp.read_text() == wanted):
        started = time.monotonic()
        generate_event(directory, config, START, engine, photos)
        stamp.write_text(wanted)
        print(f"generated in {time.monotonic() - started:.0f} s: {directory}", file=sys.stderr)
    return directory


def _enroll(services, engine, event_dir: Path, record: dict) -> list[str]:  # type: ignore[no-untyped-def]
    from scas_lib.events import ConsentText
    from scas_lib.visitors.stage import enroll_visitor

    consent = ConsentText().agreed("en", datetime.now(UTC))
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
    return enrolled


def _publishing_run(api, examined: dict[str, list]) -> tuple[object, list] | None:  # type: ignore[no-untyped-def]
    """The finished run of the DAG whose publish task succeeded, if there is one yet
    (``examined``: the task instances of every finished run looked at so far)."""
    for run in api.runs(DAG_ID):
        if run.state not in ("success", "failed") or run.run_id in examined:
            continue
        examined[run.run_id] = api.task_instances(DAG_ID, run.run_id)
        if any(t.task_id == "publish" and t.state == "success" for t in examined[run.run_id]):
            return run, examined[run.run_id]
    return None


def _single_renders(services, events_dir: Path, visitors: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    """Seconds to render each visitor's video alone, with the render task's stage function."""
    from scas_lib.run import parameters, publishing

    seconds = []
    for visitor in visitors:
        request = parameters.resolve_run(
            EVENT_ID, {"visitor": visitor}, directory=events_dir
        ).request
        started = time.monotonic()
        output = publishing.render(services, request, visitor)
        seconds.append(time.monotonic() - started)
        if output.status != "done":
            raise SystemExit(f"rendering {visitor} alone: {output.status} {output.error}")
    return seconds


def _plans_changed_by_the_end(services, visitors: list[str], last_s: float) -> int:  # type: ignore[no-untyped-def]
    """How many of the visitors' edit plans the footage of the event's last ``last_s``
    seconds changed: the renders that must be left after the end marker however early the
    others are made (stage functions: the tracks, appearances and selection of the end)."""
    from datetime import timedelta

    from scas_lib.highlights.appearances import build_appearances
    from scas_lib.highlights.records import PlanLimits
    from scas_lib.highlights.selection import select_moments
    from scas_lib.highlights.stage import corrected_tracks
    from scas_lib.highlights.templates import load_template

    limits = PlanLimits.of(load_template("default"))
    changed = 0
    with services.catalog() as catalog:
        segments = catalog.segments.for_event(EVENT_ID)
        end = max(s.start_time + timedelta(seconds=s.duration_s or 0) for s in segments)
        for visitor in visitors:
            tracks = corrected_tracks(catalog, EVENT_ID, visitor)
            before = [t for t in tracks if t.segment_start < end - timedelta(seconds=last_s)]
            plans = [select_moments(EVENT_ID, visitor, build_appearances(chosen), limits)
                     for chosen in (tracks, before)]  # fmt: skip
            changed += plans[0].to_json() != plans[1].to_json()
    return changed


def fresh_deployment(base, prefix: str, event_file: str):  # type: ignore[no-untyped-def]
    """A loopback deployment not yet up, in a new folder named ``prefix...``: its own
    catalog, buckets and Airflow database, ``base``'s models, and one event file (the text
    ``event_file``, whose ``id`` names it). Returns its events folder, settings and itself."""
    from scas_lib.deploy.loopback import LoopbackDeployment
    from scas_lib.settings import Settings

    work = Path(tempfile.mkdtemp(prefix=prefix))
    events_dir = work / "events"
    events_dir.mkdir()
    event_id = yaml.safe_load(event_file)["id"]
    (events_dir / f"{event_id}.yaml").write_text(event_file)
    settings = Settings(
        data_dir=work / "data",
        models_dir=base.models_path,
        model_pack=base.model_pack,
        onnx_provider=base.onnx_provider,
    )
    return events_dir, settings, LoopbackDeployment(settings, root=ROOT, events_dir=events_dir)


def _after(moment, tasks: list, task_id: str) -> float | None:  # type: ignore[no-untyped-def]
    """Seconds from ``moment`` to the end of the last ``task_id`` task."""
    ends = [ti.end_date for ti in tasks if ti.task_id == task_id and ti.end_date]
    return round((max(ends) - moment).total_seconds(), 1) if ends and moment else None


def _timeline(moment, examined: dict[str, list]) -> list[str]:  # type: ignore[no-untyped-def]
    """Every task that ended after ``moment``: "wave task[map] start-end" in seconds from it,
    in order of start (where the time after the end marker goes)."""
    rows = []
    for wave, instances in enumerate(examined.values(), start=1):
        for ti in instances:
            if ti.start_date and ti.end_date and moment and ti.end_date > moment:
                index = f"[{ti.map_index}]" if ti.map_index >= 0 else ""
                start = (ti.start_date - moment).total_seconds()
                end = (ti.end_date - moment).total_seconds()
                rows.append((start, f"{wave} {ti.task_id}{index} {start:.1f}-{end:.1f}"))
    return [row for _, row in sorted(rows)]


def print_report(result: dict, *, as_json: bool) -> None:
    """``result`` as JSON, or one aligned line per key."""
    if as_json:
        print(json.dumps(result, indent=2))
        return
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of footage")
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--strangers", type=int, default=6)
    parser.add_argument("--faces", type=Path, default=ROOT.parent / "shared" / "faces")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--early-leavers", type=int, default=4, help="visitors who leave in the first half"
    )
    parser.add_argument(
        "--leave-after", type=float, default=45.0,
        help="the event file's leave_after_s: seconds of footage without a visitor",
    )  # fmt: skip
    parser.add_argument("--event-dir", type=Path, help="reuse or keep the generated event here")
    parser.add_argument("--single-renders", type=int, default=3, help="videos rendered alone")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for the run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.faces and not args.faces.is_dir():
        args.faces = None

    from scas_lib.deploy.api import AirflowApi
    from scas_lib.deploy.loopback import ADMIN_USER
    from scas_lib.faces.engine import FaceEngine
    from scas_lib.provisioning.install import install_default_pack
    from scas_lib.services import runtime
    from scas_lib.settings import Settings
    from scas_lib.simulation.replay import Upload, replay_event
    from scas_lib.storage import keys

    base = Settings()
    pack = install_default_pack(base.models_path, download_dir=base.downloads_path)
    engine = FaceEngine.load(pack.directory, provider=base.onnx_provider)
    event_dir = _event(args, base, engine)
    record = json.loads((event_dir / "event.json").read_text())

    event_file = EVENT_FILE.format(leave_after_s=args.leave_after)
    events_dir, settings, deployment = fresh_deployment(base, "scas-tth-deploy-", event_file)
    os.environ["SCAS_EVENTS_DIR"] = str(events_dir)  # this process renders alone with it
    started = time.monotonic()
    deployment.up()
    up_s = time.monotonic() - started
    try:
        services = runtime.resolve(settings)
        enrolled = _enroll(services, engine, event_dir, record)
        api = AirflowApi(deployment.api_url, ADMIN_USER, deployment.admin_password())
        while not api.dag_exists(DAG_ID):
            time.sleep(1)

        end_marker = keys.control_marker_key(EVENT_ID, "end")
        store = services.object_store()
        ended: dict[str, object] = {}

        def uploaded(upload: Upload) -> None:
            if upload.key == end_marker:
                ended["at"] = datetime.now(UTC)
                ended["videos"] = sorted(
                    o.key.removeprefix(f"{EVENT_ID}/").removesuffix(".mp4")
                    for o in store.list(settings.bucket_highlights, f"{EVENT_ID}/")
                    if o.key.endswith(".mp4") and not o.key.endswith(".vertical.mp4")
                )

        api.trigger(DAG_ID, {"event_id": EVENT_ID})
        replay = threading.Thread(
            target=replay_event,
            args=(event_dir, store, settings.bucket_recordings),
            kwargs={"speed": 1.0, "on_upload": uploaded},
            daemon=True,
        )
        replay.start()
        deadline = time.monotonic() + args.timeout
        examined: dict[str, list] = {}
        found = None
        while found is None:
            if time.monotonic() > deadline:
                raise SystemExit(f"not published after {args.timeout:.0f} s")
            time.sleep(1.0)
            found = _publishing_run(api, examined)
        replay.join()
        run, instances = found
        with services.catalog() as catalog:
            outputs = catalog.outputs.for_event(EVENT_ID)
        videos = sorted(o.visitor_id for o in outputs if o.status == "done")
        renders = _single_renders(services, events_dir, videos[: args.single_renders])
        changed = _plans_changed_by_the_end(services, videos, SEGMENT_S)
    finally:
        deployment.down()

    tasks = [ti for tis in examined.values() for ti in tis]
    leavers = {
        person["id"]
        for person in record["people"]
        if person["role"] == "visitor" and person["presence"][-1][1] < args.duration
    }
    busy: dict[str, list[float]] = defaultdict(list)
    for ti in instances:
        if ti.start_date and ti.end_date:
            busy[ti.task_id].append((ti.end_date - ti.start_date).total_seconds())
    after_end = (run.end_date - ended["at"]).total_seconds() if "at" in ended else None
    single = statistics.median(renders) if renders else None
    result = {
        "seconds_after_end": round(after_end, 1) if after_end is not None else None,
        "videos": len(videos),
        "visitors_seen": sum(1 for o in outputs if o.status != "not_seen"),
        "videos_before_end": len(ended["videos"]) if "videos" in ended else None,
        "early_leavers": len(leavers),
        "early_leavers_with_video_before_end": len(leavers & set(ended.get("videos", []))),
        "single_render_s": round(single, 1) if single else None,
        "ratio_to_single_render": round(after_end / single, 2) if after_end and single else None,
        "single_renders_s": [round(s, 1) for s in renders],
        "plans_changed_by_last_segment": changed,
        "visitors_enrolled": len(enrolled),
        "cameras": len({s["camera_id"] for s in record["segments"]}),
        "footage_s": args.duration,
        "leave_after_s": args.leave_after,
        "deliver_tasks": sum(1 for ti in tasks if ti.task_id == "deliver"),
        "segments": len(record["segments"]),
        "waves": len(examined),
        "failed_tasks": sum(1 for ti in tasks if ti.state == "failed"),
        "recognize_hosts": sorted(
            {ti.hostname for ti in tasks if ti.task_id == "recognize" and ti.state == "success"}
        ),
        "render_hosts": sorted(
            {ti.hostname for ti in tasks if ti.task_id == "render" and ti.state == "success"}
        ),
        "recognize_tasks": sum(1 for ti in tasks if ti.task_id == "recognize"),
        "last_recognize_after_end_s": _after(ended.get("at"), tasks, "recognize"),
        "last_wave_task_seconds": {
            task: {"n": len(s), "max": round(max(s), 1), "sum": round(sum(s), 1)}
            for task, s in sorted(busy.items())
        },
        "after_end_timeline": _timeline(ended.get("at"), examined),
        "deploy_up_s": round(up_s, 1),
        "goal_s": GOAL_S,
        "goal_ratio_to_single_render": GOAL_RATIO,
        "cpu_count": os.cpu_count(),
    }
    print_report(result, as_json=args.json)


if __name__ == "__main__":
    main()
