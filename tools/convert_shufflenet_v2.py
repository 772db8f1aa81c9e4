#!/usr/bin/env python3
"""PaddleClas ShuffleNet V2 weights (.pdparams: a pickled dict name -> numpy array) -> ONNX.

usage: convert_shufflenet_v2.py SRC.pdparams OUT.onnx
"""
import pickle
import re
import sys

import numpy as np

from onnxgraph import Builder, floats, save, sha256_file

# Stage-2 width -> PaddleClas model scale name (the widths of the published variants).
SCALE_NAMES = {24: "x0_25", 32: "x0_33", 48: "x0_5", 116: "x1_0", 176: "x1_5", 244: "x2_0"}


class _NumpyOnly(pickle.Unpickler):
    """A .pdparams file needs numpy's array reconstruction only; refuse any other global."""

    def find_class(self, module, name):
        if module.split(".")[0] == "numpy" and name in (
                "_reconstruct", "ndarray", "dtype", "scalar", "_frombuffer"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in .pdparams")


def load_pdparams(path):
    with open(path, "rb") as f:
        d = _NumpyOnly(f).load()
    return {k: v for k, v in d.items() if isinstance(v, np.ndarray)}


def convert(src):
    p = load_pdparams(src)
    b = Builder(224)

    def conv_bn(x, name, stride=1, relu=True):
        w = p[f"{name}.0.weight"]
        group = w.shape[0] if w.shape[1] == 1 and w.shape[2] > 1 else 1  # depthwise: [c, 1, 3, 3]
        y = b.conv(x, f"{name}.0", w, stride=stride, group=group)
        bn = f"{name}.1"
        y = b.bn(y, bn, p[bn + ".weight"], p[bn + ".bias"], p[bn + "._mean"], p[bn + "._variance"], 1e-5)
        return b.relu(y) if relu else y

    x = conv_bn(b.input, "_conv1", stride=2)
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    hw = 56

    # Units are named "<stage>_<index>" from 1; the first unit of each stage downsamples.
    units = sorted({tuple(map(int, m.groups())) for k in p if (m := re.match(r"(\d+)_(\d+)\.", k))})
    stage_widths = []
    for stage, idx in units:
        pre = f"{stage}_{idx}"
        if idx == 1:
            hw //= 2
            left = conv_bn(x, f"{pre}._conv_dw_1", stride=2, relu=False)
            left = conv_bn(left, f"{pre}._conv_linear_1")
            right = conv_bn(x, f"{pre}._conv_pw_2")
            right = conv_bn(right, f"{pre}._conv_dw_2", stride=2, relu=False)
            right = conv_bn(right, f"{pre}._conv_linear_2")
            c = p[f"{pre}._conv_linear_1.0.weight"].shape[0] + p[f"{pre}._conv_linear_2.0.weight"].shape[0]
            stage_widths.append(c)
        else:
            half = c // 2
            left, right = b.node("Split", [x, b.const(b.fresh("split"), [half, half], np.int64)],
                                 outputs=2, axis=1)
            right = conv_bn(right, f"{pre}._conv_pw")
            right = conv_bn(right, f"{pre}._conv_dw", relu=False)
            right = conv_bn(right, f"{pre}._conv_linear")
        x = b.node("Concat", [left, right], axis=1)
        x = b.shuffle(x, [1, c, hw, hw], 2, c // 2)  # standard order: (2, c/2) -> (c/2, 2)

    x = conv_bn(x, "_last_conv")
    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x], axis=1)
    fc = p["_fc.weight"]  # Paddle Linear stores [in, out]
    out = b.node("Gemm", [x, b.const("_fc.weight", fc), b.const("_fc.bias", p["_fc.bias"])], name="logits")

    meta = {
        "mobilecnn.architecture": "shufflenet_v2",
        "mobilecnn.config": SCALE_NAMES.get(stage_widths[0], f"w{stage_widths[0]}"),
        "mobilecnn.input_size": "224",
        "mobilecnn.color_order": "RGB",
        "mobilecnn.input_scale": repr(1 / 255),
        "mobilecnn.mean": floats([0.485, 0.456, 0.406]),
        "mobilecnn.std": floats([0.229, 0.224, 0.225]),
        "mobilecnn.label_offset": "0",
        "mobilecnn.num_classes": str(fc.shape[1]),
        "mobilecnn.output": "logits",
        "mobilecnn.source_sha256": sha256_file(src),
    }
    return b.model(out, meta, fc.shape[1])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip())
    save(convert(sys.argv[1]), sys.argv[2])
