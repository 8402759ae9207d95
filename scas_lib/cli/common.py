"""What every ``scas`` command shares: the Typer app, the console, the settings (with
logging), one red line for an error, and the ``--start`` parser."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from scas_lib.errors import ScasError
from scas_lib.settings import Settings

app = typer.Typer(
    help="SCAS: venue camera footage to personal highlight videos.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Wide enough for URLs when the output is a log file or a pipe, not a terminal.
console = Console(width=None if sys.stdout.isatty() else 160)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def load_settings() -> Settings:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
    )
    # The object store retries a refused connection twice; the final error says enough.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    return settings


def friendly_errors(command: Callable[_P, _R]) -> Callable[_P, _R]:
    """Print SCAS errors as one red line and exit 1, instead of a traceback."""

    @wraps(command)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return command(*args, **kwargs)
        except ScasError as error:
            console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def print_steps(steps: list[str]) -> None:
    for step in steps:
        console.print(f"  {step}")


def parse_start(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ScasError(f"--start {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ScasError("--start needs a time zone, e.g. 2026-11-22T10:00:00+08:00")
    return moment
