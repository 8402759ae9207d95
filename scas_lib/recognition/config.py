"""How footage is analysed: the settings of the recognition pipeline. Light on purpose:
event files and the DAG file import it without loading any model runtime."""

from __future__ import annotations

from dataclasses import dataclass, field

from scas_lib.recognition.tracking import TrackerConfig


@dataclass(frozen=True)
class RecognitionConfig:
    """How footage is analysed. The defaults are the measured trade-off of
    docs/benchmarks.md: YuNet (the pack's fast detector) at 960x544 with a 0.5 threshold
    finds nearly every face from 60 px up and most from 40 px, at a quarter of SCRFD's cost."""

    analysis_fps: float = 5.0
    #: Use the pack's fast detector (YuNet) rather than its accurate one (SCRFD).
    fast_detector: bool = True
    detector_threshold: float = 0.5
    #: Long side of the detector's input; the short side follows the frame's shape.
    detector_long_side: int = 960
    #: One thread per model: the decoder runs beside it on the other core.
    onnx_threads: int = 1
    #: Decode at most this long side (None: full resolution, best for small faces).
    decode_long_side: int | None = None
    #: Faces smaller than this (original pixels) are not tracked: too small to recognise.
    min_face_px: float = 32.0
    best_faces_per_track: int = 3
    #: Tracks seen on fewer sampled frames stay unknown (a one-frame glimpse proves little).
    min_observations: int = 2
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
