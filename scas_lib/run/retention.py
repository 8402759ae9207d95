"""The daily retention step: every event's retention policy applied (:func:`purge`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from scas_lib.run.parameters import resolve_run

if TYPE_CHECKING:  # imported for real inside the functions (see scas_lib.run: no model runtime)
    from scas_lib.retention.stage import PurgeReport
    from scas_lib.services.runtime import Services

log = logging.getLogger(__name__)


def purge(
    services: Services, now: datetime, event_ids: Sequence[str] | None = None
) -> list[PurgeReport]:
    """Apply each event's retention policy (its event file's, else the defaults) as of
    ``now``: every event in the catalog, or those named; with every event, also the
    console's analyses older than ``analysis_keep_days``. The daily DAG ``scas_retention``
    and ``scas purge`` run this."""
    from scas_lib.analysis.folders import analyses_root, purge_analyses
    from scas_lib.retention.stage import purge_event

    if event_ids is None:
        settings = services.settings
        root = analyses_root(settings.data_dir)
        analyses = purge_analyses(root, now, settings.analysis_keep_days)
        if analyses:
            log.info("%d analyses past %d days deleted", analyses, settings.analysis_keep_days)
        with services.catalog() as catalog:
            event_ids = [event.id for event in catalog.events.all()]
    reports = []
    for event_id in event_ids:
        policy = resolve_run(event_id).config.retention
        report = purge_event(services, event_id, policy, now)
        reports.append(report)
        if report.deleted:
            log.info("%s: %d objects and rows past retention deleted", event_id, report.deleted)
    return reports
