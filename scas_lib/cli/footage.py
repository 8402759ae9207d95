"""``scas simulate``, ``scas replay``, ``scas recognize``, ``scas highlights`` and ``scas
analyze``: footage made, pushed, recognized, cut into videos, and analysed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scas_lib.analysis.stage import analyze_file, event_gallery
from scas_lib.cli.common import (
    app,
    console,
    friendly_errors,
    load_settings,
    parse_start,
)
from scas_lib.errors import ScasError
from scas_lib.faces.engine import FaceEngine
from scas_lib.highlights.records import PublishedHighlight
from scas_lib.recognition.pipeline import footage_engine
from scas_lib.run import parameters, planning, publishing, recognition, waves
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
