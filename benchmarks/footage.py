"""A generated event recognized as production would: shared by the accuracy benchmark and
the track calibration, so that both judge the same thing.

The event is generated from ``photos`` (its visitors enroll with their kiosk photo only),
every segment goes through :func:`scas_lib.recognition.pipeline.recognize_video` with
``recognition`` and ``thresholds``, and each track can be given the person the plan put
there (:func:`track_person`).
"""

from __future__ import annotations

import pickle
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
from generated import START

from scas_lib.catalog import Enrollment
from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.matching import Gallery
from scas_lib.faces.pack import Thresholds
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.pipeline import recognize_video
from scas_lib.simulation.generate import GeneratedEvent, generate_event
from scas_lib.simulation.people import SourcePhoto
from scas_lib.simulation.plan import SimulationConfig
from scas_lib.simulation.truth import person_at
from scas_lib.tracks import FaceTrack


@dataclass(frozen=True)
class RecognizedEvent:
    event: GeneratedEvent
    visitors: tuple[str, ...]
    gallery: Gallery
    tracks: tuple[FaceTrack, ...]
    #: Shot cuts found, and tracks that run across one of their segment's cuts.
    cuts: int
    tracks_across_cuts: int
    recognition_wall_s: float


def recognize_generated(
    directory: Path,
    config: SimulationConfig,
    photos: list[SourcePhoto],
    engine: FaceEngine,
    footage: FaceEngine,
    thresholds: Thresholds,
    recognition: RecognitionConfig,
) -> RecognizedEvent:
    """Generate the event of ``config`` in ``directory`` (or reuse the one generated there
    before), enroll its visitors with ``engine`` and recognize every segment with ``footage``
    (the engine set up for footage)."""
    event = kept_event(directory, config, engine, photos)
    visitors = [p for p in event.plan.people if p.role == "visitor"]
    enrollments = []
    for person in visitors:
        image = cv2.imread(str(directory / "enrollments" / person.id / "0.jpg"))
        faces = engine.analyze(image) or engine.analyze(image, pad=0.5)
        face = max(faces, key=lambda f: f.detection.height)
        embedding = tuple(float(v) for v in face.embedding)
        enrollments.append(
            Enrollment(config.event_id, person.id, "0.jpg", engine.model_pack, embedding, 1.0)
        )
    gallery = Gallery.from_enrollments(engine.model_pack, enrollments)
    tracks: list[FaceTrack] = []
    cuts = across = 0
    clock = time.monotonic()
    for segment in event.segments:
        start = datetime.fromisoformat(segment.start_time)
        result = recognize_video(
            directory / segment.path, segment.camera_id, start, footage, gallery,
            thresholds, recognition,
        )  # fmt: skip
        tracks += result.tracks
        cuts += len(result.cuts)
        across += sum(
            any(t.samples[0].offset_s < cut <= t.samples[-1].offset_s for cut in result.cuts)
            for t in result.tracks
        )
    seconds = time.monotonic() - clock
    return RecognizedEvent(
        event, tuple(p.id for p in visitors), gallery, tuple(tracks), cuts, across, seconds
    )


def kept_event(
    directory: Path, config: SimulationConfig, engine: FaceEngine, photos: list[SourcePhoto]
) -> GeneratedEvent:
    """The event generated in ``directory`` for ``config`` earlier, else a new one. The
    generator is not repeatable (x264's rate control), so comparing two versions of the
    code, or two settings, means recognizing the very same files."""
    record = directory.with_name(directory.name + ".pickle")
    if record.exists() and (directory / "event.json").exists():
        event = pickle.loads(record.read_bytes())
        if isinstance(event, GeneratedEvent) and event.plan.config == config:
            return event
    event = generate_event(directory, config, START, engine, photos)
    record.write_bytes(pickle.dumps(event))
    return event


def track_person(event: GeneratedEvent, track: FaceTrack) -> tuple[str | None, float]:
    """The person the plan put at most of the track's faces (None: a passer-by of the
    background video), and the share of the faces that are theirs."""
    people = Counter(
        person_at(
            event.plan,
            track.camera_id,
            (track.time_of(sample) - START).total_seconds(),
            sample.box,
            event.sprite_geometry,
        )
        for sample in track.samples
    )
    person, count = people.most_common(1)[0]
    return person, count / len(track.samples)
