"""The face engine: model packs, detection, alignment, quality, embeddings, enrollment and
open-set matching. Models in, numpy out; no catalog or object store I/O here.
"""

from scas_lib.faces.detection import SCRFD, Detection, FaceDetector, YuNet
from scas_lib.faces.engine import Face, FaceEngine
from scas_lib.faces.enrollment import (
    EnrolledPhoto,
    EnrollmentError,
    EnrollmentPolicy,
    enroll_photo,
)
from scas_lib.faces.matching import Gallery, Match, combine_embeddings, identify, identify_many
from scas_lib.faces.pack import ModelPack, ModelPackError, Thresholds
from scas_lib.faces.quality import FaceQuality

__all__ = [
    "SCRFD",
    "Detection",
    "EnrolledPhoto",
    "EnrollmentError",
    "EnrollmentPolicy",
    "Face",
    "FaceDetector",
    "FaceEngine",
    "FaceQuality",
    "Gallery",
    "Match",
    "ModelPack",
    "ModelPackError",
    "Thresholds",
    "YuNet",
    "combine_embeddings",
    "enroll_photo",
    "identify",
    "identify_many",
]
