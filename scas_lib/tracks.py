"""The face track: the one record every stage speaks, from the tracker to the catalog.

Like supervision's ``Detections`` for its modules, :class:`FaceTrack` is what recognition
produces, what the catalog stores and returns, and what appearances and vertical framing
read. Pure: no I/O, no models.

- :class:`FaceSample`: one face on one sampled frame (time, box, detector score, quality);
  the tracker links samples, and a track's samples are its *face path*;
- :class:`FaceAttributes`: how an embedded face looks (expression, age, gender), and
  :class:`TrackAttributes`, their summary over a track;
- :class:`TrackIdentity`: who the track is and the evidence (similarity of the track's
  mean embedding to the best visitor, the agreeing votes, the mean embedding itself);
- :class:`FaceTrack`: the samples of one person in one segment of one camera, with the
  frame size, the best face's quality and the identity.

Times: a sample's ``offset_s`` is seconds from the segment's first frame; the segment's
``segment_start`` is UTC wall-clock time from the recorder. So a sample happened at
``segment_start + offset_s``, on the one clock of the catalog.

>>> from datetime import UTC, datetime
>>> samples = (FaceSample(1.0, (100, 50, 140, 100), 0.9, 0.5),
...            FaceSample(1.2, (110, 50, 150, 100), 0.9, 0.7))
>>> track = FaceTrack("cam1", datetime(2026, 1, 1, tzinfo=UTC), 0, samples, (1920, 1080),
...                   "default", TrackIdentity("ana", 0.6, votes=2))
>>> track.start_time.isoformat(), track.duration_s, track.best_sample.offset_s
('2026-01-01T00:00:01+00:00', 0.2, 1.2)
>>> round(track.quality, 2), round(track.score, 2)
(0.7, 0.42)
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

Box = tuple[float, float, float, float]


def box_center(box: Box) -> tuple[float, float]:
    """The centre of an ``(x1, y1, x2, y2)`` box.

    >>> box_center((0, 0, 10, 20))
    (5.0, 10.0)
    """
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes.

    >>> round(iou((0, 0, 10, 10), (5, 0, 15, 10)), 3)
    0.333
    """
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


#: The expressions SCAS names, in the order of :attr:`FaceAttributes.expression`.
EXPRESSIONS = ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear")
#: Where a face counts as smiling: its ``happy`` probability is at least this.
SMILE_PROBABILITY = 0.5


@dataclass(frozen=True)
class FaceAttributes:
    """How one face looks, as the pack's attribute models see it: ``expression`` holds one
    probability per :data:`EXPRESSIONS` entry (empty without an expression model), ``age``
    in years and ``male`` the probability that the face is a man's (None without those
    models).

    >>> face = FaceAttributes((0.1, 0.8, 0.1, 0, 0, 0, 0), age=31.0, male=0.2)
    >>> face.dominant, face.smiling
    ('happy', True)
    """

    expression: tuple[float, ...] = ()
    age: float | None = None
    male: float | None = None

    @property
    def dominant(self) -> str | None:
        """The most probable expression (None without an expression model)."""
        if not self.expression:
            return None
        return EXPRESSIONS[max(range(len(self.expression)), key=self.expression.__getitem__)]

    @property
    def smile(self) -> float:
        """The probability that the face smiles (its ``happy`` probability; 0 unknown)."""
        return self.expression[EXPRESSIONS.index("happy")] if self.expression else 0.0

    @property
    def smiling(self) -> bool:
        return self.smile >= SMILE_PROBABILITY


@dataclass(frozen=True)
class TrackAttributes:
    """A track's faces summed up (:meth:`FaceTrack.attributes`): the ``expression`` most of
    its faces show, the share of its faces that smile, the median ``age``, and ``gender``
    ("female" or "male") with the mean probability of it (``gender_confidence``, 0.5 to 1).
    None where no face of the track had the model's answer."""

    faces: int
    expression: str | None
    smile_share: float | None
    age: float | None
    gender: str | None
    gender_confidence: float | None


@dataclass(frozen=True, eq=False)
class FaceSample:
    """One face on one sampled frame: ``box`` is ``(x1, y1, x2, y2)`` in the original
    frame's pixels, ``score`` the detector's confidence, ``quality`` the face's usability
    in [0, 1] (:class:`~scas_lib.faces.quality.FaceQuality.score`). ``aligned`` is the
    112x112 crop the recognizer embeds, ``aligned_wide`` the same face with 1.5 times the
    context around it (for the attribute models, when the pack has them); both live only
    while the segment is analysed and are never stored.

    For the faces that were embedded (a probe each second, the best few, the ones that
    located a change of person), the evidence is kept for review: ``similarity`` to the
    track's visitor (to the best visitor when the track is unknown) and ``runner_up``, the
    similarity to the best other visitor, and ``attributes``, how the face looks. None for
    faces that were not embedded."""

    offset_s: float
    box: Box
    score: float
    quality: float = 0.0
    aligned: NDArray[np.uint8] | None = field(default=None, repr=False)
    similarity: float | None = None
    runner_up: float | None = None
    attributes: FaceAttributes | None = None
    aligned_wide: NDArray[np.uint8] | None = field(default=None, repr=False)

    @property
    def center(self) -> tuple[float, float]:
        return box_center(self.box)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FaceSample):
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def _compared(
        self,
    ) -> tuple[float, Box, float, float, float | None, float | None, FaceAttributes | None]:
        """Everything but the crops, which are pixels, not facts about the face."""
        return (
            self.offset_s, self.box, self.score, self.quality, self.similarity, self.runner_up,
            self.attributes,
        )  # fmt: skip


@dataclass(frozen=True, eq=False)
class TrackIdentity:
    """Who a track is: ``visitor_id`` None means unknown. ``similarity`` is that of the
    track's mean embedding (``centroid``) to its best visitor, kept even when unknown;
    ``votes`` counts the track's faces that picked the same visitor on their own, ``faces``
    the faces the decision was made on (recognition's working figure: the catalog keeps the
    votes, not this, and it is not compared)."""

    visitor_id: str | None
    similarity: float | None = None
    centroid: NDArray[np.float32] | None = field(default=None, repr=False)
    votes: int = 0
    faces: int = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrackIdentity):
            return NotImplemented
        mine = None if self.centroid is None else np.asarray(self.centroid).tolist()
        theirs = None if other.centroid is None else np.asarray(other.centroid).tolist()
        return (self.visitor_id, self.similarity, self.votes, mine) == (
            other.visitor_id,
            other.similarity,
            other.votes,
            theirs,
        )

    def __hash__(self) -> int:
        return hash((self.visitor_id, self.similarity, self.votes))


UNKNOWN = TrackIdentity(None)


@dataclass(frozen=True)
class FaceTrack:
    """One person's face followed through one segment of one camera (module docstring)."""

    camera_id: str
    #: UTC time of the segment's first frame: the origin of every sample's ``offset_s``.
    segment_start: datetime
    #: The track's number within its segment (the order the tracker started them).
    index: int
    #: The face path: one sample per sampled frame the face was found on, in time order.
    samples: tuple[FaceSample, ...]
    #: ``(width, height)`` of the original frame, in pixels.
    frame_size: tuple[int, int]
    model_pack: str
    identity: TrackIdentity = UNKNOWN

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError("a face track has at least one sample")

    @property
    def visitor_id(self) -> str | None:
        return self.identity.visitor_id

    @property
    def similarity(self) -> float | None:
        return self.identity.similarity

    @property
    def start_time(self) -> datetime:
        return self.time_of(self.samples[0])

    @property
    def end_time(self) -> datetime:
        return self.time_of(self.samples[-1])

    @property
    def duration_s(self) -> float:
        return round(self.samples[-1].offset_s - self.samples[0].offset_s, 6)

    @property
    def best_sample(self) -> FaceSample:
        """The most usable face (the earliest of equals)."""
        return max(self.samples, key=lambda sample: sample.quality)

    @property
    def quality(self) -> float:
        """The quality of the track's best face."""
        return self.best_sample.quality

    @property
    def score(self) -> float:
        """How good a moment this track is for its visitor's video: the best face's quality
        (size x sharpness x frontality x detector) times the identity's similarity, so a
        big, sharp face that is surely them ranks first. 0 for an unknown similarity."""
        return self.quality * (self.similarity or 0.0)

    def time_of(self, sample: FaceSample) -> datetime:
        """The UTC time of one of the track's samples."""
        return self.segment_start + timedelta(seconds=sample.offset_s)

    def attributes(self) -> TrackAttributes:
        """The track's faces' attributes summed up (faces without any are left out).

        >>> from datetime import UTC, datetime
        >>> happy, calm = (0.1, 0.9, 0, 0, 0, 0, 0), (0.9, 0.1, 0, 0, 0, 0, 0)
        >>> faces = [FaceSample(t, (0, 0, 9, 9), 0.9, 0.5,
        ...                     attributes=FaceAttributes(e, age=a, male=0.1))
        ...          for t, e, a in [(0, happy, 30.0), (1, happy, 34.0), (2, calm, 40.0)]]
        >>> track = FaceTrack("cam1", datetime(2026, 1, 1, tzinfo=UTC), 0, tuple(faces),
        ...                   (1920, 1080), "default")
        >>> summary = track.attributes()
        >>> summary.expression, round(summary.smile_share, 2), summary.age, summary.gender
        ('happy', 0.67, 34.0, 'female')
        """
        described = [s.attributes for s in self.samples if s.attributes is not None]
        with_expression = [face for face in described if face.expression]
        ages = [face.age for face in described if face.age is not None]
        males = [face.male for face in described if face.male is not None]
        expression = smile_share = None
        if with_expression:
            dominants = [face.dominant for face in with_expression]
            expression = max(EXPRESSIONS, key=dominants.count)
            smile_share = sum(face.smiling for face in with_expression) / len(with_expression)
        gender = confidence = None
        if males:
            male = statistics.fmean(males)
            gender, confidence = ("male", male) if male >= 0.5 else ("female", 1.0 - male)
        return TrackAttributes(
            faces=len(described),
            expression=expression,
            smile_share=smile_share,
            age=statistics.median(ages) if ages else None,
            gender=gender,
            gender_confidence=confidence,
        )
