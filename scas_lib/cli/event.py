"""Running the event: ``scas event start | end`` (its markers), ``scas recognize`` and
``scas highlights`` (the DAG's steps by hand), and ``scas analyze`` (any recorded video,
annotated)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scas_lib.analysis.stage import analyze_file, event_gallery
from scas_lib.cli.common import app, console, friendly_errors, load_settings
from scas_lib.errors import ScasError
from scas_lib.highlights.records import PublishedHighlight
from scas_lib.ingest.health import CameraHealth
from scas_lib.ingest.stage import end_event, start_event
from scas_lib.recognition.pipeline import footage_engine
from scas_lib.run import parameters, planning, publishing, recognition, waves
from scas_lib.services import runtime
from scas_lib.storage import keys

event_app = typer.Typer(help="Start and end an event's run.", no_args_is_help=True)
app.add_typer(event_app, name="event")


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
def recognize(
    event: Annotated[str, typer.Option(help="Event id: recognize its segments.")],
    key: Annotated[
        list[str] | None, typer.Option(help="Only these segment keys (repeatable).")
    ] = None,
    again: Annotated[
        bool, typer.Option(help="Every segment, also those done, failed or given up on.")
    ] = False,
) -> None:
    """Recognize an event's segments in the recordings bucket and record their tracks.

    The same steps as the event's DAG: with an event file (config/events/<event>.yaml or
    .yml), its cameras and `recognition:` settings are used; without one, the defaults.
    Segments done, failed or tried too often are left alone unless --again is given."""
    settings = load_settings()
    run = parameters.resolve_run(event)
    failures = 0
    with runtime.open_services(settings) as services:
        parameters.start_run(services, run)
        wanted = key or waves.segments_to_recognize(services, run.request, None, again=again)
        for segment_key in wanted:
            try:
                outcome = recognition.recognize(services, segment_key, run.config)
            except recognition.SegmentFailed as failed:
                outcome = failed.outcome
                failures += 1
            found = ", ".join(f"{v} x{n}" for v, n in outcome.identified.items()) or "no visitor"
            reason = f" ({outcome.error})" if outcome.error else ""
            console.print(
                f"  {segment_key}: {outcome.status}, {outcome.tracks} tracks, {found}{reason}"
            )
    if not wanted:
        console.print(f"no segment of {run.request.event_id} to recognize")
    if failures:
        raise typer.Exit(1)


@app.command()
@friendly_errors
def highlights(
    event: Annotated[str, typer.Option(help="Event id.")],
    visitor: Annotated[
        list[str] | None, typer.Option(help="Only these visitors (repeatable).")
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            help="Template name: a shipped one or one in templates/ beside the event files "
            "(default: the event file's, else 'default')."
        ),
    ] = None,
    download: Annotated[
        Path | None, typer.Option(help="Also save the videos and posters in this folder.")
    ] = None,
) -> None:
    """Plan, render and publish the event's highlight videos, then mark the event done.

    The same steps as the event's DAG: with an event file (config/events/<event>.yaml or
    .yml), its name, cameras, template and template overrides are used."""
    settings = load_settings()
    run = parameters.resolve_run(event, {"template": template})
    request = run.request
    failures = 0
    with runtime.open_services(settings) as services:
        parameters.start_run(services, run)
        seen = planning.highlights(services, request, every=True)
        for visitor_id in visitor or seen:
            started = time.perf_counter()
            try:
                output = publishing.render(services, request, visitor_id)
            except ScasError as error:
                failures += 1
                console.print(f"  {visitor_id}: [red]failed[/] ({error})", highlight=False)
                continue
            took = time.perf_counter() - started
            length = f"{output.duration_s:.1f} s video" if output.duration_s else "no video"
            console.print(f"  {visitor_id}: {output.status}, {length}, rendered in {took:.1f} s")
        published = publishing.publish(services, request)
        if download:
            _download_highlights(services, published, request.event_id, download)
    table = Table("visitor", "name", "status", "length", "link")
    for item in published:
        length = f"{item.duration_s:.1f} s" if item.duration_s else ""
        table.add_row(item.visitor_id, item.display_name, item.status, length, item.url or "")
    console.print(table)
    if failures:
        raise typer.Exit(1)


def _download_highlights(
    services: runtime.Services, published: list[PublishedHighlight], event: str, folder: Path
) -> None:
    store = services.object_store()
    bucket = services.settings.bucket_highlights
    folder.mkdir(parents=True, exist_ok=True)
    for item in published:
        if item.status != "done":
            continue
        for key in (
            keys.highlight_key(event, item.visitor_id),
            keys.poster_key(event, item.visitor_id),
        ):
            store.download_file(bucket, key, folder / Path(key).name)
    console.print(f"videos saved in {folder}")


@app.command()
@friendly_errors
def analyze(
    file: Annotated[Path, typer.Argument(help="A recorded video (any file ffmpeg reads).")],
    out: Annotated[
        Path, typer.Option(help="Folder for the annotated MP4 and the per-second JSON.")
    ] = Path("."),
    event: Annotated[
        str | None, typer.Option(help="Name the enrolled visitors of this event.")
    ] = None,
) -> None:
    """Analyse a recorded video: every face boxed and named (an enrolled visitor of
    --event, else unknown #n, each unknown person one number), with its expression, age
    and gender, as <name>.annotated.mp4 and <name>.analysis.json (each second's frames
    and faces). The recognition of an event's segments, on a file of your own."""
    settings = load_settings()
    engine = footage_engine(settings.model_pack_dir, provider=settings.onnx_provider)
    if event:
        keys.validate_id(event, "event id")
        with runtime.open_services(settings) as services:
            gallery, names = event_gallery(services, engine, event)
    else:
        gallery, names = event_gallery(None, engine, None)
    outcome = analyze_file(file, out, engine, gallery, names, piece_s=settings.analysis_piece_s)
    people = ", ".join(outcome.analysis.people) or "nobody"
    console.print(f"{file.name}: {outcome.analysis.duration_s:.1f} s, {people}")
    console.print(f"  {outcome.annotated}\n  {outcome.json}")
