"""The ``scas`` command line. Each command is a thin call into the library."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from scas_lib.catalog import migrate
from scas_lib.errors import ScasError
from scas_lib.services import runtime
from scas_lib.settings import Settings

app = typer.Typer(
    help="SCAS: venue camera footage to personal highlight videos.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The PostgreSQL catalog.", no_args_is_help=True)
store_app = typer.Typer(help="The S3 object store.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(store_app, name="store")

# Wide enough for URLs when the output is a log file or a pipe, not a terminal.
console = Console(width=None if sys.stdout.isatty() else 160)
_F = TypeVar("_F", bound=Callable[..., Any])


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


def _friendly_errors(command: _F) -> _F:
    """Print SCAS errors as one red line and exit 1, instead of a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ScasError as error:
            console.print(f"[bold red]error:[/] {error}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


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


if __name__ == "__main__":
    app()
