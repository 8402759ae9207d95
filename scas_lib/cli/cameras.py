"""``scas ingest``, ``scas upload``, ``scas event start | end`` and ``scas cameras``: the
cameras, recorded files, the event's start and end."""

from __future__ import annotations

import os
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
from scas_lib.ingest.health import CameraHealth
from scas_lib.ingest.runner import IngestOptions, check_sources, ingest_event
from scas_lib.ingest.stage import cameras as camera_status
from scas_lib.ingest.stage import end_event, open_for_ingest, start_event, upload_files
from scas_lib.run import waves
from scas_lib.services import runtime
from scas_lib.storage import keys

event_app = typer.Typer(help="Start and end an event's run.", no_args_is_help=True)
app.add_typer(event_app, name="event")


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


@event_app.command("start")
@friendly_errors
def event_start(event: Annotated[str, typer.Option(help="Event id.")]) -> None:
    """Write the event's start marker (opens a run)."""
    with runtime.open_services(load_settings()) as services:
        since = start_event(services, keys.validate_id(event, "event id"))
    console.print(f"{event} is running since {since:%H:%M:%S} UTC" if since else f"started {event}")


@event_app.command("end")
@friendly_errors
def event_end(
    event: Annotated[str, typer.Option(help="Event id.")],
    wait: Annotated[float, typer.Option(help="Seconds to wait for ingest to finish.")] = 120.0,
) -> None:
    """Let `scas ingest` finish the last segments, then write the end marker. Refuses to
    end an event that has ended."""
    shown: set[str] = set()

    def waiting(busy: list[CameraHealth]) -> None:
        line = ", ".join(f"{h.camera_id} ({h.state}, {h.spooled} spooled)" for h in busy)
        if line not in shown:
            shown.add(line)
            console.print(f"  still ingesting: {line}", highlight=False)

    with runtime.open_services(load_settings()) as services:
        result = end_event(services, keys.validate_id(event, "event id"), wait_s=wait,
                           on_wait=waiting)  # fmt: skip
    if result.still_ingesting:
        names = ", ".join(h.camera_id for h in result.still_ingesting)
        console.print(f"[yellow]ended {event}, but still ingesting: {names}[/]", highlight=False)
    else:
        console.print(f"ended {event}: end marker written")


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
