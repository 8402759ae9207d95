"""The highlights stages, on the catalog and the object store.

- :func:`plan_highlights`: every visitor's tracks -> appearances (stored); visitors never
  seen get the output status ``not_seen``; returns who has footage to render.
- :func:`render_highlight`: one visitor's edit plan -> a video and a poster, published to
  ``highlights/<event>/<visitor>.mp4`` (``.jpg``, ``.plan.json``) with its outputs row.
- :func:`not_this_person`: an operator's correction of one of a visitor's moments, then
  that visitor planned and rendered again without it;
- :func:`publish_event`: the event marked done, its outputs listed with links;
- :func:`outdated_visitors`: who of some visitors needs a render because what their video
  would show changed (progressive delivery renders those who left while the event runs,
  and after the end only the others: :func:`scas_lib.run.delivery.deliver_departed`).

Idempotent: appearances and outputs are replaced, objects overwritten, so a retried task
leaves one set of rows and one video. A render that fails publishes nothing: the files are
made in a scratch directory and uploaded only once complete, the video last (an S3 PUT
replaces an object atomically), and the row follows the upload. The upload and the row are
made under the visitor's lock, once the visitor is seen to still exist: a visitor forgotten
during the render gets no video (the output is ``forgotten``, not stored).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from scas_lib.catalog import Catalog, Event, Output, Segment, Visitor
from scas_lib.catalog.records import Appearance, MomentCorrection
from scas_lib.errors import ScasError
from scas_lib.highlights.appearances import (
    AppearanceRules,
    build_appearances,
    without_corrected,
)
from scas_lib.highlights.assembly import SourceFile, footage_spans, snap_to_keyframes
from scas_lib.highlights.beats import on_beats
from scas_lib.highlights.punch_in import FramingRules, SubjectPath
from scas_lib.highlights.records import EditPlan, PlanLimits, PublishedHighlight
from scas_lib.highlights.render import CardText, RenderResult, probe_source, render
from scas_lib.highlights.selection import select_moments
from scas_lib.highlights.sound import soundtrack_beats
from scas_lib.highlights.templates import Template
from scas_lib.highlights.visibility import (
    CameraView,
    camera_views,
    clear_spans_of,
    poster_time,
)
from scas_lib.media.ffmpeg import MediaError
from scas_lib.services.runtime import Services
from scas_lib.services.scratch import render_prefix, scratch_dir, soundtrack_cache
from scas_lib.storage import keys
from scas_lib.tracks import UNKNOWN, FaceTrack

log = logging.getLogger(__name__)


def plan_highlights(services: Services, event_id: str, template: Template) -> list[str]:
    """Store every visitor's appearances; return the ids of those with footage to render
    (see the module docstring)."""
    seen = []
    with services.catalog() as catalog:
        visitors = catalog.visitors.for_event(event_id)
        tracks: dict[str, list[FaceTrack]] = defaultdict(list)
        for track in corrected_tracks(catalog, event_id):
            tracks[str(track.visitor_id)].append(track)
        for visitor in visitors:
            if _plan_visitor(services, catalog, event_id, visitor.id, tracks[visitor.id], template):
                seen.append(visitor.id)
    log.info("%s: %d of %d visitors seen", event_id, len(seen), len(visitors))
    return seen


def plan_visitors(
    services: Services, event_id: str, visitor_ids: list[str], template: Template
) -> list[str]:
    """Store the appearances of some of the event's visitors (as :func:`plan_highlights`
    does for all); return those of them with footage to render."""
    seen = []
    with services.catalog() as catalog:
        for visitor_id in visitor_ids:
            tracks = corrected_tracks(catalog, event_id, visitor_id)
            if _plan_visitor(services, catalog, event_id, visitor_id, tracks, template):
                seen.append(visitor_id)
    return seen


def outdated_visitors(
    services: Services,
    event_id: str,
    visitor_ids: list[str],
    template: Template,
    *,
    retry_failed: bool = True,
) -> list[str]:
    """Those of ``visitor_ids`` (planned already) whose published video is not the one
    their edit plan and ``template`` make now (:func:`plan_digest`): never rendered, seen
    again since, re-planned, another template. With ``retry_failed`` also those whose latest
    render did not finish; without it, a render that failed for this same plan is not tried
    again (while the event runs, the end marker's renders try it again)."""
    with services.catalog() as catalog:
        outputs = {output.visitor_id: output for output in catalog.outputs.for_event(event_id)}
        outdated = []
        for visitor_id in visitor_ids:
            digest = plan_digest(edit_plan(catalog, event_id, visitor_id, template), template)
            output = outputs.get(visitor_id)
            unfinished = output is not None and retry_failed and output.status != "done"
            if output is None or output.plan_digest != digest or unfinished:
                outdated.append(visitor_id)
    return outdated


def plan_digest(plan: EditPlan, template: Template) -> str:
    """What a video shows, in 64 hex digits: its edit plan (before keyframe snapping) and
    its template's every setting. Two renders with one digest make the same video."""
    text = plan.to_json() + "\n" + template.model_dump_json()
    return hashlib.sha256(text.encode()).hexdigest()


def not_this_person(
    services: Services, event_id: str, correction: MomentCorrection, template: Template
) -> Output:
    """ "Not this person": record that the visitor's tracks on the correction's camera and
    time are someone else's (kept in the catalog, so a re-recognition does not bring them
    back), plan the visitor again without them and render their video again."""

    visitor_id = correction.visitor_id
    with services.catalog() as catalog:
        if catalog.visitors.get(event_id, visitor_id) is None:
            raise ScasError(f"no visitor {visitor_id!r} in event {event_id!r}")
        catalog.corrections.add(event_id, correction)
        tracks = corrected_tracks(catalog, event_id, visitor_id)
        seen = _plan_visitor(services, catalog, event_id, visitor_id, tracks, template)
        if not seen:
            output = catalog.outputs.get(event_id, visitor_id)
            assert output is not None  # _plan_visitor stored it
            return output
    return render_highlight(services, event_id, visitor_id, template)


def corrected_tracks(
    catalog: Catalog, event_id: str, visitor_id: str | None = None
) -> list[FaceTrack]:
    """The event's identified tracks (one visitor's), without those corrected away."""

    return without_corrected(
        catalog.tracks.identified(event_id, visitor_id),
        catalog.corrections.for_event(event_id, visitor_id),
    )


def _plan_visitor(
    services: Services,
    catalog: Catalog,
    event_id: str,
    visitor_id: str,
    tracks: list[FaceTrack],
    template: Template,
) -> bool:
    """Store one visitor's appearances from their tracks; whether they have footage (if
    not, their output says ``not_seen``)."""
    appearances = build_appearances(tracks, AppearanceRules(smile_weight=template.smile_weight))
    catalog.outputs.replace_appearances(event_id, visitor_id, appearances)
    if edit_plan(catalog, event_id, visitor_id, template).clips:
        return True
    _not_seen(services, catalog, event_id, visitor_id, template)
    return False


def render_highlight(
    services: Services, event_id: str, visitor_id: str, template: Template
) -> Output:
    """Render and publish one visitor's highlight (see the module docstring)."""
    with services.catalog() as catalog:
        event = catalog.events.get(event_id)
        visitor = catalog.visitors.get(event_id, visitor_id)
        if event is None or visitor is None:
            raise ScasError(f"no visitor {visitor_id!r} in event {event_id!r}")
        tracks = subject_tracks(catalog, event_id, visitor_id)
        plan = edit_plan(catalog, event_id, visitor_id, template, tracks)
        if not plan.clips:
            return _not_seen(services, catalog, event_id, visitor_id, template)
        previous = catalog.outputs.get(event_id, visitor_id)
        kept = replace(_published_part(previous, event_id, visitor_id), template=template.name,
                       plan_digest=plan_digest(plan, template))  # fmt: skip
        catalog.outputs.upsert(replace(kept, status="rendering", error=None))
        segments = _segments_for(catalog.segments.for_event(event_id), plan)
        # The window that follows the visitor (punch-in, vertical cut) follows their face
        # tracks' boxes, each grown into an upper body; the others' faces say where they
        # are not the largest in the picture.
        subjects = (
            SubjectPath.from_face_tracks(tracks, visitor_id)
            if template.vertical or template.punch_in != "off"
            else None
        )
        views = camera_views(visitor_id, tracks)
        rules = framing_rules(template)
        allowed = clear_spans_of(views, rules)
    try:
        with scratch_dir(services.settings.data_dir, render_prefix(event_id, visitor_id)) as work:
            sources = _fetch_sources(services, segments, work / "sources")
            plan = timed_plan(plan, sources, template, allowed)
            poster_s = poster_time(plan, views, rules)
            texts = _card_texts(template, event, visitor, plan)
            # Music only, no one's data: shared by every render of the same length.
            sounds = soundtrack_cache(services.settings.data_dir)
            result = render(
                plan, sources, template, *texts, work / "render",
                work / "highlight.mp4", work / "poster.jpg", subjects=subjects,
                sound_cache=sounds, poster_s=poster_s,
            )  # fmt: skip
            vertical = None
            if template.vertical and subjects is not None:
                vertical = render(
                    plan, sources, vertical_template(template), *texts, work / "vertical",
                    work / "vertical.mp4", work / "vertical.jpg", subjects=subjects,
                    sound_cache=sounds, with_moments=False, poster_s=poster_s,
                )  # fmt: skip
            with services.catalog() as catalog, catalog.visitors.lock(event_id, visitor_id):
                if catalog.visitors.get(event_id, visitor_id) is None:
                    return _forgotten(event_id, visitor_id, template)
                output = _upload(services, plan, result, template, vertical)
                output = replace(output, plan_digest=kept.plan_digest)
                catalog.outputs.upsert(output)
    except Exception as error:
        with services.catalog() as catalog, catalog.visitors.lock(event_id, visitor_id):
            if catalog.visitors.get(event_id, visitor_id) is None:
                return _forgotten(event_id, visitor_id, template)
            catalog.outputs.upsert(replace(kept, status="failed", error=str(error)[:500]))
        raise
    log.info(
        "%s/%s: %.1f s published (%d frames copied, %d encoded)",
        event_id, visitor_id, result.duration_s, result.copied_frames, result.encoded_frames,
    )  # fmt: skip
    return output


def publish_event(services: Services, event_id: str) -> list[PublishedHighlight]:
    """Mark the event done and list its outputs, with a presigned link to each video."""
    settings = services.settings
    store = services.object_store()
    expiry = timedelta(seconds=settings.presign_expiry_s)
    with services.catalog() as catalog:
        catalog.events.set_status(event_id, "done")
        names = {v.id: v.display_name for v in catalog.visitors.for_event(event_id)}
        outputs = catalog.outputs.for_event(event_id)
    published = []
    for output in outputs:
        url = None
        if output.status == "done" and output.object_key:
            url = store.presigned_url(settings.bucket_highlights, output.object_key, expiry)
        published.append(
            PublishedHighlight(
                output.visitor_id,
                names.get(output.visitor_id, output.visitor_id),
                output.status,
                url,
                output.duration_s,
            )
        )
    return published


def vertical_template(template: Template) -> Template:
    """The 9:16 twin of a template: the same look, portrait, encoded whole."""
    short, long = sorted((template.width, template.height))
    return template.model_copy(
        update={"width": short, "height": long, "copy_unchanged_footage": False}
    )


def edit_plan(
    catalog: Catalog,
    event_id: str,
    visitor_id: str,
    template: Template,
    tracks: list[FaceTrack] | None = None,
) -> EditPlan:
    """The plan :func:`render_highlight` starts from (before keyframe snapping), from the
    visitor's stored appearances and the faces around them (:func:`subject_tracks`, read
    unless given)."""
    appearances = catalog.outputs.appearances(event_id, visitor_id)
    if tracks is None:
        tracks = subject_tracks(catalog, event_id, visitor_id)
    views = camera_views(visitor_id, tracks)
    return plan_of(event_id, visitor_id, appearances, views, template)


def plan_of(
    event_id: str,
    visitor_id: str,
    appearances: list[Appearance],
    views: dict[str, CameraView],
    template: Template,
) -> EditPlan:
    """The edit plan of a visitor's appearances, inside the stretches where they are seen
    and not upstaged (:func:`~scas_lib.highlights.visibility.clear_spans`); a visitor seen
    only hidden or upstaged gets the plan of their appearances as they are, rather than no
    video."""
    limits = PlanLimits.of(template)
    clear = clear_spans_of(views, framing_rules(template))
    plan = select_moments(event_id, visitor_id, appearances, limits, clear)
    return plan if plan.clips else select_moments(event_id, visitor_id, appearances, limits)


def timed_plan(
    plan: EditPlan,
    sources: list[SourceFile],
    template: Template,
    allowed: Mapping[str, Sequence[tuple[datetime, datetime]]] | None,
) -> EditPlan:
    """The plan as it is rendered: its untouched stretches on the sources' keyframes, then
    its cuts on the soundtrack's beats (each within the stretches it may show, where
    ``allowed`` says which)."""
    plan = snap_to_keyframes(plan, sources, allowed=allowed)
    # Beats past the planned length: the cuts' moves may lengthen the video a little.
    beats = soundtrack_beats(template, plan.duration_s + 5.0)
    # A clip lengthened onto a beat stays inside the footage fetched for it: past the end
    # of its segment the render would have frames to show that it does not have.
    return on_beats(plan, beats, within_footage(allowed, footage_spans(sources)))


def within_footage(
    allowed: Mapping[str, Sequence[tuple[datetime, datetime]]] | None,
    footage: Mapping[str, Sequence[tuple[datetime, datetime]]],
) -> dict[str, list[tuple[datetime, datetime]]]:
    """The stretches a clip may show (``allowed``: everywhere where None) that the fetched
    ``footage`` covers.

    >>> t = [datetime(2026, 1, 1, 0, 0, s) for s in range(10)]
    >>> spans = within_footage({"cam1": [(t[1], t[5])]}, {"cam1": [(t[0], t[3]), (t[4], t[9])]})
    >>> [(a.second, b.second) for a, b in spans["cam1"]]
    [(1, 3), (4, 5)]
    >>> [(a.second, b.second) for a, b in within_footage(None, {"cam1": [(t[0], t[3])]})["cam1"]]
    [(0, 3)]
    """
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for camera, runs in footage.items():
        wanted = runs if allowed is None else allowed.get(camera, ())
        spans[camera] = [
            (max(a, r0), min(b, r1))
            for a, b in wanted
            for r0, r1 in runs
            if max(a, r0) < min(b, r1)
        ]
    return spans


def framing_rules(template: Template) -> FramingRules | None:
    """How the punch-in frames the visitor, or None where the template shows whole frames."""
    if template.punch_in == "off":
        return None
    output = (template.width, template.height)
    return FramingRules(output, template.punch_in_subject_share, template.punch_in_max_upscale)


def subject_tracks(catalog: Catalog, event_id: str, visitor_id: str) -> list[FaceTrack]:
    """The visitor's tracks (corrections applied) and everyone else's on the same cameras
    while they were seen; a track corrected away from the visitor is someone else's."""
    own = corrected_tracks(catalog, event_id, visitor_id)
    if not own:
        return []
    mine = {(t.camera_id, t.segment_start, t.index) for t in own}
    margin = timedelta(seconds=1)
    around = catalog.tracks.around(
        event_id,
        sorted({t.camera_id for t in own}),
        min(t.start_time for t in own) - margin,
        max(t.end_time for t in own) + margin,
    )
    others = [
        track if track.visitor_id != visitor_id else replace(track, identity=UNKNOWN)
        for track in around
        if (track.camera_id, track.segment_start, track.index) not in mine
    ]
    return own + others


# --- helpers -----------------------------------------------------------------------------


def _not_seen(
    services: Services, catalog: Catalog, event_id: str, visitor_id: str, template: Template
) -> Output:
    """No footage: no video (an old one, from before, is withdrawn)."""
    _remove_published(services, event_id, visitor_id)
    output = Output(event_id, visitor_id, "not_seen", template=template.name)
    catalog.outputs.upsert(output)
    return output


def _forgotten(event_id: str, visitor_id: str, template: Template) -> Output:
    """The visitor was forgotten while their video was made: nothing is published (the
    forget removed whatever was, under the same lock), and no row is written."""
    log.info("%s/%s: forgotten during the render, nothing published", event_id, visitor_id)
    return Output(event_id, visitor_id, "forgotten", template=template.name)


def _remove_published(services: Services, event_id: str, visitor_id: str) -> None:
    store = services.object_store()
    bucket = services.settings.bucket_highlights
    for key in keys.highlight_keys(event_id, visitor_id):
        if store.exists(bucket, key):
            store.remove(bucket, key)
    store.remove_prefix(bucket, keys.moments_prefix(event_id, visitor_id))


def _published_part(previous: Output | None, event_id: str, visitor_id: str) -> Output:
    """What of an earlier output stays true while a new render runs: its published video
    (also one kept through a render that failed since)."""
    if previous is not None and previous.object_key is not None:
        return previous
    return Output(event_id, visitor_id, "rendering")


def _segments_for(segments: list[Segment], plan: EditPlan) -> list[Segment]:
    """The segments that may hold footage of the plan's clips."""
    margin = timedelta(seconds=2)
    needed = []
    for segment in segments:
        length = timedelta(seconds=segment.duration_s if segment.duration_s else 3600)
        if any(
            clip.camera_id == segment.camera_id
            and segment.start_time <= clip.end + margin
            and segment.start_time + length >= clip.start - margin
            for clip in plan.clips
        ):
            needed.append(segment)
    return needed


def _fetch_sources(
    services: Services, segments: list[Segment], directory: Path
) -> list[SourceFile]:
    """Download and probe the segments. A segment that cannot be read is left out (its
    failure is already in the catalog); the renderer fills the gap with the nearest frame."""
    store = services.object_store()
    bucket = services.settings.bucket_recordings
    directory.mkdir(parents=True, exist_ok=True)
    sources = []
    for segment in segments:
        local = directory / f"{segment.id}{Path(segment.object_key).suffix}"
        store.download_file(bucket, segment.object_key, local)
        assert segment.camera_id is not None  # matched to a clip's camera (_segments_for)
        try:
            sources.append(probe_source(local, segment.camera_id, segment.start_time))
        except MediaError as error:
            log.warning("%s left out of the render: %s", segment.object_key, error)
    return sources


def _card_texts(
    template: Template, event: Event, visitor: Visitor, plan: EditPlan
) -> tuple[CardText, CardText]:
    when: datetime = event.starts_at or plan.clips[0].start
    try:
        when = when.astimezone(ZoneInfo(event.timezone))
    except (KeyError, ValueError):
        log.warning("unknown time zone %r of event %s: dates in UTC", event.timezone, event.id)
    fields = {
        "visitor": visitor.display_name,
        "event": event.name,
        "date": when.strftime(template.date_format),
    }
    return (
        CardText(template.intro_title.format(**fields), template.intro_subtitle.format(**fields)),
        CardText(template.outro_title.format(**fields), template.outro_subtitle.format(**fields)),
    )


def _upload(
    services: Services,
    plan: EditPlan,
    result: RenderResult,
    template: Template,
    vertical_result: RenderResult | None = None,
) -> Output:
    store = services.object_store()
    bucket = services.settings.bucket_highlights
    event_id, visitor_id = plan.event_id, plan.visitor_id
    video_key = keys.highlight_key(event_id, visitor_id)
    poster_key = keys.poster_key(event_id, visitor_id)
    metadata = {"event": event_id, "visitor": visitor_id, "template": template.name}
    store.put_file(bucket, poster_key, result.poster, content_type="image/jpeg", metadata=metadata)
    moment_keys = [keys.moment_key(event_id, visitor_id, i) for i in range(len(result.moments))]
    for key, thumbnail in zip(moment_keys, result.moments, strict=True):
        store.put_file(bucket, key, thumbnail, content_type="image/jpeg", metadata=metadata)
    # An earlier render's plan may have had more clips: their thumbnails go with it.
    for stale in store.list(bucket, keys.moments_prefix(event_id, visitor_id)):
        if stale.key not in moment_keys:
            store.remove(bucket, stale.key)
    store.put_bytes(
        bucket, keys.edit_plan_key(event_id, visitor_id), plan.to_json().encode(),
        content_type="application/json", metadata=metadata,
    )  # fmt: skip
    # What each frame shows, of both videos: the benchmarks judge the video by it.
    shown = {
        name: json.loads(rendered.frames.read_text())
        for name, rendered in (("video", result), ("vertical", vertical_result))
        if rendered is not None and rendered.frames is not None
    }
    store.put_bytes(
        bucket, keys.frames_key(event_id, visitor_id), json.dumps(shown).encode(),
        content_type="application/json", metadata=metadata,
    )  # fmt: skip
    vertical = vertical_result.video if vertical_result is not None else None
    if vertical is not None:
        store.put_file(
            bucket, keys.vertical_key(event_id, visitor_id), vertical,
            content_type="video/mp4", metadata=metadata,
        )  # fmt: skip
    elif store.exists(bucket, keys.vertical_key(event_id, visitor_id)):
        store.remove(bucket, keys.vertical_key(event_id, visitor_id))  # from another template
    # The video last: once it is there, everything that goes with it is too.
    store.put_file(bucket, video_key, result.video, content_type="video/mp4", metadata=metadata)
    return Output(
        event_id, visitor_id, "done", video_key, poster_key, round(result.duration_s, 3),
        template.name,
    )  # fmt: skip
