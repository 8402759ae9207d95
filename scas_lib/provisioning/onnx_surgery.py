"""Graph fixes that turn the registry's ONNX files into models onnxruntime runs well.

Pure functions on ``onnx.ModelProto`` (no file I/O), each fixing one known defect:

- :func:`keep_only_inputs`: OpenCV Zoo's SFace int8 file lists its weights as graph inputs,
  and onnxruntime then demands them in the input feed; only ``data`` is a real input.
- :func:`fold_constant_dequantization`: the int8 files re-dequantize their constant weights
  on every run. Folding ``DequantizeLinear`` (and the ``Reshape`` after it) into fp32
  weights once gives the same outputs (max difference ~2e-6) about 1.5-2x faster on a CPU.
- :func:`prelu_as_relu`: onnxruntime's CPU ``PRelu`` with a per-channel slope is slow and
  keeps the convolutions around it out of the blocked layout; SFace's 27 of them took as
  long as all its convolutions. ``x * s + Relu(x) * (1 - s)``, the same function, embeds
  faces about 1.8x faster (max difference ~1e-6).
- :func:`make_batch_dynamic`: embed several faces in one run.
- :func:`make_input_size_dynamic`, :func:`make_scrfd_size_dynamic`: the detectors declare
  a 640x640 input (SCRFD also hard-codes it in two ``Resize`` nodes); a frame-shaped input
  such as 640x384 finds the same faces in a 16:9 frame for about a third less time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import helper, numpy_helper


def keep_only_inputs(model: onnx.ModelProto, names: set[str]) -> onnx.ModelProto:
    """Drop every graph input not in ``names``, and initializers no node uses."""
    graph = model.graph
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    initializers = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    inputs = [value for value in graph.input if value.name in names]
    del graph.input[:]
    graph.input.extend(inputs)
    return model


def _dequantize(
    quantized: NDArray[np.integer[Any]],
    scale: NDArray[np.floating[Any]],
    zero_point: NDArray[np.integer[Any]] | None,
    axis: int,
    block: int,
) -> NDArray[np.floating[Any]]:
    values = quantized.astype(np.float32)
    zero = np.zeros_like(scale) if zero_point is None else zero_point.astype(np.float32)
    if scale.size == 1:  # per tensor
        per_tensor: NDArray[np.floating[Any]] = (values - zero.reshape(())) * scale.reshape(())
        return per_tensor
    axis %= values.ndim
    if block:  # blocked (opset 21): each scale covers `block` consecutive elements on `axis`
        keep = [slice(None)] * values.ndim
        keep[axis] = slice(0, values.shape[axis])
        scale = np.repeat(scale, block, axis=axis)[tuple(keep)]
        zero = np.repeat(zero, block, axis=axis)[tuple(keep)]
        blocked: NDArray[np.floating[Any]] = (values - zero) * scale
        return blocked
    shape = [1] * values.ndim
    shape[axis] = -1
    per_axis: NDArray[np.floating[Any]] = (values - zero.reshape(shape)) * scale.reshape(shape)
    return per_axis


def fold_constant_dequantization(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace ``DequantizeLinear`` of constant weights (and a following constant
    ``Reshape``) by fp32 initializers."""
    graph = model.graph
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    folded: dict[str, NDArray[np.float32]] = {}
    removed = []
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(
            name in constants for name in node.input if name
        ):
            attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            zero = constants[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            folded[node.output[0]] = _dequantize(
                constants[node.input[0]],
                constants[node.input[1]],
                zero,
                attributes.get("axis", 1),
                attributes.get("block_size", 0),
            ).astype(np.float32)
            removed.append(node)
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[0] in folded and node.input[1] in constants:
            folded[node.output[0]] = folded[node.input[0]].reshape(constants[node.input[1]])
            removed.append(node)
    for node in removed:
        graph.node.remove(node)
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in folded.items())
    real_inputs = {value.name for value in graph.input} - {init.name for init in graph.initializer}
    return keep_only_inputs(model, real_inputs)


def prelu_as_relu(model: onnx.ModelProto) -> onnx.ModelProto:
    """Every ``PRelu`` whose slope is a constant, as ``x * s + Relu(x) * (1 - s)``: the
    same function (``x`` for ``x > 0``, ``s * x`` below), in operators onnxruntime's CPU
    provider runs well. A slope given as an input is left as it is."""
    graph = model.graph
    constants = {init.name: init for init in graph.initializer}
    nodes = []
    for node in graph.node:
        if node.op_type != "PRelu" or node.input[1] not in constants:
            nodes.append(node)
            continue
        x, slope = node.input
        (y,) = node.output
        complement = f"{slope}_one_minus"
        if complement not in constants:
            values = numpy_helper.to_array(constants[slope]).astype(np.float32)
            constants[complement] = numpy_helper.from_array(1 - values, complement)
            graph.initializer.append(constants[complement])
        nodes += [
            helper.make_node("Mul", [x, slope], [f"{y}_below"], name=f"{node.name}_below"),
            helper.make_node("Relu", [x], [f"{y}_relu"], name=f"{node.name}_relu"),
            helper.make_node(
                "Mul", [f"{y}_relu", complement], [f"{y}_above"], name=f"{node.name}_above"
            ),
            helper.make_node("Add", [f"{y}_below", f"{y}_above"], [y], name=node.name),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def make_batch_dynamic(model: onnx.ModelProto) -> onnx.ModelProto:
    """Let the first dimension of every input and output vary (named ``N``)."""
    for value in [*model.graph.input, *model.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    return model


def make_input_size_dynamic(model: onnx.ModelProto) -> onnx.ModelProto:
    """Declare the image input's height and width, and the outputs' anchor count, variable.

    Enough for a detector whose graph computes every size from its input (YuNet).
    """
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "H", "W"
    for output in model.graph.output:
        output.type.tensor_type.shape.dim[1].dim_param = "anchors"
    return model


def make_scrfd_size_dynamic(model: onnx.ModelProto) -> onnx.ModelProto:
    """Accept any input height and width that are multiples of 32.

    The export upsamples twice by a factor of 2 with ``Resize`` nodes given literal output
    sizes; giving them scales ``[1, 1, 2, 2]`` instead computes the same for 640x640.
    """
    graph = model.graph
    graph.initializer.append(
        numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scas_upsample_x2")
    )
    for node in graph.node:
        if node.op_type == "Resize" and len(node.input) == 4 and node.input[3]:
            node.input[2] = "scas_upsample_x2"
            del node.input[3]
    return make_input_size_dynamic(keep_only_inputs(model, {graph.input[0].name}))
