"""How catalog rows map to records and back: the columns each query selects and the
conversions of the values psycopg2 cannot adapt by itself (embeddings, face paths).

Shared by the repositories that read segments and tracks
(:mod:`scas_lib.catalog.segments`, :mod:`scas_lib.catalog.tracks`) and write embeddings
(:mod:`scas_lib.catalog.visitors`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg2.extras

from scas_lib.tracks import FaceAttributes, FaceSample, FaceTrack, TrackIdentity

#: The columns of a :class:`~scas_lib.catalog.records.Segment`, in its fields' order.
SEGMENT_COLUMNS = (
    "id, event_id, camera_id, object_key, start_time, duration_s, status, error, attempts, etag"
)


def vector(values: Sequence[float] | None) -> list[float] | None:
    """An embedding as a ``real[]`` parameter: plain floats (numpy scalars are not adapted)."""
    return None if values is None else [float(value) for value in values]


#: The columns :func:`face_track` reads, of ``tracks t JOIN segments s``.
TRACK_COLUMNS = """s.camera_id, s.start_time, t.track_index, t.path, t.frame_width,
    t.frame_height, t.model_pack, t.visitor_id, t.similarity"""


def path_json(samples: Sequence[FaceSample]) -> psycopg2.extras.Json:
    """A face path as the ``tracks.path`` column holds it: one array per sample,
    ``[offset_s, x1, y1, x2, y2, score, quality, similarity, runner_up]`` (see migration
    0003; rows written before the evidence was kept end after ``quality``), and for a face
    that was described, ``[..., expression, age, male]`` after them (migration 0013)."""
    return psycopg2.extras.Json([_path_entry(sample) for sample in samples])


def _path_entry(s: FaceSample) -> list[Any]:
    entry: list[Any] = [s.offset_s, *s.box, s.score, s.quality, s.similarity, s.runner_up]
    if s.attributes is not None:
        a = s.attributes
        entry += [list(a.expression) or None, a.age, a.male]
    return entry


def _path_sample(entry: Sequence[Any]) -> FaceSample:
    """A sample from one entry of a face path (:func:`path_json`).

    >>> _path_sample([1.5, 0, 0, 9, 9, 0.9, 0.6, 0.7, 0.2, [0.2, 0.8], 30.0, 0.1]).attributes
    FaceAttributes(expression=(0.2, 0.8), age=30.0, male=0.1)
    >>> _path_sample([1.5, 0, 0, 9, 9, 0.9, 0.6]).similarity is None
    True
    """
    offset_s, x1, y1, x2, y2, score, quality, *rest = entry
    similarity, runner_up = [*rest[:2], None, None][:2]
    attributes = None
    if len(rest) >= 5:
        expression, age, male = rest[2:5]
        attributes = FaceAttributes(tuple(expression or ()), age, male)
    return FaceSample(
        offset_s, (x1, y1, x2, y2), score, quality, None, similarity, runner_up, attributes
    )


def face_track(
    row: Sequence[Any], centroid: Sequence[float] | np.ndarray | None = None
) -> FaceTrack:
    """A :class:`FaceTrack` from a row of ``TRACK_COLUMNS``."""
    camera_id, start, index, path, width, height, model_pack, visitor_id, similarity = row
    samples = tuple(_path_sample(entry) for entry in path)
    identity = TrackIdentity(
        visitor_id, similarity, None if centroid is None else np.asarray(centroid, np.float32)
    )
    return FaceTrack(camera_id, start, index, samples, (width or 0, height or 0), model_pack,
                     identity)  # fmt: skip


def float4_array(sent: bytes | memoryview) -> np.ndarray:
    """A one-dimensional ``real[]`` without NULLs as ``array_send`` writes it: a 20-byte
    header (dimensions, NULL flag, element type, length, lower bound), then each element's
    length and big-endian value.

    >>> float4_array(bytes.fromhex("00000001" "00000000" "000002bc" "00000002" "00000001"
    ...                             "00000004" "3f000000" "00000004" "bf800000"))
    array([ 0.5, -1. ], dtype=float32)
    """
    header = np.frombuffer(sent, dtype=">i4", count=5)
    if header[0] != 1 or header[1] != 0:
        raise ValueError("expected a one-dimensional array without NULLs")
    elements = np.frombuffer(sent, dtype=[("length", ">i4"), ("value", ">f4")], offset=20)
    return elements["value"].astype(np.float32)
