"""Segment recognition on generated footage with real faces, the real catalog and S3."""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import psycopg2
import pytest

from scas_lib.catalog import Catalog, Enrollment
from scas_lib.errors import is_transient
from scas_lib.events import EventConfig
from scas_lib.faces import FaceEngine, Gallery
from scas_lib.faces.detection import input_size_for
from scas_lib.faces.pack import Thresholds
from scas_lib.media.decode import DecodeError, sample_frames
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.recognition import search
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.headcount import AT_ONCE_S, GrowingHeadcount, Headcount, count_people
from scas_lib.recognition.identity import (
    attributed_runs,
    decide_identity,
    looks_like_a_visitor,
    resolve_conflicts,
)
from scas_lib.recognition.pipeline import recognize_video
from scas_lib.recognition.stage import PeopleSeenCounter, people_seen, recognize_segment
from scas_lib.recognition.tracking import FaceTracker, iou
from scas_lib.run import parameters, recognition, records, waves
from scas_lib.services.runtime import Services
from scas_lib.simulation.generate import GeneratedEvent, SegmentRecord
from scas_lib.simulation.people import SourcePhoto
from scas_lib.simulation.replay import replay_event
from scas_lib.simulation.scene import face_states
from scas_lib.simulation.truth import person_at
from scas_lib.storage import ObjectStore, keys
from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity

from .conftest import EVENT_CONFIG, EVENT_START, enroll_event_visitors


def _gallery(event: GeneratedEvent, engine: FaceEngine) -> Gallery:
    enrollments = []
    for person in event.plan.people:
        if person.role != "visitor":
            continue
        photo = cv2.imread(str(event.directory / "enrollments" / person.id / "0.jpg"))
        (face,) = engine.analyze(photo)
        embedding = tuple(float(v) for v in face.embedding)
        enrollments.append(
            Enrollment("expo", person.id, "0.jpg", engine.model_pack, embedding, 1.0)
        )
    return Gallery.from_enrollments(engine.model_pack, enrollments)


def _seconds(moment) -> float:
    return (moment - EVENT_START).total_seconds()


# tracking and identity (pure) -------------------------------------------------------------


def test_two_faces_crossing_keep_their_tracks() -> None:
    tracker = FaceTracker()
    for step in range(10):
        t = step * 0.2
        left = (100 + 40 * step, 300, 160 + 40 * step, 370)  # walking right
        right = (900 - 40 * step, 310, 960 - 40 * step, 380)  # walking left
        # The quality tells the two faces apart in the result.
        tracker.update(t, [FaceSample(t, left, 0.9, 0.1), FaceSample(t, right, 0.9, 0.2)])
    tracks = tracker.finish()
    assert [{sample.quality for sample in samples} for samples in tracks] == [{0.1}, {0.2}]


def test_a_face_hidden_for_a_moment_keeps_its_track_but_not_for_long() -> None:
    tracker = FaceTracker()
    times = [0.0, 0.2, 0.4, 1.2, 1.4, 4.0]  # hidden 0.8 s, then gone 2.6 s
    for t in times:
        tracker.update(t, [FaceSample(t, (100, 100, 150, 160), 0.9)])
    assert [len(samples) for samples in tracker.finish()] == [5, 1]


def test_weak_detections_extend_tracks_but_never_start_them() -> None:
    tracker = FaceTracker()
    tracker.update(0.0, [FaceSample(0.0, (100, 100, 150, 160), 0.9)])
    tracker.update(0.2, [FaceSample(0.2, (105, 100, 155, 160), 0.3)])
    tracker.update(0.4, [FaceSample(0.4, (600, 100, 650, 160), 0.3)])
    assert [len(samples) for samples in tracker.finish()] == [2]


def test_identity_comes_from_the_mean_face_unless_a_face_picks_someone_else(
    engine: FaceEngine, event: GeneratedEvent
) -> None:
    gallery = _gallery(event, engine)
    thresholds = engine.pack.manifest.thresholds
    ana, bo = gallery.templates[0], gallery.templates[1]
    noise = np.random.default_rng(0).normal(size=ana.shape).astype(np.float32)
    noise /= np.linalg.norm(noise)
    blurred = ana * 0.45 + noise * 0.9  # alone, too far from anyone
    blurred /= np.linalg.norm(blurred)

    steady = decide_identity(np.stack([ana, ana, blurred]), gallery, thresholds)
    assert steady.visitor_id == gallery.visitor_ids[0] and steady.votes == 2
    mixed = decide_identity(np.stack([ana, ana, bo]), gallery, thresholds)
    assert mixed.visitor_id is None  # one face picked another visitor: two people?
    stranger = decide_identity(np.stack([noise, blurred]), gallery, thresholds)
    assert stranger.visitor_id is None


def test_evidence_accumulates_over_a_tracks_faces(
    engine: FaceEngine, event: GeneratedEvent
) -> None:
    gallery = _gallery(event, engine)
    thresholds = Thresholds(
        match=0.48, margin=0.05, calibrated=True, track_match=0.41, track_min_faces=3
    )
    ana = gallery.templates[0]
    noise = np.random.default_rng(1).normal(size=ana.shape).astype(np.float32)
    basis, _ = np.linalg.qr(gallery.templates.T)
    noise -= basis @ (basis.T @ noise)  # unlike every visitor

    def face(similarity: float) -> np.ndarray:
        direction = noise / np.linalg.norm(noise)
        return similarity * ana + np.sqrt(1 - similarity**2) * direction

    assert decide_identity(np.stack([face(0.44)] * 2), gallery, thresholds).visitor_id is None
    three = decide_identity(np.stack([face(0.44)] * 3), gallery, thresholds)
    assert three.visitor_id == gallery.visitor_ids[0] and three.faces == 3
    weak = decide_identity(np.stack([face(0.38)] * 6), gallery, thresholds)
    assert weak.visitor_id is None  # below the track threshold, however many faces


def test_only_a_track_that_looks_like_a_visitor_is_worth_more_evidence(
    engine: FaceEngine, event: GeneratedEvent, source_photos: list[SourcePhoto]
) -> None:
    """The photos the footage shows of each visitor look like their kiosk photo; those of
    the strangers look like no visitor, so a stranger's track is decided on its best faces
    alone."""
    gallery = _gallery(event, engine)
    thresholds = engine.pack.manifest.thresholds
    paths = {photo.name: photo.path for photo in source_photos}
    portraits = {path for path, n in Counter(paths.values()).items() if n == 1}
    checked: Counter[str] = Counter()
    for person in event.plan.people:
        own = [paths[photo.name] for photo in person.footage_photos]
        if not set(own) <= portraits:
            continue  # a face of a group photo: which one is the generator's business
        embeddings = np.stack([engine.analyze(cv2.imread(str(path)))[0].embedding for path in own])
        checked[person.role] += 1
        worth = looks_like_a_visitor(embeddings, gallery, thresholds)
        assert worth == (person.role == "visitor"), person.id
    assert checked["visitor"] and checked["stranger"], checked


def test_a_label_covers_only_the_time_its_faces_support() -> None:
    faces = [FaceSample(t / 5, (0, 0, 50, 60), 0.9) for t in range(15)]
    runs = attributed_runs(faces, {0: True, 7: False, 14: True})
    assert [(len(run), covered) for run, covered in runs] == [(4, True), (7, False), (4, True)]
    assert attributed_runs(faces, {}) == [(tuple(faces), True)]


def test_two_tracks_sharing_a_frame_are_never_the_same_visitor() -> None:
    zero = np.zeros(2)
    identities = [
        TrackIdentity("ana", 0.6, zero),
        TrackIdentity("ana", 0.9, zero),
        TrackIdentity("ana", 0.7, zero),
    ]
    times = [{0.0, 0.2}, {0.2, 0.4}, {5.0}]
    assert [i.visitor_id for i in resolve_conflicts(times, identities)] == [None, "ana", "ana"]


def _greedy_headcount(tracks: list[FaceTrack], same_person: float) -> int:
    """The grouping rule of :mod:`scas_lib.recognition.headcount` in its plainest form:
    each visitor's tracks one group, then every pair of tracks, most alike first, groups
    joined unless both have a visitor or two of their tracks were in front of one camera
    together for longer than ``AT_ONCE_S``. Slow (every pair, in Python) and plainly
    right. The groups without a visitor."""
    vectors = np.stack([t.identity.centroid for t in tracks])
    similarities = vectors @ vectors.T
    group = [t.visitor_id or index for index, t in enumerate(tracks)]
    every_pair = itertools.combinations(range(len(tracks)), 2)
    pairs = sorted(((float(similarities[a, b]), a, b) for a, b in every_pair), reverse=True)

    def together_s(one: FaceTrack, other: FaceTrack) -> float:
        return (
            min(one.end_time, other.end_time) - max(one.start_time, other.start_time)
        ).total_seconds()

    for similarity, a, b in pairs:
        if similarity < same_person or group[a] == group[b]:
            continue
        left = [i for i, g in enumerate(group) if g == group[a]]
        right = [i for i, g in enumerate(group) if g == group[b]]
        if isinstance(group[a], str) and isinstance(group[b], str):
            continue  # two visitors
        if any(
            tracks[i].camera_id == tracks[j].camera_id
            and together_s(tracks[i], tracks[j]) > AT_ONCE_S
            for i in left
            for j in right
        ):
            continue
        joined, kept = (group[a], group[b]) if isinstance(group[a], int) else (group[b], group[a])
        group = [kept if g == joined else g for g in group]
    return sum(isinstance(g, int) for g in set(group))


def _crowd_tracks() -> list[FaceTrack]:
    """400 tracks of 50 people on 3 cameras within 2 minutes, some of 5 visitors
    recognised: many pairs alike and many at once."""
    rng = np.random.default_rng(7)
    people = rng.normal(size=(50, 64))
    tracks = []
    for index in range(400):
        person = int(rng.integers(50))
        face = people[person] + rng.normal(scale=0.09, size=64)
        start = float(rng.uniform(0, 120))
        samples = tuple(
            FaceSample(start + t, (0, 0, 50, 60), 0.9, 0.8) for t in (0.0, rng.uniform(1, 6))
        )
        visitor = f"visitor-{person}" if person < 5 and rng.random() < 0.5 else None
        identity = TrackIdentity(visitor, 0.2, (face / np.linalg.norm(face)).astype(np.float32))
        camera = f"cam{rng.integers(3)}"
        tracks.append(
            FaceTrack(camera, EVENT_START, index, samples, (1920, 1080), "default", identity)
        )
    return tracks


def test_the_headcount_groups_faces_as_the_plain_pairwise_rule_does() -> None:
    # 400 tracks of 50 people on 3 cameras within 2 minutes, some of 5 visitors recognised:
    # many pairs alike and many at once, so groups are joined, kept apart, and kept apart
    # again as they grow, and unrecognised tracks join their visitor.
    tracks = _crowd_tracks()
    visitors = {t.visitor_id for t in tracks if t.visitor_id}
    ana = dataclasses.replace(tracks[0], identity=TrackIdentity("ana", 0.7, None))

    counted = count_people([*tracks, ana], 0.48)

    expected = _greedy_headcount(tracks, 0.48)
    assert counted == Headcount(len(visitors) + 1, expected)
    assert 50 < expected < 300  # some kept apart, most joined: the rule was exercised
    # The unrecognised tracks of a visitor are theirs: without the visitors, more others.
    unknown = [
        dataclasses.replace(t, identity=TrackIdentity(None, 0.2, t.identity.centroid))
        for t in tracks
    ]
    assert count_people(unknown, 0.48).others > expected


def test_a_growing_headcount_counts_as_a_whole_count_comparing_only_new_tracks() -> None:
    tracks = sorted(_crowd_tracks(), key=lambda t: t.start_time)  # as recognition adds them
    counter = GrowingHeadcount(0.48)
    given: dict[int, FaceTrack] = {}
    for step, first in enumerate(range(0, len(tracks), 50)):
        given.update(enumerate(tracks[first : first + 50], start=first))
        if step == 3:  # a visitor deleted, one bystander's embedding cleared by retention
            for key in [k for k, t in given.items() if t.visitor_id == "visitor-0"]:
                del given[key]
            given[first] = dataclasses.replace(
                given[first], identity=TrackIdentity(None, 0.2, None)
            )
        assert counter.count(given) == count_people(list(given.values()), 0.48), step
    # Each track compared once with those there at its count, not every pair at every count.
    assert counter.compared < len(tracks) ** 2 * 0.6
    # One more face of one person: only that person's tracks grouped again, not the crowd.
    person = [t for t in given.values() if t.visitor_id == "visitor-1"]
    again = dataclasses.replace(person[0])  # (another object: a track of its own)
    grouped = counter.regrouped
    given[len(tracks)] = again
    assert counter.count(given) == count_people(list(given.values()), 0.48)
    assert len(person) < counter.regrouped - grouped < len(given) / 10


# decoding ---------------------------------------------------------------------------------


def _first_segment(event: GeneratedEvent) -> SegmentRecord:
    return next(s for s in event.segments if s.camera_id == "cam1")


def test_frames_are_sampled_on_the_segments_own_clock(event: GeneratedEvent) -> None:
    frames = list(sample_frames(event.directory / _first_segment(event).path, fps=5))
    offsets = [round(f.offset_s, 2) for f in frames]
    assert offsets[:4] == [0.0, 0.2, 0.4, 0.6]  # not the stream's non-zero start time
    assert len(frames) == EVENT_CONFIG.segment_s * 5


@pytest.mark.parametrize(
    ("suffix", "codec"), [(".mkv", "libx265"), (".ts", "libx264"), (".mp4", "libx265")]
)
def test_other_containers_and_codecs(
    event: GeneratedEvent, tmp_path: Path, suffix: str, codec: str
) -> None:
    target = tmp_path / f"segment{suffix}"
    run_ffmpeg(
        ["-i", str(event.directory / _first_segment(event).path),
         "-c:v", codec, "-preset", "ultrafast", "-x265-params", "log-level=error", str(target)],
        f"re-encode as {target.name}",
    )  # fmt: skip
    frames = list(sample_frames(target, fps=5))
    assert len(frames) == EVENT_CONFIG.segment_s * 5
    assert frames[0].image.shape == (1080, 1920, 3)


def test_rotation_metadata_is_applied(event: GeneratedEvent, tmp_path: Path) -> None:
    """A phone-style rotation tag turns the frames the way ffmpeg itself shows them."""
    rotated = tmp_path / "portrait.mp4"
    run_ffmpeg(
        ["-i", str(event.directory / _first_segment(event).path),
         "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated)],
        "tag a rotation",
    )  # fmt: skip
    shown = run_ffmpeg(
        ["-i", str(rotated), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "bgr24", "-"],
        "first frame",
    ).stdout
    frame = next(iter(sample_frames(rotated, fps=5)))
    assert frame.image.shape == (1920, 1080, 3)
    expected = np.frombuffer(shown, np.uint8).reshape(1920, 1080, 3)
    assert np.abs(frame.image.astype(int) - expected.astype(int)).mean() < 1


def test_variable_frame_rate_is_sampled_by_time(event: GeneratedEvent, tmp_path: Path) -> None:
    uneven = tmp_path / "vfr.mp4"
    # Drop three frames of every four in the first two seconds: 6.25 fps there, 25 after.
    run_ffmpeg(
        ["-i", str(event.directory / _first_segment(event).path),
         "-vf", "select='gte(t,2)+not(mod(n,4))'", "-fps_mode", "vfr", "-c:v", "libx264",
         "-preset", "ultrafast", str(uneven)],
        "drop frames",
    )  # fmt: skip
    offsets = np.array([f.offset_s for f in sample_frames(uneven, fps=5)])
    gaps = np.diff(offsets)
    # Every 5th frame would leave 0.64 s holes where frames are sparse; by time, a sample is
    # at most one sparse frame (0.16 s) late, and exactly 0.2 s apart where frames are dense.
    assert gaps.max() <= 0.2 + 0.16 + 1e-6
    assert np.allclose(gaps[offsets[1:] > 2.2], 0.2)
    assert abs(len(offsets) - EVENT_CONFIG.segment_s * 5) <= 2


def test_an_odd_frame_size_decodes(event: GeneratedEvent, tmp_path: Path) -> None:
    odd = tmp_path / "odd.mp4"
    run_ffmpeg(
        ["-i", str(event.directory / _first_segment(event).path),
         "-vf", "scale=998:562", "-c:v", "libx264", "-preset", "ultrafast", str(odd)],
        "odd size",
    )  # fmt: skip
    assert next(iter(sample_frames(odd))).image.shape == (562, 998, 3)


def test_a_truncated_segment_yields_its_frames_then_says_where_it_stopped(
    event: GeneratedEvent, tmp_path: Path
) -> None:
    source = (event.directory / _first_segment(event).path).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(source[: len(source) // 2])
    frames = []
    with pytest.raises(DecodeError, match=r"truncated|damaged"):
        for frame in sample_frames(cut, fps=5):
            frames.append(frame)
    assert 0 < len(frames) < EVENT_CONFIG.segment_s * 5


def test_a_file_that_is_no_video_fails_clearly(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 5000)
    with pytest.raises(DecodeError, match=r"junk\.mp4"):
        list(sample_frames(junk))


# recognition on generated footage ---------------------------------------------------------


def test_searching_near_the_tracks_finds_the_faces_that_extend_them(
    event: GeneratedEvent, footage: FaceEngine
) -> None:
    """Between whole-frame searches the pipeline looks only where the tracker would match a
    face (search.near over FaceTracker.search_areas): there it must find what searching
    the whole frame finds, at the same place, but for a few detections near the detector's
    threshold, which it scores differently in a crop: 95.5% found here, 98% on the
    throughput benchmark's clip (docs/benchmarks-history.md), whose accuracy did not change."""
    compared = found_near = 0
    for segment in event.segments:
        tracker = FaceTracker()
        for frame in sample_frames(event.directory / segment.path, fps=5):
            height, width = frame.image.shape[:2]
            size = input_size_for(width, height, RecognitionConfig().detector_long_side)
            whole = search.whole_frame(footage.detector, frame.image, size)
            areas = tracker.search_areas(frame.offset_s)
            near = search.near(
                footage.detector, frame.image, areas, search.input_scale(frame.image, size)
            )
            assert all(_inside(found, areas) for found in near)
            for found in whole:
                if _inside(found, areas) and found.detection.height >= 27:
                    compared += 1
                    best = max((iou(_box(found), _box(other)) for other in near), default=0.0)
                    found_near += best >= search.SAME_FACE_IOU
            tracker.update(frame.offset_s, [
                FaceSample(frame.offset_s, _box(f), f.detection.score) for f in whole
            ])  # fmt: skip
    assert compared >= 50
    assert found_near >= 0.93 * compared


def test_a_face_found_in_two_overlapping_areas_is_kept_once(
    event: GeneratedEvent, footage: FaceEngine
) -> None:
    frame = next(
        frame
        for frame in sample_frames(event.directory / _first_segment(event).path, fps=5)
        if search.whole_frame(footage.detector, frame.image, (960, 544))
    )
    (first, *_) = search.whole_frame(footage.detector, frame.image, (960, 544))
    x1, y1, x2, y2 = _box(first)
    side = 3 * (x2 - x1)
    areas = [(x1 - side, y1 - side, x2 + side, y2 + side), (x1 - side / 2, y1, x2 + side, y2)]
    found = search.near(footage.detector, frame.image, areas, 0.5)
    assert sum(iou(_box(f), _box(first)) > 0.5 for f in found) == 1


def test_groups_without_a_face_are_not_decoded_and_a_face_between_keyframes_is_still_seen(
    event: GeneratedEvent, footage: FaceEngine, tmp_path: Path
) -> None:
    """3 s of a scene without faces, then a segment with faces, in 2 s groups of pictures:
    keyframes at 0, 2, 4 and 6 s. The first group is skipped (no face at 0 or 2 s); the
    second too at first, then decoded after all when the keyframe at 4 s shows faces, so
    the faces are seen from 3 s, where they come in, as when every frame is decoded."""
    segment = event.directory / _first_segment(event).path
    clip = tmp_path / "empty-then-faces.mp4"
    run_ffmpeg(
        ["-i", str(segment), "-filter_complex",
         "[0:v]trim=end=0.04,boxblur=60:4,loop=74:1,setpts=N/25/TB[empty];"
         "[empty][0:v]concat=n=2:v=1[v]",
         "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast",
         "-x264-params", "keyint=50:min-keyint=50:scenecut=0", str(clip)],
        "an empty scene, then faces",
    )  # fmt: skip
    size = (960, 544)
    keyframes = {round(f.offset_s, 1): f for f in sample_frames(clip, fps=5)}
    faces_at = {t: bool(search.whole_frame(footage.detector, keyframes[t].image, size))
                for t in (0.0, 2.0, 4.0)}  # fmt: skip
    assert faces_at == {0.0: False, 2.0: False, 4.0: True}  # the premise
    gallery = Gallery(footage.model_pack, (), np.zeros((0, 128), np.float32))

    def recognized(skipping: bool):  # type: ignore[no-untyped-def]
        config = RecognitionConfig(keyframes_when_idle=skipping)
        return recognize_video(clip, "cam1", EVENT_START, footage, gallery,
                               footage.pack.manifest.thresholds, config)  # fmt: skip

    skipped, decoded = recognized(True), recognized(False)
    total = (3 + EVENT_CONFIG.segment_s) * 25
    assert decoded.frames_decoded == total
    assert skipped.frames_decoded == total - 50 + 3  # the first group bar its keyframe seen
    assert skipped.decoded_s == decoded.decoded_s == pytest.approx(total / 25 - 0.2, abs=0.05)
    # Seen before the keyframe that showed them, as soon as with every frame decoded.
    first_seen = min(t.samples[0].offset_s for t in skipped.tracks)
    assert 3.0 <= first_seen < 4.0
    assert first_seen == min(t.samples[0].offset_s for t in decoded.tracks)
    paths = {(t.samples[0].offset_s, len(t.samples)) for t in decoded.tracks}
    assert {(t.samples[0].offset_s, len(t.samples)) for t in skipped.tracks} == paths


def _box(found: search.Found) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in found.detection.box)
    return (x1, y1, x2, y2)


def _inside(found: search.Found, areas: list) -> bool:
    cx, cy = (found.detection.box[:2] + found.detection.box[2:]) / 2
    return any(x1 <= cx <= x2 and y1 <= cy <= y2 for x1, y1, x2, y2 in areas)


@pytest.fixture(scope="module")
def recognized(event: GeneratedEvent, engine: FaceEngine, footage: FaceEngine) -> dict[str, list]:
    gallery = _gallery(event, engine)
    thresholds = engine.pack.manifest.thresholds
    results = {}
    for segment in event.segments:
        start = datetime.fromisoformat(segment.start_time)
        results[segment.key] = (
            segment,
            recognize_video(
                event.directory / segment.path,
                segment.camera_id,
                start,
                footage,
                gallery,
                thresholds,
            ),
        )
    return results


def test_enrolled_visitors_are_found_at_the_right_times(
    event: GeneratedEvent, recognized: dict
) -> None:
    """Every stretch of at least 1.5 s in which the truth shows a visitor's face at least
    60 px high is covered, from its start to its end within 0.5 s, by tracks identified as
    that visitor. (Smaller faces are found less reliably; benchmarks/accuracy.py measures
    how much less, over whole events.)"""
    visitors = {p.id for p in event.plan.people if p.role == "visitor"}
    checked = 0
    for segment, result in recognized.values():
        seg_start = _seconds(datetime_of(segment))
        seg_end = seg_start + EVENT_CONFIG.segment_s
        for visitor in visitors:
            spans = [
                (_seconds(t.start_time), _seconds(t.end_time))
                for t in result.tracks
                if t.visitor_id == visitor
            ]
            for start, end in event.truth.get(visitor, {}).get(segment.camera_id, []):
                start, end = max(start, seg_start), min(end, seg_end - 0.2)
                if end - start < 1.5 or _face_height(event, visitor, segment.camera_id, start) < 60:
                    continue
                checked += 1
                assert any(s <= start + 0.5 and e >= start for s, e in spans), (
                    visitor,
                    segment.key,
                    start,
                )
                assert any(s <= end and e >= end - 0.5 for s, e in spans), (
                    visitor,
                    segment.key,
                    end,
                )
    assert checked >= 2


def test_the_people_counted_are_the_people_the_plan_put_in_the_footage(
    event: GeneratedEvent, recognized: dict, engine: FaceEngine
) -> None:
    """The headcount of the whole event is one per planned person with a face clear
    enough to compare, however many cameras and tracks they were on: the background
    video's far-off passers-by, faces too poor to compare, count as no one, and a visitor's
    track that was not recognised is not one more person."""
    tracks = [track for _segment, result in recognized.values() for track in result.tracks]
    same_person = engine.pack.manifest.thresholds.match
    floor = RecognitionConfig().probe_min_quality
    counted = count_people(tracks, same_person, min_quality=floor)
    clear = [t for t in tracks if t.visitor_id is not None or t.quality >= floor]
    # Whose each clear track is, by the plan (None: a face the plan did not put there).
    owners = {_planned_person(event, track) for track in clear}
    assert counted.people == len(owners - {None})
    present = sum(any(cameras.values()) for cameras in event.presence.values())
    assert counted.people <= present
    # Every face counted, however poor, would make more people than there were.
    assert count_people(tracks, same_person).people > present


def _planned_person(event: GeneratedEvent, track: FaceTrack) -> str | None:
    """The person the plan put at most of the track's faces."""
    people = Counter(
        person_at(
            event.plan,
            track.camera_id,
            _seconds(track.time_of(sample)),
            sample.box,
            event.sprite_geometry,
        )
        for sample in track.samples
    )
    return people.most_common(1)[0][0]


def _face_height(event: GeneratedEvent, person: str, camera: str, t: float) -> float:
    states = face_states(event.plan, camera, t, event.sprite_geometry)
    return next(state.height for state in states if state.person_id == person)


def datetime_of(segment: SegmentRecord) -> datetime:
    return datetime.fromisoformat(segment.start_time)


def test_no_stranger_is_labelled(event: GeneratedEvent, recognized: dict) -> None:
    """The best face of every identified track is that visitor's face, in the box the truth
    gives for them at that moment."""
    identified = 0
    for segment, result in recognized.values():
        for track in result.tracks:
            if track.visitor_id is None:
                continue
            identified += 1
            best = track.best_sample
            t = _seconds(track.time_of(best))
            states = face_states(event.plan, segment.camera_id, t, event.sprite_geometry)
            matching = [state.person_id for state in states if iou(state.box, best.box) > 0.3]
            assert matching == [track.visitor_id], (track, segment.key)
    assert identified > 0


# the stage, on the real catalog and object store ------------------------------------------


def test_recognizing_a_segment_twice_leaves_one_set_of_rows(
    services: Services,
    event: GeneratedEvent,
    recognized: dict,
    engine: FaceEngine,
    footage: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
) -> None:
    enroll_event_visitors(services, event, engine)
    replay_event(event.directory, store, services.settings.bucket_recordings, speed=0)
    key = _first_segment(event).key

    first = recognize_segment(services, footage, key)
    second = recognize_segment(services, footage, key)

    assert first.status == second.status == "done"
    assert first.segment_id == second.segment_id and first.tracks == second.tracks
    stored = catalog.tracks.of_segment(first.segment_id)
    assert len(stored) == first.tracks
    # The catalog gives back the face tracks the pipeline found, face path and all.
    found = recognized[key][1].tracks
    assert [(t.camera_id, t.index, t.samples, t.frame_size) for t in stored] == [
        (t.camera_id, t.index, t.samples, t.frame_size) for t in found
    ]
    assert [t.visitor_id for t in stored] == [t.visitor_id for t in found]
    # Similarities are stored as PostgreSQL real (float32).
    assert [t.similarity for t in stored] == pytest.approx([t.similarity for t in found], abs=1e-6)
    assert all(t.start_time.tzinfo is not None and t.frame_size[0] > 0 for t in stored)
    (segment,) = catalog.segments.for_event("expo")
    assert segment.attempts == 2
    assert segment.start_time == datetime_of(_first_segment(event))
    # The people seen are counted from the catalog: the visitors recognised once each, and
    # the others by their faces, but only while their embeddings are kept.
    counted = people_seen(services, "expo")
    assert counted == count_people(
        found, engine.pack.manifest.thresholds.match,
        min_quality=RecognitionConfig().probe_min_quality,
    )  # fmt: skip
    assert counted.enrolled_seen == len({t.visitor_id for t in found if t.visitor_id})
    assert counted.others >= 1
    # It reads only each track's first, best and last face: its camera, times and quality
    # all the same.
    whole, ends = (
        catalog.tracks.for_event("expo"),
        catalog.tracks.for_event("expo", ends_only=True),
    )
    assert max(len(t.samples) for t in whole) > 3 >= max(len(t.samples) for t in ends)
    assert [(t.camera_id, t.start_time, t.end_time, t.visitor_id, t.quality) for t in ends] == [
        (t.camera_id, t.start_time, t.end_time, t.visitor_id, t.quality) for t in whole
    ]
    # The console's counter counts again only when the tracks changed.
    console = PeopleSeenCounter(spacing=0)
    assert [console(services, "expo") for _ in range(3)] == [counted] * 3
    assert console.recounts == 1
    catalog.tracks.forget_embeddings("expo", bystanders_only=True)
    assert people_seen(services, "expo") == Headcount(counted.enrolled_seen, 0)
    with console._lock:  # another ask is counting: this one gets the last count at once
        assert console(services, "expo") == counted
    assert console(services, "expo") == Headcount(counted.enrolled_seen, 0)
    assert console.recounts == 2


def test_a_corrupt_segment_fails_cleanly_and_names_the_reason(
    services: Services,
    event: GeneratedEvent,
    footage: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
    tmp_path: Path,
) -> None:
    replay_event(event.directory, store, services.settings.bucket_recordings, speed=0)
    good, bad = [s for s in event.segments if s.camera_id == "cam2"][:2]
    data = (event.directory / bad.path).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 5])
    store.put_file(
        services.settings.bucket_recordings,
        bad.key,
        cut,
        metadata={"camera": "cam2", "start-time": bad.start_time},
    )

    broken = recognize_segment(services, footage, bad.key)
    fine = recognize_segment(services, footage, good.key)

    assert broken.status == "failed" and "truncated" in (broken.error or "")
    assert fine.status == "done"
    failed = {s.object_key: s for s in catalog.segments.for_event("expo", status="failed")}
    assert set(failed) == {bad.key} and "truncated" in (failed[bad.key].error or "")


def test_segments_with_an_invalid_camera_id_fail_with_the_reason_and_the_event_ends(
    services: Services,
    event: GeneratedEvent,
    footage: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
) -> None:
    bucket = services.settings.bucket_recordings
    source = event.directory / _first_segment(event).path
    name = Path(_first_segment(event).key).name
    in_key, in_metadata = f"probe/Cam 2/{name}", f"probe/cam1/{name}"
    store.put_file(bucket, in_key, source)
    store.put_file(bucket, in_metadata, source, metadata={"camera": "Cam 2"})
    store.put_bytes(bucket, keys.control_marker_key("probe", "end"), b"")
    request = parameters.run_request(EventConfig(id="probe"), {})

    # The key's camera is refused on sight; the metadata's when the segment is read.
    wave = waves.look(services, "probe", request.max_attempts)
    assert wave.ended and wave.keys == [in_metadata]
    outcome = recognize_segment(services, footage, in_metadata)
    assert outcome.status == "failed" and outcome.tracks == 0

    assert waves.next_step(services, request) == "highlights"
    assert catalog.events.get("probe").status == "ended"
    rows = {s.object_key: s for s in catalog.segments.for_event("probe")}
    assert set(rows) == {in_key, in_metadata}
    assert all(s.status == "failed" and s.camera_id is None for s in rows.values())
    assert rows[in_key].error.startswith("segment key: invalid camera id 'Cam 2'")
    assert rows[in_metadata].error.startswith("camera metadata: invalid camera id 'Cam 2'")
    assert outcome.error == rows[in_metadata].error


# faults -------------------------------------------------------------------------------------


def _drop_connections_once_processing(database_url: str, key: str, keep: int) -> threading.Thread:
    """Start a thread that, as soon as ``key``'s row is ``processing``, has the server drop
    every connection to the test database but ``keep`` (a backend pid): what a PostgreSQL
    restart does to a task mid-recognition."""

    def drop() -> None:
        watcher = psycopg2.connect(database_url)
        watcher.autocommit = True
        try:
            with watcher.cursor() as cur:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    cur.execute("SELECT status FROM segments WHERE object_key = %s", (key,))
                    if (row := cur.fetchone()) and row[0] == "processing":
                        cur.execute(
                            """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                               WHERE datname = current_database()
                                 AND pid NOT IN (pg_backend_pid(), %s)""",
                            (keep,),
                        )
                        return
                    time.sleep(0.005)
        finally:
            watcher.close()

    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    return thread


def test_a_catalog_outage_during_recognition_leaves_the_segment_pending_and_the_retry_finishes(
    services: Services,
    event: GeneratedEvent,
    engine: FaceEngine,
    footage: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
    database_url: str,
) -> None:
    enroll_event_visitors(services, event, engine)
    replay_event(event.directory, store, services.settings.bucket_recordings, speed=0)
    key = _first_segment(event).key
    dropper = _drop_connections_once_processing(
        database_url, key, catalog.connection.get_backend_pid()
    )

    with pytest.raises(Exception) as raised:
        recognize_segment(services, footage, key)

    dropper.join()
    assert is_transient(raised.value), raised.value
    (row,) = catalog.segments.for_event("expo")
    assert (row.status, row.attempts) == ("pending", 0)
    assert row.error and row.error.startswith("retrying after: ")
    assert waves.look(services, "expo", 3).keys == sorted(s.key for s in event.segments)

    retried = recognize_segment(services, footage, key)  # what Airflow's retry does

    assert retried.status == "done" and retried.tracks > 0
    (row,) = catalog.segments.for_event("expo")
    assert (row.status, row.attempts, row.error) == ("done", 1, None)
    assert len(catalog.tracks.of_segment(row.id)) == retried.tracks


def _recognize_in_child(services: Services, model_pack_dir: Path, key: str) -> None:
    """A recognize task in its own process (the worker a test kills)."""
    from scas_lib.recognition.pipeline import footage_engine

    recognize_segment(services, footage_engine(model_pack_dir, provider="cpu"), key)


def test_a_worker_killed_mid_recognition_leaves_work_a_later_wave_reclaims(
    services: Services,
    event: GeneratedEvent,
    engine: FaceEngine,
    footage: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
    model_pack_dir: Path,
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    own = Services(
        settings=services.settings.model_copy(update={"data_dir": data_dir}),
        database_url=services.database_url,
        s3=services.s3,
    )
    enroll_event_visitors(own, event, engine)
    replay_event(event.directory, store, own.settings.bucket_recordings, speed=0)
    key = _first_segment(event).key
    worker = multiprocessing.get_context("spawn").Process(
        target=_recognize_in_child, args=(own, model_pack_dir, key)
    )
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and worker.is_alive():
            if list((data_dir / "tmp").glob("scas-segment-*/*.mp4")):  # downloaded: decoding
                break
            time.sleep(0.005)
        os.kill(worker.pid, signal.SIGKILL)  # mid-recognition, as the OOM killer would
    finally:
        worker.join()
    assert worker.exitcode == -signal.SIGKILL
    (row,) = catalog.segments.for_event("expo")
    assert (row.status, row.attempts) == ("processing", 1)
    assert list((data_dir / "tmp").glob("scas-segment-*"))  # its scratch folder, left behind

    # Within the lease the row is left to its worker; after it, the next look reclaims it.
    assert catalog.segments.for_event("expo")[0].status == "processing"
    waves.look(own, "expo", max_attempts=3, lease_s=600)
    assert catalog.segments.for_event("expo")[0].status == "processing"
    time.sleep(0.5)
    wave = waves.look(own, "expo", max_attempts=3, lease_s=0.4)
    (row,) = catalog.segments.for_event("expo")
    assert row.status == "pending" and key in wave.keys

    again = recognize_segment(own, footage, key)

    assert again.status == "done"
    assert len(catalog.tracks.of_segment(again.segment_id)) == again.tracks
    assert catalog.segments.for_event("expo")[0].attempts == 2
    assert list((data_dir / "tmp").glob("scas-segment-*")) == []  # the stale folder went too


# batches: what one recognize task of the DAG does -------------------------------------------


def _with_pack(services: Services, model_pack_dir: Path) -> Services:
    """The services with the test model pack as the settings' (the task's engine comes
    from the settings)."""
    settings = services.settings.model_copy(
        update={
            "models_dir": model_pack_dir.parent,
            "model_pack": model_pack_dir.name,
            "onnx_provider": "cpu",
        }
    )
    return Services(settings=settings, database_url=services.database_url, s3=services.s3)


def _live(event_id: str = "expo") -> records.RunRequest:
    return parameters.run_request(EventConfig(id=event_id), {})


def test_a_batch_with_a_damaged_segment_records_the_others_and_fails_with_its_reason(
    services: Services,
    event: GeneratedEvent,
    store: ObjectStore,
    catalog: Catalog,
    model_pack_dir: Path,
    tmp_path: Path,
) -> None:
    services = _with_pack(services, model_pack_dir)
    bucket = services.settings.bucket_recordings
    replay_event(event.directory, store, bucket, speed=0)
    cam2 = sorted((s for s in event.segments if s.camera_id == "cam2"), key=lambda s: s.key)
    damaged = cam2[0]  # the first of its batch: the others come after it
    data = (event.directory / damaged.path).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 5])
    metadata = {"camera": "cam2", "start-time": damaged.start_time}
    store.put_file(bucket, damaged.key, cut, metadata=metadata)
    batch = [s.key for s in cam2] + [s.key for s in event.segments if s.camera_id == "cam3"]
    config = EventConfig(id="expo")

    with pytest.raises(recognition.BatchFailed) as raised:
        recognition.recognize_batch(services, _live(), batch, config)

    failure = raised.value
    assert failure.failures.keys() == {damaged.key} and failure.total == len(batch)
    assert "truncated" in failure.failures[damaged.key] and damaged.key in str(failure)
    assert not failure.retry_helps  # the same bytes again: the DAG fails the task at once
    rows = {s.object_key: s for s in catalog.segments.for_event("expo")}
    assert set(rows) == set(batch)
    assert rows[damaged.key].status == "failed" and "truncated" in rows[damaged.key].error
    assert [rows[key].status for key in batch[1:]] == ["done"] * (len(batch) - 1)
    assert all(rows[key].attempts == 1 for key in batch)

    # A retry of the task (a live wave's) skips the segments done and tries the damaged one
    # again: one row per segment, the done ones untouched.
    with pytest.raises(recognition.BatchFailed):
        recognition.recognize_batch(services, _live(), batch, config, retry=True)
    again = {s.object_key: s for s in catalog.segments.for_event("expo")}
    assert again.keys() == rows.keys()
    assert again[damaged.key].attempts == 2
    assert {key: again[key] for key in batch[1:]} == {key: rows[key] for key in batch[1:]}


def test_a_batch_stops_at_a_catalog_outage_and_its_retry_recognizes_the_rest_once(
    services: Services,
    event: GeneratedEvent,
    engine: FaceEngine,
    store: ObjectStore,
    catalog: Catalog,
    database_url: str,
    model_pack_dir: Path,
) -> None:
    services = _with_pack(services, model_pack_dir)
    enroll_event_visitors(services, event, engine)
    replay_event(event.directory, store, services.settings.bucket_recordings, speed=0)
    batch = sorted(s.key for s in event.segments)[:3]
    config = EventConfig(id="expo")
    dropper = _drop_connections_once_processing(
        database_url, batch[1], catalog.connection.get_backend_pid()
    )

    with pytest.raises(Exception) as raised:
        recognition.recognize_batch(services, _live(), batch, config)

    dropper.join()
    assert is_transient(raised.value), raised.value  # Airflow retries the task
    rows = {s.object_key: s for s in catalog.segments.for_event("expo")}
    assert rows[batch[0]].status == "done" and rows[batch[1]].status == "pending"
    assert batch[2] not in rows  # the batch stopped: the rest waits for the retry

    retried = recognition.recognize_batch(services, _live(), batch, config, retry=True)

    assert retried.skipped == [batch[0]]
    assert [outcome.key for outcome in retried.outcomes] == batch[1:]
    assert [timing.key for timing in retried.timings] == batch[1:]
    first, later = retried.timings
    assert first.first and not later.first and first.engine_s >= 0 and later.work_s > 0
    after = {s.object_key: s for s in catalog.segments.for_event("expo")}
    assert {key: after[key].status for key in batch} == dict.fromkeys(batch, "done")
    assert [after[key].attempts for key in batch] == [1, 1, 1]
    assert after[batch[0]] == rows[batch[0]]
    for outcome in retried.outcomes:  # one set of tracks each
        assert len(catalog.tracks.of_segment(outcome.segment_id)) == outcome.tracks
