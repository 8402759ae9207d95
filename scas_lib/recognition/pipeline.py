"""One video in, every face track with its identity out. No catalog or object store here.

The work per segment, cheapest first:

1. decode at ``analysis_fps`` (default 5) in a background thread (:mod:`scas_lib.media.decode`);
2. detect faces on every sampled frame at a frame-shaped input (640x384 for 16:9);
3. align and assess each face (a 112x112 warp and a few numbers), link faces into tracks,
   and end every track at a shot cut or a sudden camera move (:mod:`.cuts`);
4. embed the best face of every two seconds of each track, in one batch, and split a track
   where they stop looking alike (:mod:`.consistency`);
5. decide each track's identity on its best three faces and, if one of its faces looks like
   some visitor at all, on the best face of every two seconds too (:mod:`.identity`); keep
   tracks that share a frame apart, and leave unknown the stretches of a labelled track
   whose faces do not look like its visitor. A glimpse (one sampled frame) is not embedded.

Embedding is the expensive step per face (~25 ms on a CPU core), so doing it for one face
per two seconds of a track (whose best three also decide its identity), instead of every
detection, is what makes the whole fast.

Every face found is a :class:`~scas_lib.tracks.FaceSample` and every track a
:class:`~scas_lib.tracks.FaceTrack`, the record the catalog stores as it is. Times: a
sample's offset is seconds from the segment's first frame; the segment's start time is UTC
from the recorder.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import cast

import numpy as np
from numpy.typing import NDArray

from scas_lib.faces.alignment import WIDE_ZOOM, align_face
from scas_lib.faces.detection import input_size_for
from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.matching import Gallery
from scas_lib.faces.pack import Thresholds
from scas_lib.faces.quality import assess
from scas_lib.faces.session import ProviderChoice
from scas_lib.media.decode import DecodeError, Gop, GopReader, SampledFrame, prefetch
from scas_lib.recognition import search
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.consistency import change_points, probe_indices, split_samples
from scas_lib.recognition.cuts import CutConfig, CutDetector
from scas_lib.recognition.identity import (
    attributed_runs,
    decide_identity,
    face_evidence,
    looks_like_a_visitor,
    resolve_conflicts,
)
from scas_lib.recognition.tracking import FaceTracker
from scas_lib.tracks import FaceAttributes, FaceSample, FaceTrack, TrackIdentity

#: The identity of a track too short to be embedded.
GLIMPSE = TrackIdentity(None)


@dataclass(frozen=True)
class SegmentResult:
    tracks: tuple[FaceTrack, ...]
    #: Seconds of video decoded (from the first to the last sampled frame).
    decoded_s: float
    #: Why the segment could not be read to the end, if it could not.
    error: str | None = None
    #: Offsets (seconds from the first frame) of the sampled frames that begin a new shot.
    cuts: tuple[float, ...] = ()
    #: Frames decoded (fewer than the video holds where groups without a face were skipped).
    frames_decoded: int = 0


def footage_engine(
    pack_dir: Path, config: RecognitionConfig | None = None, *, provider: ProviderChoice = "auto"
) -> FaceEngine:
    """The face engine set up for footage as ``config`` says."""
    config = config or RecognitionConfig()
    return FaceEngine.load(
        pack_dir,
        provider=provider,
        threads=config.onnx_threads,
        fast_detector=config.fast_detector,
        detector_threshold=config.detector_threshold,
    )


def recognize_video(
    path: Path,
    camera_id: str,
    start_time: datetime,
    engine: FaceEngine,
    gallery: Gallery,
    thresholds: Thresholds,
    config: RecognitionConfig | None = None,
    *,
    progress: Callable[[ReadProgress], None] | None = None,
) -> SegmentResult:
    """Face tracks with identities for the video at ``path``, recorded by ``camera_id``
    from ``start_time`` (UTC) on; ``progress`` is told how far the reading is after each
    group of pictures (``scas analyze`` shows it)."""
    config = config or RecognitionConfig()
    if gallery.model_pack != engine.model_pack:
        raise ValueError(
            f"the gallery was made with pack {gallery.model_pack!r}, the engine runs "
            f"{engine.model_pack!r}: embeddings of different packs cannot be compared"
        )
    analysis = _FrameAnalysis(engine, config)
    error = None
    with GopReader(path, fps=config.analysis_fps, max_long_side=config.decode_long_side) as reader:
        try:
            _look_at_groups(reader, analysis, config, progress)
        except DecodeError as failure:
            error = str(failure)
        # The footage covered: to the last sample, or to the last one a skipped group held.
        covered = analysis.last_offset
        if error is None:
            covered = max(covered, reader.read_s - 1.0 / config.analysis_fps)
    tracks = [
        FaceTrack(camera_id, start_time, index, samples, analysis.frame_size, engine.model_pack)
        for index, samples in enumerate(analysis.tracker.finish())
    ]
    embeddings = _Embeddings(engine, analysis.patches, config.embedding_workers)
    identified = _identify(tracks, embeddings, gallery, thresholds, config)
    return SegmentResult(
        tuple(identified), covered, error, tuple(analysis.cuts), reader.decoded_frames
    )


@dataclass(frozen=True)
class ReadProgress:
    """How far :func:`recognize_video` has read: seconds of the video, frames decoded,
    faces found on the sampled frames so far."""

    read_s: float
    frames_decoded: int
    faces_found: int


def _look_at_groups(
    reader: GopReader,
    analysis: _FrameAnalysis,
    config: RecognitionConfig,
    progress: Callable[[ReadProgress], None] | None = None,
) -> None:
    """Analyse the video's groups of pictures in order. With no track running, a group's
    keyframe is looked at alone first (``keyframes_when_idle``): without a face there, the
    rest of the group is decoded only if the next keyframe shows one (someone came in
    meanwhile); a face that comes and goes between two empty keyframes, under a group's
    length (2 s on most cameras), is not seen."""
    skipped: Gop | None = None
    for gop in reader.groups():
        idle = config.keyframes_when_idle and not analysis.tracker.search_areas(gop.start_s)
        if idle and gop.has_keyframe:
            keyframe = reader.keyframe(gop)
            if keyframe is not None and not analysis.anyone_in(keyframe):
                analysis.nobody_at(keyframe)
                skipped = gop
                continue
            if skipped is not None:
                for sampled in prefetch(reader.frames(skipped, after_s=skipped.start_s)):
                    analysis.look(sampled)
        for sampled in prefetch(reader.frames(gop)):
            analysis.look(sampled)
        skipped = None
        if progress is not None:
            progress(ReadProgress(reader.read_s, reader.decoded_frames, analysis.faces_found))


class _FrameAnalysis:
    """What the sampled frames of one video build up, frame after frame, in time order: the
    tracks, the shot cuts, the pixels around small faces."""

    def __init__(self, engine: FaceEngine, config: RecognitionConfig) -> None:
        self.engine = engine
        self.config = config
        self.tracker = FaceTracker(config.tracker)
        self.cut_detector = CutDetector(CutConfig(threshold=config.cut_threshold))
        self.patches: dict[FaceSample, NDArray[np.uint8]] = {}
        self.cuts: list[float] = []
        self.last_offset = 0.0
        self.faces_found = 0
        self.frame_size = (0, 0)
        self._detector_size: tuple[int, int] | None = None

    def detector_size(self, sampled: SampledFrame) -> tuple[int, int]:
        if self._detector_size is None:
            height, width = sampled.image.shape[:2]
            self._detector_size = input_size_for(width, height, self.config.detector_long_side)
            self.frame_size = (round(width / sampled.scale), round(height / sampled.scale))
        return self._detector_size

    def anyone_in(self, sampled: SampledFrame) -> bool:
        """Whether the whole frame holds a face big enough to track."""
        found = search.whole_frame(self.engine.detector, sampled.image, self.detector_size(sampled))
        return any(f.detection.height / sampled.scale >= self.config.min_face_px for f in found)

    def nobody_at(self, keyframe: SampledFrame) -> None:
        """Take in a keyframe without a face (:meth:`anyone_in`), the frames around which
        are not looked at: whatever the next frame looked at shows, it is no shot cut."""
        self.cut_detector.forget()
        self.last_offset = keyframe.offset_s

    def look(self, sampled: SampledFrame) -> None:
        """Take in the next sampled frame."""
        detector_size = self.detector_size(sampled)
        cut = self.cut_detector.is_cut(sampled.image)
        if cut:
            self.tracker.cut()
            self.cuts.append(sampled.offset_s)
        # Counted on the sampling clock, so that skipped frames do not shift which are whole.
        sample_number = round(sampled.offset_s * self.config.analysis_fps)
        whole = cut or sample_number % self.config.whole_frame_every == 0
        found = _search(self.engine, sampled, self.tracker, detector_size, self.config, whole=whole)
        faces = _faces(
            sampled, found, self.config, self.patches, wide=self.engine.describer is not None
        )
        self.faces_found += len(faces)
        self.tracker.update(sampled.offset_s, faces)
        self.last_offset = sampled.offset_s


def _search(
    engine: FaceEngine,
    sampled: SampledFrame,
    tracker: FaceTracker,
    detector_size: tuple[int, int],
    config: RecognitionConfig,
    *,
    whole: bool,
) -> list[search.Found]:
    """The faces of one sampled frame: of the whole frame if ``whole``, else only near the
    running tracks (:mod:`.search`), unless those areas would cost as much as the whole."""
    image = sampled.image
    if whole:
        return search.whole_frame(engine.detector, image, detector_size)
    factor = sampled.scale  # the tracker works in the original frame's pixels
    areas = [
        (x1 * factor, y1 * factor, x2 * factor, y2 * factor)
        for x1, y1, x2, y2 in tracker.search_areas(sampled.offset_s)
    ]
    scale = search.input_scale(image, detector_size)
    if search.area_cost(areas, scale) >= detector_size[0] * detector_size[1]:
        return search.whole_frame(engine.detector, image, detector_size)
    return search.near(engine.detector, image, areas, scale)


def _faces(
    sampled: SampledFrame,
    found: list[search.Found],
    config: RecognitionConfig,
    patches: dict[FaceSample, NDArray[np.uint8]],
    *,
    wide: bool = False,
) -> list[FaceSample]:
    """The faces ``found`` in one sampled frame that are big enough to track, in the
    original frame's pixels, each with its aligned crop for embedding. A face the detector
    saw small (its landmarks a pixel or two off, which is a lot for a small face) also
    leaves the frame's pixels around it in ``patches``, to be aligned again at full
    resolution if it is ever embedded (:func:`_realigned`). With ``wide``, each face also
    keeps its wide crop, for the attribute models."""
    faces = []
    for face_found in found:
        detection = face_found.detection
        if detection.height / sampled.scale < config.min_face_px:
            continue
        aligned = align_face(sampled.image, detection.landmarks)
        x1, y1, x2, y2 = (float(v) / sampled.scale for v in detection.box)
        quality = assess(detection, aligned).score
        box = (x1, y1, x2, y2)
        face = FaceSample(sampled.offset_s, box, float(detection.score), quality, aligned)
        if wide:
            face = replace(
                face, aligned_wide=align_face(sampled.image, detection.landmarks, zoom=WIDE_ZOOM)
            )
        if detection.height * face_found.scale < REALIGN_BELOW_PX:
            patches[face] = _patch(sampled.image, detection.box)
        faces.append(face)
    return faces


#: Faces smaller than this at the detector's input are aligned again from the full frame's
#: pixels when embedded: on 1080p footage at the default 960 px detector input, faces under
#: 80 px. On faces of 40-70 px this raised the similarity to the right visitor by 0.044 on
#: average (98 faces of the held-out half; docs/benchmarks-history.md).
REALIGN_BELOW_PX = 40.0


def _patch(image: NDArray[np.uint8], box: NDArray[np.float32]) -> NDArray[np.uint8]:
    """The pixels of a square three face heights wide around ``box`` (within the image)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    half = 1.5 * max(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    height, width = image.shape[:2]
    left, top = max(0, int(cx - half)), max(0, int(cy - half))
    right, bottom = min(width, int(cx + half)), min(height, int(cy + half))
    return image[top:bottom, left:right].copy()


def _realigned(engine: FaceEngine, patch: NDArray[np.uint8]) -> NDArray[np.uint8] | None:
    """The face at the middle of ``patch`` aligned from a detection at full resolution, or
    None if the detector finds no face there."""
    height, width = patch.shape[:2]
    size = (max(32, -(-width // 32) * 32), max(32, -(-height // 32) * 32))
    detections = engine.detector.detect(patch, input_size=size)
    if not detections:
        return None
    middle = np.array([width / 2, height / 2])
    nearest = min(
        detections,
        key=lambda d: np.linalg.norm((d.box[:2] + d.box[2:]) / 2 - middle),
    )
    return align_face(patch, nearest.landmarks)


class _Embeddings:
    """The embeddings of a segment's faces, each computed once, in batches when asked for
    many at once, on ``workers`` threads; small faces aligned again from their ``patches``
    first.

    Embedding happens after the last frame is read, when the decoder's core is free again:
    one thread per model run would leave it idle for a third of the segment's time."""

    def __init__(
        self, engine: FaceEngine, patches: dict[FaceSample, NDArray[np.uint8]], workers: int = 1
    ) -> None:
        self._engine = engine
        self._patches = patches
        self._workers = workers
        self._known: dict[int, NDArray[np.float32]] = {}
        self._described: dict[int, FaceAttributes] = {}

    def compute(self, samples: list[FaceSample]) -> None:
        missing = list({id(s): s for s in samples if id(s) not in self._known}.values())
        if not missing:
            return
        # Every n-th face to each thread: faces aligned again (a detection each) spread
        # evenly. onnxruntime runs a session from several threads at once.
        shares = [missing[start :: self._workers] for start in range(self._workers)]
        shares = [share for share in shares if share]
        if len(shares) == 1:
            vectors = [self._embed(missing)]
        else:
            with ThreadPoolExecutor(len(shares), thread_name_prefix="embed") as pool:
                vectors = list(pool.map(self._embed, shares))
        for share, share_vectors in zip(shares, vectors, strict=True):
            for sample, vector in zip(share, share_vectors, strict=True):
                self._known[id(sample)] = vector

    def _embed(self, samples: list[FaceSample]) -> NDArray[np.float32]:
        """The samples' embeddings; and, with attribute models, how each face looks (only
        embedded faces are described: they are the few a track's decisions rest on)."""
        describer = self._engine.describer
        wide = [s for s in samples if s.aligned_wide is not None]
        if describer is not None and wide:
            crops = np.stack([cast("NDArray[np.uint8]", s.aligned_wide) for s in wide])
            for sample, attributes in zip(wide, describer.describe(crops), strict=True):
                self._described[id(sample)] = attributes
        return self._engine.recognizer.embed(np.stack([self._crop(s) for s in samples]))

    def _crop(self, sample: FaceSample) -> NDArray[np.uint8]:
        patch = self._patches.get(sample)
        realigned = None if patch is None else _realigned(self._engine, patch)
        if realigned is not None:
            return realigned
        if sample.aligned is None:  # only a sample read back from the catalog lacks its crop
            raise ValueError(f"the face at {sample.offset_s} s has no aligned crop to embed")
        return sample.aligned

    def of(self, sample: FaceSample) -> NDArray[np.float32]:
        self.compute([sample])
        return self._known[id(sample)]

    def known(self, sample: FaceSample) -> NDArray[np.float32] | None:
        """The embedding if it was computed, else None (nothing is computed here)."""
        return self._known.get(id(sample))

    def described(self, sample: FaceSample) -> FaceAttributes | None:
        """How the face looks if it was embedded and the pack has attribute models."""
        return self._described.get(id(sample))


def _one_person_each(
    tracks: list[FaceTrack], embeddings: _Embeddings, config: RecognitionConfig
) -> list[FaceTrack]:
    """The tracks split wherever their faces stop looking alike (see
    :mod:`scas_lib.recognition.consistency`), numbered again in order."""
    probes = [
        probe_indices(track.samples, config.appearance_window_s, config.probe_min_quality)
        for track in tracks
    ]
    # A track with one probe has nothing to compare it with.
    compared = [(t, own) for t, own in zip(tracks, probes, strict=True) if len(own) > 1]
    embeddings.compute([track.samples[i] for track, own in compared for i in own])
    pieces = []
    for track, own in zip(tracks, probes, strict=True):

        def embedding_at(index: int, track: FaceTrack = track) -> NDArray[np.float32]:
            return embeddings.of(track.samples[index])

        changes = change_points(own, embedding_at, config.split_below)
        pieces += [replace(track, samples=part) for part in split_samples(track.samples, changes)]
    return [replace(piece, index=index) for index, piece in enumerate(pieces)]


def _best_faces(
    track: FaceTrack, embeddings: _Embeddings, config: RecognitionConfig
) -> list[FaceSample]:
    """A track's best ``best_faces_per_track`` faces, preferring those already embedded
    (which include the best face of the whole track)."""
    by_quality = sorted(track.samples, key=lambda sample: -sample.quality)
    embedded = [sample for sample in by_quality if embeddings.known(sample) is not None]
    others = [sample for sample in by_quality if embeddings.known(sample) is None]
    return (embedded + others)[: config.best_faces_per_track]


def _evidence_faces(
    track: FaceTrack, best: list[FaceSample], config: RecognitionConfig
) -> list[FaceSample]:
    """The faces a track's identity is decided on: its ``best`` and the best face of each
    ``appearance_window_s`` whatever its quality, so that a long track of small or turned
    faces brings evidence from all of its time."""
    chosen_ids = {id(sample) for sample in best}
    windows = probe_indices(track.samples, config.appearance_window_s)
    extra = [track.samples[i] for i in windows if id(track.samples[i]) not in chosen_ids]
    return sorted(best + extra, key=lambda sample: sample.offset_s)


def _embedded(track: FaceTrack, embeddings: _Embeddings) -> NDArray[np.float32]:
    """The embeddings computed so far of ``track``'s faces, ``(N, D)``."""
    known = [e for e in map(embeddings.known, track.samples) if e is not None]
    return np.stack(known) if known else np.zeros((0, 0), np.float32)


def _identify(
    tracks: list[FaceTrack],
    embeddings: _Embeddings,
    gallery: Gallery,
    thresholds: Thresholds,
    config: RecognitionConfig,
) -> list[FaceTrack]:
    """The tracks, each holding one person, with their identities, the time no evidence
    supports cut off as unknown (and without their crops, which are not kept)."""
    tracks = _one_person_each(tracks, embeddings, config)
    # A glimpse (fewer than min_observations faces) proves too little to be labelled or
    # counted as a person: it is not embedded at all.
    best = [
        _best_faces(track, embeddings, config)
        if len(track.samples) >= config.min_observations
        else []
        for track in tracks
    ]
    embeddings.compute([sample for chosen in best for sample in chosen])
    evidence = [
        _evidence_faces(track, chosen, config)
        if looks_like_a_visitor(_embedded(track, embeddings), gallery, thresholds)
        else chosen
        for track, chosen in zip(tracks, best, strict=True)
    ]
    embeddings.compute([sample for chosen in evidence for sample in chosen])
    identities: list[TrackIdentity] = []
    for chosen in evidence:
        own = [embeddings.of(sample) for sample in chosen]
        identities.append(decide_identity(np.stack(own), gallery, thresholds) if own else GLIMPSE)
    times = [{sample.offset_s for sample in track.samples} for track in tracks]
    identities = resolve_conflicts(times, identities)
    kept: list[FaceTrack] = []
    for track, identity in zip(tracks, identities, strict=True):
        samples = [_as_kept(s, embeddings, gallery, identity.visitor_id) for s in track.samples]
        for run, covered in _attributed(samples, identity, thresholds):
            run_identity = identity if covered else TrackIdentity(None, identity.similarity)
            kept.append(replace(track, index=len(kept), samples=run, identity=run_identity))
    return kept


def _attributed(
    samples: list[FaceSample], identity: TrackIdentity, thresholds: Thresholds
) -> list[tuple[tuple[FaceSample, ...], bool]]:
    """A labelled track's runs, each covered by its label or not (by the similarity of its
    embedded faces to the visitor, :attr:`Thresholds.track_support`); others whole."""
    if identity.visitor_id is None or thresholds.track_support is None:
        return [(tuple(samples), True)]
    support = {
        index: sample.similarity >= thresholds.track_support
        for index, sample in enumerate(samples)
        if sample.similarity is not None
    }
    return attributed_runs(samples, support)


def _as_kept(
    sample: FaceSample, embeddings: _Embeddings, gallery: Gallery, visitor_id: str | None
) -> FaceSample:
    """The sample as the catalog keeps it: without its crops, with the evidence of its
    embedding and how the face looks when it was embedded."""
    embedding = embeddings.known(sample)
    if embedding is None:
        return replace(sample, aligned=None, aligned_wide=None)
    similarity, runner_up = face_evidence(gallery, embedding, visitor_id)
    return replace(
        sample,
        aligned=None,
        aligned_wide=None,
        similarity=similarity,
        runner_up=runner_up,
        attributes=embeddings.described(sample),
    )
