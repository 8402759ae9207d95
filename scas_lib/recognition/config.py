"""How footage is analysed: the settings of the recognition pipeline. Light on purpose:
event files and the DAG file import it without loading any model runtime."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from scas_lib.recognition.tracking import TrackerConfig

#: The range of each plain setting (inclusive); None: the setting may be left out (None).
LIMITS: dict[str, tuple[type, float, float]] = {
    "analysis_fps": (float, 0.1, 60),
    "detector_threshold": (float, 0.01, 1),
    "detector_long_side": (int, 64, 4096),
    "whole_frame_every": (int, 1, 100),
    "onnx_threads": (int, 0, 256),
    "embedding_workers": (int, 1, 64),
    "decode_long_side": (int, 64, 8192),
    "min_face_px": (float, 0, 10000),
    "best_faces_per_track": (int, 1, 100),
    "min_observations": (int, 1, 1000),
    "cut_threshold": (float, 1, 255),
    "appearance_window_s": (float, 0.2, 60),
    "split_below": (float, -1, 1),
    "probe_min_quality": (float, 0, 1),
}


def setting_problem(name: str, value: object, optional: bool = False) -> str | None:
    """Why ``value`` cannot be the setting ``name`` (wrong type, out of range), or None.

    >>> setting_problem("analysis_fps", 4), setting_problem("analysis_fps", -5)
    (None, 'analysis_fps must be a number from 0.1 to 60, not -5')
    >>> setting_problem("detector_long_side", "big")
    "detector_long_side must be a whole number from 64 to 4096, not 'big'"
    """
    if name not in LIMITS:
        if isinstance(value, bool):
            return None
        return f"{name} must be true or false, not {value!r}"
    kind, low, high = LIMITS[name]
    if value is None and optional:
        return None
    in_range = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (kind is not int or isinstance(value, int))
        and low <= value <= high
    )
    if in_range:
        return None
    what = "a whole number" if kind is int else "a number"
    return f"{name} must be {what} from {low:g} to {high:g}, not {value!r}"


@dataclass(frozen=True)
class RecognitionConfig:
    """How footage is analysed. The defaults are the measured trade-off of
    docs/benchmarks-history.md: YuNet (the pack's fast detector) at 960x544 with a 0.5 threshold
    finds nearly every face from 60 px up and most from 40 px, at a quarter of SCRFD's cost."""

    analysis_fps: float = 5.0
    #: Use the pack's fast detector (YuNet) rather than its accurate one (SCRFD).
    fast_detector: bool = True
    detector_threshold: float = 0.5
    #: Long side of the detector's input; the short side follows the frame's shape.
    detector_long_side: int = 960
    #: The whole frame is searched for faces every this many sampled frames (and after a
    #: cut); in between only around the running tracks (scas_lib/recognition/search.py).
    #: 1: every sampled frame whole.
    whole_frame_every: int = 2
    #: With no track running, look at each group of pictures' keyframe alone first and
    #: decode the rest only around faces (scas_lib/recognition/pipeline.py): empty footage
    #: costs a sixth of its decoding. False: every frame is decoded.
    keyframes_when_idle: bool = True
    #: One thread per model: the decoder runs beside it on the other core.
    onnx_threads: int = 1
    #: Faces are embedded on this many threads at once, after the last frame is read (the
    #: decoder's core is free by then): one per core of a CPU worker.
    embedding_workers: int = 2
    #: Decode at most this long side (None: full resolution, best for small faces).
    decode_long_side: int | None = None
    #: Faces smaller than this (original pixels) are not tracked: too small to recognise.
    #: 27 px faces on a 720p camera are found and, aligned again at full resolution, often
    #: recognised (31 of 38 such faces of the tuning half, docs/benchmarks-history.md).
    min_face_px: float = 27.0
    best_faces_per_track: int = 3
    #: Tracks seen on fewer sampled frames stay unknown (a one-frame glimpse proves little).
    min_observations: int = 2
    #: Content score (0-255) of two sampled frames from which they are different shots and
    #: every track ends (PySceneDetect's default, see scas_lib/recognition/cuts.py).
    cut_threshold: float = 27.0
    #: A track's faces are compared one per this many seconds (its best face of each)...
    appearance_window_s: float = 2.0
    #: ...and it is split where two neighbours are less similar than this: two people (see
    #: scas_lib/recognition/consistency.py for the number).
    split_below: float = 0.35
    #: Faces of lower quality (size x sharpness x frontality x detector, 0-1) are not
    #: compared: their embeddings are too unsteady.
    probe_min_quality: float = 0.2
    tracker: TrackerConfig = field(default_factory=TrackerConfig)

    def __post_init__(self) -> None:
        for setting in fields(self):
            if setting.name == "tracker":
                continue
            optional = "None" in str(setting.type)
            problem = setting_problem(setting.name, getattr(self, setting.name), optional)
            if problem:
                raise ValueError(problem)
