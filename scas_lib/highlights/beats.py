"""Cuts on the beat: an edit plan's cuts moved onto the soundtrack's beats. Pure.

A cut that lands on the music's beat looks meant; one a third of a beat off looks like a
mistake. Every item of a plan (card or clip) begins where a crossfade into it begins, at
the previous item's end less one transition; :func:`on_beats` moves each such cut, in
order, to the nearest beat by lengthening or shortening the item before it:

- a cut moves to the nearest beat, by at most half a beat; a clip is lengthened only
  inside the stretch its camera may show (``allowed``: where the visitor is seen and not
  upstaged), at its end or else its start, never into another clip of its camera; where
  it cannot be, it is shortened to the beat before instead (the cut moves by under a
  beat, and nothing the visitor is not clear in comes into the video);
- a clip stays within the template's limits (``min_clip_s``; never lengthened past
  ``max_clip_s``);
- the intro card shows no footage: it ends on the beat before its planned end (never
  longer), unless that leaves it under the crossfade plus
  :data:`~scas_lib.highlights.selection.MIN_CARD_S`;
- a cut that cannot move so stays where it is.

Beats are output seconds: the generated music's grid (:func:`beat_grid`), or those a beat
tracker found in a venue's track, repeated as the track loops (:func:`looped`).

>>> from datetime import UTC, datetime, timedelta
>>> from scas_lib.highlights.records import PlanLimits
>>> from scas_lib.highlights.templates import Template
>>> t0 = datetime(2026, 5, 1, tzinfo=UTC)
>>> clip = lambda a, b: PlannedClip("gate", t0 + timedelta(seconds=a), t0 + timedelta(seconds=b), 1)
>>> limits = PlanLimits.of(Template(name="doc", transition_s=0.6, intro_s=3.0, outro_s=3.0))
>>> plan = EditPlan("expo", "ana", (clip(10, 14.1), clip(20, 24.5)), limits)
>>> aligned = on_beats(plan, beat_grid(100, 30))
>>> [round(start, 2) for start in aligned.clip_output_starts()]   # beats every 0.6 s
[2.4, 6.0]
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from scas_lib.highlights.records import EditPlan, PlannedClip
from scas_lib.highlights.selection import MIN_CARD_S

Span = tuple[datetime, datetime]


def beat_grid(bpm: float, duration_s: float, offset_s: float = 0.0) -> list[float]:
    """Beats every ``60 / bpm`` seconds from ``offset_s`` to ``duration_s``.

    >>> beat_grid(120, 2.0)
    [0.0, 0.5, 1.0, 1.5, 2.0]
    """
    step = 60.0 / bpm
    count = int((duration_s - offset_s) / step + 1e-9)
    return [offset_s + step * k for k in range(count + 1)]


def looped(beats: Sequence[float], track_s: float, duration_s: float) -> list[float]:
    """A track's ``beats`` (seconds), repeated every ``track_s`` as the track plays over
    and over for ``duration_s``.

    >>> looped([0.2, 1.2], 2.0, 5.0)
    [0.2, 1.2, 2.2, 3.2, 4.2]
    """
    if track_s <= 0 or not beats:
        return []
    repeated, start = [], 0.0
    while start < duration_s:
        repeated += [start + beat for beat in beats if start + beat <= duration_s]
        start += track_s
    return repeated


def on_beats(
    plan: EditPlan, beats: Sequence[float], allowed: Mapping[str, Sequence[Span]] | None = None
) -> EditPlan:
    """``plan`` with its cuts on ``beats`` (see the module doc)."""
    beats = sorted(beats)
    if len(beats) < 2 or not plan.clips:
        return plan
    limits = plan.limits
    transition = limits.transition_s
    clips = list(plan.clips)
    intro = limits.intro_s
    has_intro = intro > 0
    # Items in order: the intro (index -1 of clips) and the clips; the outro takes no cut.
    kinds: list[int] = ([-1] if has_intro else []) + list(range(len(clips)))
    position = 0.0  # where the item being shortened or lengthened begins
    for step, kind in enumerate(kinds):
        if step == len(kinds) - 1 and limits.outro_s <= 0:
            break  # the last clip ends the video: no cut after it
        length = intro if kind < 0 else clips[kind].length_s
        cut = position + length - transition
        if kind < 0:
            beat = _intro_beat(beats, cut, position + MIN_CARD_S)
            if beat is not None:
                intro += beat - cut
                cut = beat
        else:
            for beat in _beats_for(beats, cut):
                moved = _moved_clip(
                    clips, kind, beat - cut, limits.min_clip_s, limits.max_clip_s, allowed
                )
                if moved is not None:
                    clips[kind] = moved
                    cut = beat
                    break
        position = cut
    return EditPlan(plan.event_id, plan.visitor_id, tuple(clips), replace(limits, intro_s=intro))


def _intro_beat(beats: Sequence[float], cut: float, earliest: float) -> float | None:
    """Where the intro ends: the card shows no footage, so no moment moves with it; it ends
    on the last beat before its planned end (never longer: a short video's shortened cards
    keep it mostly footage), or the first after where that one would leave the card under
    :data:`~scas_lib.highlights.selection.MIN_CARD_S`."""
    earlier = [b for b in beats if earliest - 1e-9 <= b <= cut + 1e-9]
    if earlier:
        return earlier[-1]
    return next((b for b in beats if b > cut), None)


def _beats_for(beats: Sequence[float], cut: float) -> list[float]:
    """The beats a clip's cut may move to, in order of preference: the nearest (within half
    a beat), then, where that one would lengthen the clip, the one before (shortening it:
    never past the stretch it may show)."""
    nearest = _nearest_beat(beats, cut)
    if nearest is None:
        return []
    if nearest <= cut:
        return [nearest]
    before = [b for b in beats if b < cut]
    return [nearest, *before[-1:]]


def _nearest_beat(beats: Sequence[float], at: float) -> float | None:
    """The beat nearest ``at``, if it is within half of the beat's interval there."""
    i = bisect.bisect_left(beats, at)
    candidates = [beats[j] for j in (i - 1, i) if 0 <= j < len(beats)]
    beat = min(candidates, key=lambda b: abs(b - at))
    j = beats.index(beat)
    neighbours = [beats[k] for k in (j - 1, j + 1) if 0 <= k < len(beats)]
    interval = min(abs(beat - other) for other in neighbours)
    return beat if abs(beat - at) <= interval / 2 + 1e-9 else None


def _moved_clip(
    clips: Sequence[PlannedClip],
    index: int,
    move_s: float,
    min_clip_s: float,
    max_clip_s: float,
    allowed: Mapping[str, Sequence[Span]] | None,
) -> PlannedClip | None:
    """Clip ``index`` made ``move_s`` longer (shorter where negative), or None where it
    cannot be (module doc)."""
    clip = clips[index]
    length = clip.length_s + move_s
    if length < min_clip_s - 1e-9 or (move_s > 0 and length > max(max_clip_s, clip.length_s)):
        return None
    delta = timedelta(seconds=move_s)
    if move_s <= 0:
        return replace(clip, end=clip.end + delta)
    for candidate in (replace(clip, end=clip.end + delta), replace(clip, start=clip.start - delta)):
        if _may_show(candidate, clips, index, allowed):
            return candidate
    return None


def _may_show(
    candidate: PlannedClip,
    clips: Sequence[PlannedClip],
    index: int,
    allowed: Mapping[str, Sequence[Span]] | None,
) -> bool:
    """Whether ``candidate`` stays inside a stretch its camera may show and out of the
    other clips of its camera."""
    for other_index, other in enumerate(clips):
        same_camera = other_index != index and other.camera_id == candidate.camera_id
        if same_camera and other.start < candidate.end and candidate.start < other.end:
            return False
    if allowed is None:
        return True
    return any(
        start <= candidate.start and candidate.end <= end
        for start, end in allowed.get(candidate.camera_id, ())
    )
