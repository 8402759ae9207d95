"""One video in, every face track with its identity out. No catalog or object store here.

The work per segment, cheapest first:

1. decode at ``analysis_fps`` (default 5) in a background thread (:mod:`scas_lib.media.decode`);
2. detect faces on every sampled frame at a frame-shaped input (640x384 for 16:9);
3. align and assess each face (a 112x112 warp and a few numbers), link faces into tracks;
4. embed only each track's best few faces, in one batch for the whole segment;
5. decide each track's identity by vote, and keep tracks that share a frame apart.

Embedding is the expensive step per face (~25 ms on a CPU core), so doing it for three
faces per track instead of every detection is what makes the whole fast.

Times: a track's start and end are the segment's start time (UTC, from the recorder) plus
the offset of the frame from the segment's first frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from scas_lib.faces.alignment import align_face
from scas_lib.faces.detection import input_size_for
from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.matching import Gallery
from scas_lib.faces.pack import Thresholds
from scas_lib.faces.quality import FaceQuality, assess
from scas_lib.media.decode import DecodeError, prefetch, sample_frames
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.identity import decide_identity, resolve_conflicts
from scas_lib.recognition.tracking import FaceTracker, Observation, Track


@dataclass(frozen=True, eq=False)
class RecognizedTrack:
    index: int
    start_time: datetime
    end_time: datetime
    visitor_id: str | None
    similarity: float | None
    quality: float
    observations: int
    centroid: np.ndarray | None = field(repr=False)
    #: The best face: box in original pixels and its time; ``path``: the face's centre at
    #: every sample, ``[seconds from the track's start, x, y]`` in original pixels, and
    #: ``frame``: the original frame's ``[width, height]`` (a vertical crop follows it).
    best_box: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SegmentResult:
    tracks: tuple[RecognizedTrack, ...]
    frames_analyzed: int
    #: Seconds of video decoded (from the first to the last sampled frame).
    decoded_s: float
    #: Why the segment could not be read to the end, if it could not.
    error: str | None = None


@dataclass(frozen=True, eq=False)
class _Face:
    aligned: np.ndarray
    quality: FaceQuality


def footage_engine(
    pack_dir: Path, config: RecognitionConfig | None = None, *, provider: str = "auto"
) -> FaceEngine:
    """The face engine set up for footage as ``config`` says."""
    config = config or RecognitionConfig()
    return FaceEngine.load(
        pack_dir,
        provider=provider,  # type: ignore[arg-type]
        threads=config.onnx_threads,
        fast_detector=config.fast_detector,
        detector_threshold=config.detector_threshold,
    )


def recognize_video(
    path: Path,
    start_time: datetime,
    engine: FaceEngine,
    gallery: Gallery,
    thresholds: Thresholds,
    config: RecognitionConfig | None = None,
) -> SegmentResult:
    """Face tracks with identities for the video at ``path``, which started at
    ``start_time`` (UTC)."""
    config = config or RecognitionConfig()
    if gallery.model_pack != engine.model_pack:
        raise ValueError(
            f"the gallery was made with pack {gallery.model_pack!r}, the engine runs "
            f"{engine.model_pack!r}: embeddings of different packs cannot be compared"
        )
    tracker = FaceTracker(config.tracker)
    frames = 0
    last_offset = 0.0
    error = None
    detector_size: tuple[int, int] | None = None
    frame_size = (0, 0)
    try:
        for sampled in prefetch(
            sample_frames(path, fps=config.analysis_fps, max_long_side=config.decode_long_side)
        ):
            image = sampled.image
            if detector_size is None:
                height, width = image.shape[:2]
                detector_size = input_size_for(width, height, config.detector_long_side)
                frame_size = (round(width / sampled.scale), round(height / sampled.scale))
            observations = []
            for detection in engine.detector.detect(image, input_size=detector_size):
                if detection.height / sampled.scale < config.min_face_px:
                    continue
                aligned = align_face(image, detection.landmarks)
                box = tuple(float(v) / sampled.scale for v in detection.box)
                observations.append(
                    Observation(
                        sampled.offset_s,
                        box,  # type: ignore[arg-type]
                        detection.score,
                        _Face(aligned, assess(detection, aligned)),
                    )
                )
            tracker.update(sampled.offset_s, observations)
            frames += 1
            last_offset = sampled.offset_s
    except DecodeError as failure:
        error = str(failure)
    tracks = _identify(tracker.finish(), engine, gallery, thresholds, config, start_time)
    tracks = [_with_path(track, raw, frame_size) for track, raw in tracks]
    return SegmentResult(tuple(tracks), frames, last_offset, error)


def _identify(
    tracks: list,
    engine: FaceEngine,
    gallery: Gallery,
    thresholds: Thresholds,
    config: RecognitionConfig,
    start_time: datetime,
) -> list[tuple[RecognizedTrack, Track]]:
    """Each track with its identity, next to the tracker's track it came from."""
    best = [
        sorted(track.observations, key=lambda o: -o.payload.quality.score)[
            : config.best_faces_per_track
        ]
        for track in tracks
    ]
    crops = [o.payload.aligned for chosen in best for o in chosen]
    embeddings = engine.recognizer.embed(np.stack(crops)) if crops else np.zeros((0, 1))
    identities = []
    cursor = 0
    for track, chosen in zip(tracks, best, strict=True):
        own = embeddings[cursor : cursor + len(chosen)]
        cursor += len(chosen)
        identity = decide_identity(own, gallery, thresholds)
        if len(track.observations) < config.min_observations:
            identity = replace(identity, visitor_id=None)
        identities.append(identity)
    times = [{o.t for o in track.observations} for track in tracks]
    identities = resolve_conflicts(times, identities)
    result = []
    for track, chosen, identity in zip(tracks, best, identities, strict=True):
        top = chosen[0]
        x1, y1, x2, y2 = top.box
        result.append(
            RecognizedTrack(
                index=track.index,
                start_time=start_time + timedelta(seconds=track.start),
                end_time=start_time + timedelta(seconds=track.end),
                visitor_id=identity.visitor_id,
                similarity=identity.similarity,
                quality=float(top.payload.quality.score),
                observations=len(track.observations),
                centroid=identity.centroid,
                best_box={
                    "t": round(top.t, 3),
                    "x": round(x1, 1),
                    "y": round(y1, 1),
                    "w": round(x2 - x1, 1),
                    "h": round(y2 - y1, 1),
                },
            )
        )
    return list(zip(result, tracks, strict=True))


def _with_path(track: RecognizedTrack, raw: Track, frame_size: tuple[int, int]) -> RecognizedTrack:
    path = [
        [round(o.t - raw.start, 2), round((o.box[0] + o.box[2]) / 2, 1),
         round((o.box[1] + o.box[3]) / 2, 1)]
        for o in raw.observations
    ]  # fmt: skip
    return replace(track, best_box={**track.best_box, "path": path, "frame": list(frame_size)})
