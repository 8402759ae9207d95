"""A small ONNX graph builder for convolutional networks rebuilt from their weights.

The person models of the default pack ship as weights in formats that need a framework to
run (a TensorFlow frozen graph, a PyTorch state dict); their networks are plain stacks of
convolutions, batch norms folded into them, ReLU6 and residual additions, which this
builder writes as ONNX with numpy and onnx only. Batch norms are folded into the
convolution before them (``w * gamma / sqrt(var + eps)``), as inference does.

Example::

    graph = ConvGraph("net", "images", channels=3, size=(224, 224))
    x = graph.conv(graph.input, weight, bias, stride=2, pads=(1, 1, 1, 1))
    x = graph.relu6(x)
    model = graph.model([(x, "features", ["N", 32, 112, 112])])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

# Opset 13 and IR 8, as the Keras converter: every onnxruntime SCAS supports runs them.
_OPSET = 13
_IR_VERSION = 8

Array = NDArray[np.float32]


def fold_batch_norm(
    weight: Array,
    bias: Array | None,
    gamma: Array,
    beta: Array,
    mean: Array,
    variance: Array,
    epsilon: float,
) -> tuple[Array, Array]:
    """A convolution's OIHW weight and bias with the batch norm after it folded in.

    >>> w, b = fold_batch_norm(np.ones((1, 1, 1, 1), np.float32), None, np.array([2.0]),
    ...     np.array([1.0]), np.array([0.5]), np.array([3.0]), 1.0)
    >>> float(w[0, 0, 0, 0]), float(b[0])
    (1.0, 0.5)
    """
    scale = (gamma / np.sqrt(variance + epsilon)).astype(np.float32)
    folded_bias = (beta - mean * scale).astype(np.float32)
    if bias is not None:
        folded_bias = (folded_bias + bias * scale).astype(np.float32)
    return (weight * scale[:, None, None, None]).astype(np.float32), folded_bias


class ConvGraph:
    """An ONNX graph under construction: one NCHW float input, nodes appended in order."""

    def __init__(self, name: str, input_name: str, *, channels: int, size: tuple[int, int]):
        self.name = name
        self.input = input_name
        width, height = size
        self._inputs = [
            helper.make_tensor_value_info(
                input_name, TensorProto.FLOAT, ["N", channels, height, width]
            )
        ]
        self._nodes: list[onnx.NodeProto] = []
        self._initializers: list[onnx.TensorProto] = []
        self._count = 0

    def _fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, value: NDArray[np.generic], hint: str = "const") -> str:
        """A named initializer holding ``value``."""
        name = self._fresh(hint)
        self._initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: Sequence[str], hint: str | None = None, **attrs: Any) -> str:
        """Append one node with one output; its output's name."""
        output = self._fresh(hint or op.lower())
        self._nodes.append(helper.make_node(op, list(inputs), [output], **attrs))
        return output

    def conv(
        self,
        x: str,
        weight: Array,
        bias: Array | None,
        *,
        stride: int = 1,
        pads: tuple[int, int, int, int] | None = None,
        group: int = 1,
    ) -> str:
        """A 2-D convolution with an OIHW ``weight``; ``pads`` None: TensorFlow's SAME
        (the odd pixel after, ONNX's ``SAME_UPPER``), else (top, left, bottom, right)."""
        inputs = [x, self.constant(weight.astype(np.float32), "w")]
        if bias is not None:
            inputs.append(self.constant(bias.astype(np.float32), "b"))
        kernel = [int(weight.shape[2]), int(weight.shape[3])]
        attrs: dict[str, Any] = {
            "kernel_shape": kernel,
            "strides": [stride, stride],
            "group": group,
        }
        if pads is None:
            attrs["auto_pad"] = "SAME_UPPER"
        else:
            attrs["pads"] = list(pads)
        return self.node("Conv", inputs, "conv", **attrs)

    def relu6(self, x: str) -> str:
        """min(max(x, 0), 6)."""
        low = self.constant(np.array(0.0, np.float32), "zero")
        high = self.constant(np.array(6.0, np.float32), "six")
        return self.node("Clip", [x, low, high], "relu6")

    def add(self, a: str, b: str) -> str:
        return self.node("Add", [a, b], "add")

    def model(self, outputs: Sequence[tuple[str, str, Sequence[int | str]]]) -> onnx.ModelProto:
        """The finished model; ``outputs``: (value, output name, shape) each, the value
        renamed to the output name."""
        infos = []
        for value, name, shape in outputs:
            self._nodes.append(helper.make_node("Identity", [value], [name]))
            infos.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        graph = helper.make_graph(
            self._nodes, self.name, self._inputs, infos, initializer=self._initializers
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="scas"
        )
        model.ir_version = _IR_VERSION
        return model
