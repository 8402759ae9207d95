"""A long video analysed in pieces: the pieces' face tracks put on the whole video's clock,
and written as JSON to pass from the task that recognised a piece to the one that annotates
the video (Airflow's tasks share no memory). Pure.

A piece is recognised like any video, its offsets counted from its own first frame; moved
by the piece's start, its tracks line up with the others'. A face crossing a cut between
pieces becomes two tracks, which the labels join again (one visitor, or one unknown group:
the two never share a frame).

>>> from datetime import UTC, datetime
>>> import numpy as np
>>> from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity
>>> start = datetime(1970, 1, 1, tzinfo=UTC)
>>> track = FaceTrack("file", start, 0, (FaceSample(0.4, (1, 2, 30, 40), 0.9, 0.7),),
...                   (640, 360), "default", TrackIdentity(None, 0.2, np.ones(2, np.float32)))
>>> moved = on_video_clock([track], 120.0)[0]
>>> moved.samples[0].offset_s, moved.segment_start == start
(120.4, True)
>>> tracks_from_json(tracks_to_json([moved])) == [moved]
True
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np

from scas_lib.tracks import FaceAttributes, FaceSample, FaceTrack, TrackIdentity


def on_video_clock(tracks: Sequence[FaceTrack], piece_start_s: float) -> list[FaceTrack]:
    """The tracks of a piece that starts ``piece_start_s`` into the video, their offsets
    counted from the video's first frame (their ``segment_start`` is kept: the video's)."""
    return [
        replace(
            track,
            samples=tuple(
                replace(s, offset_s=round(s.offset_s + piece_start_s, 6)) for s in track.samples
            ),
        )
        for track in tracks
    ]


def _sample(sample: FaceSample) -> dict[str, Any]:
    looks = sample.attributes
    return {
        "offset_s": sample.offset_s,
        "box": list(sample.box),
        "score": sample.score,
        "quality": sample.quality,
        "similarity": sample.similarity,
        "runner_up": sample.runner_up,
        "attributes": None
        if looks is None
        else {"expression": list(looks.expression), "age": looks.age, "male": looks.male},
    }


def tracks_to_json(tracks: Sequence[FaceTrack]) -> str:
    """The tracks as JSON: everything the labels and the annotation use (the crops, which
    are pixels, stay behind)."""
    return json.dumps(
        [
            {
                "camera_id": track.camera_id,
                "segment_start": track.segment_start.isoformat(),
                "index": track.index,
                "frame_size": list(track.frame_size),
                "model_pack": track.model_pack,
                "visitor_id": track.identity.visitor_id,
                "similarity": track.identity.similarity,
                "centroid": None
                if track.identity.centroid is None
                else [float(v) for v in track.identity.centroid],
                "votes": track.identity.votes,
                "faces": track.identity.faces,
                "samples": [_sample(sample) for sample in track.samples],
            }
            for track in tracks
        ]
    )


def _read_sample(item: dict[str, Any]) -> FaceSample:
    x1, y1, x2, y2 = item["box"]
    looks = item["attributes"]
    attributes = (
        None
        if looks is None
        else FaceAttributes(tuple(looks["expression"]), looks["age"], looks["male"])
    )
    return FaceSample(
        item["offset_s"], (x1, y1, x2, y2), item["score"], item["quality"],
        similarity=item["similarity"], runner_up=item["runner_up"], attributes=attributes,
    )  # fmt: skip


def _read_track(item: dict[str, Any]) -> FaceTrack:
    centroid = item["centroid"]
    identity = TrackIdentity(
        item["visitor_id"], item["similarity"],
        None if centroid is None else np.asarray(centroid, np.float32),
        item["votes"], item["faces"],
    )  # fmt: skip
    width, height = item["frame_size"]
    samples = tuple(_read_sample(sample) for sample in item["samples"])
    return FaceTrack(
        item["camera_id"], datetime.fromisoformat(item["segment_start"]), item["index"],
        samples, (width, height), item["model_pack"], identity,
    )  # fmt: skip


def tracks_from_json(text: str) -> list[FaceTrack]:
    """The tracks :func:`tracks_to_json` wrote."""
    return [_read_track(item) for item in json.loads(text)]
