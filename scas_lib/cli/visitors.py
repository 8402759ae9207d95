"""``scas enroll``, ``scas forget`` and ``scas purge``: visitors in and out, and retention."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scas_lib.cli.common import (
    app,
    console,
    friendly_errors,
    load_settings,
)
from scas_lib.errors import ScasError
from scas_lib.event_files import find_event
from scas_lib.faces.engine import FaceEngine
from scas_lib.run import retention
from scas_lib.services import runtime
from scas_lib.visitors.stage import enroll_visitor, forget_visitor


@app.command()
@friendly_errors
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
    settings = load_settings()
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
@friendly_errors
def forget(
    visitor: Annotated[str, typer.Argument(help="Visitor id.")],
    event: Annotated[str, typer.Option(help="Event id.")],
) -> None:
    """Delete a visitor's photos, embeddings, detections and videos everywhere."""
    with runtime.open_services(load_settings()) as services:
        result = forget_visitor(services, event, visitor)
    console.print(
        f"forgot {visitor}: {result.objects_deleted} objects deleted, "
        f"catalog rows {'deleted' if result.catalog_rows else 'not found'}"
    )


@app.command()
@friendly_errors
def purge(
    event: Annotated[
        list[str] | None, typer.Option(help="Only these events (repeatable; default: all).")
    ] = None,
) -> None:
    """Delete what the events' retention policies say has been kept long enough: bystander
    embeddings, kiosk photos and embeddings, recordings, videos and visitors (see the event
    file's `retention:`)."""
    with runtime.open_services(load_settings()) as services:
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
