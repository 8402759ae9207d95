"""Selection: a visitor's appearances in, an edit plan out. Pure, no I/O.

The rules, in order:

1. Where several cameras see the visitor at once, the best-scored camera takes that stretch
   of time (never both); score is face size x sharpness x frontality x detector confidence x
   identity similarity, as :mod:`scas_lib.highlights.stage` computes it.
2. Stretches shorter than ``min_clip_s`` are given to a touching camera that also sees the
   visitor then, or dropped: a blip is not a moment.
3. Stretches longer than ``max_clip_s`` are cut into equal clips.
4. Clips are taken best first, spread out (a clip next to an already chosen clip of the
   same shot waits for a second pass), until the footage fills the template's length; the
   last one is shortened to fit, never below ``min_clip_s``. Chosen clips that continue
   one another play as one.
5. The plan is chronological. A visitor with little footage gets a shorter video; nothing
   from anyone else's footage fills it, and its intro card is shortened towards
   :data:`FOOTAGE_SHARE` of the video being footage (never below :data:`MIN_CARD_S`). The
   outro keeps the template's length: an outro shortened under about 2 s rendered fewer
   frames than planned (86 of 93) and failed the render, so it stays until the outro's
   filter graph is fixed for short cards.

With ``clear`` (per camera, the stretches where the visitor is seen and not upstaged:
:func:`scas_lib.highlights.visibility.clear_spans`), appearances are cut down to them
first: a stretch where the visitor is hidden, behind a stranger or out of the picture is
trimmed, and no clip reaches before their face appears or after it goes (past a shot cut).

>>> from datetime import datetime, timedelta, UTC
>>> from scas_lib.catalog.records import Appearance
>>> from scas_lib.highlights.templates import Template
>>> t0 = datetime(2026, 5, 1, 10, tzinfo=UTC)
>>> at = lambda s: t0 + timedelta(seconds=s)
>>> plan = select_moments("expo", "ana", [
...     Appearance("ana", "gate", at(0), at(8), 0.4),
...     Appearance("ana", "stage", at(4), at(10), 0.9),   # better angle from 4 s on
... ], PlanLimits.of(Template(name="doc", target_length_s=60)))
>>> [(c.camera_id, (c.start - t0).seconds, (c.end - t0).seconds) for c in plan.clips]
[('gate', 0, 4), ('stage', 4, 10)]
>>> plan.poster_s   # the middle of the better clip: it plays from 5.8 s, for 6 s
8.8
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from scas_lib.catalog.records import Appearance
from scas_lib.highlights.records import EditPlan, PlanLimits, PlannedClip

#: Footage (each clip's whole length) over the video's length, at least, where the cards
#: can be shortened for it: a visitor with little footage gets shorter cards, not a video
#: of cards. The goal is 0.6; 0.02 is kept for whole frames and the cuts' moves onto beats.
FOOTAGE_SHARE = 0.62
#: A card is never shorter than this beyond the crossfade out of or into it: time for its
#: text to be seen.
MIN_CARD_S = 0.5

Span = tuple[datetime, datetime]


def select_moments(
    event_id: str,
    visitor_id: str,
    appearances: Sequence[Appearance],
    limits: PlanLimits,
    clear: Mapping[str, Sequence[Span]] | None = None,
) -> EditPlan:
    """The edit plan of one visitor (see the module docstring for the rules)."""
    own = [a for a in appearances if a.visitor_id == visitor_id and a.end_time > a.start_time]
    if clear is not None:
        own = _within_clear(own, clear)
    runs = _absorb_short_runs(_best_camera_runs(own), own, limits.min_clip_s)
    candidates = [clip for run in runs for clip in _split(run, limits)]
    # Neighbouring clips of one shot play as one: a crossfade onto the same shot would look
    # like a glitch. Joining saves a transition, so the video may end up to one transition
    # longer than the target; the longest clip gives that back.
    chosen = _join_touching(_fill(candidates, limits))
    plan = EditPlan(event_id, visitor_id, tuple(chosen), limits)
    excess = plan.duration_s - limits.target_length_s
    if excess > 1e-6 and chosen:
        longest = max(range(len(chosen)), key=lambda index: chosen[index].length_s)
        clip = chosen[longest]
        chosen[longest] = replace(clip, end=clip.end - timedelta(seconds=excess))
        plan = EditPlan(event_id, visitor_id, tuple(chosen), limits)
    return _shorter_cards(plan)


def _within_clear(
    appearances: Sequence[Appearance], clear: Mapping[str, Sequence[Span]]
) -> list[Appearance]:
    """The parts of ``appearances`` inside their camera's clear spans."""
    kept = []
    for appearance in appearances:
        for start, end in clear.get(appearance.camera_id, ()):
            lo, hi = max(start, appearance.start_time), min(end, appearance.end_time)
            if hi > lo:
                kept.append(replace(appearance, start_time=lo, end_time=hi))
    return kept


def _shorter_cards(plan: EditPlan) -> EditPlan:
    """The plan with its intro shortened by the share that would make its clips
    :data:`FOOTAGE_SHARE` of the video if both cards were shortened alike, never below
    :data:`MIN_CARD_S` past the crossfade; the outro keeps its length (module doc, point 5).

    >>> from datetime import UTC
    >>> from scas_lib.highlights.templates import Template
    >>> t0 = datetime(2026, 5, 1, tzinfo=UTC)
    >>> two = PlannedClip("gate", t0, t0 + timedelta(seconds=2), 1.0)
    >>> plan = _shorter_cards(EditPlan("expo", "ana", (two,), PlanLimits.of(Template(name="d"))))
    >>> round(plan.limits.intro_s, 2), plan.limits.outro_s, round(plan.duration_s, 2)
    (1.21, 3.0, 5.01)
    """
    limits = plan.limits
    cards = limits.intro_s + limits.outro_s
    if not plan.clips or cards <= 0:
        return plan
    footage = sum(clip.length_s for clip in plan.clips)
    # duration = footage + cards - transitions: the cards may take what the share leaves.
    transitions = (len(plan.item_lengths) - 1) * limits.transition_s
    room = footage / FOOTAGE_SHARE - footage + transitions
    if cards <= room + 1e-9 or limits.intro_s <= 0:
        return plan
    floor = limits.transition_s + MIN_CARD_S
    scale = max(room, 0.0) / cards
    intro = min(limits.intro_s, max(floor, limits.intro_s * scale))
    return EditPlan(plan.event_id, plan.visitor_id, plan.clips, replace(limits, intro_s=intro))


def _best_camera_runs(appearances: Sequence[Appearance]) -> list[PlannedClip]:
    """Cut time at every appearance boundary; each piece goes to the best camera seeing
    the visitor then; touching pieces of one camera join."""
    bounds = sorted({t for a in appearances for t in (a.start_time, a.end_time)})
    runs: list[PlannedClip] = []
    for start, end in itertools.pairwise(bounds):
        covering = [a for a in appearances if a.start_time <= start and a.end_time >= end]
        if not covering:
            continue
        best = max(covering, key=lambda a: (a.score, _reverse(a.camera_id)))
        last = runs[-1] if runs else None
        if last and last.camera_id == best.camera_id and last.end == start:
            runs[-1] = replace(last, end=end, score=max(last.score, best.score))
        else:
            runs.append(PlannedClip(best.camera_id, start, end, best.score))
    return runs


def _reverse(text: str) -> tuple[int, ...]:
    """Ties go to the camera whose id sorts first."""
    return tuple(-ord(char) for char in text)


def _absorb_short_runs(
    runs: list[PlannedClip], appearances: Sequence[Appearance], min_clip_s: float
) -> list[PlannedClip]:
    """Give each too-short run to a touching neighbour whose camera also sees the visitor
    then (the better one); drop it when there is none."""
    runs = list(runs)
    changed = True
    while changed:
        changed = False
        for index, run in enumerate(runs):
            if run.length_s >= min_clip_s:
                continue
            neighbours = [
                (other_index, other)
                for other_index in (index - 1, index + 1)
                if 0 <= other_index < len(runs)
                and (other := runs[other_index]).camera_id != run.camera_id
                and (other.end == run.start or other.start == run.end)
                and _covers(appearances, other.camera_id, run.start, run.end)
            ]
            if neighbours:
                other_index, other = max(neighbours, key=lambda pair: pair[1].score)
                runs[other_index] = replace(
                    other, start=min(other.start, run.start), end=max(other.end, run.end)
                )
            del runs[index]
            changed = True
            break
    return _join_touching(runs)


def _covers(appearances: Sequence[Appearance], camera: str, start: datetime, end: datetime) -> bool:
    return any(
        a.camera_id == camera and a.start_time <= start and a.end_time >= end for a in appearances
    )


def _join_touching(runs: list[PlannedClip]) -> list[PlannedClip]:
    joined: list[PlannedClip] = []
    for run in sorted(runs, key=lambda r: r.start):
        last = joined[-1] if joined else None
        if last and last.camera_id == run.camera_id and last.end >= run.start:
            joined[-1] = replace(last, end=max(last.end, run.end), score=max(last.score, run.score))
        else:
            joined.append(run)
    return joined


def _split(run: PlannedClip, limits: PlanLimits) -> list[PlannedClip]:
    """A run as clips no longer than ``max_clip_s``, of equal length."""
    count = max(1, math.ceil(run.length_s / limits.max_clip_s - 1e-9))
    step = timedelta(seconds=run.length_s / count)
    return [
        replace(run, start=run.start + step * index, end=run.start + step * (index + 1))
        for index in range(count)
    ]


def _fill(candidates: list[PlannedClip], limits: PlanLimits) -> list[PlannedClip]:
    """Best clips first, spread out, until the video is ``target_length_s`` long."""
    ranked = sorted(candidates, key=lambda c: (-c.score, c.start))
    chosen: list[PlannedClip] = []
    for spread_out in (True, False):
        for clip in ranked:
            if clip in chosen or clip.length_s < limits.min_clip_s:
                continue
            if spread_out and any(_touches(clip, other) for other in chosen):
                continue
            room = _room_left(chosen, limits)
            if room < limits.min_clip_s:
                return chosen
            if clip.length_s > room:
                clip = _centre_trim(clip, room)
            chosen.append(clip)
    return chosen


def _touches(clip: PlannedClip, other: PlannedClip) -> bool:
    return clip.camera_id == other.camera_id and (
        clip.end == other.start or clip.start == other.end
    )


def _room_left(chosen: list[PlannedClip], limits: PlanLimits) -> float:
    """Seconds a next clip may last: every clip adds its length minus one transition."""
    cards = limits.intro_s + limits.outro_s
    items = len(chosen) + (limits.intro_s > 0) + (limits.outro_s > 0)
    used = cards + sum(c.length_s for c in chosen) - items * limits.transition_s
    return limits.target_length_s - used


def _centre_trim(clip: PlannedClip, length_s: float) -> PlannedClip:
    margin = timedelta(seconds=(clip.length_s - length_s) / 2)
    return replace(clip, start=clip.start + margin, end=clip.end - margin)
