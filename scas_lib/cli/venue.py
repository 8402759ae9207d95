"""``scas serve`` and ``scas kiosk``: the web app, and the kiosks it admits."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from scas_lib.cli.common import (
    app,
    console,
    friendly_errors,
    load_settings,
    print_steps,
)
from scas_lib.errors import ScasError
from scas_lib.services import runtime
from scas_lib.settings import Settings

kiosk_app = typer.Typer(help="Entrance kiosks: pair them with an event, revoke them.")
app.add_typer(kiosk_app, name="kiosk")


@app.command()
@friendly_errors
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 opens it to the venue's network).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Serve the kiosk, the visitors' pages and the API at http://HOST:PORT/scas."""
    from scas_lib.web.app import URL_PREFIX, serve
    from scas_lib.web.context import WebContext

    settings = load_settings()
    with runtime.open_services(settings) as services:
        print_steps(runtime.prepare(services))
        console.print(
            f"serving http://{host}:{port}{URL_PREFIX}/ (API docs at {URL_PREFIX}/docs); "
            "Ctrl-C stops"
        )
        console.print(_sign_in_hint(settings, f"http://{host}:{port}{URL_PREFIX}"), soft_wrap=True)
        serve(WebContext.ready(settings, services), host, port)


def _sign_in_hint(settings: Settings, url: str) -> str:
    """How an operator signs in: the link with the token on a terminal (it is the
    operator's own), else without it (a service's output goes to a log)."""
    if settings.operator_token is None:
        return "operators: set SCAS_OPERATOR_TOKEN to sign in to the console"
    token = (
        settings.operator_token.get_secret_value()
        if sys.stdout.isatty()
        else "$SCAS_OPERATOR_TOKEN"
    )
    return f"operators: open {url}/sign-in?token={token} once (or sign in on {url}/)"


def _app_url(settings: Settings) -> str:
    return (settings.public_url or "http://127.0.0.1:8000/scas").rstrip("/")


@kiosk_app.command("pair")
@friendly_errors
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

    settings = load_settings()
    with runtime.open_services(settings) as services:
        runtime.prepare(services)
        with services.catalog() as catalog:
            pairing = catalog.kiosks.pair(event, label=label, per_minute=per_minute, burst=burst)
    console.print(f"kiosk {pairing.kiosk.id} paired with {event}; open on the kiosk:")
    console.print(_app_url(settings) + pairing_path(event, pairing.token), soft_wrap=True)


@kiosk_app.command("list")
@friendly_errors
def kiosk_list(
    event: Annotated[str | None, typer.Option(help="Only this event's kiosks.")] = None,
) -> None:
    """List the kiosks and whether they are revoked."""

    with runtime.open_services(load_settings()) as services, services.catalog() as catalog:
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
@friendly_errors
def kiosk_revoke(kiosk: Annotated[str, typer.Argument(help="Kiosk id (k-...).")]) -> None:
    """Revoke a kiosk: its token stops working at its next request."""

    with runtime.open_services(load_settings()) as services, services.catalog() as catalog:
        if not catalog.kiosks.revoke(kiosk):
            raise ScasError(f"no active kiosk {kiosk!r} (see `scas kiosk list`)")
    console.print(f"kiosk {kiosk} revoked")
