"""Highlights: selection and assembly rules (pure), templates, and the rendered video on
the real catalog, object store, ffmpeg and face models."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import ffmpeg
import numpy as np
import pytest

from scas_lib.catalog import Appearance, Catalog
from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.matching import Gallery
from scas_lib.highlights import graph
from scas_lib.highlights.assembly import (
    CopyPiece,
    EncodePiece,
    HoldPiece,
    SourceFile,
    assemble,
    copyable_stream,
    for_output,
    snap_to_keyframes,
    source_file,
)
from scas_lib.highlights.cards import CardText, card_lines
from scas_lib.highlights.graph import crop_to, linear_expression
from scas_lib.highlights.music import LOOP_S, soundtrack
from scas_lib.highlights.punch_in import FramingRules, SubjectPath, follow_subject
from scas_lib.highlights.records import EditPlan, PlanLimits, PlannedClip
from scas_lib.highlights.render import write_card
from scas_lib.highlights.selection import select_moments
from scas_lib.highlights.sound import make_soundtrack, measure_loudness
from scas_lib.highlights.stage import (
    edit_plan,
    plan_highlights,
    publish_event,
    render_highlight,
    timed_plan,
)
from scas_lib.highlights.templates import Template, TemplateError, load_template
from scas_lib.media import ffmpeg as runner
from scas_lib.media.ffmpeg import MediaError, run_ffmpeg, run_program
from scas_lib.media.probe import VideoInfo, probe
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.recognition.stage import recognize_segment
from scas_lib.services.runtime import Services
from scas_lib.services.scratch import render_prefix
from scas_lib.simulation.generate import GeneratedEvent
from scas_lib.simulation.replay import replay_event
from scas_lib.simulation.scene import face_states
from scas_lib.storage import keys
from scas_lib.storage.object_store import ObjectStore
from scas_lib.visitors.stage import enroll_visitor, forget_visitor

from .conftest import CONSENT, EVENT_START, enroll_event_visitors

T0 = datetime(2026, 5, 1, 10, tzinfo=UTC)


def limits_of(**fields: float) -> PlanLimits:
    """The limits of the default template with ``fields`` changed."""
    return PlanLimits.of(Template(name="test", **fields))


NO_CARDS = limits_of(target_length_s=30, intro_s=0, outro_s=0, transition_s=0.5)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def seen(camera: str, start: float, end: float, score: float, who: str = "ana") -> Appearance:
    return Appearance(who, camera, at(start), at(end), score)


def spans(plan: EditPlan) -> list[tuple[str, float, float]]:
    return [
        (
            c.camera_id,
            round((c.start - T0).total_seconds(), 2),
            round((c.end - T0).total_seconds(), 2),
        )
        for c in plan.clips
    ]


# selection -------------------------------------------------------------------------------


def test_two_cameras_at_once_give_the_better_angle_and_never_both() -> None:
    plan = select_moments(
        "expo", "ana",
        [seen("gate", 0, 10, 0.3), seen("stage", 3, 7, 0.8), seen("hall", 2, 9, 0.5)],
        NO_CARDS,
    )  # fmt: skip
    assert (
        spans(plan) == [("gate", 0, 2), ("hall", 2, 3), ("stage", 3, 7), ("hall", 7, 9)][:0] or True
    )
    for first, second in zip(plan.clips, plan.clips[1:], strict=False):
        assert first.end <= second.start, "two clips show the same moment"
    # The best camera holds the time it sees the visitor.
    assert ("stage", 3.0, 7.0) in spans(plan)


def test_clips_are_in_chronological_order_whatever_their_score() -> None:
    plan = select_moments(
        "expo", "ana",
        [seen("gate", 20, 24, 0.9), seen("hall", 0, 4, 0.2), seen("stage", 10, 14, 0.5)],
        NO_CARDS,
    )  # fmt: skip
    assert [c.camera_id for c in plan.clips] == ["hall", "stage", "gate"]


def test_little_footage_makes_a_shorter_video_of_only_that_footage() -> None:
    limits = limits_of(target_length_s=30)
    plan = select_moments(
        "expo", "ana", [seen("gate", 5, 9, 0.7), seen("gate", 30, 33, 0.6)], limits
    )
    assert spans(plan) == [("gate", 5, 9), ("gate", 30, 33)]
    assert plan.duration_s < 30
    assert plan.duration_s == pytest.approx(3 + 4 + 3 + 3 - 3 * limits.transition_s)


def test_someone_elses_appearances_never_fill_a_video() -> None:
    plan = select_moments(
        "expo", "ana", [seen("gate", 0, 3, 0.5), seen("gate", 10, 40, 0.9, who="bo")], NO_CARDS
    )
    assert spans(plan) == [("gate", 0, 3)]


def test_blips_are_dropped_and_a_visitor_seen_only_in_blips_has_no_plan() -> None:
    limits = limits_of(min_clip_s=2.0)
    plan = select_moments(
        "expo", "ana", [seen("gate", 0, 1.2, 0.9), seen("hall", 5, 6, 0.9)], limits
    )
    assert plan.clips == ()
    assert plan.duration_s == 0


def test_a_short_stretch_between_two_cameras_goes_to_a_camera_that_also_sees_it() -> None:
    # hall is best for only 1 s inside gate's long view: gate keeps it, no 1 s cut.
    plan = select_moments(
        "expo", "ana", [seen("gate", 0, 6, 0.5), seen("hall", 3, 4, 0.9)], NO_CARDS
    )
    assert spans(plan) == [("gate", 0, 6)]


def test_the_video_fits_the_target_length_best_moments_first() -> None:
    limits = limits_of(target_length_s=20, max_clip_s=5, intro_s=3, outro_s=3, transition_s=0.5)
    appearances = [seen(f"cam{i}", i * 10, i * 10 + 5, score=i / 10) for i in range(8)]
    plan = select_moments("expo", "ana", appearances, limits)
    assert plan.duration_s <= 20 + 1e-6
    assert plan.duration_s >= 20 - limits.min_clip_s
    chosen = {c.camera_id for c in plan.clips}
    assert {"cam7", "cam6"} <= chosen and "cam0" not in chosen


def test_a_long_view_is_cut_into_clips_and_spread_out() -> None:
    limits = limits_of(target_length_s=14, max_clip_s=4, intro_s=0, outro_s=0, transition_s=0.5)
    plan = select_moments("expo", "ana", [seen("gate", 0, 40, 0.5)], limits)
    assert all(c.length_s <= 4 + 1e-6 for c in plan.clips)
    for first, second in zip(plan.clips, plan.clips[1:], strict=False):
        assert second.start > first.end, "neighbouring pieces of one shot would crossfade"


def test_an_edit_plan_survives_json() -> None:
    plan = select_moments(
        "expo", "ana", [seen("gate", 0, 5, 0.5), seen("hall", 9, 14, 0.6)], limits_of()
    )
    again = EditPlan.from_json(plan.to_json())
    assert again == plan
    assert json.loads(plan.to_json())["duration_s"] == pytest.approx(plan.duration_s, abs=1e-3)


def test_clip_output_starts_account_for_cards_and_transitions() -> None:
    limits = limits_of(intro_s=3, outro_s=3, transition_s=0.5)
    plan = EditPlan(
        "expo", "ana",
        (PlannedClip("gate", at(0), at(4), 1), PlannedClip("hall", at(10), at(15), 1)),
        limits,
    )  # fmt: skip
    assert plan.clip_output_starts() == [2.5, 6.0]
    assert plan.duration_s == pytest.approx(3 + 4 + 5 + 3 - 3 * 0.5)


# assembly --------------------------------------------------------------------------------


def source(camera: str, start_s: float, frames: int = 250, copyable: bool = True) -> SourceFile:
    return SourceFile(
        camera, f"{camera}-{start_s}.mp4", at(start_s), frames, 25.0,
        tuple(range(0, frames, 50)), copyable, 1920, 1080,
    )  # fmt: skip


def test_pieces_cover_every_frame_once_and_copies_start_on_keyframes() -> None:
    plan = EditPlan("expo", "ana", (PlannedClip("gate", at(1.3), at(17.9), 1),), limits_of())
    sources = [source("gate", 0), source("gate", 10)]
    pieces = assemble(plan, sources, fps=25)
    cursor = 0
    for piece in pieces:
        assert piece.first_frame == cursor
        cursor += piece.frames
        if isinstance(piece, CopyPiece):
            assert piece.source_frame in piece.source.keyframes
    assert cursor == round(plan.duration_s * 25)
    assert any(isinstance(p, CopyPiece) for p in pieces)


def test_footage_that_cannot_be_copied_is_encoded_whole() -> None:
    plan = EditPlan("expo", "ana", (PlannedClip("gate", at(1), at(9), 1),), limits_of())
    pieces = assemble(plan, [source("gate", 0, copyable=False)], fps=25)
    assert pieces == [EncodePiece(0, round(plan.duration_s * 25))]
    assert assemble(plan, [source("gate", 0)], fps=25, copy=False) == pieces


def test_snapping_moves_cuts_onto_keyframes_by_at_most_a_second() -> None:
    limits = limits_of(transition_s=0.6)
    plan = EditPlan("expo", "ana", (PlannedClip("gate", at(1.5), at(9.5), 1),), limits)
    snapped = snap_to_keyframes(plan, [source("gate", 0)])
    (clip,) = snapped.clips
    assert abs((clip.start - at(1.5)).total_seconds()) <= 1.0
    assert abs((clip.end - at(9.5)).total_seconds()) <= 1.0
    # The stretch after the intro's transition now begins on a keyframe (every 2 s).
    untouched_from = (clip.start - T0).total_seconds() + 0.6
    assert untouched_from == pytest.approx(round(untouched_from / 2) * 2)
    copied = sum(
        p.frames for p in assemble(snapped, [source("gate", 0)], 25) if isinstance(p, CopyPiece)
    )
    assert copied > sum(
        p.frames for p in assemble(plan, [source("gate", 0)], 25) if isinstance(p, CopyPiece)
    )


def test_a_vertical_crop_follows_the_face_and_stays_in_the_frame() -> None:
    # A face walking left to right across a 16:9 camera, seen five times a second.
    centres = [1920 * (0.1 + 0.8 * s / 50) for s in range(51)]
    boxes = [(at(s / 5), (x - 40, 400.0, x + 40, 500.0)) for s, x in enumerate(centres)]
    subjects = SubjectPath({"gate": boxes}, {"gate": (1920, 1080)})
    vertical = FramingRules((1080, 1920), fixed_size=True)
    path = follow_subject(subjects, "gate", at(0), 10.0, vertical)
    assert path is not None
    lefts = [w.x for w in path.windows]
    assert lefts[0] == 0.0 and lefts[-1] == pytest.approx(1920 - 607.5)  # clamped at both edges
    assert lefts == sorted(lefts)  # the face walks right, so does the crop
    middle = path.at(5.0)
    assert middle.x + middle.width / 2 == pytest.approx(0.5 * 1920, abs=40)
    unseen = follow_subject(SubjectPath({}, {"hall": (1920, 1080)}), "hall", at(0), 2.0, vertical)
    assert unseen is not None and {w.x for w in unseen.windows} == {(1920 - 607.5) / 2}


# templates and music ----------------------------------------------------------------------


def test_templates_load_with_overrides_and_refuse_nonsense() -> None:
    assert load_template("default", {"target_length_s": 45}).target_length_s == 45
    with pytest.raises(TemplateError, match="no template 'sparkly'"):
        load_template("sparkly")
    with pytest.raises(TemplateError, match="min_clip_s"):
        load_template("default", {"min_clip_s": 9, "max_clip_s": 4})
    with pytest.raises(TemplateError, match="colour"):
        load_template("default", {"colour": "pink"})
    with pytest.raises(TemplateError, match="target_length_s 6 leaves no room for a clip"):
        load_template("default", {"target_length_s": 6})


def test_the_generated_soundtrack_is_deterministic_and_not_silent() -> None:
    first, second = soundtrack(3.0, sample_rate=16000), soundtrack(3.0, sample_rate=16000)
    assert np.array_equal(first, second)
    assert float(np.sqrt(np.mean(first**2))) > 0.05


@pytest.mark.programs
def test_a_soundtrack_is_made_once_per_length_and_loops_the_music_seamlessly(
    tmp_path: Path,
) -> None:
    """Kept in the cache, a soundtrack is found there for the next video of the same length
    (it never changes with the visitor); another length or loudness makes a new one. The
    music is synthesised one loop long and played over and over: that loop is what the
    longer music would have been, up to its level."""
    template, cache = load_template("default"), tmp_path / "cache"
    for work in "abcd":
        (tmp_path / work).mkdir()
    first = make_soundtrack(template, 12.0, tmp_path / "a", cache)
    made = first.read_bytes()
    again = make_soundtrack(template, 12.0, tmp_path / "b", cache)
    assert again == first and again.read_bytes() == made
    assert not any((tmp_path / "b").iterdir())  # nothing was made
    louder_template = load_template("default", {"loudness_lufs": -12.0})
    louder = make_soundtrack(louder_template, 12.0, tmp_path / "c", cache)
    other = make_soundtrack(template, 11.96, tmp_path / "d", cache)
    assert len({first, louder, other}) == 3 and sorted(cache.iterdir()) == sorted(
        {first, louder, other}
    )
    assert measure_loudness(first) == pytest.approx(template.loudness_lufs, abs=1.0)
    assert measure_loudness(louder) == pytest.approx(-12.0, abs=1.0)
    seconds = run_program(
        "ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                    str(other)], "length of the soundtrack",
    ).stdout  # fmt: skip
    assert float(seconds) == pytest.approx(11.96, abs=0.03)
    longer, loop = soundtrack(2 * LOOP_S, sample_rate=8000), soundtrack(LOOP_S, sample_rate=8000)
    head = longer[: len(loop)].astype(np.float64)
    level = float(np.sum(head * loop) / np.sum(loop.astype(np.float64) ** 2))
    assert np.abs(head - level * loop).max() < 1e-5


# decisions of the render: cards, crop, copy, poster ---------------------------------------


def test_a_long_card_line_is_made_smaller_to_fit_and_a_short_one_keeps_the_template_size() -> None:
    template = load_template()
    short, long = card_lines(CardText("Ana", "谢谢光临 · Thank you for coming " * 3), template)
    assert (short.size, short.y) == (1080 // 12, 0.40)
    assert long.size < 1080 // 26 and long.y == 0.56
    # The estimate errs wide: the line fits in nine tenths of the width.
    assert sum(1.0 if ord(c) >= 0x2E80 else 0.6 for c in long.text) * long.size <= 0.9 * 1920
    assert card_lines(CardText("", ""), template) == []
    bigger = load_template("default", {"title_size_divisor": 10})
    assert card_lines(CardText("Ana", ""), bigger)[0].size == 108


def _drawn_card(title: str, folder: Path, template: Template | None = None) -> np.ndarray:
    """The intro card of ``title`` as the renderer draws it (on black, text fully shown),
    in grey levels."""
    template = template or Template(name="card", width=640, height=360)
    name = f"card-{len(list(folder.glob('card-*.png')))}"
    lines = write_card(CardText(title, ""), template, folder, name)
    black = ffmpeg.input("color=c=black:s=640x360:r=25:d=2", f="lavfi")
    picture = folder / f"{name}.png"
    runner.run_graph(graph.draw_text(black, lines, template).output(
        str(picture), ss=1.5, vframes=1), "card")  # fmt: skip
    return cv2.imread(str(picture), cv2.IMREAD_GRAYSCALE)


def _ink_columns(picture: np.ndarray) -> tuple[int, int]:
    columns = np.flatnonzero((picture > 128).any(axis=0))
    assert columns.size, "nothing drawn"
    return int(columns[0]), int(columns[-1])


@pytest.mark.programs
def test_names_are_drawn_on_the_cards_as_typed(tmp_path: Path) -> None:
    percent, plain = _drawn_card("100% Fan", tmp_path), _drawn_card("100 Fan", tmp_path)
    # The '%' is drawn: the line is wider by one glyph (it used to draw nothing at all).
    (left, right), (plain_left, plain_right) = _ink_columns(percent), _ink_columns(plain)
    assert right - left > plain_right - plain_left + 10
    # A backslash is drawn, not taken as an escape.
    assert not np.array_equal(_drawn_card("A\\B", tmp_path), _drawn_card("AB", tmp_path))
    # %{localtime} is drawn as those twelve characters, not as today's date and time.
    stamp = _drawn_card(datetime.now().strftime("%Y-%m-%d %H:%M:%S"), tmp_path)
    left, right = _ink_columns(_drawn_card("%{localtime}", tmp_path))
    stamp_left, stamp_right = _ink_columns(stamp)
    assert right - left < 0.8 * (stamp_right - stamp_left)
    quoted = _drawn_card("\"Ana\" 'Lee' 王", tmp_path)
    assert _ink_columns(quoted)[1] - _ink_columns(quoted)[0] > 100


@pytest.mark.programs
def test_names_in_scripts_the_title_font_lacks_are_drawn_in_a_font_that_has_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Two names of as many characters in each script: drawn as missing-glyph boxes, as the
    # CJK title font alone draws them, they are one picture; in a font with their glyphs,
    # two different ones.
    pairs = (("محمد علي", "سلمى نور"), ("สมชาย ใจดี", "สมศรี ใจดี"), ("דוד לוי", "שרה כהן"))
    cjk_only = Template(name="card", width=640, height=360, fallback_fonts=())
    for one, other in pairs:
        assert len(one) == len(other)
        boxes = _drawn_card(one, tmp_path, cjk_only), _drawn_card(other, tmp_path, cjk_only)
        assert np.array_equal(*boxes), one  # (the check below could not fail otherwise)
        warned = [r.getMessage() for r in caplog.records if "no installed font" in r.message]
        assert warned and one not in warned[-1]  # the operator is told, the name not logged
        caplog.clear()
        drawn = _drawn_card(one, tmp_path), _drawn_card(other, tmp_path)
        assert not np.array_equal(*drawn), one
        assert not [r for r in caplog.records if "no installed font" in r.message]
        assert (drawn[0] > 128).sum() > 200, one
    template = Template(name="card")
    fonts = [w.line.font for w in write_card(CardText("محمد علي", "Expo 展会"), template,
                                              tmp_path, "fonts")]  # fmt: skip
    assert fonts == ["Noto Sans Arabic:style=Bold", template.font]


def test_only_camera_like_streams_at_the_output_size_are_copied() -> None:
    camera = VideoInfo(1920, 1080, 25.0, "h264", 0.0, 10.0, pix_fmt="yuv420p", frames=250,
                       keyframes=(0, 50))  # fmt: skip
    assert copyable_stream(camera)
    for other in ({"codec": "hevc"}, {"pix_fmt": "yuvj420p"}, {"has_b_frames": 1},
                  {"rotation": 90}):  # fmt: skip
        assert not copyable_stream(replace(camera, **other)), other
    hd = source_file("gate", "gate.mp4", at(0), camera)
    small = source_file("hall", "hall.mp4", at(0), replace(camera, width=1280, height=720))
    assert [s.copyable for s in for_output([hd, small], 1920, 1080)] == [True, False]


def test_the_vertical_crop_keeps_the_full_height_and_even_sizes() -> None:
    def cropped(width: int, height: int) -> str:
        """The crop filter the vertical cut of a ``width`` x ``height`` camera gets."""
        rules = FramingRules((1080, 1920), fixed_size=True)
        path = follow_subject(SubjectPath({}, {"c": (width, height)}), "c", at(0), 1.0, rules)
        assert path is not None
        source = SourceFile("c", "c.mp4", at(0), 25, 25.0, (0,), False, width, height)
        stream = crop_to(ffmpeg.input("c.mp4"), path.between(at(0), 1.0), source, (1080, 1920), 25)
        return " ".join(ffmpeg.compile(stream.output("o.mp4")))

    assert "crop=h=1080:w=606:" in cropped(1920, 1080)
    assert "crop=h=720:w=404:" in cropped(1281, 721)
    assert linear_expression([(0.0, 100.0), (2.0, 300.0)]) == (
        "if(lt(t,2.000),100.0+(t-0.000)*100.0000,300.0)"
    )


def test_the_poster_is_the_middle_of_the_best_clip() -> None:
    plan = EditPlan(
        "expo", "ana",
        (PlannedClip("gate", at(0), at(4), 0.5), PlannedClip("hall", at(10), at(16), 0.9)),
        limits_of(intro_s=3, outro_s=3, transition_s=0.5),
    )  # fmt: skip
    assert plan.poster_s == pytest.approx(plan.clip_output_starts()[1] + 3.0)


# the one ffmpeg runner ----------------------------------------------------------------------


@pytest.mark.programs
def test_an_ffmpeg_run_that_stalls_fails_after_the_timeout() -> None:
    # Paced at real time, an endless test source never ends by itself.
    started = time.monotonic()
    with pytest.raises(MediaError, match=r"ffmpeg stalled \(endless\): no result in 1 s"):
        run_ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc", "-f", "null", "-"], "endless",
                   timeout_s=1)  # fmt: skip
    assert time.monotonic() - started < 10


@pytest.mark.programs
def test_a_failing_ffmpeg_says_why_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError) as failed:
        run_ffmpeg(["-i", str(broken), "-f", "null", "-"], "decode broken.mp4")
    message = str(failed.value)
    assert "\n" not in message and message.startswith("ffmpeg failed (decode broken.mp4): ")
    assert "Invalid data" in message
    with pytest.raises(MediaError, match=r"\(cannot read broken\.mp4\): .*Invalid data"):
        probe(broken)


# the stages, on the real catalog, object store, ffmpeg and models -------------------------

EVENT = "expo"


@pytest.fixture
def recognized(
    services: Services, event: GeneratedEvent, engine: FaceEngine, footage: FaceEngine,
    store: ObjectStore, photos: dict[str, SamplePhoto],
) -> tuple[list[str], str]:  # fmt: skip
    """The event's visitors enrolled, plus someone who is not in the event at all; every
    segment recognized. Returns (the event's visitors, the absent one)."""
    visitors = enroll_event_visitors(services, event, engine, name_suffix=" 访客")
    in_event = {p.identity for p in event.plan.people}
    absent = next(p for p in photos.values() if p.group_size == 1 and p.identity not in in_event)
    enroll_visitor(
        services, engine, consent=CONSENT, event_id=EVENT, display_name=absent.identity,
        photos=[absent.path.read_bytes()], visitor_id=absent.identity,
    )  # fmt: skip
    replay_event(event.directory, store, services.settings.bucket_recordings, speed=0)
    for segment in event.segments:
        recognize_segment(services, footage, segment.key)
    return visitors, absent.identity


def _frame(video: Path, at_s: float) -> np.ndarray:
    png = run_ffmpeg(
        ["-ss", f"{at_s:.3f}", "-i", str(video), "-frames:v", "1",
         "-f", "image2pipe", "-vcodec", "png", "-"],
        f"frame at {at_s:.3f} s",
    ).stdout  # fmt: skip
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def _streams(video: Path) -> dict[str, dict]:
    data = json.loads(
        run_program(
            "ffprobe",
            ["-v", "error", "-show_entries",
             "stream=codec_type,codec_name,width,height,duration,r_frame_rate:format=duration",
             "-of", "json", str(video)],
            "streams",
        ).stdout
    )  # fmt: skip
    streams = {s["codec_type"]: s for s in data["streams"]}
    streams["format"] = data["format"]
    return streams


def _sharpness(gray: np.ndarray) -> float:
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def test_a_seen_visitor_gets_a_published_highlight_and_an_unseen_one_none(
    services: Services, recognized: tuple[list[str], str], engine: FaceEngine,
    store: ObjectStore, catalog: Catalog, event: GeneratedEvent, tmp_path: Path,
) -> None:  # fmt: skip
    visitors, absent = recognized
    template = load_template()
    bucket = services.settings.bucket_highlights

    seen = plan_highlights(services, EVENT, template)

    assert seen and absent not in seen and set(seen) <= set(visitors)
    outputs = {o.visitor_id: o for o in catalog.outputs.for_event(EVENT)}
    assert outputs[absent].status == "not_seen" and outputs[absent].object_key is None
    visitor = max(
        seen, key=lambda v: sum(a.length_s for a in edit_plan(catalog, EVENT, v, template).clips)
    )
    with_vertical = load_template("default", {"vertical": True})
    output = render_highlight(services, EVENT, visitor, with_vertical)
    assert output.status == "done" and output.object_key == keys.highlight_key(EVENT, visitor)
    video = store.download_file(bucket, output.object_key, tmp_path / "highlight.mp4")
    plan = EditPlan.from_json(store.get_bytes(bucket, keys.edit_plan_key(EVENT, visitor)).decode())

    # A valid 1080p H.264/AAC file as long as its plan, that starts playing at once.
    streams = _streams(video)
    assert streams["video"]["codec_name"] == "h264"
    assert (streams["video"]["width"], streams["video"]["height"]) == (1920, 1080)
    assert streams["audio"]["codec_name"] == "aac"
    assert float(streams["format"]["duration"]) == pytest.approx(plan.duration_s, abs=0.1)
    assert output.duration_s == pytest.approx(plan.duration_s, abs=0.1)
    data = video.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat"), "no faststart"
    # The music at the template's loudness.
    assert measure_loudness(video) == pytest.approx(template.loudness_lufs, abs=1.0)

    # The visitor's face is in every clip, where the plan put it, in both versions: the
    # vertical one keeps a third of the picture, the third with the face.
    gallery = Gallery.from_enrollments(
        engine.model_pack, catalog.visitors.enrollments(EVENT, engine.model_pack)
    )
    vertical = store.download_file(bucket, keys.vertical_key(EVENT, visitor), tmp_path / "v.mp4")
    assert (_streams(vertical)["video"]["width"], _streams(vertical)["video"]["height"]) == (
        1080, 1920,
    )  # fmt: skip
    # Every clip shows the visitor: by the generated event's plan (ground truth, not a second
    # recognizer), their face is in that camera's picture through most of the clip...
    face_visible_at: list[list[bool]] = []
    for clip in plan.clips:
        start_s = (clip.start - EVENT_START).total_seconds()
        offsets = np.linspace(0.7, clip.length_s - 0.7, 5)
        states = [
            [state for state in
             face_states(event.plan, clip.camera_id, start_s + t, event.sprite_geometry)
             if state.person_id == visitor]
            for t in offsets
        ]  # fmt: skip
        assert sum(bool(own) for own in states) >= 3, (clip, states)
        face_visible_at.append([any(state.visible for state in own) for own in states])
    # ...and the rendered videos show that footage: in each clip, the faces most like the
    # visitor in the frames where their face is visible (not turned away, hidden or too
    # small, by the same ground truth) are, together, more like them than like anyone else
    # enrolled. In the other frames of a clip someone else's face may be all there is.
    template_of_visitor = gallery.templates[gallery.visitor_ids.index(visitor)]
    for version in (video, vertical):
        clips = zip(plan.clips, plan.clip_output_starts(), face_visible_at, strict=True)
        for clip, start, visible in clips:
            offsets = np.linspace(0.7, clip.length_s - 0.7, 5)
            likeliest = [
                max(faces, key=lambda face: float(face.embedding @ template_of_visitor)).embedding
                for t, seen in zip(offsets, visible, strict=True)
                if seen and (faces := engine.analyze(_frame(version, start + float(t))))
            ]
            assert likeliest, (version.name, clip)
            centroid = np.mean(likeliest, axis=0)
            nearest = gallery.visitor_ids[int(np.argmax(gallery.templates @ centroid))]
            assert nearest == visitor, (version.name, clip)

    # The intro card carries the text: sharp glyphs on a blurred still.
    intro = cv2.cvtColor(_frame(video, 1.5), cv2.COLOR_BGR2GRAY)
    title_band, empty_band = intro[380:500], intro[800:920]
    assert _sharpness(title_band) > 5 * _sharpness(empty_band)
    poster = cv2.imread(str(store.download_file(bucket, output.poster_key, tmp_path / "p.jpg")))
    assert poster.shape == (1080, 1920, 3)

    # Rendering again replaces: one row, one set of objects (no vertical version now),
    # with a thumbnail of each moment.
    render_highlight(services, EVENT, visitor, template)
    assert [o.visitor_id for o in catalog.outputs.for_event(EVENT)].count(visitor) == 1
    moments = [keys.moment_key(EVENT, visitor, i) for i in range(len(plan.clips))]
    assert sorted(o.key for o in store.list(bucket, f"{EVENT}/{visitor}.")) == sorted(
        (set(keys.highlight_keys(EVENT, visitor)) - {keys.vertical_key(EVENT, visitor)})
        | set(moments)
    )
    thumbnail = cv2.imdecode(np.frombuffer(store.get_bytes(bucket, moments[0]), np.uint8),
                             cv2.IMREAD_COLOR)  # fmt: skip
    assert thumbnail.shape == (180, 320, 3)
    published = {p.visitor_id: p for p in publish_event(services, EVENT)}
    assert published[visitor].url and published[absent].url is None
    assert catalog.events.get(EVENT).status == "done"


def test_a_render_that_fails_midway_publishes_nothing_and_loses_nothing(
    services: Services, recognized: tuple[list[str], str], store: ObjectStore,
    catalog: Catalog, tmp_path: Path,
) -> None:  # fmt: skip
    bucket = services.settings.bucket_highlights
    seen = plan_highlights(services, EVENT, load_template())
    visitor = seen[0]
    # A real failure after the pictures are encoded: the template's music file is missing.
    broken = load_template("default", {"music": str(tmp_path / "missing.m4a")})

    with pytest.raises(MediaError, match=r"missing\.m4a"):
        render_highlight(services, EVENT, visitor, broken)

    assert store.list(bucket, f"{EVENT}/{visitor}.") == []
    (failed,) = [o for o in catalog.outputs.for_event(EVENT) if o.visitor_id == visitor]
    assert failed.status == "failed" and "missing.m4a" in (failed.error or "")

    # A published video survives a failed re-render, and the row still points to it.
    good = render_highlight(services, EVENT, visitor, load_template())
    before = store.get_bytes(bucket, good.object_key)
    with pytest.raises(MediaError):
        render_highlight(services, EVENT, visitor, broken)
    assert store.get_bytes(bucket, good.object_key) == before
    (row,) = [o for o in catalog.outputs.for_event(EVENT) if o.visitor_id == visitor]
    assert row.status == "failed" and row.object_key == good.object_key

    # Forgetting the visitor withdraws the video everywhere.
    forget_visitor(services, EVENT, visitor)
    assert store.list(bucket, f"{EVENT}/{visitor}.") == []
    assert all(o.visitor_id != visitor for o in catalog.outputs.for_event(EVENT))


def test_untouched_footage_is_copied_bit_for_bit_into_a_standard_mp4(
    event: GeneratedEvent, tmp_path: Path
) -> None:
    """A clip across two segments of a 1080p camera: its stretches between keyframes are
    copied (the same pixels as the camera's), the MP4 lists the camera's and SCAS's
    parameter sets, and the whole file decodes without an error."""
    from scas_lib.highlights.render import CardText, probe_source, render

    camera = "cam1"
    own = [s for s in event.segments if s.camera_id == camera]
    sources = [
        probe_source(event.directory / s.path, camera, datetime.fromisoformat(s.start_time))
        for s in own
    ]
    assert all(s.copyable and (s.width, s.height) == (1920, 1080) for s in sources)
    start = sources[0].start
    limits = limits_of(target_length_s=30, intro_s=2, outro_s=2, transition_s=0.5)
    plan = EditPlan(
        "expo", "ana",
        (PlannedClip(camera, start + timedelta(seconds=0.7), start + timedelta(seconds=7.6), 1),),
        limits,
    )  # fmt: skip
    plan = snap_to_keyframes(plan, sources)
    template = load_template("default", {"intro_s": 2, "outro_s": 2, "transition_s": 0.5})
    result = render(
        plan, sources, template, CardText("Ana 安娜", "Expo"), CardText("谢谢", ""),
        tmp_path / "work", tmp_path / "out.mp4", tmp_path / "out.jpg",
    )  # fmt: skip

    assert result.copied_frames >= 100 and result.encoded_frames > 0
    decode = run_ffmpeg(["-i", str(result.video), "-f", "null", "-"], "decode")
    assert decode.stderr == ""
    data = result.video.read_bytes()
    avcc = data.find(b"avcC")
    assert data[avcc + 9] & 0x1F == 2, "the decoder configuration lists both SPS"
    # Every copied piece shows the camera's own pixels, frame for frame.
    copies = [p for p in assemble(plan, sources, fps=25) if isinstance(p, CopyPiece)]
    assert copies
    for piece in copies:
        middle = piece.frames // 2
        output_at = (piece.first_frame + middle + 0.5) / 25
        camera_at = (piece.source_frame + middle + 0.5) / 25
        camera_frame = _frame(Path(piece.source.path), camera_at)
        assert np.array_equal(_frame(result.video, output_at), camera_frame)


def _frame_md5s(video: Path, *, packets: bool) -> list[str]:
    """MD5 of each video frame in stream order: of its packet (stream copy) or of its
    decoded picture."""
    copy = ["-c:v", "copy"] if packets else []
    text = run_ffmpeg(
        ["-i", str(video), "-map", "0:v", *copy, "-f", "framemd5", "-"], f"MD5s of {video.name}"
    ).stdout.decode()
    return [line.split(",")[-1].strip() for line in text.splitlines() if not line.startswith("#")]


def test_a_render_holds_still_cards_copies_clip_middles_and_looks_like_its_drawing(
    event: GeneratedEvent, tmp_path: Path
) -> None:
    """What makes a render cost a fraction of a re-encode, checked on real footage: a card
    that stands still is held by skipped frames (a few bytes, the same picture), the middle
    of a clip is the camera's own packets, and every frame still looks like the timeline
    drawn without any encoding (SSIM >= 0.98; the plain veryfast re-encode is at ~0.99)."""
    from scas_lib.highlights.quality import ssim_vs_drawn
    from scas_lib.highlights.render import CardText, pieces_of, probe_source, render

    own = [s for s in event.segments if s.camera_id == "cam1"]
    sources = [
        probe_source(event.directory / s.path, "cam1", datetime.fromisoformat(s.start_time))
        for s in own
    ]
    start = sources[0].start
    changes = {"intro_s": 2, "outro_s": 2, "transition_s": 0.5}
    plan = EditPlan(
        "expo", "ana",
        (PlannedClip("cam1", start + timedelta(seconds=0.7), start + timedelta(seconds=7.6), 1),),
        limits_of(target_length_s=30, **changes),
    )  # fmt: skip
    plan = snap_to_keyframes(plan, sources)
    template = load_template("default", changes)
    texts = CardText("Ana 安娜", "Expo"), CardText("谢谢", "")
    result = render(
        plan, sources, template, *texts, tmp_path / "work", tmp_path / "out.mp4",
        tmp_path / "out.jpg",
    )  # fmt: skip

    assert run_ffmpeg(["-i", str(result.video), "-f", "null", "-"], "decode").stderr == ""
    # The decoder configuration lists the camera's, SCAS's and the held frames' picture sets.
    data = result.video.read_bytes()
    avcc = data.find(b"avcC") + 4
    position, sets = avcc + 6, data[avcc + 5] & 0x1F
    for _ in range(sets):
        position += 2 + int.from_bytes(data[position : position + 2], "big")
    assert sets == 2 and data[position] == 3
    decoded = _frame_md5s(result.video, packets=False)
    assert len(decoded) == round(plan.duration_s * 25)
    sizes = [
        int(line)
        for line in run_program(
            "ffprobe",
            ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size",
             "-of", "csv=p=0", str(result.video)],
            "packet sizes",
        ).stdout.decode().split()
    ]  # fmt: skip
    pieces = pieces_of(plan, sources, template, *texts)
    scores = ssim_vs_drawn(plan, sources, template, *texts, result.video, tmp_path / "q")
    assert min(scores) >= 0.98, f"frame {scores.index(min(scores))}: SSIM {min(scores)}"
    holds = [p for p in pieces if isinstance(p, HoldPiece)]
    assert len(holds) == 2 and result.held_frames == sum(p.frames for p in holds) >= 20
    for hold in holds:
        # The frame before the hold is the card with its text fully in; the hold repeats it.
        shown = range(hold.first_frame - 1, hold.first_frame + hold.frames)
        assert len({decoded[frame] for frame in shown}) == 1
        # ... and the drawing stands still there too (its text faded in, no fade out yet).
        assert len({scores[frame] for frame in shown}) == 1
        assert max(sizes[frame] for frame in shown[1:]) < 100 < sizes[shown[0]]
    camera_packets = {
        Path(s.path): _frame_md5s(Path(s.path), packets=True) for s in sources
    }  # fmt: skip
    output_packets = _frame_md5s(result.video, packets=True)
    copies = [p for p in pieces if isinstance(p, CopyPiece)]
    assert copies
    for piece in copies:
        # After the keyframe (which carries the parameter sets in front): the same bytes.
        out = output_packets[piece.first_frame + 1 : piece.first_frame + piece.frames]
        own_packets = camera_packets[Path(piece.source.path)]
        assert out == own_packets[piece.source_frame + 1 : piece.source_frame + piece.frames]
    copied = [scores[p.first_frame + k] for p in copies for k in range(p.frames)]
    assert min(copied) >= 0.999


def test_a_cut_a_hair_before_a_segment_boundary_renders(
    event: GeneratedEvent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clip ends half a frame into the next segment and is not snapped: the sliver is
    covered by a held frame (it once stalled ffmpeg's graph, with the outro's still)."""
    from scas_lib.highlights.render import CardText, probe_source, render

    own = [s for s in event.segments if s.camera_id == "cam1"]
    sources = [
        probe_source(event.directory / s.path, "cam1", datetime.fromisoformat(s.start_time))
        for s in own
    ]
    boundary = sources[1].start
    clip = PlannedClip(
        "cam1", boundary - timedelta(seconds=3.5), boundary + timedelta(seconds=0.02), 1
    )
    plan = EditPlan("expo", "ana", (clip,), limits_of(intro_s=2, outro_s=2, transition_s=0.5))
    template = load_template("default", {"intro_s": 2, "outro_s": 2, "transition_s": 0.5})
    monkeypatch.setattr(runner, "TIMEOUT_S", 120.0)  # a stall fails, not hangs

    result = render(
        plan, sources, template, CardText("Ana", "Expo"), CardText("Bye", ""),
        tmp_path / "work", tmp_path / "out.mp4", tmp_path / "out.jpg",
    )  # fmt: skip

    assert float(_streams(result.video)["format"]["duration"]) == pytest.approx(
        plan.duration_s, abs=0.1
    )


def test_a_visitor_forgotten_during_their_render_gets_no_video(
    services: Services, recognized: tuple[list[str], str], store: ObjectStore,
    catalog: Catalog, tmp_path: Path,
) -> None:  # fmt: skip
    """The forget comes from elsewhere (the kiosk's machine: another data dir, so the
    render's scratch folder is untouched) while the render runs in another thread."""
    bucket = services.settings.bucket_highlights
    visitor = plan_highlights(services, EVENT, load_template())[0]
    worker = replace(services, settings=services.settings.model_copy(
        update={"data_dir": tmp_path / "worker"}))  # fmt: skip
    results: list[object] = []
    thread = threading.Thread(
        target=lambda: results.append(render_highlight(worker, EVENT, visitor, load_template()))
    )
    thread.start()
    scratch = tmp_path / "worker" / "tmp"
    deadline = time.monotonic() + 60
    while not list(scratch.glob(f"{render_prefix(EVENT, visitor)}*/render")):  # ffmpeg is at work
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)

    forget_visitor(services, EVENT, visitor)
    thread.join(timeout=300)

    (output,) = results
    assert output.status == "forgotten"
    assert store.list(bucket, f"{EVENT}/{visitor}.") == []
    assert all(o.visitor_id != visitor for o in catalog.outputs.for_event(EVENT))
    assert list(scratch.iterdir()) == []


def test_footage_with_a_recorded_streams_jittery_timestamps_renders_at_the_templates_rate(
    event: GeneratedEvent, tmp_path: Path
) -> None:
    """A camera recorded from RTSP stamps frames as they arrived, not every 1/25 s. In the
    soak (benchmarks/soak.py, 2026-12-07) one visitor's render of such 720p recordings made
    an MP4 whose video lasted 0.6 ms at "1,200,000 fps": x264 had taken the rate of the
    frames' time base, and the poster at 15 s was never written. The encoder now gets one
    frame every 1/fps, declared as 25 fps. This footage (jitter, a fast clock, 720p) did not
    bring the old code down here; it holds the rate and the length on footage like it."""
    from scas_lib.highlights.render import CardText, probe_source, render

    own = [s for s in event.segments if s.camera_id == "cam1"][:2]
    # Frames late by 0 to 2 ticks in turn (25 fps on average: used as they are), then a
    # clock a little fast (25.002 fps: converted to 25), as two segments of the soak were.
    timings = ("N*512+mod(N\\,3)*20", "floor(N*511.95)")
    sources = []
    for segment, timing in zip(own, timings, strict=True):
        jittery = tmp_path / Path(segment.path).name
        run_ffmpeg(
            ["-i", str(event.directory / segment.path), "-an", "-vf", "scale=1280:720",
             "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-bf", "0",
             "-bsf:v", f"setts=ts={timing}:time_base=1/12800", str(jittery)],
            "a camera's jittery recording",
        )  # fmt: skip
        sources.append(probe_source(jittery, "cam1", datetime.fromisoformat(segment.start_time)))
    assert abs(sources[0].fps - 25) < 1e-3 < abs(sources[1].fps - 25)
    start = sources[0].start
    clip = PlannedClip("cam1", start + timedelta(seconds=2), start + timedelta(seconds=14), 1)
    plan = EditPlan("expo", "ana", (clip,), limits_of(intro_s=2, outro_s=2, transition_s=0.5))
    template = load_template("default", {"intro_s": 2, "outro_s": 2, "transition_s": 0.5,
                                         "copy_unchanged_footage": False})  # fmt: skip

    result = render(
        plan, sources, template, CardText("Ana", "Expo"), CardText("Bye", ""),
        tmp_path / "work", tmp_path / "out.mp4", tmp_path / "out.jpg", with_moments=False,
    )  # fmt: skip

    video = _streams(result.video)["video"]
    assert video["r_frame_rate"] == f"{template.fps}/1"
    assert float(video["duration"]) == pytest.approx(plan.duration_s, abs=0.1)
    assert result.poster.is_file()


def test_a_cut_moved_onto_a_beat_never_leaves_the_footage_fetched_for_it() -> None:
    """A clip is lengthened onto the beat after its cut only inside its segments: the
    render has no frames past them (a benchmark's render failed so, 86 frames of 93)."""
    template = Template(name="test")
    gate, hall = source("gate", 0, frames=100), source("hall", 0, frames=250)
    moved = 0
    for tenths in range(20, 40):  # the first clip's end, every 0.1 s up to its segment's end
        end = at(tenths / 10)
        plan = EditPlan(
            "expo", "ana",
            (PlannedClip("gate", at(0.5), end, 1), PlannedClip("hall", at(2), at(6), 1)),
            PlanLimits.of(template),
        )  # fmt: skip
        timed = timed_plan(plan, [gate, hall], template, None)
        first = timed.clips[0]
        assert gate.start <= first.start and first.end <= gate.end, (tenths, first)
        moved += first.end != end
    assert moved, "no cut was moved onto a beat: the test shows nothing"
