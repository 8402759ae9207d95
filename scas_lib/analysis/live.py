"""Who is on a live camera's frame now: the faces of each analysed frame, linked into
tracks as they come, each track named or ``unknown #n``. Pure: faces in, labelled faces out.

It is the analysis' labelling, applied as the frames come rather than to a whole file: the
same tracker (:class:`~scas_lib.recognition.tracking.FaceTracker`), the same identity
decision on a track's best faces (:func:`~scas_lib.recognition.identity.decide_identity`,
no two tracks on one frame the same visitor), the same labels
(:func:`~scas_lib.analysis.labels.track_labels`: unknown people grouped by likeness and
numbered in the order they were first seen) and the same faces per frame
(:func:`~scas_lib.analysis.labels.analysed_frames`: expression of the face, the track's
age and gender). A track's identity is decided again whenever it has a better face, so a
name may come after a moment of ``unknown``.

>>> import numpy as np
>>> from scas_lib.faces.matching import Gallery
>>> from scas_lib.faces.pack import Thresholds
>>> gallery = Gallery("pack", ("v-1",), np.array([[1.0, 0.0]], np.float32))
>>> labeller = LiveLabeller(gallery, {"v-1": "Ana"}, Thresholds(match=0.5, margin=0.05,
...                         calibrated=True), model_pack="pack")
>>> def face(x, vector):
...     return LiveFace((x, 10, x + 40, 60), 0.9, 0.8, np.array(vector, np.float32))
>>> [f.label for f in labeller.update(0.0, [face(10, [1, 0]), face(300, [0, 1])], (640, 360))]
['Ana', 'unknown #1']
>>> [(f.label, f.box[0]) for f in labeller.update(0.2, [face(14, [0.99, 0.1])], (640, 360))]
[('Ana', 14)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from scas_lib.analysis.labels import analysed_frames, track_labels
from scas_lib.analysis.records import AnalysedFace
from scas_lib.faces.matching import Gallery
from scas_lib.faces.pack import Thresholds
from scas_lib.recognition.identity import decide_identity, resolve_conflicts
from scas_lib.recognition.tracking import FaceTracker
from scas_lib.tracks import UNKNOWN, Box, FaceAttributes, FaceSample, FaceTrack, TrackIdentity

#: The offsets of a live view count from here (a live view has no segment of its own).
LIVE_START = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, eq=False)
class LiveFace:
    """One face found on an analysed live frame: its box (the frame's pixels), detector
    score, quality, embedding and, with attribute models, how it looks."""

    box: Box
    score: float
    quality: float
    embedding: NDArray[np.float32] = field(repr=False)
    attributes: FaceAttributes | None = None


class _LiveTracker(FaceTracker):
    """The recognition's tracker, which also says which tracks are running, and forgets
    the oldest finished ones (a live view runs for hours)."""

    def running(self) -> list[tuple[int, tuple[FaceSample, ...]]]:
        return [(track.index, tuple(track.samples)) for track in self._active]

    def finished(self) -> list[tuple[int, tuple[FaceSample, ...]]]:
        return [(track.index, tuple(track.samples)) for track in self._finished]

    def trim(self, tracks: int, samples: int) -> None:
        """Keep the last ``tracks`` finished tracks, and each track's last ``samples``
        faces (matching looks at a track's last two only)."""
        self._finished = self._finished[-tracks:] if tracks else []
        for track in (*self._active, *self._finished):
            del track.samples[:-samples]


class LiveLabeller:
    """Feed it each analysed frame's faces in time order; it says who each face is.

    ``evidence`` faces of each track (its best, by quality) decide its identity, as
    recognition's best faces do; ``remember`` finished tracks are kept, so that someone
    unknown who comes back is the same ``unknown #n``; a track keeps its last
    ``keep_samples`` faces for its age and gender."""

    def __init__(
        self,
        gallery: Gallery,
        names: Mapping[str, str],
        thresholds: Thresholds,
        *,
        model_pack: str,
        camera_id: str = "live",
        evidence: int = 3,
        remember: int = 200,
        keep_samples: int = 50,
    ) -> None:
        self.gallery, self.names, self.thresholds = gallery, dict(names), thresholds
        self.model_pack, self.camera_id = model_pack, camera_id
        self.evidence, self.remember, self.keep_samples = evidence, remember, keep_samples
        self._tracker = _LiveTracker()
        #: Each track's best faces so far: (quality, embedding), best first.
        self._best: dict[int, list[tuple[float, NDArray[np.float32]]]] = {}
        self._identities: dict[int, TrackIdentity] = {}

    def update(
        self,
        t: float,
        faces: Sequence[LiveFace],
        frame_size: tuple[int, int],
        *,
        cut: bool = False,
    ) -> tuple[AnalysedFace, ...]:
        """The faces of the frame at ``t`` (seconds, increasing), labelled; ``cut``: the
        frame is another shot than the one before
        (:class:`~scas_lib.recognition.cuts.CutDetector`), so no track runs on across it."""
        if cut:
            self._tracker.cut()
        samples = [
            FaceSample(t, face.box, face.score, face.quality, attributes=face.attributes)
            for face in faces
        ]
        self._tracker.update(t, samples)
        running = self._tracker.running()
        by_sample = {id(path[-1]): index for index, path in running if path[-1].offset_s == t}
        changed: set[int] = set()
        for face, sample in zip(faces, samples, strict=True):
            index = by_sample.get(id(sample))
            if index is None:  # a weak detection no track took
                continue
            best = self._best.setdefault(index, [])
            if len(best) < self.evidence or face.quality > best[-1][0]:
                best.append((face.quality, face.embedding))
                best.sort(key=lambda pair: -pair[0])
                del best[self.evidence :]
                changed.add(index)
        for index in changed:
            embeddings = np.stack([embedding for _, embedding in self._best[index]])
            self._identities[index] = decide_identity(embeddings, self.gallery, self.thresholds)
        self._forget()
        tracks = self._tracks(running, frame_size)
        labels = track_labels(tracks, self.names, self.thresholds.match)
        now = [(track, label) for track, label in zip(tracks, labels, strict=True)
               if track.samples[-1].offset_s == t]  # fmt: skip
        if not now:
            return ()
        frames = analysed_frames([track for track, _ in now], [label for _, label in now])
        return next((frame.faces for frame in frames if frame.offset_s == t), ())

    def _tracks(
        self, running: list[tuple[int, tuple[FaceSample, ...]]], frame_size: tuple[int, int]
    ) -> list[FaceTrack]:
        """The remembered and running tracks as recognition's records, with identities in
        which no two running tracks are the same visitor."""
        paths = [*self._tracker.finished(), *running]
        identities = [self._identities.get(index, UNKNOWN) for index, _ in paths]
        times = [{sample.offset_s for sample in path} for _, path in paths]
        identities = resolve_conflicts(times, identities)
        return [
            FaceTrack(self.camera_id, LIVE_START, index, path, frame_size,
                      self.model_pack, identity)
            for (index, path), identity in zip(paths, identities, strict=True)
        ]  # fmt: skip

    def _forget(self) -> None:
        self._tracker.trim(self.remember, self.keep_samples)
        kept = {index for index, _ in self._tracker.finished()}
        kept |= {index for index, _ in self._tracker.running()}
        for table in (self._best, self._identities):
            for index in [i for i in table if i not in kept]:
                del table[index]
