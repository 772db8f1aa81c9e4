"""Small ONNX graph builder shared by the converters (numpy + onnx.helper only).

Every converter emits opset 13, NCHW float input [1,3,S,S], output [1,1000], and writes the preprocessing
into metadata_props under the `mobilecnn.*` keys the Rust importer reads. Output bytes are deterministic:
names come from the checkpoint's own parameter names and counters, nothing depends on time or hashing.
"""
import hashlib
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 8  # the IR that opset 13 shipped with: readable by older ONNX parsers too

METADATA_KEYS = (
    "mobilecnn.architecture", "mobilecnn.config", "mobilecnn.input_size", "mobilecnn.color_order",
    "mobilecnn.input_scale", "mobilecnn.mean", "mobilecnn.std", "mobilecnn.label_offset",
    "mobilecnn.num_classes", "mobilecnn.output", "mobilecnn.source_sha256",
)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def floats(values):
    """Comma-separated floats, shortest round-trip form (so the metadata is stable and exact)."""
    return ",".join(repr(float(v)) for v in values)


class Builder:
    def __init__(self, input_size):
        self.nodes, self.inits = [], []
        self.input_size = input_size
        self.counts = {}
        self.input = "input"

    def fresh(self, op):
        n = self.counts.get(op, 0)
        self.counts[op] = n + 1
        return f"{op.lower()}_{n}"

    def const(self, name, array, dtype=np.float32):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=dtype), name))
        return name

    def node(self, op, inputs, name=None, outputs=1, **attrs):
        """Appends a node; returns its output name (or a list of `outputs` names when more than one)."""
        name = name or self.fresh(op)
        outs = [name] if outputs == 1 else [f"{name}:{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0] if outputs == 1 else outs

    def conv(self, x, name, w, b=None, stride=1, pads=None, group=1):
        """w is OIHW; pads default to 'same' for odd kernels, as [top, left, bottom, right]."""
        kh, kw = w.shape[2:]
        if pads is None:
            pads = [kh // 2, kw // 2, kh // 2, kw // 2]
        inputs = [x, self.const(name + ".weight", w)]
        if b is not None:
            inputs.append(self.const(name + ".bias", b))
        return self.node("Conv", inputs, name=name, kernel_shape=[kh, kw], strides=[stride, stride],
                         pads=list(pads), group=group, dilations=[1, 1])

    def bn(self, x, name, gamma, beta, mean, var, eps):
        ins = [x] + [self.const(f"{name}.{k}", v) for k, v in
                     (("scale", gamma), ("bias", beta), ("mean", mean), ("var", var))]
        return self.node("BatchNormalization", ins, name=name, epsilon=float(eps))

    def relu(self, x):
        return self.node("Relu", [x])

    def shuffle(self, x, shape, first, second):
        """Channel shuffle of an NCHW value of `shape`: view channels as (first, second), transpose to
        (second, first), flatten. Static shapes keep the pattern easy for the importer to recognise."""
        n, c, h, w = shape
        a = self.node("Reshape", [x, self.const(self.fresh("shape"), [n, first, second, h, w], np.int64)])
        t = self.node("Transpose", [a], perm=[0, 2, 1, 3, 4])
        return self.node("Reshape", [t, self.const(self.fresh("shape"), [n, c, h, w], np.int64)])

    def model(self, output, meta, num_classes=1000):
        s = self.input_size
        graph = helper.make_graph(
            self.nodes, meta["mobilecnn.architecture"],
            [helper.make_tensor_value_info(self.input, TensorProto.FLOAT, [1, 3, s, s])],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, num_classes])],
            initializer=self.inits)
        m = helper.make_model(graph, producer_name="mobilecnn-tools",
                              opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = IR_VERSION
        assert tuple(sorted(meta)) == tuple(sorted(METADATA_KEYS)), sorted(meta)
        helper.set_model_props(m, {k: meta[k] for k in METADATA_KEYS})
        onnx.checker.check_model(m, full_check=True)
        return m


def save(model, path):
    # Write to a temporary name first so an interrupted run never leaves a truncated model behind.
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))
    os.replace(tmp, path)
