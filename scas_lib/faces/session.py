"""onnxruntime sessions on the execution provider the settings ask for, and saying which.

A silent fall-back from the GPU to the CPU is a frequent complaint about face pipelines
(onnxruntime-gpu without a matching CUDA runs everything on the CPU without a word), so each
session logs the provider it actually runs on, and warns when that is not the one asked for.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import onnxruntime as ort

from scas_lib.errors import ConfigurationError

log = logging.getLogger(__name__)

ProviderChoice = Literal["auto", "cpu", "cuda"]
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


def providers_for(choice: ProviderChoice) -> list[str]:
    """Providers to request, best first: CUDA when asked for or available (auto), then CPU."""
    available = ort.get_available_providers()
    if choice == "cpu":
        return [CPU]
    if choice == "cuda":
        if CUDA not in available:
            raise ConfigurationError(
                "SCAS_ONNX_PROVIDER=cuda but this onnxruntime has no CUDA provider "
                f"(available: {', '.join(available)}); install scas[gpu] and the CUDA libraries"
            )
        return [CUDA, CPU]
    return [CUDA, CPU] if CUDA in available else [CPU]


def create_session(
    path: Path, choice: ProviderChoice = "auto", *, threads: int = 0
) -> ort.InferenceSession:
    """A session for the model at ``path``; ``threads`` 0 lets onnxruntime choose."""
    options = ort.SessionOptions()
    options.log_severity_level = 3  # onnxruntime's own warnings are about graph internals
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    requested = providers_for(choice)
    session = ort.InferenceSession(str(path), options, providers=requested)
    actual = session.get_providers()[0]
    if actual != requested[0]:
        log.warning("%s runs on %s, not on the requested %s", path.name, actual, requested[0])
    else:
        log.info("%s runs on %s", path.name, actual)
    return session
