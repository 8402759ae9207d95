"""Returning visitors: known again at a later event, only with a second, separate consent.

At the kiosk a visitor may tick "remember me for future events" (off by default; stored as
``visitors.remember``). Only such a visitor's enrollment is compared with other events'
enrollments, and only with those of visitors who gave the same consent: the nearest
neighbours in the catalog (pgvector's cosine distance where the catalog has it) at or above
the model pack's calibrated ``match`` threshold are *offered* to the visitor on their page;
nothing is linked until they accept. A link (``visitors.person_id``) makes the visitor's page
list their videos of every linked event, and :func:`forget_everywhere` deletes every trace
of the person across events. Without the second consent nothing links two events.

>>> from scas_lib.catalog.records import EarlierVisit
>>> offered = (EarlierVisit("expo-2025", "v-1a2b3c4d", "Ada", 0.71),)
>>> [visit.event_id for visit in accepted(offered, ["expo-2025", "fair-2024"])]
['expo-2025']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from scas_lib.catalog.records import EarlierVisit
from scas_lib.errors import ScasError
from scas_lib.faces.engine import FaceEngine
from scas_lib.services.runtime import Services
from scas_lib.visitors.stage import ForgetResult, forget_visitor

#: How many earlier visits are offered at most (the nearest first).
MAX_OFFERED = 5


def accepted(offered: Sequence[EarlierVisit], event_ids: Iterable[str]) -> list[EarlierVisit]:
    """The offered visits of the events the visitor accepted; an event that was not offered
    is not linked, whatever the request says."""
    chosen = set(event_ids)
    return [visit for visit in offered if visit.event_id in chosen]


def earlier_visits(
    services: Services, engine: FaceEngine, event_id: str, visitor_id: str
) -> list[EarlierVisit]:
    """The visits of other events that may be this visitor's and are not linked to them yet,
    nearest first; none unless both visitors consented to be remembered."""
    threshold = engine.pack.manifest.thresholds.match
    with services.catalog() as catalog:
        return catalog.people.earlier_visits(
            event_id, visitor_id, engine.model_pack, threshold, limit=MAX_OFFERED
        )


def link_earlier_visits(
    services: Services, engine: FaceEngine, event_id: str, visitor_id: str, event_ids: Iterable[str]
) -> list[EarlierVisit]:
    """Link the visitor to the earlier visits they accepted (of those offered now); the
    visits linked. Raises when the visitor did not consent to be remembered."""
    with services.catalog() as catalog:
        visitor = catalog.visitors.get(event_id, visitor_id)
    if visitor is None:
        raise ScasError(f"no visitor {visitor_id} in event {event_id}")
    if not visitor.remember:
        raise ScasError(f"{visitor_id} did not consent to be remembered: nothing is linked")
    chosen = accepted(earlier_visits(services, engine, event_id, visitor_id), event_ids)
    if chosen:
        with services.catalog() as catalog:
            catalog.people.link(event_id, visitor_id, [(v.event_id, v.visitor_id) for v in chosen])
    return chosen


def every_visit(services: Services, event_id: str, visitor_id: str) -> list[tuple[str, str]]:
    """The ``(event_id, visitor_id)`` of each of the person's visits, this one included,
    oldest event first (just this one when they are linked to no other)."""
    with services.catalog() as catalog:
        return catalog.people.linked(event_id, visitor_id)


def forget_everywhere(services: Services, event_id: str, visitor_id: str) -> list[ForgetResult]:
    """Forget the visitor in every event they are linked to (:func:`forget_visitor` each,
    this one last, so that running it again after a failure still finds the others)."""
    visits = every_visit(services, event_id, visitor_id)
    others = [visit for visit in visits if visit != (event_id, visitor_id)]
    return [forget_visitor(services, e, v) for e, v in [*others, (event_id, visitor_id)]]
