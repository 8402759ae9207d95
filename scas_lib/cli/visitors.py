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
from scas_lib.visitors.returning import earlier_visits, forget_everywhere, link_earlier_visits
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
    remember: Annotated[
        bool,
        typer.Option(
            help="The visitor's second, separate consent: to be known again at future events "
            "(their earlier visits are offered, `scas link` accepts them)."
        ),
    ] = False,
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
            remember=remember,
        )
        offered = earlier_visits(services, engine, event, result.visitor.id) if remember else []
    qualities = ", ".join(f"{quality:.2f}" for quality in result.qualities)
    console.print(
        f"enrolled [bold]{result.visitor.display_name}[/] as {result.visitor.id} in {event} "
        f"({len(result.photo_keys)} photos, quality {qualities}, pack {result.model_pack})"
    )
    for visit in offered:
        console.print(
            f"  may be {visit.display_name} ({visit.visitor_id}) of {visit.event_id}, "
            f"similarity {visit.similarity:.2f}: `scas link {result.visitor.id} --event {event} "
            f"--to {visit.event_id}` if it is"
        )


@app.command()
@friendly_errors
def link(
    visitor: Annotated[str, typer.Argument(help="Visitor id.")],
    event: Annotated[str, typer.Option(help="Event id.")],
    to: Annotated[
        list[str], typer.Option(help="An earlier event the visitor says they were at (repeatable).")
    ],
) -> None:
    """Link a remembered visitor to their earlier visits, among those offered (both visits
    need the consent to be remembered, and a face match)."""
    settings = load_settings()
    engine = FaceEngine.from_settings(settings)
    with runtime.open_services(settings) as services:
        linked = link_earlier_visits(services, engine, event, visitor, to)
    for visit in linked:
        console.print(f"linked {visitor} of {event} to {visit.visitor_id} of {visit.event_id}")
    if not linked:
        raise ScasError(f"no earlier visit of {visitor} in {', '.join(to)} is offered")


@app.command()
@friendly_errors
def forget(
    visitor: Annotated[str, typer.Argument(help="Visitor id.")],
    event: Annotated[str, typer.Option(help="Event id.")],
    everywhere: Annotated[
        bool, typer.Option(help="Also in every other event the visitor is linked to.")
    ] = False,
) -> None:
    """Delete a visitor's photos, embeddings, detections and videos everywhere."""
    with runtime.open_services(load_settings()) as services:
        results = (
            forget_everywhere(services, event, visitor)
            if everywhere
            else [forget_visitor(services, event, visitor)]
        )
    for result in results:
        rows = "deleted" if result.catalog_rows else "not found"
        console.print(
            f"forgot {result.visitor_id} of {result.event_id}: "
            f"{result.objects_deleted} objects deleted, catalog rows {rows}"
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
