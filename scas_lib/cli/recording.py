"""Getting the event's footage in: ``scas simulate`` and ``scas replay`` (a generated event),
``scas ingest`` (the cameras recorded), ``scas upload`` (files recorded elsewhere) and
``scas cameras`` (how each camera is doing)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scas_lib.cli.common import (
    app,
    console,
    friendly_errors,
    load_settings,
    parse_start,
)
from scas_lib.errors import ScasError
from scas_lib.event_files import find_event_file, read_event_config
from scas_lib.events import EventConfig, events_dir
from scas_lib.faces.engine import FaceEngine
from scas_lib.ingest.runner import IngestOptions, check_sources, ingest_event
from scas_lib.ingest.stage import cameras as camera_status
from scas_lib.ingest.stage import open_for_ingest, upload_files
from scas_lib.run import waves
from scas_lib.services import runtime
from scas_lib.settings import Settings
from scas_lib.simulation.generate import generate_event
from scas_lib.simulation.people import folder_photos, sample_photos
from scas_lib.simulation.plan import SimulationConfig
from scas_lib.simulation.replay import replay_event
from scas_lib.storage import keys


@app.command()
@friendly_errors
def simulate(
    directory: Annotated[
        Path | None, typer.Argument(help="Where to write it (default: <data dir>/events/<event>).")
    ] = None,
    event: Annotated[str, typer.Option(help="Event id.")] = "demo",
    cameras: Annotated[int, typer.Option(min=1, help="Number of cameras.")] = 3,
    duration: Annotated[float, typer.Option(help="Seconds of footage per camera.")] = 60.0,
    segment: Annotated[float, typer.Option(help="Seconds per segment (a multiple of 2).")] = 10.0,
    strangers: Annotated[int, typer.Option(min=0, help="People who are not enrolled.")] = 12,
    seed: Annotated[int, typer.Option(help="Same seed, same event.")] = 0,
    faces: Annotated[
        Path | None, typer.Option(help="Folder with one sub-folder of photos per person.")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="Event start, ISO 8601 with time zone (default: now).")
    ] = None,
    corrupt: Annotated[bool, typer.Option(help="Cut one segment short.")] = False,
    live: Annotated[bool, typer.Option(help="Then replay it to the recordings bucket.")] = False,
    speed: Annotated[float, typer.Option(help="Replay speed; 0 uploads at once.")] = 1.0,
) -> None:
    """Generate a synthetic multi-camera event with ground truth (and replay it live)."""
    settings = load_settings()
    config = SimulationConfig(
        event_id=keys.validate_id(event, "event id"),
        cameras=cameras,
        duration_s=duration,
        segment_s=segment,
        strangers=strangers,
        corrupt_segment=corrupt,
        seed=seed,
    )
    begin = parse_start(start)
    target = directory or settings.data_dir / "events" / event
    photos = (
        folder_photos(faces)
        if faces
        else sample_photos(settings.data_dir / "samples", settings.package_index_url)
    )
    engine = FaceEngine.from_settings(settings)
    clock = time.monotonic()
    generated = generate_event(target, config, begin, engine, photos)
    visitors = [p.id for p in generated.plan.people if p.role == "visitor"]
    console.print(
        f"event [bold]{event}[/] written to {target} in {time.monotonic() - clock:.0f} s: "
        f"{len(generated.segments)} segments, visitors {', '.join(visitors)}, "
        f"{len(generated.plan.people) - len(visitors)} strangers"
    )
    if live:
        _replay(settings, target, speed)


@app.command()
@friendly_errors
def replay(
    directory: Annotated[Path, typer.Argument(help="A directory written by `scas simulate`.")],
    speed: Annotated[float, typer.Option(help="Replay speed; 0 uploads at once.")] = 1.0,
) -> None:
    """Upload a generated event's segments at real-time pace, the end marker last."""
    _replay(load_settings(), directory, speed)


def _replay(settings: Settings, directory: Path, speed: float) -> None:
    if not (directory / "event.json").exists():
        raise ScasError(f"{directory} is not an event written by `scas simulate`")
    with runtime.open_services(settings) as services:
        uploads = replay_event(
            directory, services.object_store(), settings.bucket_recordings, speed=speed
        )
    console.print(f"replayed {len(uploads)} objects to {settings.bucket_recordings}")


def _event_config(event: str) -> EventConfig:
    """The event's file (its cameras and segment length), or ScasError saying where it is
    looked for."""
    path = find_event_file(event)
    if path is None:
        raise ScasError(f"no event file for {event!r} in {events_dir()} (SCAS_EVENTS_DIR)")
    return read_event_config(path)


@app.command()
@friendly_errors
def ingest(
    event: Annotated[str, typer.Option(help="Event id: records the cameras of its file.")],
    camera: Annotated[
        list[str] | None, typer.Option(help="Only these cameras (repeatable).")
    ] = None,
    poll: Annotated[
        float | None, typer.Option(help="Seconds between looks at the event file.")
    ] = None,
) -> None:
    """Record the event's cameras (their `url:` in the event file) into segments and upload
    them, until the end marker, `scas event end`, or Ctrl-C. Cameras added to or removed
    from the event file are picked up within a poll interval."""
    settings = load_settings()
    config = _event_config(event)
    options = IngestOptions(
        spool_dir=settings.spool_path,
        cameras=tuple(keys.validate_id(c, "camera id") for c in camera or ()),
        poll_s=poll or config.poll_interval_s,
    )
    check_sources(config, options.cameras, os.environ)  # before any server is started
    with runtime.open_services(settings) as services:
        if open_for_ingest(services, event):
            console.print(f"started {event}: start marker written")
        report = ingest_event(
            services, event, options, lambda: _event_config(event), environ=os.environ
        )
    left = f", {report.spooled} segments still in {settings.spool_path}" * bool(report.spooled)
    console.print(
        f"ingest of {event} ended ({report.reason}): {report.pushed} segments pushed{left}"
    )


@app.command()
@friendly_errors
def upload(
    files: Annotated[list[Path], typer.Argument(help="Recorded video files.")],
    event: Annotated[str, typer.Option(help="Event id.")],
    camera: Annotated[str, typer.Option(help="Camera id the footage is filed under.")],
    start: Annotated[
        str | None,
        typer.Option(
            help="UTC time of the first frame, ISO 8601 with a time zone (default: the "
            "file's creation_time tag). With several files: they follow each other."
        ),
    ] = None,
    segment: Annotated[
        float | None, typer.Option(help="Seconds per segment (default: the event file's).")
    ] = None,
) -> None:
    """Cut recorded files into segments of the event and upload them, as a camera would."""
    settings = load_settings()
    path = find_event_file(event)
    segment_s = segment or (read_event_config(path).segment_s if path else 60.0)
    begin = parse_start(start) if start else None
    with runtime.open_services(settings) as services:
        uploaded = upload_files(services, event, camera, files, start=begin, segment_s=segment_s)
        _, published = waves.event_run_state(services, event)
    for item in uploaded:
        console.print(f"  {item.key} ({item.duration_s:.1f} s)")
    console.print(f"uploaded {len(uploaded)} segments of {camera} to {event}")
    if published:
        console.print(
            f"{event}'s videos were published before these segments came: trigger its DAG "
            "(or wait for its next scheduled run) to recognize them and publish again"
        )


@app.command()
@friendly_errors
def cameras(event: Annotated[str, typer.Option(help="Event id.")]) -> None:
    """Each camera's state, last segment, gaps, reconnects and lag behind recognition."""
    with runtime.open_services(load_settings()) as services:
        found = camera_status(services, keys.validate_id(event, "event id"))
    table = Table(title=f"cameras of {event}")
    for column in ("camera", "state", "source", "last segment", "pushed", "gaps", "reconnects",
                   "spooled", "lag", "detail"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for item in found:
        last = f"{item.last_segment_end:%H:%M:%S}" if item.last_segment_end else ""
        table.add_row(
            item.camera_id, item.state or "never ingested", item.source, last,
            str(item.segments_pushed), f"{item.gaps} ({item.gap_s:.0f} s)", str(item.reconnects),
            str(item.spooled), f"{item.lag_segments} seg, {item.lag_s:.0f} s", item.detail,
        )  # fmt: skip
    console.print(table)
